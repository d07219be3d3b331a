"""The patron's side of lending, where loans and holds meet (as Palace's CirculationAPI):
borrow (a free copy, or the one a ready hold kept), renew (only while nobody waits), and what
an item and a patron's account look like now.

Every function first brings the items it answers about up to date (overdue loans and lapsed
ready holds end, freed copies go to the queue: ``holds.services.refresh``), under the item's
row lock, so an answer never rests on a loan that has run out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from library import rules
from library.dedications.services import member_dedication
from library.holds import services as holds
from library.holds.queue import QueuePlace, expected_copy_at, place_in_queue
from library.licences.availability import Copies, best_licence, copies_of, item_copies
from library.licences.services import licences_of, lock_item, no_copies
from library.loans import history as reading_history
from library.loans import services as loans
from library.models import Hold, Loan
from library.patrons.eligibility import card_of, require_borrower
from media.models import MediaItem, PublicationState
from vhs.accounts.models import User
from vhs.db import db, utcnow
from vhs.errors import Conflict, Invalid, NotFound
from vhs.i18n import local

# --- borrowing -------------------------------------------------------------------------------


def borrow(
    patron: User, item_id: int, *, days: int | None = None, now: datetime | None = None
) -> Loan:
    """Borrow an item for ``days`` (one of ``rules.LOAN_PERIODS``; default: the kind's period).

    The patron's ready hold gives them the copy it kept (a full-length loan, kept for them
    alone); otherwise a copy dedicated to a group the patron belongs to (a course: the loan
    ends with the course at the latest, ``library.dedications``); otherwise the best licence
    with a free copy lends (``availability.selection_key``). Refusals (409 unless noted): the card's
    (``no_card``, ``card_applied``, ``card_blocked``, ``card_expired``, ``fee_unpaid``),
    ``already_on_loan``, ``loan_limit_reached``, ``not_lendable``, ``no_copies_available``;
    ``media_not_found`` (404); a period not offered (422).
    """
    now = now or utcnow()
    if days is not None and days not in rules.LOAN_PERIODS:
        periods = ", ".join(str(d) for d in rules.LOAN_PERIODS)
        raise Invalid(errors={"days": [_l("Choose a loan period of %(days)s days.", days=periods)]})
    require_borrower(patron, on=local(now).date())
    item = holds.lendable_item(item_id, now)
    on_loan = loans.current_loan_items(patron.id, now)
    if item.id in on_loan:
        raise Conflict(_l("You have borrowed this medium already."), code="already_on_loan")
    if len(on_loan) >= rules.max_loans():
        raise Conflict(
            _l("You have reached the limit of %(n)d loans.", n=rules.max_loans()),
            code="loan_limit_reached",
        )
    days = days or rules.default_loan_days(item.kind)
    ready = holds.ready_hold(patron.id, item.id)
    if ready is not None:
        loan = loans.checkout(patron, item, ready.licence, days=days, now=now, reserved=True)
        holds.claim_ready_hold(ready, now)
        db.session.flush()
        return loan
    licences = licences_of(item.id, for_update=True)
    if not copies_of(licences, now).lendable:
        raise holds.not_lendable()
    dedication = member_dedication(patron, licences, now)
    if dedication is not None:
        return loans.checkout(
            patron, item, dedication.licence, days=days, now=now, dedication=dedication, locked=True
        )
    licence = best_licence(licences, now)
    if licence is None:
        raise no_copies()
    return loans.checkout(patron, item, licence, days=days, now=now, locked=True)


def renew(patron: User, loan_id: int, now: datetime | None = None) -> Loan:
    """Renew one's own loan once, while nobody waits for the item."""
    now = now or utcnow()
    loan = loans.get_own_loan(patron, loan_id)
    item = lock_item(loan.item_id)
    holds.refresh(item, now)
    db.session.refresh(loan)
    return loans.renew(loan, waiting=holds.queue_length(item.id), now=now)


def return_loan(patron: User, loan_id: int, now: datetime | None = None) -> Loan:
    """Give one's loan back early; the copy goes to the first waiting hold at once."""
    return loans.return_loan(patron, loan_id, now)


def place_hold(patron: User, item_id: int, now: datetime | None = None) -> Hold:
    """Reserve an item none of whose copies is free."""
    return holds.place_hold(patron, item_id, now)


def cancel_hold(patron: User, hold_id: int, now: datetime | None = None) -> Hold:
    """Leave an item's queue."""
    return holds.cancel_hold(patron, hold_id, now)


# --- what the patron sees --------------------------------------------------------------------


@dataclass(frozen=True)
class Wait:
    """An expected wait as people say it: days under two weeks, whole weeks otherwise."""

    days: int  # whole days, rounded up (at least 1)
    weeks: int | None  # rounded to the nearest week from two weeks on; None: say the days


# Below this, a wait is said in days ("ca. 10 Tage"); from it on in weeks ("ca. 4 Wochen").
WAIT_IN_WEEKS_FROM = timedelta(days=14)


def expected_wait(expected_at: datetime | None, now: datetime) -> Wait | None:
    """How long a hold placed now waits for a copy, rounded for people (None: no estimate)."""
    if expected_at is None:
        return None
    span = max(expected_at - now, timedelta(0))
    days = max(math.ceil(span / timedelta(days=1)), 1)
    if span < WAIT_IN_WEEKS_FROM:
        return Wait(days=days, weeks=None)
    return Wait(days=days, weeks=max(round(span / timedelta(weeks=1)), 2))


