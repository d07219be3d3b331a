"""Holds (Vormerkungen): place, cancel, make ready when a copy comes back, expire, queue.

**No timer between a free copy and the next patron.** Whatever frees a copy (a return, an
expired loan, a revocation, a licence added or raised, a ready hold that lapsed or was
cancelled) hands it to the first waiting hold *in the same transaction*: loans and licences
send ``copies_freed`` and :func:`promote` answers it under the item's lock. The ready hold
reserves that licence's copy (``Licence.reserved`` and ``Hold.licence_id``) until
``ready_until`` (``VHS_LIBRARY_HOLD_PICKUP_HOURS``), the patron gets a mail with the deadline,
and only they can borrow that copy. When the window passes (the ``library_expire_holds`` job,
or lazily before any answer about the item: :func:`refresh`), the hold ends ``expired`` with a
mail and the copy goes to the next in line. Palace's users wait for an hourly script here.

**The queue** is first come, first served per item: waiting holds ordered by ``placed_at``,
then id. A position is computed from that order whenever it is shown, so it is always between
1 and the number of waiting holds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from library import rules
from library.dedications.services import hand_back, member_dedication
from library.licences.availability import best_licence, copies_of, free_copies_sql, is_usable
from library.licences.services import licences_of, lock_item, reserve_copy, unreserve_copy
from library.licences.signals import copies_freed
from library.loans.services import close_overdue_loans, open_loan, overdue_items
from library.models import Hold, HoldEnd, HoldState, Licence, Loan
from library.patrons.eligibility import require_borrower
from media.models import MediaItem, PublicationState
from vhs.accounts.models import User
from vhs.db import db, utcnow
from vhs.errors import Conflict, NotFound
from vhs.i18n import local
from vhs.mail import queue_mail

OPEN_STATES = (HoldState.WAITING, HoldState.READY)

# --- queries ---------------------------------------------------------------------------------


def open_hold(patron_id: int, item_id: int) -> Hold | None:
    """The patron's waiting or ready hold on an item, if any."""
    return db.session.execute(
        sa.select(Hold).where(
            Hold.user_id == patron_id, Hold.item_id == item_id, Hold.state.in_(OPEN_STATES)
        )
    ).scalar_one_or_none()


def open_holds_of(patron_id: int, now: datetime) -> list[Hold]:
    """The patron's waiting holds and the ready ones whose copy is still kept (one statement,
    without refreshing anything: what a read-only answer such as a feed may show)."""
    kept = sa.or_(
        Hold.state == HoldState.WAITING,
        sa.and_(Hold.state == HoldState.READY, Hold.ready_until > now),
    )
    return list(
        db.session.execute(sa.select(Hold).where(Hold.user_id == patron_id, kept)).scalars()
    )


def ready_hold(patron_id: int, item_id: int) -> Hold | None:
    """The patron's ready hold on an item (a copy kept for them), if any."""
    hold = open_hold(patron_id, item_id)
    return hold if hold is not None and hold.state is HoldState.READY else None


def count_open_holds(patron_id: int) -> int:
    """How many waiting or ready holds the patron has (for the limit)."""
    return int(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Hold)
            .where(Hold.user_id == patron_id, Hold.state.in_(OPEN_STATES))
        )
        or 0
    )


def queue_length(item_id: int) -> int:
    """How many holds wait for the item (ready ones have their copy already)."""
    return int(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Hold)
            .where(Hold.item_id == item_id, Hold.state == HoldState.WAITING)
        )
        or 0
    )


def queue_lengths(item_ids: list[int]) -> dict[int, int]:
    """:func:`queue_length` for a page of items at once (one statement)."""
    found = dict.fromkeys(item_ids, 0)
    if item_ids:
        rows = db.session.execute(
            sa.select(Hold.item_id, sa.func.count())
            .where(Hold.item_id.in_(item_ids), Hold.state == HoldState.WAITING)
            .group_by(Hold.item_id)
        )
        found.update({item_id: int(n) for item_id, n in rows})
    return found


def first_waiting(item_id: int) -> Hold | None:
    """The hold first in line for the item."""
    return db.session.execute(
        sa.select(Hold)
        .where(Hold.item_id == item_id, Hold.state == HoldState.WAITING)
        .order_by(Hold.placed_at, Hold.id)
        .limit(1)
    ).scalar_one_or_none()


def get_own_hold(patron: User, hold_id: int) -> Hold:
    """A hold of the patron's own (404 for anyone else's)."""
    hold = db.session.get(Hold, hold_id)
    if hold is None or hold.user_id != patron.id:
        raise NotFound(_l("This reservation does not exist."), code="hold_not_found")
    return hold


