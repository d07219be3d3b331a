"""The neutral record every reader yields, and why a record is refused.

An :class:`ImportRecord` holds what one MARC record, ONIX product or CSV row says about an item,
in the shape :func:`media.catalogue.services.save_item` takes (``to_data()``), so an imported
item passes exactly the checks a staff form or an API call does. A reader that cannot make a
record of its input yields a :class:`Rejection` instead, with the record's position and, where
it could read them, its identifier and title; the importer goes on with the next record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from media import rules
from media.ingest.proposal import clean, clean_block
from media.models import ContributorRole, IdentifierScheme, MediaKind, PublicationState

# The keys of ``save_item``'s data an import sets when the source has a value for them.
TEXT_KEYS = ("title", "subtitle", "publisher", "description", "classification", "series_title")
NUMBER_KEYS = ("year", "series_number", "min_age", "pages", "duration_seconds")


@dataclass
class ImportRecord:
    """One item as a source describes it (empty values: the source says nothing)."""

    position: int  # 1-based: the n-th record (product, row) of the file
    kind: MediaKind | None = None
    title: str = ""
    subtitle: str = ""
    publisher: str = ""
    year: int | None = None
    language: str = ""
    description: str = ""
    classification: str = ""
    series_title: str = ""
    series_number: int | None = None
    min_age: int | None = None
    pages: int | None = None
    duration_seconds: int | None = None
    contributors: list[tuple[str, ContributorRole]] = field(default_factory=list)
    identifiers: list[tuple[IdentifierScheme, str]] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    # The state the source asks for (the CSV's ``state`` column); None: the run decides.
    state: PublicationState | None = None
    # ONIX notification type 05: the product is gone; withdraw the matching item.
    delete: bool = False

    def label(self) -> str:
        """The record's first identifier, for reports ("isbn 978…"); empty without one."""
        if not self.identifiers:
            return ""
        scheme, value = self.identifiers[0]
        return f"{scheme.value.upper()} {value}" if scheme is not IdentifierScheme.OTHER else value

    def add_person(self, name: Any, role: ContributorRole) -> None:
        """A contributor, once per name and role, cleaned; nameless ones are skipped."""
        person = (clean(name, rules.CONTRIBUTOR_NAME_MAX), role)
        if person[0] and person not in self.contributors:
            self.contributors.append(person)

    def add_identifier(self, scheme: IdentifierScheme, value: Any) -> None:
        """A number as the source wrote it (checked and normalised by the importer)."""
        text = clean(value, rules.IDENTIFIER_MAX)
        if text and (scheme, text) not in self.identifiers:
            self.identifiers.append((scheme, text))

    def add_subject(self, term: Any) -> None:
        """A keyword, once (ignoring case), without trailing punctuation."""
        text = clean(term, rules.SUBJECT_MAX).rstrip(" .;,")
        if text and text.casefold() not in {s.casefold() for s in self.subjects}:
            self.subjects.append(text)

    def to_data(self) -> dict[str, Any]:
        """``save_item``'s data: only what the source has a value for (the rest stays as is)."""
        data: dict[str, Any] = {}
        if self.kind is not None:
            data["kind"] = self.kind
        for key in TEXT_KEYS:
            if value := getattr(self, key):
                data[key] = value
        for key in NUMBER_KEYS:
            if (value := getattr(self, key)) is not None:
                data[key] = value
        if self.language:
            data["language"] = self.language
        if self.contributors:
            data["contributors"] = [{"name": n, "role": r} for n, r in self.contributors]
        if self.identifiers:
            data["identifiers"] = [{"scheme": s, "value": v} for s, v in self.identifiers]
        if self.subjects:
            data["subjects"] = list(self.subjects)
        return data


@dataclass
class Rejection:
    """A record (or a file) not imported, and why, in the language of the run."""

    position: int | None
    reason: str
    identifier: str = ""
    title: str = ""


@dataclass
class Notice:
    """Something about the file as a whole (its unknown CSV columns), reported once."""

    message: str


# --- small readers of values, shared by the formats -------------------------------------------

_DIGITS = re.compile(r"\d+")


