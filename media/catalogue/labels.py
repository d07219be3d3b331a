"""Translated labels and messages of the media catalogue, shared by pages, forms and the API."""

from __future__ import annotations

from typing import Any

from babel.core import Locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from media import rules
from media.models import (
    ContributorRole,
    IdentifierScheme,
    MediaItem,
    MediaKind,
    PublicationState,
)
from vhs.i18n import page_locale

KIND_LABELS = {
    MediaKind.EBOOK: _l("E-book"),
    MediaKind.AUDIOBOOK: _l("Audiobook"),
    MediaKind.EMAGAZINE: _l("E-magazine"),
    MediaKind.VIDEO: _l("Video"),
    MediaKind.DOCUMENT: _l("Document"),
}
ROLE_LABELS = {
    ContributorRole.AUTHOR: _l("Author"),
    ContributorRole.NARRATOR: _l("Narrator"),
    ContributorRole.EDITOR: _l("Editor"),
    ContributorRole.TRANSLATOR: _l("Translator"),
    ContributorRole.ILLUSTRATOR: _l("Illustrator"),
}
STATE_LABELS = {
    PublicationState.DRAFT: _l("Draft"),
    PublicationState.PUBLISHED: _l("Published"),
    PublicationState.WITHDRAWN: _l("Withdrawn"),
}
SCHEME_LABELS = {
    IdentifierScheme.ISBN: _l("ISBN"),
    IdentifierScheme.ISSN: _l("ISSN"),
    IdentifierScheme.OTHER: _l("Other number"),
}
SORT_LABELS = {
    "relevance": _l("Best match"),
    "new": _l("Newly added"),
    "title": _l("Title"),
    "year": _l("Year (newest first)"),
}

# Languages offered first in the staff form's list; any ISO 639 code is accepted.
COMMON_LANGUAGES = (
    "de", "en", "fr", "es", "it", "nl", "pl", "tr", "ru", "uk", "ar", "fa", "el", "pt",
    "sv", "da", "no", "cs", "hr", "sr", "ro", "hu", "la", "zh", "ja",
)  # fmt: skip

IDENTIFIER_MESSAGES = {
    rules.BAD_CHARACTERS: _l("Use digits only (and X as the last character of an ISBN-10)."),
    rules.BAD_LENGTH: _l("An ISBN has 10 or 13 digits, an ISSN 8."),
    rules.BAD_PREFIX: _l("An ISBN-13 begins with 978 or 979."),
    rules.BAD_CHECK_DIGIT: _l("The check digit does not match: please check the number."),
}


def age_label(min_age: int | None) -> Any:
    """The label of an age rating: "ab 12 Jahren", "ohne Altersbeschränkung" (0), or not rated."""
    if min_age is None:
        return _l("Not rated")
    if min_age == 0:
        return _l("All ages")
    return _l("Age %(n)d and over", n=min_age)


def language_name(code: str) -> str:
    """The name of a language in the page's language ("Deutsch", "German"), else its code."""
    return str(Locale(page_locale()).languages.get(code, code))


def language_choices(current: str | None = None) -> list[tuple[str, str]]:
    """(code, name) pairs for a select: the common languages by name, plus ``current``."""
    codes = list(COMMON_LANGUAGES)
    if current and current not in codes:
        codes.append(current)
    return sorted(((c, language_name(c)) for c in codes), key=lambda pair: pair[1].lower())


def duration_label(seconds: int | None) -> str:
    """A running time in hours and minutes ("7 Std. 45 Min."), or "" when unknown."""
    if not seconds:
        return ""
    hours, minutes = divmod(max(round(seconds / 60), 1), 60)
    if not hours:
        return _("%(m)d min", m=minutes)
    return _("%(h)d h %(m)d min", h=hours, m=minutes)


def credit(item: MediaItem) -> tuple[list[str], bool]:
    """The names a list shows for an item: its authors, else its editors (then True)."""
    authors = item.names(ContributorRole.AUTHOR)
    if authors:
        return authors, False
    return item.names(ContributorRole.EDITOR), True


def labels() -> dict[str, Any]:
    """The labels every catalogue template reads."""
    return {
        "kind_labels": KIND_LABELS,
        "role_labels": ROLE_LABELS,
        "state_labels": STATE_LABELS,
        "scheme_labels": SCHEME_LABELS,
        "sort_labels": SORT_LABELS,
        "age_label": age_label,
        "language_name": language_name,
        "duration_label": duration_label,
        "credit": credit,
    }
