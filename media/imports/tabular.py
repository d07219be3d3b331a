"""CSV rows as import records: UTF-8 (with or without BOM), ``,`` ``;`` or tab, as Excel writes.

The columns (header names in English or German, any case, in any order; only ``title`` is
required): ``kind``/``Art``, ``title``/``Titel``, ``subtitle``/``Untertitel``,
``authors``/``Autoren``, ``narrators``/``Sprecher``, ``editors``/``Herausgeber``,
``translators``/``Übersetzer``, ``publisher``/``Verlag``, ``year``/``Jahr``, ``isbn``,
``issn``, ``language``/``Sprache``, ``description``/``Beschreibung``,
``subjects``/``Schlagwörter``, ``classification``/``Systematik``, ``series``/``Reihe``,
``series_number``/``Band``, ``audience``/``Altersfreigabe``, ``pages``/``Seiten``,
``duration``/``Dauer``, ``state``/``Status``.

People are "Nachname, Vorname; Nachname, Vorname" (or "Vorname Nachname"), keywords
"a; b", a duration ``h:mm:ss`` or whole minutes, an age rating "12" or "FSK 12", a kind
``ebook``/``E-Book``, ``audiobook``/``Hörbuch``, ``emagazine``/``Zeitschrift``,
``video``/``Film``, ``document``/``Dokument`` (default: e-book), a state
``draft``/``Entwurf``, ``published``/``veröffentlicht``, ``withdrawn``/``zurückgezogen``.
A row's position is its row in the spreadsheet (the header is row 1). Columns the importer
does not know are reported once.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import IO

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from media.imports import records as r
from media.imports.records import ImportRecord, Notice, Rejection
from media.models import ContributorRole, IdentifierScheme, MediaKind, PublicationState

COLUMNS = {
    "kind": ("kind", "art", "medienart", "typ"),
    "title": ("title", "titel"),
    "subtitle": ("subtitle", "untertitel"),
    "authors": ("authors", "author", "autoren", "autor", "verfasser"),
    "narrators": ("narrators", "narrator", "sprecher"),
    "editors": ("editors", "editor", "herausgeber"),
    "translators": ("translators", "translator", "übersetzer"),
    "publisher": ("publisher", "verlag"),
    "year": ("year", "jahr", "erscheinungsjahr"),
    "isbn": ("isbn",),
    "issn": ("issn",),
    "language": ("language", "sprache"),
    "description": ("description", "beschreibung"),
    "subjects": ("subjects", "schlagwörter", "schlagworte"),
    "classification": ("classification", "systematik", "klassifikation"),
    "series": ("series", "reihe"),
    "series_number": ("series_number", "band", "bandnummer"),
    "audience": ("audience", "altersfreigabe", "alter"),
    "pages": ("pages", "seiten", "seitenzahl"),
    "duration": ("duration", "dauer", "laufzeit"),
    "state": ("state", "status"),
}
HEADERS = {alias: column for column, aliases in COLUMNS.items() for alias in aliases}
PEOPLE = {
    "authors": ContributorRole.AUTHOR,
    "narrators": ContributorRole.NARRATOR,
    "editors": ContributorRole.EDITOR,
    "translators": ContributorRole.TRANSLATOR,
}
KINDS = {
    **dict.fromkeys(("ebook", "e-book", "ebooks"), MediaKind.EBOOK),
    **dict.fromkeys(("audiobook", "hörbuch", "e-audio", "eaudio"), MediaKind.AUDIOBOOK),
    **dict.fromkeys(("emagazine", "e-magazine", "e-magazin", "zeitschrift"), MediaKind.EMAGAZINE),
    **dict.fromkeys(("video", "film", "evideo", "e-video"), MediaKind.VIDEO),
    **dict.fromkeys(("document", "dokument"), MediaKind.DOCUMENT),
}
STATES = {
    **dict.fromkeys(("draft", "entwurf"), PublicationState.DRAFT),
    **dict.fromkeys(("published", "veröffentlicht", "publiziert"), PublicationState.PUBLISHED),
    **dict.fromkeys(("withdrawn", "zurückgezogen"), PublicationState.WITHDRAWN),
}
NUMBER_LABELS = {
    "year": _l("Year"),
    "series_number": _l("Volume"),
    "pages": _l("Pages"),
    "duration": _l("Duration"),
    "audience": _l("Age rating"),
}
DELIMITERS = (";", ",", "\t")
MAX_FIELD = 100_000  # characters in one cell (csv's own limit is 131,072)


class NoTitleColumn(ValueError):
    """The header has no title column: nothing in the file can be read as an item."""


def _header_key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower()).strip("_")


def read_csv(stream: IO[bytes]) -> Iterator[ImportRecord | Rejection | Notice]:
    """The rows of a CSV file, one at a time (the unknown columns once, first)."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    try:
        yield from _rows(text)
    finally:
        text.detach()  # the caller opened the stream and closes it


