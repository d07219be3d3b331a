"""What a file says about its item (a proposal staff may accept), and why a file is refused.

The readers (``epub``, ``pdf``, ``audio``) return a :class:`Proposal`: plain values, already
cleaned (control characters gone, lengths within the item's columns), that the upload page
offers field by field. A file that cannot be read is refused with a :class:`FileRefused`
naming the reason in the user's language; nothing of it is kept.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l

from media.models import ContributorRole, MediaItem
from vhs.errors import Invalid, VhsError

# Why a file is refused, by stable code; the messages say what to do about it.
REASONS: dict[str, Any] = {
    "file_empty": _l("The file is empty."),
    "file_format_unknown": _l(
        "This file is not in a format we accept. Accepted are EPUB, PDF, MP3, M4A/M4B, Ogg, "
        "MP4 and WebM; the format is read from the content, not from the file name."
    ),
    "file_corrupt": _l("The file is damaged or incomplete and cannot be read."),
    "file_encrypted": _l(
        "The file is encrypted or protected by DRM. Please upload a version without protection."
    ),
    "file_unsafe_path": _l(
        "The archive contains file names that point outside it (such as “../” or absolute paths)."
    ),
    "file_zip_bomb": _l(
        "The archive would unpack to far more data than it holds (a “zip bomb”); it is refused."
    ),
    "cover_not_image": _l("The cover must be an image in JPEG, PNG, WebP or GIF format."),
    "cover_too_many_pixels": _l("The image has too many pixels; please upload a smaller one."),
}


class FileRefused(Invalid):
    """A file we do not take; ``code`` says why (see ``REASONS``)."""

    code = "file_refused"


class FileTooLarge(VhsError):
    """An upload over the configured size limit."""

    status = 413
    code = "file_too_large"
    title = _l("The file is too large.")


def refused(code: str, field_name: str = "file") -> FileRefused:
    """The refusal for ``code``, its message also attached to the form field."""
    message = REASONS[code]
    return FileRefused(message, code=code, errors={field_name: [message]})


# --- the proposal ------------------------------------------------------------------------------

# What staff may accept from a file, in the order the confirmation page shows them.
FIELDS = (
    "title",
    "subtitle",
    "contributors",
    "language",
    "publisher",
    "year",
    "isbn",
    "description",
    "subjects",
    "series",
    "pages",
    "duration",
    "cover",
)

MAX_SUBJECTS = 30
MAX_CONTRIBUTORS = 30
MAX_CHAPTERS = 500
DESCRIPTION_MAX = 20_000
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


@dataclass(frozen=True)
class Person:
    """A contributor as the file names them."""

    name: str
    role: ContributorRole


@dataclass(frozen=True)
class Chapter:
    """A chapter mark of an audiobook."""

    title: str
    start_seconds: float


@dataclass
class Proposal:
    """The metadata read from one file: empty values mean the file said nothing."""

    title: str = ""
    subtitle: str = ""
    contributors: list[Person] = field(default_factory=list)
    language: str = ""
    publisher: str = ""
    year: int | None = None
    isbn: str = ""
    description: str = ""
    subjects: list[str] = field(default_factory=list)
    series_title: str = ""
    series_number: int | None = None
    pages: int | None = None
    duration_seconds: int | None = None
    chapters: list[Chapter] = field(default_factory=list)
    # The file's own title (a track or chapter title), a label among an item's files.
    label: str = ""
    # Cover image bytes as found in the file (checked and scaled only when accepted).
    cover: bytes | None = field(default=None, repr=False)

    def offered(self) -> list[str]:
        """The fields this file has a value for, in ``FIELDS`` order."""
        values = {
            "title": self.title,
            "subtitle": self.subtitle,
            "contributors": self.contributors,
            "language": self.language,
            "publisher": self.publisher,
            "year": self.year,
            "isbn": self.isbn,
            "description": self.description,
            "subjects": self.subjects,
            "series": self.series_title,
            "pages": self.pages,
            "duration": self.duration_seconds,
            "cover": self.cover,
        }
        return [name for name in FIELDS if values[name] not in (None, "", [], b"")]


# --- cleaning what files say ---------------------------------------------------------------------


def clean(text: Any, limit: int) -> str:
    """One line of text: NFC, no control characters, single spaces, at most ``limit`` chars."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = _SPACE.sub(" ", _CONTROL.sub("", unicodedata.normalize("NFC", text))).strip()
    return text[:limit].rstrip()


