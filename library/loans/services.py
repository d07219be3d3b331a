"""Loans: check a copy out, end a loan (return, expiry, revocation), renew; the loan queries.

The functions that change a loan expect the caller to hold the item's row lock
(``library.licences.services.lock_item``) or take it themselves; the copy counters move under
the licence's lock in the same transaction as the loan row. When a loan ends, its copy is
announced (``copies_freed``) and the holds above hand it to the first patron waiting, in the
same transaction.

**Expiry.** A loan ends at its due time twice over: the ``library_expire_loans`` job closes
overdue loans every minute, and every read that answers about an item or a patron closes that
item's overdue loans first (:func:`close_overdue_loans`). Queries that count loans ignore
overdue ones (``due_at > now``), so an expired loan never grants access or blocks a slot even
between the due time and its closing. Both paths run the same function, so they agree.

**Privacy.** An ended loan forgets its patron (``user_id`` NULL) unless the patron opted in
to a "read before" list where the library offers one (``library.loans.history``): the library
keeps that a copy was lent, not who read what.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from library import rules
from library.licences.providers import provider_for
from library.licences.services import lock_item, release_copy, take_copy
from library.licences.signals import announce_copies_freed
from library.loans.history import keeps_history
from library.models import Licence, LicenceDedication, Loan, LoanEnd, ReadingPosition
from media.catalogue.services import require_staff
from media.models import MediaItem
from vhs.accounts.models import User
from vhs.audit import audit
from vhs.db import db, utcnow
from vhs.errors import Conflict, NotFound
from vhs.mail import queue_mail

# --- queries ---------------------------------------------------------------------------------


def _current(now: datetime) -> sa.ColumnElement[bool]:
    """An open loan that is not overdue: the loans that count."""
    return sa.and_(Loan.ended_at.is_(None), Loan.due_at > now)


def open_loan(patron_id: int, item_id: int, now: datetime) -> Loan | None:
    """The patron's current loan of an item, if any (an overdue one does not count)."""
    return db.session.execute(
        sa.select(Loan).where(Loan.user_id == patron_id, Loan.item_id == item_id, _current(now))
    ).scalar_one_or_none()


def current_loan_items(patron_id: int, now: datetime) -> list[int]:
    """The items of the patron's current loans (one statement answers both "borrowed
    already?" and the limit when borrowing)."""
    return list(
        db.session.execute(
            sa.select(Loan.item_id).where(Loan.user_id == patron_id, _current(now))
        ).scalars()
    )


def count_open_loans(patron_id: int, now: datetime) -> int:
    """How many current loans the patron has (for the limit)."""
    return int(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Loan)
            .where(Loan.user_id == patron_id, _current(now))
        )
        or 0
    )


def current_loans(patron_id: int, now: datetime, *, with_files: bool = False) -> list[Loan]:
    """The patron's current loans, due soonest first, with their items and licences in the
    same statement (``with_files``: and the items' files in one more, for their links)."""
    query = (
        sa.select(Loan)
        .where(Loan.user_id == patron_id, _current(now))
        .options(joinedload(Loan.item), joinedload(Loan.licence))
        .order_by(Loan.due_at, Loan.id)
    )
    if with_files:
        query = query.options(joinedload(Loan.item).selectinload(MediaItem.files))
    return list(db.session.execute(query).unique().scalars())


def past_loans(patron_id: int) -> list[Loan]:
    """The patron's ended loans (kept only when they opted in), newest first."""
    return list(
        db.session.execute(
            sa.select(Loan)
            .where(Loan.user_id == patron_id, Loan.ended_at.is_not(None))
            .options(selectinload(Loan.item))
            .order_by(Loan.ended_at.desc(), Loan.id.desc())
        ).scalars()
    )


def get_own_loan(patron: User, loan_id: int) -> Loan:
    """A loan of the patron's own (404 for anyone else's: nothing is revealed)."""
    loan = db.session.get(Loan, loan_id)
    if loan is None or loan.user_id is None or loan.user_id != patron.id:
        raise NotFound(_l("This loan does not exist."), code="loan_not_found")
    return loan


def overdue_items(now: datetime, patron_id: int | None = None) -> sa.Select[tuple[int]]:
    """The query of item ids with open loans past their due time (all, or one patron's)."""
    query = sa.select(Loan.item_id).where(Loan.ended_at.is_(None), Loan.due_at <= now)
    if patron_id is not None:
        query = query.where(Loan.user_id == patron_id)
    return query


def items_with_overdue_loans(now: datetime, patron_id: int | None = None) -> list[int]:
    """Ids of items with open loans past their due time (all, or one patron's), ascending."""
    return sorted(set(db.session.execute(overdue_items(now, patron_id)).scalars()))


# --- checking out ----------------------------------------------------------------------------


