"""The browser reader's rules: which file of which loan opens how, and the reading position.

The reader adds no access rule of its own. Whether a patron may open a loan's file, and through
which signed link, is what ``library.access`` answers (:func:`~library.access.services.links_for`:
one's own open loan, brought up to date; the actions the licence allows): the reader takes the
link access gives and shows it in the right player. An EPUB is read from its download link, so
the reader holds the same watermarked copy a download does; PDFs, audio and video from their
stream link (inline).

The position is one row per loan (:class:`~library.models.ReadingPosition`): a CFI for an EPUB,
seconds for audio and video, with the file and a progress. It is written only while the loan is
open and deleted when it ends (``library.loans.services``).
"""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from library import rules
from library.access.links import Action, ActionNotAllowed, FileNotInLoan, LoanEnded
from library.access.services import FileLink, LoanLinks, files_of, links_for, open_own_loan
from library.models import Loan, ReadingPosition
from media.files.storage import get_storage
from media.ingest.audio import read_audio
from media.ingest.proposal import FileRefused
from media.models import FileFormat, MediaFile
from vhs.accounts.models import User
from vhs.db import db, utcnow
from vhs.errors import Invalid, NotFound


class Mode(enum.StrEnum):
    """How the browser shows a file."""

    EPUB = "epub"  # epub.js, from the (watermarked) download link
    PDF = "pdf"  # the browser's own viewer, from the stream link (inline)
    AUDIO = "audio"  # <audio controls>, from the stream link
    VIDEO = "video"  # <video controls>, from the stream link


MODES = {
    FileFormat.EPUB: Mode.EPUB,
    FileFormat.PDF: Mode.PDF,
    FileFormat.MP3: Mode.AUDIO,
    FileFormat.M4A: Mode.AUDIO,
    FileFormat.OGG: Mode.AUDIO,
    FileFormat.MP4: Mode.VIDEO,
    FileFormat.WEBM: Mode.VIDEO,
}
# The link each mode reads from: an EPUB is fetched whole by the reader (a download, with the
# watermark), the rest are shown inline as they stream.
SOURCE = {
    Mode.EPUB: Action.DOWNLOAD,
    Mode.PDF: Action.STREAM,
    Mode.AUDIO: Action.STREAM,
    Mode.VIDEO: Action.STREAM,
}
# What an EPUB CFI looks like: ``epubcfi(...)`` with printable characters inside.
CFI_PATTERN = re.compile(r"epubcfi\([\x20-\x7e]+\)")


def mode_of(media_file: MediaFile) -> Mode:
    """How the browser shows ``media_file``."""
    return MODES[media_file.format]


def keeps_seconds(media_file: MediaFile) -> bool:
    """Whether a position in this file is a time (audio, video) rather than a CFI (EPUB)."""
    return mode_of(media_file) in (Mode.AUDIO, Mode.VIDEO)


@dataclass(frozen=True)
class Chapter:
    """A chapter mark inside an audio or video file."""

    title: str
    start_seconds: float


@dataclass(frozen=True)
class Part:
    """Another file of the loan that plays in the same player (an audiobook in chapter files)."""

    file: MediaFile
    number: int


@dataclass(frozen=True)
class Reading:
    """What the reader page shows: the loan, the file, the link it reads from, the file's
    other links (without JavaScript), the parts and chapters, and where to resume."""

    loan: Loan
    file: MediaFile
    mode: Mode
    source: FileLink
    links: tuple[FileLink, ...]
    parts: tuple[Part, ...]
    chapters: tuple[Chapter, ...]
    position: ReadingPosition | None

    @property
    def next_part(self) -> Part | None:
        """The part after this file, which the player goes on with at the end."""
        numbers = [p.file.id for p in self.parts]
        if self.file.id not in numbers or numbers.index(self.file.id) + 1 >= len(numbers):
            return None
        return self.parts[numbers.index(self.file.id) + 1]

    @property
    def resume_here(self) -> bool:
        """The saved position is in this file (else the page offers the file it is in)."""
        return self.position is not None and self.position.file_id == self.file.id


def open_reader(patron: User, loan_id: int, file_id: int, now: datetime | None = None) -> Reading:
    """The reader of one file of one's own open loan, or access's refusal: 404
    ``loan_not_found`` (no loan, or someone else's), 410 ``loan_ended``, 404
    ``file_not_found`` (not a file of the loan), 403 ``download_not_allowed`` /
    ``streaming_not_allowed`` (the licence gives no link the browser can show this file from)."""
    now = now or utcnow()
    try:
        made = links_for(patron, loan_id, now)
    except LoanEnded:
        loan = db.session.get(Loan, loan_id)  # in the session already: read by links_for
        raise LoanEnded(extra={"item_id": loan.item_id} if loan else None) from None
    loan = made.loan
    files = files_of(loan)
    media_file = next((f for f in files if f.id == file_id), None)
    if media_file is None:
        raise FileNotInLoan()
    mode = mode_of(media_file)
    mine = tuple(link for link in made.links if link.file.id == file_id)
    source = next((link for link in mine if link.action is SOURCE[mode]), None)
    if source is None:
        wanted = SOURCE[mode]
        raise ActionNotAllowed(
            code="download_not_allowed" if wanted is Action.DOWNLOAD else "streaming_not_allowed"
        )
    parts: tuple[Part, ...] = ()
    if mode in (Mode.AUDIO, Mode.VIDEO):
        playable = [f for f in files if mode_of(f) is mode]
        if len(playable) > 1:
            parts = tuple(Part(f, n) for n, f in enumerate(playable, start=1))
    return Reading(
        loan=loan,
        file=media_file,
        mode=mode,
        source=source,
        links=mine,
        parts=parts,
        chapters=chapters_of(media_file) if mode in (Mode.AUDIO, Mode.VIDEO) else (),
        position=_position(loan.id),
    )