def clean_block(text: Any, limit: int = DESCRIPTION_MAX) -> str:
    """Running text: paragraphs kept (blank lines), otherwise like ``clean``."""
    if not isinstance(text, str):
        return ""
    text = _CONTROL.sub("", unicodedata.normalize("NFC", text).replace("\r", "\n"))
    paragraphs = [_SPACE.sub(" ", p).strip() for p in re.split(r"\n\s*\n", text)]
    return "\n\n".join(p for p in paragraphs if p)[:limit].rstrip()


def column_limit(name: str) -> int:
    """The length of ``MediaItem.<name>``'s column: each limit lives once, in the model."""
    return int(MediaItem.__table__.c[name].type.length)


def year_of(text: Any) -> int | None:
    """The year a date string starts with (``2019-03-01``, ``2019``), within the model's range."""
    match = re.match(r"\s*(\d{4})", str(text or ""))
    year = int(match.group(1)) if match else None
    return year if year is not None and 1400 <= year <= 2200 else None


def series_number_of(text: Any) -> int | None:
    """A whole, non-negative position in a series (``3``, ``3.0``); None for ``2.5`` or junk."""
    try:
        number = float(str(text).strip().replace(",", "."))
    except ValueError:
        return None
    if not number.is_integer() or not 0 <= number < 100_000:
        return None
    return int(number)


def isbn13(text: Any) -> str | None:
    """``text`` as an ISBN-13 if it is a valid ISBN-13 or ISBN-10 (check digits verified).

    Accepts ``urn:isbn:``/``isbn:`` prefixes, hyphens and spaces; None for anything else.
    """
    raw = re.sub(r"^(urn:)?isbn:?", "", str(text or "").strip(), flags=re.I)
    digits = re.sub(r"[\s-]", "", raw).upper()
    if re.fullmatch(r"97[89]\d{10}", digits):
        total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits[:12]))
        return digits if (10 - total % 10) % 10 == int(digits[12]) else None
    if re.fullmatch(r"\d{9}[\dX]", digits):
        check = sum((10 - i) * (10 if d == "X" else int(d)) for i, d in enumerate(digits))
        if check % 11:
            return None
        body = "978" + digits[:9]
        total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
        return body + str((10 - total % 10) % 10)
    return None


# ISO 639-2 (bibliographic and terminology) codes of the languages a town library mostly
# stocks, to their ISO 639-1 code; other three-letter codes are kept as they are.
_ISO639_2_TO_1 = {
    "ger": "de",
    "deu": "de",
    "eng": "en",
    "fre": "fr",
    "fra": "fr",
    "spa": "es",
    "ita": "it",
    "dut": "nl",
    "nld": "nl",
    "pol": "pl",
    "tur": "tr",
    "rus": "ru",
    "ukr": "uk",
    "ara": "ar",
    "gre": "el",
    "ell": "el",
    "por": "pt",
    "dan": "da",
    "swe": "sv",
    "nor": "no",
    "fin": "fi",
    "cze": "cs",
    "ces": "cs",
    "hun": "hu",
    "rum": "ro",
    "ron": "ro",
    "per": "fa",
    "fas": "fa",
    "chi": "zh",
    "zho": "zh",
    "jpn": "ja",
}


def language_code(text: Any) -> str:
    """An ISO 639 code from a language tag (``de-DE`` → ``de``, ``ger`` → ``de``), or ``""``."""
    primary = re.split(r"[-_]", str(text or "").strip().lower(), maxsplit=1)[0]
    if re.fullmatch(r"[a-z]{2}", primary):
        return primary
    if re.fullmatch(r"[a-z]{3}", primary):
        return _ISO639_2_TO_1.get(primary, primary)
    return ""


def add_person(people: list[Person], name: Any, role: ContributorRole) -> None:
    """Add a contributor once (same name and role), cleaned; empty names are skipped."""
    cleaned = clean(name, 300)
    person = Person(cleaned, role)
    if cleaned and person not in people and len(people) < MAX_CONTRIBUTORS:
        people.append(person)


def add_subject(subjects: list[str], term: Any) -> None:
    """Add a keyword once (case-insensitively), cleaned; empty ones are skipped."""
    cleaned = clean(term, 200)
    if (
        cleaned
        and cleaned.casefold() not in {s.casefold() for s in subjects}
        and len(subjects) < MAX_SUBJECTS
    ):
        subjects.append(cleaned)
