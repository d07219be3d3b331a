"""Media files that come with an import, in a folder or a ZIP, matched to items by ISBN.

A file is named by the ISBN of its item, hyphens allowed: ``9783161484100.epub``,
``978-3-16-148410-0.mp3``, ``9783161484100-cover.jpg`` (a cover). Files go through
``media.files.services.add_file`` (format read from the content, the same bytes stored once)
and covers through ``set_cover``, each in a savepoint of its own: a refused file leaves
nothing behind and the next one is tried. A file whose name is no ISBN, or whose ISBN no item
has, is reported, and so is one already attached to its item.

ZIP members are read as streams and never written to the file system under their names;
a member named with ``..``, an absolute path, a drive or a backslash is refused and reported.
The archive as a whole must keep the EPUB ingest's limits (``media.files.detect``: entries,
unpacked size, compression ratio), else it is refused whole as a zip bomb; each file is also
held to the upload limit while it is read.
"""

from __future__ import annotations

import posixpath
import zipfile
import zlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import sqlalchemy as sa
from flask_babel import gettext as _

from media import rules
from media.files import services as file_services
from media.files.detect import check_archive
from media.ingest.epub import unsafe_name
from media.ingest.proposal import FileRefused
from media.models import Identifier, IdentifierScheme, MediaItem
from vhs.accounts.models import User
from vhs.db import db
from vhs.errors import Conflict, VhsError

COVER_SUFFIX = "-cover"


@dataclass
class FileProblem:
    """A file not attached, and why."""

    name: str
    reason: str
    isbn: str = ""


@dataclass
class FilesResult:
    """How many files were attached, and the files that were not."""

    attached: int = 0
    problems: list[FileProblem] = field(default_factory=list)


Opener = Callable[[], AbstractContextManager[IO[bytes]]]


def isbn_of(name: str) -> tuple[str | None, bool]:
    """The ISBN a file name gives (``None`` if none) and whether it names a cover."""
    stem = posixpath.basename(name).rsplit(".", 1)[0] if "." in name else posixpath.basename(name)
    cover = stem.lower().endswith(COVER_SUFFIX)
    if cover:
        stem = stem[: -len(COVER_SUFFIX)]
    try:
        return rules.normalise_isbn(stem), cover
    except rules.IdentifierError:
        return None, cover


def _item_for(isbn: str) -> MediaItem | None:
    return db.session.execute(
        sa.select(MediaItem)
        .join(Identifier, Identifier.item_id == MediaItem.id)
        .where(Identifier.scheme == IdentifierScheme.ISBN, Identifier.value == isbn)
    ).scalar_one_or_none()


def attach(actor: User, name: str, opener: Opener, result: FilesResult) -> None:
    """Attach one file (or cover) to the item its name's ISBN belongs to, or report why not."""
    isbn, cover = isbn_of(name)
    if isbn is None:
        result.problems.append(FileProblem(name, _("The file name is not an ISBN.")))
        return
    item = _item_for(isbn)
    if item is None:
        result.problems.append(FileProblem(name, _("No medium has this ISBN."), isbn))
        return
    try:
        with db.session.begin_nested(), opener() as stream:
            if cover:
                file_services.set_cover(actor, item, stream)
            else:
                file_services.add_file(actor, item, stream, posixpath.basename(name))
    except Conflict as exc:  # the same file on the same item: stored once, reported
        result.problems.append(FileProblem(name, str(exc.detail), isbn))
        return
    except VhsError as exc:
        result.problems.append(FileProblem(name, str(exc.detail), isbn))
        return
    result.attached += 1


def attach_folder(actor: User, folder: Path) -> FilesResult:
    """Every file in ``folder`` (and its subfolders; links are not followed)."""
    result = FilesResult()
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() or not path.is_file() or path.name.startswith("."):
            continue
        name = path.relative_to(folder).as_posix()
        attach(actor, name, lambda p=path: p.open("rb"), result)
    return result


def attach_zip(actor: User, archive: Path, name: str = "") -> FilesResult:
    """Every member of the ZIP at ``archive``, read as a stream; unsafe names refused.

    ``name`` is how reports call the archive (the uploaded name), else its file name.
    """
    name = name or archive.name
    result = FilesResult()
    try:
        with zipfile.ZipFile(archive) as zf:
            members = [info for info in zf.infolist() if not info.is_dir()]
            safe = []
            for info in members:
                if "\\" in info.filename or unsafe_name(info.filename):
                    message = _("The name points outside the archive; the file was not read.")
                    result.problems.append(FileProblem(info.filename[:300], message))
                else:
                    safe.append(info)
            if safe:
                check_archive(safe, archive.stat().st_size)
            for info in safe:
                attach(actor, info.filename, lambda i=info: zf.open(i), result)
    except FileRefused as exc:
        result.problems.append(FileProblem(name, str(exc.detail)))
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError):
        message = _("The ZIP archive is damaged and cannot be read.")
        result.problems.append(FileProblem(name, message))
    return result


def is_zip(stream: IO[bytes]) -> bool:
    """Whether ``stream`` (seekable) is a ZIP archive."""
    return zipfile.is_zipfile(stream)
