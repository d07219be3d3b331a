"""Stocking an item with files: upload (detect, read, store once), metadata, covers, removal.

An upload is spooled to a temporary file while it is hashed (SHA-256) and counted against
``VHS_MEDIA_MAX_FILE_MB``; its format is detected from the content and its metadata read
before anything is kept, so a refused file leaves neither a row nor bytes. Bytes are stored
once per hash (``files/<sha256>``): the same file on a second item reuses them, the same file
twice on one item is a ``Conflict``. Bytes are deleted after the commit that removed the last
file using them. Staff only: every function checks its ``actor``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from media.files import signals
from media.files.detect import Detected, detect, misnamed
from media.files.storage import CHUNK, cover_key, file_key, get_storage
from media.ingest.audio import read_audio
from media.ingest.covers import COVER_MAX_BYTES, WIDTHS, make_cover
from media.ingest.epub import read_epub
from media.ingest.pdf import read_pdf
from media.ingest.proposal import FIELDS, FileTooLarge, Proposal, clean
from media.models import (
    Contributor,
    FileFormat,
    Identifier,
    IdentifierScheme,
    MediaFile,
    MediaItem,
    Subject,
)
from vhs.accounts.models import User
from vhs.audit import audit
from vhs.db import db
from vhs.errors import Conflict, Forbidden, Invalid, NotFound
from vhs.uow import current_unit

LABEL_MAX = 200
MULTIPART_OVERHEAD = 1024 * 1024  # form fields and part headers around the file itself


@dataclass
class Upload:
    """A stored file with what was found out about it on the way in."""

    file: MediaFile
    detected: Detected
    proposal: Proposal
    # The uploaded name's extension when it claimed another format than the content has.
    misnamed: str | None = None


def require_staff(actor: User | None) -> User:
    """``actor`` if they are staff (or an administrator); Forbidden otherwise."""
    if actor is None or not actor.is_staff:
        raise Forbidden(_l("This area is for VHS staff only."), code="forbidden_role")
    return actor


def max_file_bytes() -> int:
    """The configured upload limit in bytes."""
    return int(current_app.config["VHS"].media_max_file_mb) * 1024 * 1024


def upload_body_limit() -> int:
    """The largest request body an upload may come in."""
    return max_file_bytes() + MULTIPART_OVERHEAD


def cover_body_limit() -> int:
    """The largest request body a cover image may come in."""
    return COVER_MAX_BYTES + MULTIPART_OVERHEAD


def get_item(actor: User | None, item_id: int) -> MediaItem:
    """An item in any state, for staff; NotFound when there is none."""
    require_staff(actor)
    item = db.session.get(MediaItem, item_id)
    if item is None:
        raise NotFound()
    return item


def get_file(actor: User | None, file_id: int, item: MediaItem | None = None) -> MediaFile:
    """A file (of ``item``, when given), for staff; NotFound otherwise."""
    require_staff(actor)
    media_file = db.session.get(MediaFile, file_id)
    if media_file is None or (item is not None and media_file.item_id != item.id):
        raise NotFound()
    return media_file


@contextlib.contextmanager
def _spooled(stream: IO[bytes], limit: int) -> Iterator[tuple[Path, str, int]]:
    """The stream in a temporary file, with its SHA-256 and size; removed afterwards."""
    fd, name = tempfile.mkstemp(prefix="vhs-upload-")
    path = Path(name)
    try:
        digest, size = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    message = _l(
                        "The file is larger than %(limit)s MB, the most we accept.",
                        limit=limit // (1024 * 1024),
                    )
                    raise FileTooLarge(message, errors={"file": [message]})
                digest.update(chunk)
                out.write(chunk)
        yield path, digest.hexdigest(), size
    finally:
        path.unlink(missing_ok=True)


def read_metadata(path: Path, fmt: FileFormat) -> Proposal:
    """What the file at ``path`` (already detected as ``fmt``) says about its item."""
    if fmt is FileFormat.EPUB:
        return read_epub(path)
    if fmt is FileFormat.PDF:
        return read_pdf(path)
    return read_audio(path, fmt)


def add_file(
    actor: User | None, item: MediaItem, stream: IO[bytes], filename: str, *, label: str = ""
) -> Upload:
    """Add an uploaded file to ``item``: detect, read, store (once per hash), record.

    ``filename`` is only compared with the detected format (``Upload.misnamed``); it names
    nothing that is stored.
    """
    require_staff(actor)
    with _spooled(stream, max_file_bytes()) as (path, sha256, size):
        detected = detect(path)
        proposal = read_metadata(path, detected.format)
        taken = db.session.execute(
            sa.select(MediaFile.id).where(MediaFile.item_id == item.id, MediaFile.sha256 == sha256)
        ).first()
        if taken is not None:
            raise _duplicate()
        storage, key = get_storage(), file_key(sha256)
        if not storage.exists(key):
            with path.open("rb") as data:
                storage.put(key, data, content_type=detected.media_type)
    position = db.session.execute(
        sa.select(sa.func.coalesce(sa.func.max(MediaFile.position) + 1, 0)).where(
            MediaFile.item_id == item.id
        )
    ).scalar_one()
    media_file = MediaFile(
        item_id=item.id,
        format=detected.format,
        media_type=detected.media_type,
        size_bytes=size,
        sha256=sha256,
        position=position,
        label=clean(label, LABEL_MAX) or proposal.label,
        pages=proposal.pages,
        duration_seconds=proposal.duration_seconds,
    )
    try:
        with db.session.begin_nested():
            db.session.add(media_file)
    except IntegrityError:
        # The same file reached the same item in a request running alongside this one.
        raise _duplicate() from None
    db.session.expire(item, ["files"])  # the new file shows in ``item.files`` from now on
    audit(
        actor,
        "media.file_added",
        item,
        file_id=media_file.id,
        format=detected.format.value,
        sha256=sha256,
        size_bytes=size,
    )
    return Upload(media_file, detected, proposal, misnamed(filename, detected))


def _duplicate() -> Conflict:
    message = _l("This file is already attached to this item.")
    return Conflict(message, code="file_duplicate", errors={"file": [message]})


def propose(actor: User | None, media_file: MediaFile) -> Proposal:
    """Read the stored file's metadata again (what the confirmation page offers)."""
    require_staff(actor)
    with get_storage().local_copy(media_file.storage_key) as path:
        return read_metadata(path, media_file.format)


