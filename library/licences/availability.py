"""Free copies and which licence a loan takes: one definition for pages, API, catalogue, reports.

**A licence lends** while it has not expired and (metered) has checkouts left. Its **free
copies** are what it can lend now without touching a copy reserved for a ready hold::

    free = min(concurrency − active_loans, checkouts_left) − reserved      (usable licences)
    free = 0                                                               (expired, used up)

(``checkouts_left`` is left out of the ``min`` for unmetered licences.) An item's **available
copies** are the sum over its licences. This is the issue's "Σ min(concurrency, checkouts
left) − active loans − reserved", with the subtraction of the loans moved inside the ``min``:
checkouts already taken by the open loans are gone from ``checkouts_left``, so subtracting the
loans again would count them twice (a 5-copy licence with 2 checkouts left and 3 loans out
can still lend 2, not −1). Reserved copies are subtracted from both sides because each will
take a checkout when its patron borrows it (a CHECK keeps ``reserved <= checkouts_left``).
The constraints (``active_loans + reserved <= concurrency``, ``reserved <= checkouts_left``)
keep the result at 0 or above.

**Dedicated copies** (``LicenceDedication``: copies of a licence set aside for a closed group,
a course, until its ``ends_at``) are counted apart. While a dedication runs, the copies it
keeps that are not lent to a member (``copies − active_loans`` of the dedication) are not free
for anyone else::

    free = min(concurrency − active_loans, checkouts_left) − reserved − Σ idle dedicated copies

(the licence's ``active_loans`` counts general and dedicated loans alike, so a dedicated copy
out on loan is already gone from ``concurrency − active_loans``). A member of the group takes
one of its idle copies (:func:`dedicated_free`). Once ``ends_at`` has passed the dedication
counts no more, and its copies are general again (its loans ended by then: they are due at
``ends_at`` at the latest).

The formula exists twice, as Python (:func:`free_copies`, for the licence rows a service has
locked) and as SQL (:func:`free_copies_sql`, for the catalogue's "available now" filter and
the reports); ``tests/library/licences/test_availability.py`` holds the two equal on random
licences.

**Which licence a loan takes** (:func:`selection_key`), as Palace's ``best_available_licenses``:
time-limited licences first, the one expiring soonest first (its copies are lost at expiry
anyway); then perpetual ones; then metered licences that also expire (soonest first, then most
checkouts left); then metered ones with the most checkouts left, so the most concurrent
checkouts stay possible for longest. Ties go to the older licence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from library.models import Licence, LicenceDedication
from media.models import MediaItem
from vhs.db import db


def is_usable(licence: Licence, now: datetime) -> bool:
    """Whether the licence can lend at all: not expired, checkouts left (if metered)."""
    if licence.expires_at is not None and licence.expires_at <= now:
        return False
    return licence.checkouts_left is None or licence.checkouts_left > 0


def lendable_copies(licence: Licence, now: datetime) -> int:
    """Copies the licence lends at once (lent, reserved or free): 0 once it cannot lend."""
    if not is_usable(licence, now):
        return 0
    if licence.checkouts_left is None:
        return licence.concurrency
    # Copies out on loan already took their checkout: they count on top of what is left.
    return min(licence.concurrency, licence.active_loans + licence.checkouts_left)


def is_running(dedication: LicenceDedication, now: datetime) -> bool:
    """Whether the dedication still keeps its copies for its group."""
    return dedication.ends_at > now


def dedicated_idle(licence: Licence, now: datetime) -> int:
    """Copies kept for groups whose dedication runs and that no member has borrowed."""
    return sum(max(d.copies - d.active_loans, 0) for d in licence.dedications if is_running(d, now))


def _room(licence: Licence) -> int:
    """Copies the licence could still lend, before reservations and dedications."""
    room = licence.concurrency - licence.active_loans
    if licence.checkouts_left is not None:
        room = min(room, licence.checkouts_left)
    return room - licence.reserved


def free_copies(licence: Licence, now: datetime) -> int:
    """Copies the licence can lend now to anyone (reserved and dedicated copies are not)."""
    if not is_usable(licence, now):
        return 0
    return max(_room(licence) - dedicated_idle(licence, now), 0)


def dedicated_free(dedication: LicenceDedication, now: datetime) -> int:
    """Copies of a running dedication a member of its group can borrow now."""
    licence = dedication.licence
    if not is_running(dedication, now) or not is_usable(licence, now):
        return 0
    return max(min(dedication.copies - dedication.active_loans, _room(licence)), 0)


def can_take_reserved(licence: Licence, now: datetime) -> bool:
    """Whether a copy reserved on this licence can still be lent (it has not expired)."""
    return licence.reserved > 0 and is_usable(licence, now)


# --- the same in SQL -------------------------------------------------------------------------


def _usable_sql(now: datetime, licence: Any = Licence) -> Any:
    return sa.and_(
        sa.or_(licence.expires_at.is_(None), licence.expires_at > now),
        sa.or_(licence.checkouts_left.is_(None), licence.checkouts_left > 0),
    )


def free_copies_sql(now: datetime, licence: Any = Licence) -> Any:
    """:func:`free_copies` as a column expression over the licences table."""
    by_concurrency = licence.concurrency - licence.active_loans
    limited = sa.case(
        (
            sa.and_(licence.checkouts_left.is_not(None), licence.checkouts_left < by_concurrency),
            licence.checkouts_left,
        ),
        else_=by_concurrency,
    )
    free = limited - licence.reserved - dedicated_idle_sql(now, licence)
    return sa.case((sa.and_(_usable_sql(now, licence), free > 0), free), else_=0)


def dedicated_idle_sql(now: datetime, licence: Any = Licence) -> Any:
    """:func:`dedicated_idle` as a correlated scalar subquery over the licences table."""
    idle = LicenceDedication.copies - LicenceDedication.active_loans
    return (
        sa.select(sa.func.coalesce(sa.func.sum(sa.case((idle > 0, idle), else_=0)), 0))
        .where(LicenceDedication.licence_id == licence.id, LicenceDedication.ends_at > now)
        .correlate(licence)
        .scalar_subquery()
    )


def lendable_copies_sql(now: datetime, licence: Any = Licence) -> Any:
    """:func:`lendable_copies` as a column expression over the licences table."""
    with_loans = licence.active_loans + licence.checkouts_left
    metered = sa.case((with_loans < licence.concurrency, with_loans), else_=licence.concurrency)
    lendable = sa.case((licence.checkouts_left.is_(None), licence.concurrency), else_=metered)
    return sa.case((_usable_sql(now, licence), lendable), else_=0)


def available_copies_sql(item_id: Any, now: datetime) -> Any:
    """The free copies of the item ``item_id`` (a column or a value), as a scalar subquery."""
    return (
        sa.select(sa.func.coalesce(sa.func.sum(free_copies_sql(now)), 0))
        .where(Licence.item_id == item_id)
        .scalar_subquery()
    )


def available_now_condition(now: datetime) -> Any:
    """ "The item can be borrowed now" for a query over ``media_items`` (the catalogue filter)."""
    return MediaItem.id.in_(sa.select(Licence.item_id).where(free_copies_sql(now) > 0).distinct())


@dataclass(frozen=True)
class Copies:
    """An item's copies now: what its licences lend at once, and how many of them are free."""

    copies: int  # lendable at once (lent, reserved for a ready hold, or free)
    available: int  # free for anyone to borrow now
    on_loan: int
    reserved: int  # kept for ready holds
    dedicated: int = 0  # kept for groups (courses) and not lent: not free for anyone else

    @property
    def lendable(self) -> bool:
        """Whether the item has any licence that lends (else holds make no sense)."""
        return self.copies > 0


