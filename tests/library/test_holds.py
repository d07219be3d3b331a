"""Holds (library/holds): placing, the FIFO queue, a copy coming back, the pick-up window."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask

from library.circulation import services as circulation
from library.holds import services as holds
from library.holds.queue import expected_copy_at, place_in_queue
from library.licences import services as licences
from library.models import HoldEnd, HoldState, LoanEnd
from tests.library.conftest import holds_of, open_loans, refreshed
from tests.library.test_borrowing import refusal
from vhs.accounts.models import User
from vhs.db import db
from vhs.errors import NotFound


@pytest.fixture
def lent_out(make_patron, make_item, make_licence, clock):
    """An item with one copy, lent; returns (item, licence, loan, borrower)."""
    item = make_item()
    licence = make_licence(item)
    borrower = make_patron()
    loan = circulation.borrow(borrower, item.id, days=14, now=clock.now)
    return item, licence, loan, borrower


def test_hold_only_when_no_copy_is_free(make_patron, make_item, make_licence, clock) -> None:
    item = make_item()
    make_licence(item, concurrency=2)
    patron = make_patron()
    assert refusal(lambda: circulation.place_hold(patron, item.id, now=clock.now)) == (
        "currently_available"
    )
    circulation.borrow(make_patron(), item.id, now=clock.now)
    circulation.borrow(make_patron(), item.id, now=clock.now)
    hold = circulation.place_hold(patron, item.id, now=clock.now)
    assert hold.state is HoldState.WAITING


def test_hold_refusals(lent_out, make_patron, make_item, make_licence, clock, app: Flask) -> None:
    item, _licence, _loan, borrower = lent_out
    assert refusal(lambda: circulation.place_hold(borrower, item.id, now=clock.now)) == (
        "already_on_loan"
    )
    patron = make_patron()
    circulation.place_hold(patron, item.id, now=clock.now)
    assert refusal(lambda: circulation.place_hold(patron, item.id, now=clock.now)) == (
        "already_on_hold"
    )
    assert refusal(
        lambda: circulation.place_hold(make_patron(card=False), item.id, now=clock.now)
    ) == ("no_card")
    bare = make_item("Ohne Lizenz")
    assert refusal(lambda: circulation.place_hold(patron, bare.id, now=clock.now)) == "not_lendable"
    settings = app.config["VHS"]
    settings.library_max_holds = 1
    try:
        other = make_item("Zweiter Band")
        make_licence(other)
        circulation.borrow(make_patron(), other.id, now=clock.now)
        assert refusal(lambda: circulation.place_hold(patron, other.id, now=clock.now)) == (
            "hold_limit_reached"
        )
    finally:
        settings.library_max_holds = 5


def test_early_return_makes_the_first_hold_ready_in_the_same_transaction(
    lent_out, make_patron, clock, outbox
) -> None:
    item, licence, loan, borrower = lent_out
    first, second = make_patron(), make_patron()
    h1 = circulation.place_hold(first, item.id, now=clock.now)
    clock.advance(minutes=1)
    h2 = circulation.place_hold(second, item.id, now=clock.now)
    clock.advance(days=2)
    circulation.return_loan(borrower, loan.id, now=clock.now)
    # No job, no commit in between: the same unit of work already shows the hold ready.
    assert refreshed(h1).state is HoldState.READY
    assert h1.licence_id == licence.id and h1.ready_until == clock.now + timedelta(hours=48)
    assert refreshed(licence).reserved == 1 and licence.active_loans == 0
    assert refreshed(h2).state is HoldState.WAITING
    assert place_in_queue(h2, clock.now).position == 1
    db.session.flush()
    ready_mail = [m for m in outbox(first.email) if m.template == "library_hold_ready"]
    assert len(ready_mail) == 1 and "Vormerkung" in ready_mail[0].subject


def test_only_the_ready_patron_may_borrow_the_kept_copy(lent_out, make_patron, clock) -> None:
    item, licence, loan, borrower = lent_out
    waiting = make_patron()
    hold = circulation.place_hold(waiting, item.id, now=clock.now)
    circulation.return_loan(borrower, loan.id, now=clock.now)
    assert refusal(lambda: circulation.borrow(make_patron(), item.id, now=clock.now)) == (
        "no_copies_available"
    )
    # The kept copy is not free: anyone else may join the queue for the next one.
    assert circulation.place_hold(borrower, item.id, now=clock.now).state is HoldState.WAITING
    new_loan = circulation.borrow(waiting, item.id, now=clock.now)
    assert new_loan.licence_id == licence.id
    assert refreshed(hold).state is HoldState.ENDED and hold.end_reason is HoldEnd.BORROWED
    assert (refreshed(licence).reserved, licence.active_loans) == (0, 1)


def test_pickup_window_passes_next_in_line_gets_it(lent_out, make_patron, clock, outbox) -> None:
    item, licence, loan, borrower = lent_out
    first, second = make_patron(), make_patron()
    h1 = circulation.place_hold(first, item.id, now=clock.now)
    clock.advance(seconds=1)
    h2 = circulation.place_hold(second, item.id, now=clock.now)
    circulation.return_loan(borrower, loan.id, now=clock.now)
    clock.advance(hours=47)
    assert holds.expire_all_ready_holds(clock.now) == 0
    clock.advance(hours=1)
    assert holds.expire_all_ready_holds(clock.now) == 1
    assert refreshed(h1).end_reason is HoldEnd.EXPIRED
    assert refreshed(h2).state is HoldState.READY and h2.licence_id == licence.id
    assert refreshed(licence).reserved == 1
    db.session.flush()
    assert "library_hold_expired" in [m.template for m in outbox(first.email)]
    assert (
        refusal(lambda: circulation.borrow(first, item.id, now=clock.now)) == "no_copies_available"
    )


def test_lazy_expiry_of_a_lapsed_ready_hold_agrees_with_the_job(
    lent_out, make_patron, clock
) -> None:
    item, _licence, loan, borrower = lent_out
    first, latecomer = make_patron(), make_patron()
    h1 = circulation.place_hold(first, item.id, now=clock.now)
    circulation.return_loan(borrower, loan.id, now=clock.now)
    clock.advance(hours=49)
    # Nobody waits behind: once the window passed, anyone may borrow (the job has not run).
    assert circulation.borrow(latecomer, item.id, now=clock.now).user_id == latecomer.id
    assert refreshed(h1).end_reason is HoldEnd.EXPIRED


def test_cancel_a_ready_hold_passes_the_copy_on(lent_out, make_patron, clock) -> None:
    item, licence, loan, borrower = lent_out
    first, second = make_patron(), make_patron()
    h1 = circulation.place_hold(first, item.id, now=clock.now)
    clock.advance(seconds=1)
    h2 = circulation.place_hold(second, item.id, now=clock.now)
    circulation.return_loan(borrower, loan.id, now=clock.now)
    circulation.cancel_hold(first, h1.id, now=clock.now)
    assert refreshed(h1).end_reason is HoldEnd.CANCELLED and h1.licence_id is None
    assert refreshed(h2).state is HoldState.READY
    assert refreshed(licence).reserved == 1
    assert h1.user_id is None  # who waited is not kept
    with pytest.raises(NotFound):
        circulation.cancel_hold(first, h1.id, now=clock.now)


def test_cancel_a_waiting_hold_closes_ranks(lent_out, make_patron, clock) -> None:
    item, *_ = lent_out
    patrons = [make_patron() for _ in range(3)]
    placed = []
    for p in patrons:
        placed.append(circulation.place_hold(p, item.id, now=clock.now))
        clock.advance(seconds=1)
    assert [place_in_queue(h, clock.now).position for h in placed] == [1, 2, 3]
    circulation.cancel_hold(patrons[0], placed[0].id, now=clock.now)
    places = [place_in_queue(h, clock.now) for h in placed[1:]]
    assert [p.position for p in places] == [1, 2]
    assert {p.length for p in places} == {2}


def test_nobody_cancels_anyone_elses_hold(lent_out, make_patron, clock) -> None:
    item, *_ = lent_out
    hold = circulation.place_hold(make_patron(), item.id, now=clock.now)
    from vhs.errors import NotFound

    with pytest.raises(NotFound):
        circulation.cancel_hold(make_patron(), hold.id, now=clock.now)


def test_expiry_of_a_loan_promotes_lazily_and_by_the_job(
    make_patron, make_item, make_licence, clock
) -> None:
    """The job and a read close the same overdue loan the same way."""
    from library.loans.jobs import expire_loans  # noqa: F401  (the job's own function below)
    from library.loans.services import close_overdue_loans, items_with_overdue_loans

    results = []
    for path in ("job", "lazy"):
        item = make_item(f"Ablauf {path}")
        licence = make_licence(item)
        loan = circulation.borrow(make_patron(), item.id, days=7, now=clock.now)
        waiting = make_patron()
        hold = circulation.place_hold(waiting, item.id, now=clock.now)
        later = clock.now + timedelta(days=7)
        if path == "job":
            for item_id in items_with_overdue_loans(later):
                close_overdue_loans(licences.lock_item(item_id), later)
        else:
            circulation.my_holds(waiting, now=later)
        results.append(
            (
                refreshed(loan).end_reason,
                refreshed(loan).ended_at == later,
                refreshed(hold).state,
                refreshed(licence).active_loans,
                licence.reserved,
            )
        )
    assert results[0] == results[1] == (LoanEnd.EXPIRED, True, HoldState.READY, 0, 1)


def test_a_licence_added_serves_the_queue_at_once(lent_out, make_patron, clock, make_user) -> None:
    item, *_ = lent_out
    waiting = [make_patron() for _ in range(3)]
    placed = []
    for p in waiting:
        placed.append(circulation.place_hold(p, item.id, now=clock.now))
        clock.advance(seconds=1)
    staff = db.session.get(User, make_user("staff").id)
    licences.add_licence(staff, item, {"concurrency": 2}, now=clock.now)
    assert [refreshed(h).state for h in placed] == [
        HoldState.READY,
        HoldState.READY,
        HoldState.WAITING,
    ]


def test_concurrency_raised_serves_the_queue(lent_out, make_patron, clock, make_user) -> None:
    item, licence, *_ = lent_out
    hold = circulation.place_hold(make_patron(), item.id, now=clock.now)
    staff = db.session.get(User, make_user("staff").id)
    licences.update_licence(staff, licence, {"concurrency": 2}, now=clock.now)
    assert refreshed(hold).state is HoldState.READY


def test_a_ready_hold_on_an_expiring_licence_moves_to_another(
    make_patron, make_item, make_licence, clock
) -> None:
    item = make_item()
    short = make_licence(item, expires_in=timedelta(days=1))
    borrower = make_patron()
    loan = circulation.borrow(borrower, item.id, now=clock.now)
    assert loan.licence_id == short.id and loan.due_at == short.expires_at
    waiting = make_patron()
    hold = circulation.place_hold(waiting, item.id, now=clock.now)
    circulation.return_loan(borrower, loan.id, now=clock.now)
    assert refreshed(hold).licence_id == short.id
    longer = make_licence(item)  # bought meanwhile (not through the service: no promotion)
    clock.advance(days=1, seconds=1)
    circulation.my_holds(waiting, now=clock.now)
    assert refreshed(hold).state is HoldState.READY and hold.licence_id == longer.id
    assert (refreshed(short).reserved, refreshed(longer).reserved) == (0, 1)
    assert circulation.borrow(waiting, item.id, now=clock.now).licence_id == longer.id


def test_expected_wait_follows_due_dates_and_periods(
    make_patron, make_item, make_licence, clock
) -> None:
    item = make_item()  # e-book: 21 days
    make_licence(item, concurrency=2)
    a = circulation.borrow(make_patron(), item.id, days=7, now=clock.now)
    b = circulation.borrow(make_patron(), item.id, days=14, now=clock.now)
    assert expected_copy_at(item, 1, clock.now) == a.due_at
    assert expected_copy_at(item, 2, clock.now) == b.due_at
    assert expected_copy_at(item, 3, clock.now) == a.due_at + timedelta(days=21)
    view = circulation.availability(item.id, now=clock.now)
    assert (view.copies.copies, view.copies.available, view.holds) == (2, 0, 0)
    assert view.expected_at == a.due_at


def test_my_holds_lists_ready_first_with_consistent_positions(
    make_patron, make_item, make_licence, clock
) -> None:
    patron = make_patron()
    items = [make_item(f"Band {n}") for n in range(2)]
    for item in items:
        make_licence(item)
        circulation.borrow(make_patron(), item.id, now=clock.now)
    circulation.place_hold(make_patron(), items[0].id, now=clock.now)
    clock.advance(seconds=1)
    circulation.place_hold(patron, items[0].id, now=clock.now)
    circulation.place_hold(patron, items[1].id, now=clock.now)
    views = circulation.my_holds(patron, now=clock.now)
    for view in views:
        assert 1 <= view.place.position <= view.place.length
        assert view.place.expected_at is not None
    assert sorted(v.place.position for v in views) == [1, 2]
    loan = open_loans(items[1])[0]
    circulation.return_loan(db.session.get(User, loan.user_id), loan.id, now=clock.now)
    views = circulation.my_holds(patron, now=clock.now)
    assert views[0].hold.state is HoldState.READY and views[0].place.position is None
    assert holds_of(items[1], HoldState.READY)[0].user_id == patron.id