def apply_metadata(
    actor: User | None, item: MediaItem, proposal: Proposal, fields: list[str] | set[str]
) -> list[str]:
    """Set the chosen ``fields`` of ``item`` from ``proposal``; the names actually applied.

    Contributors are replaced by the file's; subjects are added to the item's; an ISBN is
    added unless the item has it (another item's ISBN is a ``Conflict``).
    """
    require_staff(actor)
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise Invalid(errors={"fields": [_l("Unknown field: %(name)s", name=sorted(unknown)[0])]})
    chosen = [name for name in proposal.offered() if name in set(fields)]
    for name in chosen:
        _APPLY[name](actor, item, proposal)
    if chosen:
        db.session.flush()
        audit(actor, "media.metadata_applied", item, fields=chosen)
        signals.item_described.send(item, actor=actor, fields=chosen)
    return chosen


def _apply_isbn(actor: User, item: MediaItem, p: Proposal) -> None:
    owner = db.session.execute(
        sa.select(Identifier.item_id).where(
            Identifier.scheme == IdentifierScheme.ISBN, Identifier.value == p.isbn
        )
    ).scalar_one_or_none()
    if owner is not None and owner != item.id:
        message = _l("This ISBN already belongs to another item.")
        raise Conflict(message, code="identifier_taken", errors={"isbn": [message]})
    if owner is None:
        item.identifiers.append(Identifier(scheme=IdentifierScheme.ISBN, value=p.isbn))


def _apply_contributors(actor: User, item: MediaItem, p: Proposal) -> None:
    item.contributors = [
        Contributor(name=person.name, role=person.role, position=index)
        for index, person in enumerate(p.contributors)
    ]
    db.session.flush()  # the old rows go before the new ones are counted anywhere


def _apply_subjects(actor: User, item: MediaItem, p: Proposal) -> None:
    have = {s.term.casefold() for s in item.subjects}
    for term in p.subjects:
        if term.casefold() not in have:
            item.subjects.append(Subject(term=term))
            have.add(term.casefold())


