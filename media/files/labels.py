"""What the media file pages call things: formats, proposal fields, roles, sizes, durations."""

from __future__ import annotations

from typing import Any

from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l

from media.ingest.proposal import Person, Proposal
from media.models import ContributorRole, FileFormat, MediaItem

FORMAT_LABELS: dict[FileFormat, Any] = {
    FileFormat.EPUB: "EPUB",
    FileFormat.PDF: "PDF",
    FileFormat.MP3: "MP3",
    FileFormat.M4A: _l("MPEG-4 audio (M4A/M4B)"),
    FileFormat.OGG: "Ogg",
    FileFormat.MP4: _l("MPEG-4 video"),
    FileFormat.WEBM: "WebM",
}

FIELD_LABELS: dict[str, Any] = {
    "title": _l("Title"),
    "subtitle": _l("Subtitle"),
    "contributors": _l("Contributors"),
    "language": _l("Language"),
    "publisher": _l("Publisher"),
    "year": _l("Year"),
    "isbn": _l("ISBN"),
    "description": _l("Description"),
    "subjects": _l("Subjects"),
    "series": _l("Series"),
    "pages": _l("Pages"),
    "duration": _l("Duration"),
    "cover": _l("Cover"),
}

ROLE_LABELS: dict[ContributorRole, Any] = {
    ContributorRole.AUTHOR: _l("author"),
    ContributorRole.NARRATOR: _l("narrator"),
    ContributorRole.EDITOR: _l("editor"),
    ContributorRole.TRANSLATOR: _l("translator"),
    ContributorRole.ILLUSTRATOR: _l("illustrator"),
}


def size_label(size: int) -> str:
    """A byte count as people read it: ``812 KB``, ``12,4 MB`` (decimal units, localised)."""
    for unit, factor in (("GB", 1000**3), ("MB", 1000**2), ("KB", 1000)):
        if size >= factor:
            return f"{format_decimal(round(size / factor, 1))} {unit}"
    return f"{size} B"


def duration_label(seconds: int | None) -> str:
    """``1:05:09`` (hours) or ``5:09`` (minutes); empty when unknown."""
    if not seconds:
        return ""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _people(people: list[Person]) -> str:
    return "; ".join(f"{p.name} ({ROLE_LABELS[p.role]})" for p in people)


def proposed_value(p: Proposal, name: str) -> str:
    """How the confirmation page shows what the file proposes for ``name``."""
    values: dict[str, Any] = {
        "contributors": lambda: _people(p.contributors),
        "subjects": lambda: ", ".join(p.subjects),
        "series": lambda: (
            p.series_title
            + (f" ({_l('volume')} {p.series_number})" if p.series_number is not None else "")
        ),
        "duration": lambda: duration_label(p.duration_seconds),
        "cover": lambda: _l("Image from the file (%(size)s)", size=size_label(len(p.cover or b""))),
    }
    if name in values:
        return str(values[name]())
    value = getattr(p, name)
    return "" if value is None else str(value)


def current_value(item: MediaItem, name: str) -> str:
    """What the item has now for ``name``, shown beside the proposal."""
    values: dict[str, Any] = {
        "contributors": lambda: "; ".join(
            f"{c.name} ({ROLE_LABELS[c.role]})" for c in item.contributors
        ),
        "subjects": lambda: ", ".join(s.term for s in item.subjects),
        "isbn": lambda: item.isbn or "",
        "series": lambda: (
            item.series_title
            + (f" ({_l('volume')} {item.series_number})" if item.series_number is not None else "")
        ),
        "duration": lambda: duration_label(item.duration_seconds),
        "cover": lambda: _l("an image") if item.cover_sha256 else "",
    }
    if name in values:
        return str(values[name]())
    value = getattr(item, name)
    return "" if value is None else str(value)