@dataclass(frozen=True)
class Availability:
    """An item's copies and queue now, and when a new hold could expect a copy."""

    copies: Copies
    holds: int
    expected_at: datetime | None  # for a hold placed now; None without a queue to wait in
    wait: Wait | None = None  # the same, as a rounded wait from now

    @property
    def wait_days(self) -> int | None:
        """The expected wait in whole days (None: no estimate)."""
        return self.wait.days if self.wait is not None else None


def availability(item_id: int, now: datetime | None = None) -> Availability:
    """What the item offers now; published items only. Brings it up to date first, taking
    its lock only when something is past its time."""
    now = now or utcnow()
    item = db.session.get(MediaItem, item_id)
    if item is None or item.state is not PublicationState.PUBLISHED:
        raise NotFound(
            _l("This medium does not exist or is not in the catalogue."), code="media_not_found"
        )
    if holds.needs_refresh(item_id, now):
        holds.refresh(lock_item(item_id), now)
    copies = item_copies(item_id, now)
    waiting = holds.queue_length(item_id)
    expected = None
    if copies.lendable and copies.available == 0:
        expected = expected_copy_at(item, waiting + 1, now)
    return Availability(
        copies=copies, holds=waiting, expected_at=expected, wait=expected_wait(expected, now)
    )


@dataclass(frozen=True)
class HoldView:
    """A hold with its place in the queue."""

    hold: Hold
    place: QueuePlace


def my_loans(patron: User, now: datetime | None = None) -> list[Loan]:
    """The patron's current loans (overdue ones are ended first), due soonest first."""
    now = now or utcnow()
    holds.refresh_patron(patron, now)
    return loans.current_loans(patron.id, now)


def my_past_loans(patron: User) -> list[Loan]:
    """The patron's "read before" list (empty unless they opted in)."""
    return loans.past_loans(patron.id)


@dataclass(frozen=True)
class HistoryChoice:
    """Whether the patron can opt in to a "read before" list (the library offers it and they
    have a card, or they opted in before), and whether they did."""

    offered: bool
    keep: bool


def history_choice(patron: User) -> HistoryChoice:
    """The patron's reading-history setting as the account page and the API show it."""
    card = card_of(patron)
    keep = reading_history.keeps_history(patron.id)
    offered = card is not None and (rules.history_offered() or card.keep_history)
    return HistoryChoice(offered=offered, keep=keep)


def set_keep_history(patron: User, keep: bool) -> HistoryChoice:
    """Opt in to a "read before" list, or out (which forgets it); see ``loans.history``."""
    reading_history.set_keep_history(patron, keep)
    return history_choice(patron)


def my_holds(patron: User, now: datetime | None = None) -> list[HoldView]:
    """The patron's waiting and ready holds with position and expected wait, ready first."""
    now = now or utcnow()
    holds.refresh_patron(patron, now)
    return _open_holds(patron, now)


def _open_holds(patron: User, now: datetime) -> list[HoldView]:
    rows = db.session.execute(
        db.select(Hold)
        .where(Hold.user_id == patron.id, Hold.state.in_(holds.OPEN_STATES))
        .options(joinedload(Hold.item))
        .order_by(Hold.state, Hold.placed_at, Hold.id)  # 'ready' sorts before 'waiting'
    ).scalars()
    return [HoldView(hold=h, place=place_in_queue(h, now)) for h in rows]


@dataclass(frozen=True)
class Account:
    """ "Mein Konto": current loans and open holds."""

    loans: list[Loan]
    holds: list[HoldView]


def my_account(patron: User, now: datetime | None = None) -> Account:
    """Everything the account page shows, brought up to date once (a fixed number of
    statements whatever the number of loans)."""
    now = now or utcnow()
    holds.refresh_patron(patron, now)
    return Account(
        loans=loans.current_loans(patron.id, now, with_files=True),  # the page links them
        holds=_open_holds(patron, now),
    )


@dataclass(frozen=True)
class ItemForPatron:
    """An item's lending page: its availability, and the patron's own loan or hold on it."""

    item: MediaItem
    availability: Availability
    loan: Loan | None
    hold: HoldView | None
    periods: tuple[int, ...]  # the loan periods to offer (the licence's cap applies later)
    default_days: int


def item_for_patron(
    patron: User | None, item_id: int, now: datetime | None = None
) -> ItemForPatron:
    """What the item's lending page shows to ``patron`` (None: a visitor)."""
    now = now or utcnow()
    offer = availability(item_id, now)
    item = db.session.get(MediaItem, item_id)
    assert item is not None  # availability() answered 404 otherwise
    loan = hold = None
    if patron is not None:
        loan = loans.open_loan(patron.id, item_id, now)
        own = holds.open_hold(patron.id, item_id)
        if own is not None:
            hold = HoldView(hold=own, place=place_in_queue(own, now))
    return ItemForPatron(
        item=item,
        availability=offer,
        loan=loan,
        hold=hold,
        periods=rules.LOAN_PERIODS,
        default_days=rules.default_loan_days(item.kind),
    )