def _apply_series(actor: User, item: MediaItem, p: Proposal) -> None:
    item.series_title, item.series_number = p.series_title, p.series_number


def _apply_cover(actor: User, item: MediaItem, p: Proposal) -> None:
    assert p.cover is not None
    _store_cover(item, p.cover)


Apply = Callable[[User, MediaItem, Proposal], None]


def _setter(attribute: str, source: str | None = None) -> Apply:
    """Set one plain attribute of the item from the proposal."""

    def apply(actor: User, item: MediaItem, p: Proposal) -> None:
        setattr(item, attribute, getattr(p, source or attribute))

    return apply


_APPLY: dict[str, Apply] = {
    "title": _setter("title"),
    "subtitle": _setter("subtitle"),
    "contributors": _apply_contributors,
    "language": _setter("language"),
    "publisher": _setter("publisher"),
    "year": _setter("year"),
    "isbn": _apply_isbn,
    "description": _setter("description"),
    "subjects": _apply_subjects,
    "series": _apply_series,
    "pages": _setter("pages"),
    "duration": _setter("duration_seconds"),
    "cover": _apply_cover,
}


def set_cover(actor: User | None, item: MediaItem, stream: IO[bytes]) -> str:
    """Make ``item``'s cover from an uploaded image; its SHA-256 (the thumbnails' ETag)."""
    require_staff(actor)
    data = stream.read(COVER_MAX_BYTES + 1)
    if len(data) > COVER_MAX_BYTES:
        message = _l(
            "The image is larger than %(limit)s MB, the most we accept.",
            limit=COVER_MAX_BYTES // (1024 * 1024),
        )
        raise FileTooLarge(message, errors={"cover": [message]})
    sha256 = _store_cover(item, data)
    db.session.flush()
    audit(actor, "media.cover_set", item, sha256=sha256)
    signals.item_described.send(item, actor=actor, fields=["cover"])
    return sha256


def _store_cover(item: MediaItem, data: bytes) -> str:
    """Scale, store the thumbnails (once per image) and point ``item`` at them."""
    cover = make_cover(data)
    storage = get_storage()
    for width, jpeg in cover.thumbnails.items():
        key = cover_key(cover.sha256, width)
        if not storage.exists(key):
            with tempfile.SpooledTemporaryFile() as buffer:
                buffer.write(jpeg)
                buffer.seek(0)
                storage.put(key, buffer, content_type="image/jpeg")
    previous, item.cover_sha256 = item.cover_sha256, cover.sha256
    if previous and previous != cover.sha256:
        current_unit().on_commit(lambda: _drop_unused_cover(previous))
    return cover.sha256


def remove_file(actor: User | None, item: MediaItem, media_file: MediaFile) -> None:
    """Remove a file from ``item``; its bytes go after the commit unless another file has them."""
    require_staff(actor)
    if media_file.item_id != item.id:
        raise NotFound()
    sha256 = media_file.sha256
    audit(
        actor,
        "media.file_removed",
        item,
        file_id=media_file.id,
        format=media_file.format.value,
        sha256=sha256,
    )
    item.files.remove(media_file)
    db.session.flush()
    current_unit().on_commit(lambda: _drop_unused_file(sha256))


def _drop_unused_file(sha256: str) -> None:
    """Delete a file's bytes when no file row has them any more (checked after the commit).

    An upload of the very same bytes that stored nothing because they were there, and
    commits between this check and the delete, would lose them: that needs the last copy
    removed and re-uploaded within milliseconds.
    """
    used = db.session.execute(
        sa.select(sa.func.count()).select_from(MediaFile).where(MediaFile.sha256 == sha256)
    ).scalar_one()
    if not used:
        get_storage().delete(file_key(sha256))


def _drop_unused_cover(sha256: str) -> None:
    """Delete a cover's thumbnails when no item shows it any more."""
    used = db.session.execute(
        sa.select(sa.func.count()).select_from(MediaItem).where(MediaItem.cover_sha256 == sha256)
    ).scalar_one()
    if not used:
        storage = get_storage()
        for width in WIDTHS:
            storage.delete(cover_key(sha256, width))