def due_time(licence: Licence, days: int, now: datetime) -> datetime:
    """When a loan of ``days`` on ``licence`` is due: capped by the licence's longest loan,
    and by its expiry (no loan outlives its licence)."""
    due = now + timedelta(days=min(days, licence.max_loan_days))
    if licence.expires_at is not None:
        due = min(due, licence.expires_at)
    return due


def checkout(
    patron: User,
    item: MediaItem,
    licence: Licence,
    *,
    days: int,
    now: datetime,
    reserved: bool = False,
    dedication: LicenceDedication | None = None,
    locked: bool = False,
) -> Loan:
    """Lend a copy of ``licence`` to ``patron`` (caller holds the item's lock and has checked
    who may borrow); ``reserved``: the copy kept for the patron's ready hold; ``dedication``:
    one of the copies kept for the patron's group (the loan ends with the group at the latest);
    ``locked``: the caller read ``licence`` under its row lock.
    """
    licence = take_copy(licence, now, reserved=reserved, dedication=dedication, locked=locked)
    due = due_time(licence, days, now)
    if dedication is not None:
        due = min(due, dedication.ends_at)
    granted = provider_for(licence).checkout(licence, patron, due)
    loan = Loan(
        item=item,  # set, not only the id: the answer shows it without another SELECT
        licence=licence,
        dedication_id=dedication.id if dedication is not None else None,
        user_id=patron.id,
        started_at=now,
        due_at=granted.due_at,
        external_id=granted.external_id,
        renewals=0,
    )
    db.session.add(loan)
    db.session.flush()
    if patron.email:
        queue_mail(patron, "library_loan_confirmed", {"loan": loan, "item": item})
    return loan


# --- ending ----------------------------------------------------------------------------------


def _end(loan: Loan, reason: LoanEnd, now: datetime, *, forget: bool = False) -> None:
    """End an open loan and free its copy (the caller announces the freed copy); it forgets
    its patron unless they keep a history (``forget``: in any case), and its reading position."""
    licence = release_copy(loan.licence_id, loan.dedication_id)
    provider_for(licence).checkin(loan)
    loan.ended_at = now
    loan.end_reason = reason
    if forget or not keeps_history(loan.user_id):
        loan.user_id = None
    # Where the patron was in the book lives only as long as the loan (every ending passes
    # here: return, expiry by the job or lazily, revocation, erasure), even with a history.
    db.session.execute(sa.delete(ReadingPosition).where(ReadingPosition.loan_id == loan.id))


def close_overdue_loans(item: MediaItem, now: datetime) -> int:
    """End the item's loans past their due time (caller holds the item's lock); the copies go
    to waiting holds at once. Used by the expiry job and before every answer about the item."""
    overdue = list(
        db.session.execute(
            sa.select(Loan)
            .where(Loan.item_id == item.id, Loan.ended_at.is_(None), Loan.due_at <= now)
            .order_by(Loan.due_at, Loan.id)
            .execution_options(populate_existing=True)
        ).scalars()
    )
    _expire(item, overdue, now)
    return len(overdue)


def _expire(item: MediaItem, overdue: list[Loan], now: datetime) -> None:
    for loan in overdue:
        _end(loan, LoanEnd.EXPIRED, now)
    if overdue:
        db.session.flush()
        announce_copies_freed(item, now)


def _current_loans_of_item(item: MediaItem, now: datetime) -> list[Loan]:
    """Close the item's overdue loans (as :func:`close_overdue_loans`) and answer the ones
    still running, all read afresh in one statement under the item's lock."""
    open_loans = list(
        db.session.execute(
            sa.select(Loan)
            .where(Loan.item_id == item.id, Loan.ended_at.is_(None))
            .order_by(Loan.due_at, Loan.id)
            .execution_options(populate_existing=True)
        ).scalars()
    )
    _expire(item, [loan for loan in open_loans if loan.due_at <= now], now)
    return [loan for loan in open_loans if loan.due_at > now]


def return_loan(patron: User, loan_id: int, now: datetime | None = None) -> Loan:
    """The patron gives a loan back early: the copy is free (or a hold's) at once."""
    now = now or utcnow()
    loan = get_own_loan(patron, loan_id)
    item = lock_item(loan.item_id)
    # Read again under the lock (with the item's other open loans, one statement): another
    # request may have ended it meanwhile, or it ran out and has just been closed.
    if loan not in _current_loans_of_item(item, now):
        raise Conflict(_l("This loan has already ended."), code="loan_not_open")
    _end(loan, LoanEnd.RETURNED, now)
    db.session.flush()
    announce_copies_freed(item, now)
    # The loan's item is the one locked above: the answer shows it without another SELECT.
    set_committed_value(loan, "item", item)
    return loan


def revoke_loan(actor: User, loan_id: int, now: datetime | None = None) -> Loan:
    """Staff end a loan (misuse, a licence withdrawn by the publisher); audited."""
    require_staff(actor)
    now = now or utcnow()
    loan = db.session.get(Loan, loan_id)
    if loan is None:
        raise NotFound(_l("This loan does not exist."), code="loan_not_found")
    if not end_revoked(loan, now, actor=actor):
        raise Conflict(_l("This loan has already ended."), code="loan_not_open")
    return loan


