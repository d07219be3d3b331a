"""What staff read about lending: an item's licences, loans and queue; long hold queues.

Copies are counted by the one availability formula (``licences.availability``); queue
positions and waits come from ``holds.queue``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from library import rules
from library.holds.queue import expected_copy_at
from library.holds.services import queue_length
from library.licences.availability import (
    Copies,
    copies_of,
    free_copies,
    is_usable,
    lendable_copies,
    lendable_copies_sql,
)
from library.licences.services import get_stock_item, licences_of
from library.models import Hold, HoldState, Licence, Loan
from media.catalogue.services import require_staff
from media.models import MediaItem
from vhs.accounts.models import User
from vhs.db import db, utcnow


@dataclass(frozen=True)
class LicenceRow:
    """A licence as staff see it: bought, used, left, lent, reserved, free."""

    licence: Licence
    lendable: int
    free: int
    used: int | None  # checkouts taken (metered licences)
    usable: bool
    expiring: bool  # ends within rules.EXPIRING_WITHIN


@dataclass(frozen=True)
class ItemLending:
    """An item's licences, copies, open loans and queue, for its staff page."""

    item: MediaItem
    licences: list[LicenceRow]
    copies: Copies
    loans: list[Loan]
    waiting: int
    ready: int
    expected_at: datetime | None  # for a hold placed now


def licence_row(licence: Licence, now: datetime) -> LicenceRow:
    """One licence's figures."""
    used = None
    if licence.checkouts_total is not None and licence.checkouts_left is not None:
        used = licence.checkouts_total - licence.checkouts_left
    expiring = (
        licence.expires_at is not None and now < licence.expires_at <= now + rules.EXPIRING_WITHIN
    )
    return LicenceRow(
        licence=licence,
        lendable=lendable_copies(licence, now),
        free=free_copies(licence, now),
        used=used,
        usable=is_usable(licence, now),
        expiring=expiring,
    )


def item_lending(actor: User, item_id: int, now: datetime | None = None) -> ItemLending:
    """Everything lending knows about one item (staff)."""
    now = now or utcnow()
    item = get_stock_item(actor, item_id)
    licences = licences_of(item.id)
    loans = list(
        db.session.execute(
            sa.select(Loan)
            .where(Loan.item_id == item.id, Loan.ended_at.is_(None))
            .order_by(Loan.due_at, Loan.id)
        ).scalars()
    )
    waiting = queue_length(item.id)
    ready = int(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Hold)
            .where(Hold.item_id == item.id, Hold.state == HoldState.READY)
        )
        or 0
    )
    copies = copies_of(licences, now)
    expected = None
    if copies.lendable and copies.available == 0:
        expected = expected_copy_at(item, waiting + 1, now)
    return ItemLending(
        item=item,
        licences=[licence_row(lic, now) for lic in licences],
        copies=copies,
        loans=loans,
        waiting=waiting,
        ready=ready,
        expected_at=expected,
    )


@dataclass(frozen=True)
class QueueRow:
    """An item with patrons waiting: how many, for how many copies."""

    item: MediaItem
    holds: int
    copies: int

    @property
    def per_copy(self) -> float | None:
        """Waiting patrons per lendable copy (None without a copy)."""
        return self.holds / self.copies if self.copies else None

    @property
    def buy_more(self) -> bool:
        """Whether another copy should be bought (rules.HOLDS_PER_COPY_ALERT or no copy)."""
        return self.copies == 0 or self.holds / self.copies >= rules.HOLDS_PER_COPY_ALERT


def hold_queues(
    actor: User, now: datetime | None = None, *, min_holds: int = 1, limit: int = 200
) -> list[QueueRow]:
    """Items by the length of their queue per copy, longest first ("buy another copy")."""
    require_staff(actor)
    now = now or utcnow()
    waiting = (
        sa.select(Hold.item_id, sa.func.count().label("holds"))
        .where(Hold.state == HoldState.WAITING)
        .group_by(Hold.item_id)
        .having(sa.func.count() >= min_holds)
        .subquery()
    )
    copies = (
        sa.select(Licence.item_id, sa.func.sum(lendable_copies_sql(now)).label("copies"))
        .group_by(Licence.item_id)
        .subquery()
    )
    copies_n = sa.func.coalesce(copies.c.copies, 0)
    # Items without a lendable copy first (nobody will ever get one), then holds per copy.
    ratio = sa.case((copies_n == 0, None), else_=sa.cast(waiting.c.holds, sa.Float) / copies_n)
    rows = db.session.execute(
        sa.select(MediaItem, waiting.c.holds, copies_n)
        .join(waiting, waiting.c.item_id == MediaItem.id)
        .outerjoin(copies, copies.c.item_id == MediaItem.id)
        .options(selectinload(MediaItem.contributors))
        .order_by(ratio.desc().nulls_first(), waiting.c.holds.desc(), MediaItem.id)
        .limit(limit)
    ).all()
    return [QueueRow(item=item, holds=int(h), copies=int(c)) for item, h, c in rows]
