"""The limits of the media catalogue, each in one place: the services enforce them, and the
staff forms (WTForms) and the API schemas (marshmallow) read them from here, so the web page,
the API, the importer and the service accept and refuse the same values.

The columns of ``media.models`` have the same sizes (``tests/media/catalogue/test_rules.py``
checks that they agree). Plain values and pure functions only: this module sits at the bottom
of ``media`` and imports nothing of it.
"""

from __future__ import annotations

import re

from babel.core import Locale, get_global

from vhs.rules import Bounds

# --- texts (the same as the columns) ---------------------------------------------------------

TITLE_MAX = 500
SUBTITLE_MAX = 500
PUBLISHER_MAX = 300
DESCRIPTION_MAX = 20_000  # a blurb, not the book; the column is TEXT
CLASSIFICATION_MAX = 100  # ASB/SfB/KAB notation such as "Sh 100" or "J Nat 2"
SERIES_TITLE_MAX = 300
CONTRIBUTOR_NAME_MAX = 300
SUBJECT_MAX = 200
IDENTIFIER_MAX = 100

# How many of each an item may carry: far above any real record (a MARC record of an
# anthology names a few dozen people), low enough that one request cannot flood a table.
CONTRIBUTORS_MAX = 50
IDENTIFIERS_MAX = 20
SUBJECTS_MAX = 50

# --- numbers ---------------------------------------------------------------------------------

# Publication years: the printing press to a generous future (a check constraint too).
YEAR = Bounds(1400, 2200)
# A volume's number in its series ("Band 0" exists: prequels).
SERIES_NUMBER = Bounds(0, 99_999)
# Extent: pages of a book or document, running time of audio and video in seconds (the
# longest audiobooks run about 150 hours; 1,000 hours is a typo's boundary, not a real one).
PAGES = Bounds(1, 100_000)
DURATION_SECONDS = Bounds(1, 1_000 * 3600)

# Age ratings as German youth protection labels them (FSK for films, USK for games, and
# the same steps for books and audiobooks by the publishers' own recommendation).
AGE_RATINGS = (0, 6, 12, 16, 18)

# --- languages (ISO 639) ---------------------------------------------------------------------

# Every language CLDR (through Babel) names: the 184 ISO 639-1 codes and the ISO 639-2/-3
# codes of languages without one ("gsw", "nds", "grc"), plus "mul", "und" and "zxx".
LANGUAGE_CODES = frozenset(
    code for code in Locale("en").languages if re.fullmatch(r"[a-z]{2,3}", code)
)
# ISO 639-2 bibliographic and terminology codes ("ger", "deu") and withdrawn ones ("iw"),
# mapped to the code the catalogue keeps ("de", "he"), as MARC and ONIX records carry them.
_LANGUAGE_ALIASES = {
    alias: target
    for alias, target in get_global("language_aliases").items()
    if re.fullmatch(r"[a-z]{2,3}", alias)
    and alias not in LANGUAGE_CODES
    and target in LANGUAGE_CODES
}
LANGUAGE_DEFAULT = "de"


def normalise_language(code: str) -> str | None:
    """The catalogue's code for an ISO 639-1/-2 code ("ger" -> "de"), or None if unknown."""
    code = code.strip().lower()
    if code in LANGUAGE_CODES:
        return code
    return _LANGUAGE_ALIASES.get(code)


# --- identifiers -----------------------------------------------------------------------------


class IdentifierError(ValueError):
    """A number that is not a valid ISBN or ISSN; ``reason`` says why, for the message."""

    def __init__(self, reason: str) -> None:
        """Keep ``reason`` (one of the BAD_* values) for the message."""
        super().__init__(reason)
        self.reason = reason


# Why a number is refused (the services and schemas turn each into a translated message).
BAD_CHARACTERS = "characters"
BAD_LENGTH = "length"
BAD_PREFIX = "prefix"
BAD_CHECK_DIGIT = "check_digit"

_SEPARATORS = re.compile(r"[\s\-‐‑–]+")  # spaces, hyphens (also typographic ones)
_ISBN_LABEL = re.compile(r"^ISBN(?:-1[03])?:?", re.IGNORECASE)
_ISSN_LABEL = re.compile(r"^ISSN:?", re.IGNORECASE)


def _isbn13_check_digit(first12: str) -> str:
    """The check digit of an ISBN-13 (EAN-13): weights 1 and 3, modulo 10."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def _isbn10_check_digit(first9: str) -> str:
    """The check digit of an ISBN-10: weights 10 down to 2, modulo 11 (10 is written X)."""
    total = sum(int(d) * (10 - i) for i, d in enumerate(first9))
    check = (11 - total % 11) % 11
    return "X" if check == 10 else str(check)


def normalise_isbn(text: str) -> str:
    """An ISBN as its 13 digits, without hyphens; an ISBN-10 is converted to ISBN-13.

    Accepts "978-3-16-148410-0", "ISBN 3-16-148410-X" and the like; refuses (``IdentifierError``)
    anything with a wrong check digit, the wrong length, a prefix other than 978/979, or
    other characters.
    """
    compact = _SEPARATORS.sub("", _ISBN_LABEL.sub("", text.strip()))
    if not re.fullmatch(r"[0-9]*[0-9Xx]?", compact):
        raise IdentifierError(BAD_CHARACTERS)
    compact = compact.upper()
    if len(compact) == 10:
        if "X" in compact[:9]:
            raise IdentifierError(BAD_CHARACTERS)
        if _isbn10_check_digit(compact[:9]) != compact[9]:
            raise IdentifierError(BAD_CHECK_DIGIT)
        first12 = "978" + compact[:9]
        return first12 + _isbn13_check_digit(first12)
    if len(compact) == 13:
        if "X" in compact:
            raise IdentifierError(BAD_CHARACTERS)
        if compact[:3] not in ("978", "979"):
            raise IdentifierError(BAD_PREFIX)
        if _isbn13_check_digit(compact[:12]) != compact[12]:
            raise IdentifierError(BAD_CHECK_DIGIT)
        return compact
    raise IdentifierError(BAD_LENGTH)


def normalise_issn(text: str) -> str:
    """An ISSN as ``NNNN-NNNC`` (C a digit or X), its check digit verified (modulo 11)."""
    compact = _SEPARATORS.sub("", _ISSN_LABEL.sub("", text.strip())).upper()
    if not re.fullmatch(r"[0-9]*X?", compact):
        raise IdentifierError(BAD_CHARACTERS)
    if len(compact) != 8:
        raise IdentifierError(BAD_LENGTH)
    total = sum(int(d) * (8 - i) for i, d in enumerate(compact[:7]))
    check = (11 - total % 11) % 11
    if ("X" if check == 10 else str(check)) != compact[7]:
        raise IdentifierError(BAD_CHECK_DIGIT)
    return f"{compact[:4]}-{compact[4:]}"


# --- covers ----------------------------------------------------------------------------------

SHA256_PATTERN = r"^[0-9a-f]{64}$"
COVER_SIZES = (480, 160)  # thumbnail widths in pixels, served as /media/covers/<sha256>-<w>.jpg
