"""Checking what staff, the API and the importer send for an item, against ``media.rules``.

``clean_item_data`` turns the loose shape of :func:`media.catalogue.services.save_item`'s
``data`` (strings or enums, numbers or None) into clean values, collecting every problem as
field errors so that one answer lists them all. Forms and schemas check the same limits first
(they read ``media.rules`` too); this is the check nobody can go around.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l

from media import rules
from media.catalogue.labels import IDENTIFIER_MESSAGES
from media.models import ContributorRole, IdentifierScheme, MediaKind
from vhs.errors import Invalid

Errors = dict[str, list[Any]]

TEXT_LIMITS = {
    "title": rules.TITLE_MAX,
    "subtitle": rules.SUBTITLE_MAX,
    "publisher": rules.PUBLISHER_MAX,
    "description": rules.DESCRIPTION_MAX,
    "classification": rules.CLASSIFICATION_MAX,
    "series_title": rules.SERIES_TITLE_MAX,
}
NUMBER_BOUNDS = {
    "year": rules.YEAR,
    "series_number": rules.SERIES_NUMBER,
    "pages": rules.PAGES,
    "duration_seconds": rules.DURATION_SECONDS,
}
LIST_KEYS = ("contributors", "identifiers", "subjects")
KNOWN_KEYS = frozenset(
    {"kind", "language", "min_age", "cover_sha256", *TEXT_LIMITS, *NUMBER_BOUNDS, *LIST_KEYS}
)

_SPACES = re.compile(r"\s+")


def _one_line(value: str) -> str:
    """Text for a single-line field: runs of white space (also line breaks) become one space."""
    return _SPACES.sub(" ", value).strip()


def _note(errors: Errors, key: str, message: Any) -> None:
    """Record a problem with field ``key``."""
    errors.setdefault(key, []).append(message)


def _entry(n: int, message: Any) -> Any:
    """A problem with the n-th entry of a list (people, numbers, subjects)."""
    return _l("Entry %(n)d: %(problem)s", n=n, problem=message)


def _enum(enum_cls: type, value: Any) -> Any:
    """``value`` as a member of ``enum_cls`` (given as the member or its value), else None."""
    if isinstance(value, enum_cls):
        return value
    try:
        return enum_cls(value)
    except ValueError:
        return None


def _texts(data: dict[str, Any], out: dict[str, Any], errors: Errors) -> None:
    """Clean the text fields: one line (the description keeps its lines), limits."""
    for key, limit in TEXT_LIMITS.items():
        if key not in data:
            continue
        value = data[key]
        if value is None:
            value = ""
        if not isinstance(value, str):
            _note(errors, key, _l("Please enter text."))
            continue
        value = value.strip() if key == "description" else _one_line(value)
        if len(value) > limit:
            _note(errors, key, _l("Use at most %(n)d characters.", n=limit))
        out[key] = value
    if "title" in out and not out["title"]:
        _note(errors, "title", _l("Please enter a title."))


def _numbers(data: dict[str, Any], out: dict[str, Any], errors: Errors) -> None:
    """Check the whole numbers against their bounds and the age ratings."""
    for key, bounds in NUMBER_BOUNDS.items():
        if key not in data:
            continue
        value = data[key]
        if value is not None and value not in bounds:
            _note(
                errors,
                key,
                _l(
                    "Please enter a whole number from %(lo)d to %(hi)d.", lo=bounds.lo, hi=bounds.hi
                ),
            )
        out[key] = value
    if "min_age" in data:
        value = data["min_age"]
        if value is not None and (isinstance(value, bool) or value not in rules.AGE_RATINGS):
            ages = ", ".join(str(a) for a in rules.AGE_RATINGS)
            _note(errors, "min_age", _l("Choose one of the age ratings %(ages)s.", ages=ages))
        out["min_age"] = value


def _kind_language_cover(data: dict[str, Any], out: dict[str, Any], errors: Errors) -> None:
    """Check the kind, the language (kept as the catalogue's code) and the cover hash."""
    if "kind" in data:
        kind = _enum(MediaKind, data["kind"])
        if kind is None:
            _note(errors, "kind", _l("Choose a kind of medium."))
        out["kind"] = kind
    if "language" in data:
        raw = data["language"]
        code = rules.normalise_language(raw) if isinstance(raw, str) else None
        if code is None:
            _note(errors, "language", _l("Enter a language as an ISO 639 code, e.g. de or en."))
        out["language"] = code
    if "cover_sha256" in data:
        value = data["cover_sha256"]
        if value is not None and not (
            isinstance(value, str) and re.fullmatch(rules.SHA256_PATTERN, value)
        ):
            _note(errors, "cover_sha256", _l("This is not the SHA-256 of a stored cover."))
        out["cover_sha256"] = value


def _rows(value: Any, key: str, limit: int, errors: Errors) -> list[Any]:
    """The entries of a list field, or [] with a note when it is not a list or too long."""
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        _note(errors, key, _l("Please send a list."))
        return []
    if len(value) > limit:
        _note(errors, key, _l("At most %(n)d entries.", n=limit))
        return []
    return list(value)


def clean_contributors(value: Any, errors: Errors) -> list[tuple[str, ContributorRole]]:
    """People in their order, as (name, role); the same person in the same role once."""
    out: list[tuple[str, ContributorRole]] = []
    for n, row in enumerate(_rows(value, "contributors", rules.CONTRIBUTORS_MAX, errors), 1):
        if not isinstance(row, dict):
            _note(errors, "contributors", _entry(n, _l("Please give a name and a role.")))
            continue
        name = _one_line(row.get("name") or "") if isinstance(row.get("name"), str | None) else ""
        role = _enum(ContributorRole, row.get("role", ContributorRole.AUTHOR))
        if not name:
            _note(errors, "contributors", _entry(n, _l("Please enter a name.")))
        elif len(name) > rules.CONTRIBUTOR_NAME_MAX:
            message = _l("Use at most %(n)d characters.", n=rules.CONTRIBUTOR_NAME_MAX)
            _note(errors, "contributors", _entry(n, message))
        if role is None:
            _note(errors, "contributors", _entry(n, _l("Choose a role.")))
        if name and role is not None and (name, role) not in out:
            out.append((name, role))
    return out


def clean_identifier(scheme: IdentifierScheme, value: str) -> str:
    """An identifier's value as stored: ISBN-13 digits, ``NNNN-NNNC`` for an ISSN."""
    if scheme is IdentifierScheme.ISBN:
        return rules.normalise_isbn(value)
    if scheme is IdentifierScheme.ISSN:
        return rules.normalise_issn(value)
    return _one_line(value)


def clean_identifiers(value: Any, errors: Errors) -> list[tuple[IdentifierScheme, str]]:
    """Numbers as (scheme, value), ISBNs and ISSNs checked and normalised, each once."""
    out: list[tuple[IdentifierScheme, str]] = []
    for n, row in enumerate(_rows(value, "identifiers", rules.IDENTIFIERS_MAX, errors), 1):
        if not isinstance(row, dict) or not isinstance(row.get("value"), str):
            _note(errors, "identifiers", _entry(n, _l("Please give a scheme and a number.")))
            continue
        scheme = _enum(IdentifierScheme, row.get("scheme", IdentifierScheme.ISBN))
        if scheme is None:
            _note(errors, "identifiers", _entry(n, _l("Choose ISBN, ISSN or other.")))
            continue
        try:
            number = clean_identifier(scheme, row["value"])
        except rules.IdentifierError as exc:
            _note(errors, "identifiers", _entry(n, IDENTIFIER_MESSAGES[exc.reason]))
            continue
        if not number:
            _note(errors, "identifiers", _entry(n, _l("Please enter a number.")))
        elif len(number) > rules.IDENTIFIER_MAX:
            message = _l("Use at most %(n)d characters.", n=rules.IDENTIFIER_MAX)
            _note(errors, "identifiers", _entry(n, message))
        elif (scheme, number) not in out:
            out.append((scheme, number))
    return out


def clean_subjects(value: Any, errors: Errors) -> list[str]:
    """Keywords, each once (ignoring case), in the order given."""
    out: list[str] = []
    seen: set[str] = set()
    for n, term in enumerate(_rows(value, "subjects", rules.SUBJECTS_MAX, errors), 1):
        if not isinstance(term, str) or not _one_line(term):
            _note(errors, "subjects", _entry(n, _l("Please enter a keyword.")))
            continue
        term = _one_line(term)
        if len(term) > rules.SUBJECT_MAX:
            _note(
                errors,
                "subjects",
                _entry(n, _l("Use at most %(n)d characters.", n=rules.SUBJECT_MAX)),
            )
        elif term.casefold() not in seen:
            seen.add(term.casefold())
            out.append(term)
    return out


def split_subjects(text: str) -> list[str]:
    """Keywords typed in one field, separated by commas or semicolons."""
    return [t for t in (_one_line(p) for p in re.split(r"[,;\n]", text or "")) if t]


def clean_item_data(data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """Clean values for the keys ``data`` holds; ``Invalid`` listing every problem otherwise.

    When ``creating``, ``kind`` and ``title`` are required. Keys not in ``KNOWN_KEYS`` are
    refused rather than ignored (a misspelt key would otherwise be lost without a word).
    """
    errors: Errors = {}
    for key in sorted(set(data) - KNOWN_KEYS):
        _note(errors, key, _l("Unknown field."))
    if creating:
        for key, message in (
            ("kind", _l("Choose a kind of medium.")),
            ("title", _l("Please enter a title.")),
        ):
            if data.get(key) in (None, ""):
                _note(errors, key, message)
    out: dict[str, Any] = {}
    _texts(data, out, errors)
    _numbers(data, out, errors)
    _kind_language_cover(data, out, errors)
    if "contributors" in data:
        out["contributors"] = clean_contributors(data["contributors"], errors)
    if "identifiers" in data:
        out["identifiers"] = clean_identifiers(data["identifiers"], errors)
    if "subjects" in data:
        out["subjects"] = clean_subjects(data["subjects"], errors)
    if errors:
        raise Invalid(errors=_first_of_each(errors))
    return out


def _first_of_each(errors: Errors) -> Errors:
    """Each message once per field, in the order found (a required field may be noted twice)."""
    result: Errors = {}
    for key, messages in errors.items():
        seen: list[str] = []
        for message in messages:
            if str(message) not in seen:
                seen.append(str(message))
                result.setdefault(key, []).append(message)
    return result


def series_errors(series_title: str, series_number: int | None) -> Errors:
    """A volume number needs the series it belongs to."""
    if series_number is not None and not series_title:
        return {"series_title": [_l("Enter the series this volume belongs to.")]}
    return {}


def names(values: Iterable[str]) -> str:
    """Names or terms joined for the search text, one per line."""
    return "\n".join(v for v in values if v)


def search_texts(
    *,
    title: str,
    subtitle: str,
    series_title: str,
    people: Iterable[str],
    subjects: Iterable[str],
    classification: str,
    publisher: str,
    description: str,
) -> tuple[str, str]:
    """What full-text search reads of an item: (head, document); the head ranks higher.

    Head: title, subtitle, series and the people's names; document: keywords,
    classification, publisher and description. The services keep an item's texts with it;
    bulk loaders (the demo data at scale) compute the very same from plain values.
    """
    head = names([title, subtitle, series_title, *people])
    document = names([*subjects, classification, publisher, description])
    return head, document