def _copies_columns(now: datetime) -> tuple[Any, ...]:
    """The sums that make a :class:`Copies`, over a set of licence rows."""
    return (
        sa.func.coalesce(sa.func.sum(lendable_copies_sql(now)), 0),
        sa.func.coalesce(sa.func.sum(free_copies_sql(now)), 0),
        sa.func.coalesce(sa.func.sum(Licence.active_loans), 0),
        sa.func.coalesce(sa.func.sum(Licence.reserved), 0),
        sa.func.coalesce(
            sa.func.sum(sa.case((_usable_sql(now), dedicated_idle_sql(now)), else_=sa.literal(0))),
            0,
        ),
    )


def item_copies(item_id: int, now: datetime) -> Copies:
    """An item's copies from its licence rows (one statement)."""
    row = db.session.execute(
        sa.select(*_copies_columns(now)).where(Licence.item_id == item_id)
    ).one()
    return Copies(*(int(v) for v in row))


def items_copies(item_ids: Iterable[int], now: datetime) -> dict[int, Copies]:
    """:func:`item_copies` for a page of items at once (one statement); an item without
    licences has none (``Copies(0, 0, 0, 0)``)."""
    ids = sorted(set(item_ids))
    found: dict[int, Copies] = dict.fromkeys(ids, Copies(0, 0, 0, 0))
    if ids:
        rows = db.session.execute(
            sa.select(Licence.item_id, *_copies_columns(now))
            .where(Licence.item_id.in_(ids))
            .group_by(Licence.item_id)
        )
        for item_id, *values in rows:
            found[item_id] = Copies(*(int(v) for v in values))
    return found


def copies_of(licences: Iterable[Licence], now: datetime) -> Copies:
    """:func:`item_copies` from licence rows already loaded (and locked) by the caller."""
    rows = list(licences)
    return Copies(
        copies=sum(lendable_copies(lic, now) for lic in rows),
        available=sum(free_copies(lic, now) for lic in rows),
        on_loan=sum(lic.active_loans for lic in rows),
        reserved=sum(lic.reserved for lic in rows),
        dedicated=sum(dedicated_idle(lic, now) for lic in rows if is_usable(lic, now)),
    )


# --- which licence lends ---------------------------------------------------------------------


def selection_key(licence: Licence) -> tuple[int, float, int, int]:
    """Sort key: the licence a loan should take sorts first (see the module doc)."""
    expiry = licence.expires_at.timestamp() if licence.expires_at is not None else 0.0
    left = -(licence.checkouts_left or 0)
    if licence.checkouts_left is None:
        group = 0 if licence.expires_at is not None else 1
    else:
        group = 2 if licence.expires_at is not None else 3
    return group, expiry, left, licence.id


def best_licence(licences: Iterable[Licence], now: datetime) -> Licence | None:
    """The licence the next loan takes: the first in selection order with a free copy."""
    free = [lic for lic in licences if free_copies(lic, now) > 0]
    return min(free, key=selection_key) if free else None