# --- state changes (caller holds the item's lock) --------------------------------------------


def _end(hold: Hold, reason: HoldEnd, now: datetime) -> None:
    """End a hold; it forgets its patron at once (who waited for what is not kept)."""
    hold.state = HoldState.ENDED
    hold.end_reason = reason
    hold.ended_at = now
    hold.licence_id = None
    hold.user_id = None
    hold.user = None


def promote(item: MediaItem, now: datetime) -> list[Hold]:
    """Give the item's free copies to the first waiting holds, in order; each is mailed."""
    promoted: list[Hold] = []
    hold = first_waiting(item.id)
    if hold is None:
        return promoted  # nobody waits (most returns): the licences need not be read
    licences = licences_of(item.id)
    while hold is not None:
        licence = best_licence(licences, now)
        if licence is None:
            break
        reserve_copy(licence, now)
        hold.state = HoldState.READY
        hold.ready_at = now
        hold.ready_until = now + rules.pickup_window()
        hold.licence_id = licence.id
        db.session.flush()
        promoted.append(hold)
        if hold.user is not None and hold.user.email:
            queue_mail(hold.user, "library_hold_ready", {"hold": hold, "item": item})
        hold = first_waiting(item.id)
    return promoted


@copies_freed.connect
def _hand_on_freed_copies(item: MediaItem, now: datetime, **_kw: object) -> None:
    """A copy came back: the first waiting patron gets it, in the same transaction."""
    promote(item, now)


def expire_ready_holds(item: MediaItem, now: datetime) -> int:
    """End the item's ready holds whose window passed (mailed), and hand their copies on.

    A ready hold whose licence can no longer lend (it expired meanwhile) goes back to the
    queue, at its old place, and gets a copy of another licence if one is free.
    """
    ready = list(
        db.session.execute(
            sa.select(Hold)
            .where(Hold.item_id == item.id, Hold.state == HoldState.READY)
            .order_by(Hold.placed_at, Hold.id)
            .execution_options(populate_existing=True)
        ).scalars()
    )
    expired = 0
    changed = False
    for hold in ready:
        licence = hold.licence
        if hold.ready_until is not None and hold.ready_until <= now:
            patron = hold.user
            unreserve_copy(licence)
            if patron is not None and patron.email:
                queue_mail(patron, "library_hold_expired", {"hold": hold, "item": item})
            _end(hold, HoldEnd.EXPIRED, now)
            expired += 1
            changed = True
        elif licence is not None and not is_usable(licence, now):
            unreserve_copy(licence)
            hold.state = HoldState.WAITING
            hold.licence_id = None
            hold.ready_at = hold.ready_until = None
            changed = True
    if changed:
        db.session.flush()
        promote(item, now)
    return expired


def refresh(item: MediaItem, now: datetime) -> None:
    """Bring an item up to date before answering about it (caller holds its lock): overdue
    loans end, lapsed ready holds end, and the freed copies go to the queue — as do copies
    whose dedication to a course ended by the clock."""
    close_overdue_loans(item, now)
    expire_ready_holds(item, now)
    hand_back(item, now)


def _stale_ready(now: datetime) -> Any:
    """Ready holds whose window passed, or whose licence stopped lending meanwhile."""
    return sa.and_(
        Hold.state == HoldState.READY,
        sa.or_(
            Hold.ready_until <= now,
            Hold.licence_id.in_(sa.select(Licence.id).where(Licence.expires_at <= now)),
        ),
    )


def needs_refresh(item_id: int, now: datetime) -> bool:
    """Whether anything of the item is past its time (a cheap read before taking the lock)."""
    overdue = sa.select(Loan.id).where(
        Loan.item_id == item_id, Loan.ended_at.is_(None), Loan.due_at <= now
    )
    stale = sa.select(Hold.id).where(Hold.item_id == item_id, _stale_ready(now))
    # A copy free while patrons wait: a dedication to a course ended by the clock alone.
    idle = sa.and_(
        sa.select(Licence.id).where(Licence.item_id == item_id, free_copies_sql(now) > 0).exists(),
        sa.select(Hold.id).where(Hold.item_id == item_id, Hold.state == HoldState.WAITING).exists(),
    )
    return bool(
        db.session.execute(sa.select(sa.or_(overdue.exists(), stale.exists(), idle))).scalar()
    )


def refresh_items(item_ids: list[int], now: datetime) -> None:
    """Refresh the items that need it, locking them in ascending id order (as everyone does)."""
    for item_id in sorted(set(item_ids)):
        if needs_refresh(item_id, now):
            refresh(lock_item(item_id), now)