def end_revoked(loan: Loan, now: datetime, *, actor: User | None, **why: object) -> bool:
    """End a loan as revoked, under its item's lock, and hand its copy on; audited. The caller
    decided it may (staff, or the patron left the course of a course-bound loan). False when
    the loan had ended already."""
    item = lock_item(loan.item_id)
    if loan not in _current_loans_of_item(item, now):
        return False
    patron = loan.user
    patron_id = loan.user_id
    course_bound = loan.dedication_id is not None
    _end(loan, LoanEnd.REVOKED, now)
    db.session.flush()
    audit(actor, "library.loan_revoked", loan, item=item.id, patron=patron_id, **why)
    if patron is not None and patron.email:
        queue_mail(patron, "library_loan_revoked", {"item": item, "course_bound": course_bound})
    announce_copies_freed(item, now)
    return True


def end_by_provider(loan: Loan, reason: LoanEnd, now: datetime) -> bool:
    """End a loan because its provider says it ended there (an ODL distributor's
    notification or status document: returned in the reading app, revoked, expired), under
    the item's lock; its copy goes to the queue. False when it had ended here already."""
    item = lock_item(loan.item_id)
    if loan not in _current_loans_of_item(item, now):
        return False
    _end(loan, reason, now)
    db.session.flush()
    announce_copies_freed(item, now)
    return True


def return_all(patron_id: int, item: MediaItem, now: datetime) -> int:
    """End the patron's open loans of the item, forgetting them (account erasure; the caller
    holds the item's lock and announces the freed copies)."""
    open_loans = list(
        db.session.execute(
            sa.select(Loan)
            .where(Loan.user_id == patron_id, Loan.item_id == item.id, Loan.ended_at.is_(None))
            .execution_options(populate_existing=True)
        ).scalars()
    )
    for loan in open_loans:
        _end(loan, LoanEnd.RETURNED, now, forget=True)
    return len(open_loans)


# --- renewing --------------------------------------------------------------------------------


def loan_days(loan: Loan) -> int:
    """The length of the loan as granted, in whole days (at least one)."""
    return max(round((loan.due_at - loan.started_at) / timedelta(days=1)), 1)


def renew(loan: Loan, *, waiting: int, now: datetime) -> Loan:
    """Extend an open loan by its own length from now (caller holds the item's lock).

    Refused when it was renewed already (``renewal_limit_reached``), when patrons wait for the
    item (``holds_waiting``), or when the licence would not let it last longer
    (``renewal_not_possible``: it expires or allows no longer loan).
    """
    if loan.ended_at is not None or loan.due_at <= now:
        raise Conflict(_l("This loan has already ended."), code="loan_not_open")
    if loan.renewals >= rules.RENEWALS_MAX:
        raise Conflict(
            _l("This loan has been renewed already; it cannot be renewed again."),
            code="renewal_limit_reached",
        )
    if waiting > 0:
        raise Conflict(
            _l("Other patrons are waiting for this medium, so the loan cannot be renewed."),
            code="holds_waiting",
        )
    licence = loan.licence
    wanted = due_time(licence, loan_days(loan), now)
    if loan.dedication_id is not None:
        dedication = db.session.get(LicenceDedication, loan.dedication_id)
        if dedication is not None:  # a course-bound loan ends with the course at the latest
            wanted = min(wanted, dedication.ends_at)
    if wanted <= loan.due_at:
        raise Conflict(
            _l("The licence of this medium does not allow a longer loan."),
            code="renewal_not_possible",
        )
    loan.due_at = provider_for(licence).renew(loan, wanted)
    loan.renewals += 1
    loan.reminder_sent_at = None
    db.session.flush()
    return loan


# --- reminders -------------------------------------------------------------------------------


def send_due_reminders(now: datetime | None = None) -> int:
    """Mail "your loan ends in 2 days" once per due date, for loans longer than that."""
    now = now or utcnow()
    loans = list(
        db.session.execute(
            sa.select(Loan)
            .where(
                _current(now),
                Loan.reminder_sent_at.is_(None),
                Loan.due_at <= now + rules.REMINDER_BEFORE,
            )
            .options(selectinload(Loan.item), selectinload(Loan.user))
            .order_by(Loan.id)
        ).scalars()
    )
    sent = 0
    for loan in loans:
        loan.reminder_sent_at = now
        # A loan shorter than the lead time (an e-magazine's day) needs no reminder.
        if loan.due_at - loan.started_at <= rules.REMINDER_BEFORE:
            continue
        if loan.user is not None and loan.user.email:
            queue_mail(loan.user, "library_loan_due_soon", {"loan": loan, "item": loan.item})
            sent += 1
    return sent
