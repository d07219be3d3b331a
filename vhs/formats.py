"""Money and spreadsheet formats shared by forms and exports (German first, exact cents)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from vhs.i18n import page_locale

MAX_EURO_CENTS = 9_999_999
_AMOUNT_COMMA = re.compile(r"^(\d{1,3}(?:\.\d{3})+|\d+),(\d{1,2})?$")  # 1.234,50  79,5  79,
_AMOUNT_DOT = re.compile(r"^\d+(?:\.\d{1,2})?$")  # 79  79.50
_THOUSANDS = re.compile(r"^\d{1,3}(?:\.\d{3})+$")  # 1.234 (German thousands, no cents)

# Spreadsheet programs run a cell that starts with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def parse_euros(text: str) -> int:
    """Turn "79,50", "1.234,50", "79.50" or "79" (euros) into integer cents, exactly.

    Decimal does the arithmetic, so no amount is ever off by a cent through float rounding.
    Raises ``ValueError`` for anything else (negative amounts, three decimals, letters).
    """
    raw = (text or "").replace("€", "").replace("EUR", "").strip()
    if match := _AMOUNT_COMMA.match(raw):
        number = f"{match.group(1).replace('.', '')}.{match.group(2) or '0'}"
    elif _THOUSANDS.match(raw):
        number = raw.replace(".", "")
    elif _AMOUNT_DOT.match(raw):
        number = raw
    else:
        raise ValueError(raw)
    try:
        cents = Decimal(number) * 100
    except InvalidOperation as exc:  # pragma: no cover - the patterns only let digits through
        raise ValueError(raw) from exc
    if cents != cents.to_integral_value() or cents > MAX_EURO_CENTS:
        raise ValueError(raw)
    return int(cents)


def format_euros(cents: int | None, locale: str | None = None) -> str:
    """Cents as the form shows them: "79,50" in German, "79.50" in English (no currency sign)."""
    if cents is None:
        return ""
    euros, rest = divmod(cents, 100)
    sep = "." if (locale or page_locale()) == "en" else ","
    return f"{euros}{sep}{rest:02d}"


def spreadsheet_safe(value: Any) -> str:
    """A cell as text that spreadsheet programs show and never evaluate as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text
