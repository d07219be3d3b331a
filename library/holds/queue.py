"""A hold's place in the queue and when a copy can be expected.

**Position** is counted, never stored: 1 + the waiting holds placed before this one (by
``placed_at``, then id). So it always lies between 1 and the queue's length, and closes ranks
the moment someone ahead leaves, without renumbering anything.

**Expected wait** is an estimate from the copies and the loan periods, the latest time a copy
should reach the hold if nobody returns early:

1. every copy that circulates now has a time it comes back: an open loan at its due time; a
   copy reserved for a ready hold at the end of that pick-up window plus one loan period (its
   patron may borrow at the last minute and keep the copy the whole period);
2. the holds ahead take the copies in the order they come back, each keeping it one loan
   period (the medium's default period, capped by the licence's longest loan);
3. the hold at position *p* gets the copy that comes back *p*-th in that simulation.

Early returns, a licence added or one expiring meanwhile change it; every page shows it anew.
An item whose licences lend nothing has no estimate (``None``).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from library import rules
from library.licences.availability import is_usable
from library.licences.services import licences_of
from library.models import Hold, HoldState, Loan
from media.models import MediaItem
from vhs.db import db


@dataclass(frozen=True)
class QueuePlace:
    """Where a hold stands: its position among the waiting (None once ready), the queue's
    length, and when a copy is expected at the latest (None: ready, or no estimate)."""

    position: int | None
    length: int
    expected_at: datetime | None


def position_of(hold: Hold) -> int | None:
    """1-based place of a waiting hold in its item's queue; None for ready and ended holds."""
    if hold.state is not HoldState.WAITING:
        return None
    ahead = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Hold)
        .where(
            Hold.item_id == hold.item_id,
            Hold.state == HoldState.WAITING,
            sa.or_(
                Hold.placed_at < hold.placed_at,
                sa.and_(Hold.placed_at == hold.placed_at, Hold.id < hold.id),
            ),
        )
    )
    return int(ahead or 0) + 1


def expected_copy_at(item: MediaItem, position: int, now: datetime) -> datetime | None:
    """When the ``position``-th in line can expect a copy at the latest (see the module doc)."""
    licences = {lic.id: lic for lic in licences_of(item.id) if is_usable(lic, now)}
    if not licences:
        return None
    period = timedelta(days=rules.default_loan_days(item.kind))
    longest = timedelta(days=max(lic.max_loan_days for lic in licences.values()))
    period = min(period, longest)
    back: list[datetime] = []
    loans = db.session.execute(
        sa.select(Loan.licence_id, Loan.due_at).where(
            Loan.item_id == item.id, Loan.ended_at.is_(None)
        )
    ).all()
    for licence_id, due_at in loans:
        licence = licences.get(licence_id)
        if licence is not None and (licence.expires_at is None or due_at < licence.expires_at):
            back.append(max(due_at, now))
    ready = db.session.execute(
        sa.select(Hold.licence_id, Hold.ready_until).where(
            Hold.item_id == item.id, Hold.state == HoldState.READY
        )
    ).all()
    for licence_id, ready_until in ready:
        if licence_id in licences and ready_until is not None:
            back.append(max(ready_until, now) + period)
    if not back:
        # Lendable copies but none out: a copy is free (the hold is about to be served).
        return now
    heapq.heapify(back)
    at = now
    for _ in range(position):
        at = heapq.heappop(back)
        heapq.heappush(back, at + period)
    return at


def place_in_queue(hold: Hold, now: datetime) -> QueuePlace:
    """The hold's position, the queue's length and the expected time of a copy."""
    length = int(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Hold)
            .where(Hold.item_id == hold.item_id, Hold.state == HoldState.WAITING)
        )
        or 0
    )
    position = position_of(hold)
    expected = expected_copy_at(hold.item, position, now) if position is not None else None
    return QueuePlace(position=position, length=length, expected_at=expected)
