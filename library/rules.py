"""The rules and limits of the library, each in one place: the services enforce them, and the
forms (WTForms) and API schemas (marshmallow) read them from here, so a page, the API and the
service accept and refuse the same values (``tests/library/patrons/test_rules.py``).

This module sits at the bottom of ``library`` and imports nothing of it. The bounds of the settings (``VHS_LIBRARY_*``) live with the settings in
``vhs.config``, which checks them at start-up; they are read from there.

Lending's rules follow: fixed ones are plain values; what a library configures (loan periods
per kind, limits per patron, the pick-up window) is read from the settings through the
functions below.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from itertools import pairwise

from flask import current_app

from media.models import MediaKind
from vhs.config import (
    LIBRARY_CARD_FEE_CENTS_MAX,
    LIBRARY_CARD_PREFIX_MAX_DIGITS,
    LIBRARY_CARD_VALID_MONTHS_MAX,
)
from vhs.rules import Bounds

# --- patrons: card numbers -------------------------------------------------------------------

# A card number: the configured prefix (0-6 digits), 10 random digits and a Luhn check digit,
# as on the barcodes of library cards. Luhn catches every single wrong digit and most swapped
# neighbours, and keeps the number all digits (mod 11 would need an "X"), which reading apps'
# number pads and barcode scanners expect.
CARD_RANDOM_DIGITS = 10
CARD_PREFIX_MAX_DIGITS = LIBRARY_CARD_PREFIX_MAX_DIGITS
CARD_NUMBER_LENGTH = Bounds(CARD_RANDOM_DIGITS + 1, CARD_PREFIX_MAX_DIGITS + CARD_RANDOM_DIGITS + 1)
CARD_NUMBER_MAX = 20  # the column; longer than any number we make
# What a person may type: digits, grouped by spaces or hyphens as printed on the card.
CARD_NUMBER_INPUT_MAX = 40
_SEPARATORS = re.compile(r"[\s\-‐‑–]+")


def luhn_check_digit(digits: str) -> str:
    """The Luhn (mod 10) check digit for a string of digits."""
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d)
        if i % 2 == 0:  # every second digit from the right, starting with the last one
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return str((10 - total % 10) % 10)


def normalise_card_number(text: str | None) -> str | None:
    """A typed card number as its digits, or None if it cannot be one of ours.

    Spaces and hyphens are dropped; what remains must be digits of a possible length whose last
    digit is the Luhn check digit of the others.
    """
    compact = _SEPARATORS.sub("", (text or "").strip())[:CARD_NUMBER_INPUT_MAX]
    if not compact.isascii() or not compact.isdigit():
        return None
    if len(compact) not in CARD_NUMBER_LENGTH:
        return None
    if luhn_check_digit(compact[:-1]) != compact[-1]:
        return None
    return compact


# --- patrons: PIN ----------------------------------------------------------------------------

# 4 to 8 digits, typed on a phone's number pad or a reading app's login; a PIN is hashed like a
# password (argon2id) and never stored, shown again or mailed.
PIN_LENGTH = Bounds(4, 8)
PIN_PATTERN = r"^[0-9]{4,8}$"
PIN_GENERATED_LENGTH = 6  # staff leave the PIN empty: one is made and shown once
# Why a PIN is refused (the forms, schemas and services turn each into one message).
PIN_NOT_DIGITS = "pin_format"
PIN_TOO_WEAK = "pin_weak"


def pin_problem(pin: str | None) -> str | None:
    """Why ``pin`` cannot be a PIN (``PIN_NOT_DIGITS``, ``PIN_TOO_WEAK``), or None.

    Refused besides the wrong length or characters: one digit repeated (``0000``) and straight
    runs up or down (``1234``, ``8765``), the PINs tried first.
    """
    if pin is None or not re.fullmatch(PIN_PATTERN, pin) or not pin.isascii():
        return PIN_NOT_DIGITS
    steps = {int(b) - int(a) for a, b in pairwise(pin)}
    if steps in ({0}, {1}, {-1}):
        return PIN_TOO_WEAK
    return None


# --- patrons: validity, blocking, fee ---------------------------------------------------------

VALID_MONTHS = Bounds(1, LIBRARY_CARD_VALID_MONTHS_MAX)
# Staff may set a validity from today up to ten years ahead.
VALIDITY_MAX_MONTHS = LIBRARY_CARD_VALID_MONTHS_MAX
BLOCK_REASON_MAX = 300  # the column
FEE_CENTS = Bounds(0, LIBRARY_CARD_FEE_CENTS_MAX)

# What the desk records of a person without an e-mail address (the ``users`` columns): name
# and postal address, nothing more. No birth date: no rule of the platform depends on age
# (age ratings are shown, not enforced), and identity is checked on an ID document at the
# desk without keeping its number (GDPR Art. 5(1)(c), data minimisation).
NAME_MAX = 120
STREET_MAX = 200
POSTAL_CODE_MAX = 10
CITY_MAX = 100


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months; the 31st becomes the last day of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


# --- loans -----------------------------------------------------------------------------------

# The periods a patron may choose; the licence's longest loan caps the choice, and a loan on a
# time-limited licence ends when the licence does at the latest.
LOAN_PERIODS = (7, 14, 21)
# A licence's longest loan (a CHECK constraint on the column too).
MAX_LOAN_DAYS = Bounds(1, 366)
MAX_LOAN_DAYS_DEFAULT = 21
# A loan may be renewed this often, and only while nobody waits for the item.
RENEWALS_MAX = 1
# "Your loan ends in 2 days": sent once per loan, for loans longer than that.
REMINDER_BEFORE = timedelta(days=2)


def default_loan_days(kind: MediaKind) -> int:
    """The loan period of a kind of medium when the patron does not choose one (config)."""
    settings = current_app.config["VHS"]
    return int(getattr(settings, f"library_loan_days_{kind.value}"))


def max_loans() -> int:
    """How many open loans a patron may have (``VHS_LIBRARY_MAX_LOANS``)."""
    return int(current_app.config["VHS"].library_max_loans)


def max_holds() -> int:
    """How many open holds a patron may have (``VHS_LIBRARY_MAX_HOLDS``)."""
    return int(current_app.config["VHS"].library_max_holds)


def history_offered() -> bool:
    """Whether patrons may opt in to keeping their ended loans, a "read before" list
    (``VHS_LIBRARY_KEEP_HISTORY``); each patron decides for themselves (off by default)."""
    return bool(current_app.config["VHS"].library_keep_history)


# --- holds -----------------------------------------------------------------------------------


def pickup_window() -> timedelta:
    """How long a ready hold keeps its copy (``VHS_LIBRARY_HOLD_PICKUP_HOURS``)."""
    return timedelta(hours=int(current_app.config["VHS"].library_hold_pickup_hours))


# --- licences --------------------------------------------------------------------------------

# Copies at once: one-copy-one-user is 1; a thousand is beyond any licence a library buys.
CONCURRENCY = Bounds(1, 1000)
# A cap of checkouts ("K-Lizenz": 26 loans, or 52 over two years).
CHECKOUTS = Bounds(1, 100_000)
NOTE_MAX = 300
EXTERNAL_ID_MAX = 200
# Staff see the licences that end within this time on the item's page and in a list.
EXPIRING_WITHIN = timedelta(days=30)
# The "buy another copy" report marks items with at least this many holds per lendable copy.
HOLDS_PER_COPY_ALERT = 3


# --- access: download and stream links, the EPUB watermark ------------------------------------


def link_lifetime() -> timedelta:
    """How long a signed download or stream link works (``VHS_LIBRARY_LINK_MINUTES``)."""
    return timedelta(minutes=int(current_app.config["VHS"].library_link_minutes))


def library_name() -> str:
    """The library's name, as the watermark of a downloaded EPUB names it (``VHS_LIBRARY_NAME``)."""
    return str(current_app.config["VHS"].library_name).strip()


# --- reading in the browser: the position kept per loan ---------------------------------------

# An EPUB CFI names a spot in a book ("epubcfi(/6/4!/4/2/1:0)"); epub.js makes them a few dozen
# to a few hundred characters long. The bound keeps a made-up one from filling the table.
POSITION_CFI_MAX = 1000
# Seconds into an audio or video file: up to 100 hours (the longest audiobooks run about 60).
POSITION_SECONDS_MAX = 100 * 3600