def _rows(text: io.TextIOWrapper) -> Iterator[ImportRecord | Rejection | Notice]:
    header_line = text.readline()
    delimiter = max(DELIMITERS, key=lambda d: _known(header_line, d))
    header = next(csv.reader([header_line], delimiter=delimiter), [])
    columns = [HEADERS.get(_header_key(h)) for h in header]
    if "title" not in columns:
        raise NoTitleColumn()
    unknown = [h.strip() for h, c in zip(header, columns, strict=True) if c is None and h.strip()]
    if unknown:
        yield Notice(_("Unknown columns were ignored: %(names)s", names=", ".join(unknown)))
    csv.field_size_limit(MAX_FIELD)
    rows = csv.reader(text, delimiter=delimiter)
    position = 1
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            position += 1
            yield Rejection(position, r.unreadable(exc))
            continue
        position += 1
        if not any(cell.strip() for cell in row):
            continue
        values = {c: v for c, v in zip(columns, row, strict=False) if c is not None}
        if any("\ufffd" in v for v in row):
            yield Rejection(
                position, _("The row is not valid UTF-8 text."), title=values.get("title", "")[:200]
            )
            continue
        yield map_row(values, position)


def _known(line: str, delimiter: str) -> int:
    cells = next(csv.reader([line], delimiter=delimiter), [])
    return sum(1 for cell in cells if _header_key(cell) in HEADERS)


def _names(text: str) -> list[str]:
    """ "Berg, Anna; Krause, Jan" → ["Anna Berg", "Jan Krause"]; "Anna Berg" stays."""
    names = []
    for part in re.split(r"[;\n]", text):
        part = part.strip()
        if part.count(",") == 1:
            surname, forenames = (p.strip() for p in part.split(","))
            part = f"{forenames} {surname}".strip()
        if part:
            names.append(part)
    return names


def map_row(values: dict[str, str], position: int) -> ImportRecord | Rejection:
    """One row as an import record, or a rejection for a value that cannot be right."""
    get = lambda key: (values.get(key) or "").strip()  # noqa: E731
    item = ImportRecord(position=position)
    kind = get("kind").lower()
    item.kind = KINDS.get(kind, MediaKind.EBOOK if not kind else None)
    item.title = r.text(get("title"), "title")
    problems: list[str] = []
    if item.kind is None:
        problems.append(_("Unknown kind of medium “%(value)s”.", value=get("kind")[:50]))
    for key in ("subtitle", "publisher", "classification"):
        setattr(item, key, r.text(get(key), key))
    item.series_title = r.text(get("series"), "series_title")
    item.description = r.block(values.get("description") or "")
    for column, role in PEOPLE.items():
        for name in _names(get(column)):
            item.add_person(name, role)
    for value in re.split(r"[;\s]+", get("isbn")):
        item.add_identifier(IdentifierScheme.ISBN, value)
    for value in re.split(r"[;\s]+", get("issn")):
        item.add_identifier(IdentifierScheme.ISSN, value)
    for term in re.split(r"[;\n]", get("subjects")):
        item.add_subject(term)
    if get("language"):
        item.language = r.language(get("language")) or get("language")[:10]
    _numbers(get, item, problems)
    state = get("state").lower()
    if state:
        item.state = STATES.get(state)
        if item.state is None:
            problems.append(_("Unknown state “%(value)s”.", value=get("state")[:50]))
    if problems:
        return Rejection(position, " ".join(problems), item.label(), item.title)
    return item


def _numbers(get: object, item: ImportRecord, problems: list[str]) -> None:
    """Year, volume, pages, duration and age rating; a value given but unreadable is refused."""
    read = {
        "year": (r.year, "year"),
        "series_number": (r.series_number, "series_number"),
        "pages": (r.whole, "pages"),
        "duration": (_minutes_or_clock, "duration_seconds"),
        "audience": (r.min_age, "min_age"),
    }
    for column, (parse, attribute) in read.items():
        raw = get(column)  # type: ignore[operator]
        if not raw:
            continue
        value = parse(raw)
        if value is None:
            message = _(
                "%(column)s: “%(value)s” cannot be read.",
                column=NUMBER_LABELS[column],
                value=raw[:50],
            )
            problems.append(message)
        setattr(item, attribute, value)


def _minutes_or_clock(text: str) -> int | None:
    """``h:mm:ss`` (or ``mm:ss``) as a clock, a whole number as minutes."""
    text = text.strip()
    if text.isdigit():
        return r.duration(f"{text} min")
    return r.duration(text)