def chapters_of(media_file: MediaFile) -> tuple[Chapter, ...]:
    """The chapter marks an audio or video file carries (M4B ``chpl``, ID3 ``CHAP``), read
    with the ingest's reader from local storage; none from S3 (that would fetch the whole file
    for every page) or from a file the reader cannot parse."""
    path = get_storage().local_path(media_file.storage_key)
    if path is None or not path.is_file():
        return ()
    try:
        proposal = read_audio(path, media_file.format)
    except FileRefused:
        return ()
    return tuple(Chapter(c.title, c.start_seconds) for c in proposal.chapters)


# --- the position ------------------------------------------------------------------------------


def _position(loan_id: int) -> ReadingPosition | None:
    return db.session.execute(
        sa.select(ReadingPosition).where(ReadingPosition.loan_id == loan_id)
    ).scalar_one_or_none()


def get_position(patron: User, loan_id: int, now: datetime | None = None) -> ReadingPosition:
    """Where the patron is in their open loan (404 ``position_not_found`` before the first
    save; the loan's refusals as access has them)."""
    loan = open_own_loan(patron, loan_id, now)
    position = _position(loan.id)
    if position is None:
        raise NotFound(_l("Nothing has been read of this loan yet."), code="position_not_found")
    return position


def save_position(
    patron: User, loan_id: int, data: dict[str, Any], now: datetime | None = None
) -> ReadingPosition:
    """Keep where the patron is in a file of their open loan: ``file_id``, then ``cfi`` (an
    EPUB) or ``seconds`` (audio, video), and ``progress`` (0..1). The last save wins."""
    now = now or utcnow()
    loan = open_own_loan(patron, loan_id, now)
    values = _checked(loan, data)
    position = _position(loan.id)
    if position is None:
        position = ReadingPosition(loan_id=loan.id, **values, updated_at=now)
        try:
            with db.session.begin_nested():
                db.session.add(position)
        except IntegrityError:  # the first save from two devices at once: update theirs
            position = _position(loan.id)
            if position is None:
                raise
        else:
            return position
    for name, value in values.items():
        setattr(position, name, value)
    position.updated_at = now
    db.session.flush()
    return position


def _checked(loan: Loan, data: dict[str, Any]) -> dict[str, Any]:
    """The position's columns from ``data``, or Invalid with a message per field."""
    errors: dict[str, list[Any]] = {}
    media_file = next((f for f in files_of(loan) if f.id == data.get("file_id")), None)
    cfi, seconds, progress = data.get("cfi"), data.get("seconds"), data.get("progress")
    if media_file is None:
        errors["file_id"] = [_l("This file is not part of the loan.")]
    elif mode_of(media_file) is Mode.PDF:  # the browser's own viewer keeps its own place
        errors["file_id"] = [_l("A place is kept for e-books, audio and video only.")]
    elif keeps_seconds(media_file):
        if cfi is not None or not _number_in(seconds, 0, rules.POSITION_SECONDS_MAX):
            errors["seconds"] = [_l("A position in audio or video is a number of seconds.")]
    elif seconds is not None or not _is_cfi(cfi):
        errors["cfi"] = [_l("A position in an e-book is an EPUB CFI.")]
    if not _number_in(progress, 0, 1):
        errors["progress"] = [_l("The progress is a number from 0 to 1.")]
    if errors:
        raise Invalid(errors=errors)
    assert media_file is not None
    return {
        "file_id": media_file.id,
        "cfi": cfi if not keeps_seconds(media_file) else None,
        "seconds": float(seconds) if keeps_seconds(media_file) else None,
        "progress": float(progress),
    }


def _number_in(value: Any, lo: float, hi: float) -> bool:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return ok and math.isfinite(value) and lo <= value <= hi


def _is_cfi(value: Any) -> bool:
    ok = isinstance(value, str) and len(value) <= rules.POSITION_CFI_MAX
    return ok and CFI_PATTERN.fullmatch(value) is not None


def export_positions(patron: User) -> list[dict[str, Any]]:
    """The positions of the patron's open loans (GDPR export); ended loans have none."""
    rows = db.session.execute(
        sa.select(ReadingPosition)
        .join(Loan, Loan.id == ReadingPosition.loan_id)
        .where(Loan.user_id == patron.id)
        .order_by(ReadingPosition.loan_id)
    ).scalars()
    return [
        {
            "loan_id": row.loan_id,
            "item": {"id": row.loan.item_id, "title": row.loan.item.title},
            "file_id": row.file_id,
            "cfi": row.cfi,
            "seconds": row.seconds,
            "progress": row.progress,
            "updated_at": row.updated_at.isoformat(),
        }
        for row in rows
    ]


def readable(made: LoanLinks) -> tuple[tuple[MediaFile, Mode], ...]:
    """The files of a loan the account page links to the reader: each EPUB it may download,
    and the first audio or video file it may stream (the player lists the others as parts).
    PDFs need no reader page: their stream link opens in the browser's own viewer."""
    found: list[tuple[MediaFile, Mode]] = []
    modes: set[Mode] = set()
    for link in made.links:
        mode = mode_of(link.file)
        if mode is Mode.PDF or link.action is not SOURCE[mode]:
            continue
        if mode is Mode.EPUB or mode not in modes:
            found.append((link.file, mode))
            modes.add(mode)
    return tuple(found)
