"""Lending invariants as a stateful property test (tests/service_machine.py).

Hypothesis drives the services in random order, each call in its own unit of work as a request
would: patrons borrow (with a period), return, renew, place and cancel holds, read their
account (which closes what ran out); the clock moves on; the jobs run; staff add a licence or
raise a licence's copies. After every step:

- counters: each licence's ``active_loans`` is its open loans, ``reserved`` its ready holds,
  both within ``concurrency``; ``checkouts_left`` never rose, and a metered licence's used
  checkouts are exactly the loans ever made on it; no loan outlives its licence;
- patrons: never more current loans or open holds than allowed, one loan/hold per item;
- queue: once the item is brought up to date, a waiting hold means no free copy (a copy that
  came back went to the queue in the same transaction), positions are 1..n in placing order,
  expected times never run backwards along the queue;
- the expiry job and the lazy expiry before a read leave the database in the same state
  (compared in two rolled-back units).

Budget: ``VHS_PROPERTY_EXAMPLES`` (default 25) and ``VHS_PROPERTY_STEPS`` (default 40):

    VHS_PROPERTY_EXAMPLES=500 VHS_PROPERTY_STEPS=60 .venv/bin/pytest -q tests/library/test_invariants.py
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule, run_state_machine_as_test

from library import rules
from library.circulation import services as circulation
from library.holds import services as holds
from library.holds.queue import expected_copy_at, position_of
from library.licences import services as licences
from library.licences.availability import item_copies
from library.loans import services as loans
from library.models import CardState, Hold, HoldState, LibraryCard, Licence, Loan
from media.models import MediaItem, MediaKind, PublicationState
from tests.service_machine import ServiceMachine, property_settings
from vhs.accounts.models import Role, User
from vhs.db import db, utcnow
from vhs.uow import unit_of_work

PATRONS = 5
BORROW_REFUSALS = ("already_on_loan", "loan_limit_reached", "no_copies_available", "not_lendable")
HOLD_REFUSALS = (
    "already_on_loan",
    "already_on_hold",
    "currently_available",
    "hold_limit_reached",
    "not_lendable",
)
RENEW_REFUSALS = ("renewal_limit_reached", "holds_waiting", "renewal_not_possible", "loan_not_open")


@dataclass(frozen=True)
class World:
    """What every example starts from: staff, patrons with cards, items and licences."""

    staff_id: int
    patron_ids: tuple[int, ...]
    item_ids: tuple[int, ...]
    start: datetime


def build_world() -> World:
    """Accounts, three items and their licences, committed once (in the test's transaction)."""
    start = utcnow().replace(microsecond=0)
    with unit_of_work():
        people = [
            User(
                email=f"{name}-{n}@example.org",
                name=f"{name} {n}",
                role=role,
                locale="de",
                email_verified_at=start,
                session_token=f"{name}-{n}",
            )
            for n, (name, role) in enumerate(
                [("staff", Role.STAFF)] + [("leser", Role.RESIDENT)] * PATRONS
            )
        ]
        db.session.add_all(people)
        db.session.flush()
        for n, person in enumerate(people[1:]):
            db.session.add(
                LibraryCard(
                    user_id=person.id,
                    number=f"P{n:06d}",
                    state=CardState.ACTIVE,
                    valid_until=date.today() + timedelta(days=3650),
                )
            )
        items = [
            MediaItem(kind=kind, title=title, state=PublicationState.PUBLISHED, published_at=start)
            for kind, title in (
                (MediaKind.EBOOK, "Ein Exemplar"),
                (MediaKind.AUDIOBOOK, "Gemischte Lizenzen"),
                (MediaKind.EMAGAZINE, "Heft"),
            )
        ]
        db.session.add_all(items)
        db.session.flush()
        one, mixed, magazine = items

        def licence(item: MediaItem, **terms: Any) -> Licence:
            days = terms.pop("expires_days", None)
            total = terms.pop("checkouts", None)
            return Licence(
                item_id=item.id,
                active_loans=0,
                reserved=0,
                checkouts_total=total,
                checkouts_left=total,
                expires_at=start + timedelta(days=days) if days else None,
                **terms,
            )

        db.session.add_all(
            [
                licence(one, concurrency=1, max_loan_days=21),
                licence(mixed, concurrency=2, checkouts=4, max_loan_days=14),
                licence(mixed, concurrency=1, expires_days=20, max_loan_days=21),
                licence(magazine, concurrency=1, checkouts=3, expires_days=40, max_loan_days=7),
            ]
        )
    return World(
        staff_id=people[0].id,
        patron_ids=tuple(p.id for p in people[1:]),
        item_ids=tuple(i.id for i in items),
        start=start,
    )


def snapshot() -> tuple[Any, ...]:
    """Everything lending holds, to compare two ways of bringing it up to date."""
    loan_rows = db.session.execute(
        sa.select(Loan.id, Loan.ended_at, Loan.end_reason, Loan.user_id).order_by(Loan.id)
    ).all()
    hold_rows = db.session.execute(
        sa.select(Hold.id, Hold.state, Hold.licence_id, Hold.end_reason, Hold.ready_until).order_by(
            Hold.id
        )
    ).all()
    licence_rows = db.session.execute(
        sa.select(
            Licence.id, Licence.active_loans, Licence.reserved, Licence.checkouts_left
        ).order_by(Licence.id)
    ).all()
    return (
        tuple(map(tuple, loan_rows)),
        tuple(map(tuple, hold_rows)),
        tuple(map(tuple, licence_rows)),
    )


class LendingMachine(ServiceMachine):
    """Loans and holds driven through the services on a clock of the machine's own."""

    def __init__(self, world: World) -> None:
        super().__init__()
        self.world = world
        self.now = world.start
        self.checkouts_seen: dict[int, int | None] = {}
        with self.reading():
            leaked = db.session.scalar(sa.select(sa.func.count(Loan.id)))
            assert leaked == 0, "an earlier example left loans behind"

    def patron(self, n: int) -> User:
        return db.session.get(User, self.world.patron_ids[n])

    def own(self, model: Any, n: int, item: int) -> Any:
        """The patron's open loan or hold on an item, if any (else None)."""
        query = sa.select(model).where(
            model.user_id == self.world.patron_ids[n], model.item_id == self.world.item_ids[item]
        )
        if model is Loan:
            query = query.where(Loan.ended_at.is_(None))
        else:
            query = query.where(Hold.state != HoldState.ENDED)
        return db.session.execute(query).scalar_one_or_none()

    # --- rules -----------------------------------------------------------------------------

    @rule(
        n=st.integers(0, PATRONS - 1),
        item=st.integers(0, 2),
        days=st.sampled_from([None, *rules.LOAN_PERIODS]),
    )
    def borrow(self, n: int, item: int, days: int | None) -> None:
        """A patron borrows (the copy their ready hold kept, or a free one)."""
        self.call(
            lambda: circulation.borrow(
                self.patron(n), self.world.item_ids[item], days=days, now=self.now
            ),
            refusals=BORROW_REFUSALS,
        )

    @rule(n=st.integers(0, PATRONS - 1), item=st.integers(0, 2))
    def give_back(self, n: int, item: int) -> None:
        """A patron returns an item they hold (if they do)."""

        def act() -> None:
            loan = self.own(Loan, n, item)
            if loan is not None:
                circulation.return_loan(self.patron(n), loan.id, now=self.now)

        self.call(act, refusals=("loan_not_open",))

    @rule(n=st.integers(0, PATRONS - 1), item=st.integers(0, 2))
    def renew(self, n: int, item: int) -> None:
        """A patron renews a loan (once, while nobody waits, within the licence)."""

        def act() -> None:
            loan = self.own(Loan, n, item)
            if loan is not None:
                circulation.renew(self.patron(n), loan.id, now=self.now)

        self.call(act, refusals=RENEW_REFUSALS)

    @rule(n=st.integers(0, PATRONS - 1), item=st.integers(0, 2))
    def place_hold(self, n: int, item: int) -> None:
        """A patron joins an item's queue."""
        self.call(
            lambda: circulation.place_hold(self.patron(n), self.world.item_ids[item], now=self.now),
            refusals=HOLD_REFUSALS,
        )

    @rule(n=st.integers(0, PATRONS - 1), item=st.integers(0, 2))
    def cancel_hold(self, n: int, item: int) -> None:
        """A patron leaves a queue (waiting or ready)."""

        def act() -> None:
            hold = self.own(Hold, n, item)
            if hold is not None:
                circulation.cancel_hold(self.patron(n), hold.id, now=self.now)

        # A ready hold whose window passed ends (lazily) before the cancellation is looked at.
        self.call(act, refusals=("hold_not_open",))

    @rule(n=st.integers(0, PATRONS - 1))
    def read_account(self, n: int) -> None:
        """A patron looks at their loans and holds (what ran out is closed first)."""
        self.call(lambda: circulation.my_holds(self.patron(n), now=self.now))
        self.call(lambda: circulation.my_loans(self.patron(n), now=self.now))

    @rule(item=st.integers(0, 2))
    def look_at_item(self, item: int) -> None:
        """Someone looks at an item's availability."""
        self.call(lambda: circulation.availability(self.world.item_ids[item], now=self.now))

    @rule(hours=st.sampled_from([1, 12, 47, 49, 24 * 6, 24 * 8, 24 * 15]))
    def time_passes(self, hours: int) -> None:
        """The clock moves on (pick-up windows, loan periods, licence expiry)."""
        self.now += timedelta(hours=hours)

    @rule()
    def jobs_run(self) -> None:
        """The expiry jobs run."""

        def act() -> None:
            for item_id in loans.items_with_overdue_loans(self.now):
                loans.close_overdue_loans(licences.lock_item(item_id), self.now)
            holds.expire_all_ready_holds(self.now)

        self.call(act)
        self.call(lambda: loans.send_due_reminders(self.now))

    @precondition(lambda self: not getattr(self, "bought", False))
    @rule(item=st.integers(0, 2), copies=st.integers(1, 2))
    def staff_buy(self, item: int, copies: int) -> None:
        """Staff add a licence (once per example); waiting holds get its copies."""
        self.bought = True

        def act() -> None:
            staff = db.session.get(User, self.world.staff_id)
            target = db.session.get(MediaItem, self.world.item_ids[item])
            licences.add_licence(staff, target, {"concurrency": copies}, now=self.now)

        self.call(act)

    @rule(item=st.integers(0, 2))
    def staff_raise(self, item: int) -> None:
        """Staff give a licence one more copy at once."""

        def act() -> None:
            licence = db.session.execute(
                sa.select(Licence)
                .where(Licence.item_id == self.world.item_ids[item])
                .order_by(Licence.id)
                .limit(1)
            ).scalar_one()
            if licence.concurrency < 4:
                staff = db.session.get(User, self.world.staff_id)
                licences.update_licence(
                    staff, licence, {"concurrency": licence.concurrency + 1}, now=self.now
                )

        self.call(act)

    # --- invariants --------------------------------------------------------------------------

    def assert_invariants(self) -> None:
        self._counters()
        self._patrons()
        self._queues_after_refresh()

    def _counters(self) -> None:
        open_loans = Counter(
            db.session.execute(sa.select(Loan.licence_id).where(Loan.ended_at.is_(None))).scalars()
        )
        ever = Counter(db.session.execute(sa.select(Loan.licence_id)).scalars())
        ready = Counter(
            db.session.execute(
                sa.select(Hold.licence_id).where(Hold.state == HoldState.READY)
            ).scalars()
        )
        for lic in db.session.execute(sa.select(Licence)).scalars():
            assert lic.active_loans == open_loans[lic.id], (lic.id, lic.active_loans)
            assert lic.reserved == ready[lic.id], (lic.id, lic.reserved)
            assert lic.active_loans + lic.reserved <= lic.concurrency
            if lic.checkouts_total is not None:
                assert lic.checkouts_total - lic.checkouts_left == ever[lic.id]
                before = self.checkouts_seen.get(lic.id)
                assert before is None or lic.checkouts_left <= before, "checkouts_left rose"
                self.checkouts_seen[lic.id] = lic.checkouts_left
        outliving = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Loan)
            .join(Licence, Licence.id == Loan.licence_id)
            .where(Licence.expires_at.is_not(None), Loan.due_at > Licence.expires_at)
        )
        assert outliving == 0

    def _patrons(self) -> None:
        for patron_id in self.world.patron_ids:
            current = loans.count_open_loans(patron_id, self.now)
            assert current <= rules.max_loans()
            assert holds.count_open_holds(patron_id) <= rules.max_holds()
        pairs = db.session.execute(
            sa.select(Loan.user_id, Loan.item_id).where(Loan.ended_at.is_(None))
        ).all()
        assert len(pairs) == len(set(pairs))

    def _queues_after_refresh(self) -> None:
        """Bring every item up to date (this unit is rolled back) and look at the queues."""
        holds.refresh_items(list(self.world.item_ids), self.now)
        db.session.flush()
        for item_id in self.world.item_ids:
            item = db.session.get(MediaItem, item_id)
            waiting = list(
                db.session.execute(
                    sa.select(Hold)
                    .where(Hold.item_id == item_id, Hold.state == HoldState.WAITING)
                    .order_by(Hold.placed_at, Hold.id)
                ).scalars()
            )
            if waiting:
                assert item_copies(item_id, self.now).available == 0, (
                    "a copy idles while a patron waits"
                )
            assert [position_of(h) for h in waiting] == list(range(1, len(waiting) + 1))
            expected = [expected_copy_at(item, p, self.now) for p in range(1, len(waiting) + 1)]
            known = [e for e in expected if e is not None]
            assert known == sorted(known)
            ready = db.session.execute(
                sa.select(Hold).where(Hold.item_id == item_id, Hold.state == HoldState.READY)
            ).scalars()
            for hold in ready:
                assert hold.ready_until > self.now
                assert hold.ready_until <= hold.ready_at + rules.pickup_window()

    def teardown(self) -> None:
        """The job and the lazy path agree, then the example is rolled back."""
        try:
            db.session.expire_all()
            with self.reading():
                for item_id in loans.items_with_overdue_loans(self.now):
                    loans.close_overdue_loans(licences.lock_item(item_id), self.now)
                holds.expire_all_ready_holds(self.now)
                by_job = snapshot()
            db.session.expire_all()
            with self.reading():
                holds.refresh_items(list(self.world.item_ids), self.now)
                lazily = snapshot()
            assert by_job == lazily, "the expiry job and the lazy expiry disagree"
        finally:
            super().teardown()


def test_lending_keeps_its_invariants(app: Flask) -> None:
    """Random borrowing, returning, renewing, holds, time and jobs never break an invariant."""
    with app.test_request_context():
        world = build_world()
        run_state_machine_as_test(lambda: LendingMachine(world), settings=property_settings())