def refresh_patron(patron: User, now: datetime) -> None:
    """Before answering a patron about their loans and holds: refresh the items concerned
    (their overdue loans, and the items they wait for, whose copies may have come back)."""
    # One statement for both sets: "my loans" costs the same whatever the number of loans.
    holds_on = sa.select(Hold.item_id).where(Hold.user_id == patron.id, Hold.state.in_(OPEN_STATES))
    both = sa.union(holds_on, overdue_items(now, patron.id))
    refresh_items(list(db.session.execute(both).scalars()), now)


# --- the patron's verbs ----------------------------------------------------------------------


def lendable_item(item_id: int, now: datetime) -> MediaItem:
    """The published item under its lock, brought up to date (404 for drafts/withdrawn).
    Under the lock one statement tells whether anything is past its time; most of the time
    nothing is, and the three reads of :func:`refresh` are spared."""
    item = lock_item(item_id)
    if item.state is not PublicationState.PUBLISHED:
        raise NotFound(
            _l("This medium does not exist or is not in the catalogue."), code="media_not_found"
        )
    if needs_refresh(item.id, now):
        refresh(item, now)
    return item


def not_lendable() -> Conflict:
    """The refusal for an item without a licence that lends."""
    return Conflict(_l("This medium cannot be borrowed at the moment."), code="not_lendable")


def place_hold(patron: User, item_id: int, now: datetime | None = None) -> Hold:
    """Join the item's queue; only when no copy is free (else borrow it)."""
    now = now or utcnow()
    require_borrower(patron, on=local(now).date())
    item = lendable_item(item_id, now)
    copies = copies_of(licences_of(item.id), now)
    if not copies.lendable:
        raise not_lendable()
    if open_loan(patron.id, item.id, now) is not None:
        raise Conflict(_l("You have borrowed this medium already."), code="already_on_loan")
    if open_hold(patron.id, item.id) is not None:
        raise Conflict(_l("You have reserved this medium already."), code="already_on_hold")
    if copies.available > 0 or member_dedication(patron, licences_of(item.id), now) is not None:
        raise Conflict(
            _l("A copy is available now: you can borrow it straight away."),
            code="currently_available",
        )
    if count_open_holds(patron.id) >= rules.max_holds():
        raise Conflict(
            _l("You have reached the limit of %(n)d reservations.", n=rules.max_holds()),
            code="hold_limit_reached",
        )
    hold = Hold(item_id=item.id, user_id=patron.id, state=HoldState.WAITING, placed_at=now)
    db.session.add(hold)
    db.session.flush()
    return hold


def cancel_hold(patron: User, hold_id: int, now: datetime | None = None) -> Hold:
    """Leave the queue (any time); a ready hold's copy goes to the next in line."""
    now = now or utcnow()
    hold = get_own_hold(patron, hold_id)
    item = lock_item(hold.item_id)
    refresh(item, now)
    db.session.refresh(hold)
    if hold.state is HoldState.ENDED:
        raise Conflict(_l("This reservation has already ended."), code="hold_not_open")
    was_ready = hold.state is HoldState.READY
    if was_ready:
        unreserve_copy(hold.licence)
    _end(hold, HoldEnd.CANCELLED, now)
    db.session.flush()
    if was_ready:
        promote(item, now)
    return hold


def cancel_all(patron_id: int, item: MediaItem, now: datetime) -> bool:
    """Cancel the patron's open hold on the item (account erasure; the caller holds the
    item's lock); whether a ready hold's copy came free (the caller hands it on)."""
    hold = db.session.execute(
        sa.select(Hold)
        .where(Hold.user_id == patron_id, Hold.item_id == item.id, Hold.state.in_(OPEN_STATES))
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if hold is None:
        return False
    was_ready = hold.state is HoldState.READY
    if was_ready:
        unreserve_copy(hold.licence)
    _end(hold, HoldEnd.CANCELLED, now)
    return was_ready


def claim_ready_hold(hold: Hold, now: datetime) -> None:
    """The patron borrowed the copy their hold kept (the loan took the reservation)."""
    _end(hold, HoldEnd.BORROWED, now)


def expire_all_ready_holds(now: datetime | None = None) -> int:
    """The job: every ready hold past its window ends; the copies go on (item by item)."""
    now = now or utcnow()
    item_ids = db.session.execute(sa.select(Hold.item_id).where(_stale_ready(now))).scalars()
    count = 0
    for item_id in sorted(set(item_ids)):
        count += expire_ready_holds(lock_item(item_id), now)
    return count
