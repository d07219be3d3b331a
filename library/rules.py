"""The rules and limits of lending, each in one place: the services enforce them, and the staff
forms (WTForms) and the API schemas (marshmallow) read them from here, so the pages, the API
and the services accept and refuse the same values.

Fixed rules are plain values; what a library configures (loan periods per kind, limits per
patron, the pick-up window) is read from the settings (``VHS_LIBRARY_*``, validated at
start-up in ``vhs/config.py``) through the functions below. This module sits at the bottom of
``library`` and imports nothing of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app

from media.models import MediaKind


@dataclass(frozen=True)
class Bounds:
    """A closed range of whole numbers, both ends allowed."""

    lo: int
    hi: int

    def __contains__(self, value: object) -> bool:
        """Whether ``value`` is a whole number inside the range (``bool`` is not a number)."""
        return (
            isinstance(value, int) and not isinstance(value, bool) and self.lo <= value <= self.hi
        )


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


def keep_history() -> bool:
    """Whether an ended loan keeps its patron (``VHS_LIBRARY_KEEP_HISTORY``)."""
    return bool(current_app.config["VHS"].library_keep_history)


def card_fee_cents() -> int:
    """The annual card fee in cents; 0 means the card is free."""
    return int(current_app.config["VHS"].library_card_fee_cents)


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