def text(value: Any, key: str) -> str:
    """One line of text within the limit of ``key``'s column."""
    limit = {
        "title": rules.TITLE_MAX,
        "subtitle": rules.SUBTITLE_MAX,
        "publisher": rules.PUBLISHER_MAX,
        "classification": rules.CLASSIFICATION_MAX,
        "series_title": rules.SERIES_TITLE_MAX,
    }[key]
    return clean(value, limit)


def block(value: Any) -> str:
    """Running text (a description), paragraphs kept."""
    return clean_block(value, rules.DESCRIPTION_MAX)


def year(value: Any) -> int | None:
    """The first four-digit year in ``value`` ("c2019", "[2021]", "2019-03-01") within bounds."""
    match = re.search(r"(?<!\d)(\d{4})(?!\d)", str(value or ""))
    found = int(match.group(1)) if match else None
    return found if found in rules.YEAR else None


def whole(value: Any) -> int | None:
    """A whole number written alone ("3", " 12 "), else None."""
    raw = str(value or "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


def series_number(value: Any) -> int | None:
    """A volume number from "Bd. 3", "3", "Band 12", "3.0"; None when there is none."""
    match = re.search(r"\d+(?:[.,]0+)?(?![\d.,])", str(value or ""))
    if not match:
        return None
    number = int(float(match.group(0).replace(",", ".")))
    return number if number in rules.SERIES_NUMBER else None


def pages(value: Any) -> int | None:
    """Pages from an extent statement: "320 S.", "1 Online-Ressource (320 Seiten)", "xii, 320 p."."""
    raw = str(value or "")
    match = re.search(r"(\d+)\s*(?:S\.|Seiten|Seite|p\.|pages|pp\.)", raw, re.I)
    number = int(match.group(1)) if match else None
    return number if number in rules.PAGES else None


def duration(value: Any) -> int | None:
    """Seconds from "h:mm:ss", "mm:ss", "hhmmss" (MARC 306), "90 min", "ca. 7 Std. 30 Min."."""
    raw = str(value or "").strip()
    if not raw:
        return None
    seconds: int | None = None
    if match := re.fullmatch(r"(\d+):(\d{1,2}):(\d{1,2})", raw):
        h, m, s = map(int, match.groups())
        seconds = h * 3600 + m * 60 + s if m < 60 and s < 60 else None
    elif match := re.fullmatch(r"(\d+):(\d{1,2})", raw):
        m, s = map(int, match.groups())
        seconds = m * 60 + s if s < 60 else None
    elif re.fullmatch(r"\d{6}", raw):
        h, m, s = int(raw[:2]), int(raw[2:4]), int(raw[4:])
        seconds = h * 3600 + m * 60 + s if m < 60 and s < 60 else None
    else:
        hours = re.search(r"(\d+)\s*(?:h\b|Std\.?|Stunden?|hours?|hr)", raw, re.I)
        minutes = re.search(r"(\d+)\s*(?:min\.?|Minuten?|minutes?)", raw, re.I)
        if hours or minutes:
            seconds = int(hours.group(1)) * 3600 if hours else 0
            seconds += int(minutes.group(1)) * 60 if minutes else 0
    return seconds if seconds in rules.DURATION_SECONDS else None


def min_age(value: Any) -> int | None:
    """An age rating from "FSK 12", "USK ab 6", "ab 16 Jahren", "12"; the next rating up.

    A recommendation "ab 10 Jahren" becomes 12: the youngest rating the item suits that is
    not below what the source says.
    """
    match = re.search(r"(\d{1,2})", str(value or ""))
    if not match:
        return None
    age = int(match.group(1))
    return next((rating for rating in rules.AGE_RATINGS if rating >= age), None)


def language(value: Any) -> str:
    """The catalogue's code for an ISO 639-1/-2 code ("ger" → "de"); "" when unknown."""
    code = re.split(r"[-_]", str(value or "").strip().lower(), maxsplit=1)[0]
    return rules.normalise_language(code) or "" if code else ""


def unreadable(problem: Any) -> str:
    """Why a record the reader could not make sense of is refused (in the run's language)."""
    return _("The record cannot be read: %(problem)s", problem=str(problem)[:200])
