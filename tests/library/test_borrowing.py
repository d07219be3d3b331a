"""Borrowing, returning and renewing (library/circulation, library/loans): every refusal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from flask import Flask

from library.circulation import services as circulation
from library.loans import services as loans
from library.models import CardState, HoldState, LoanEnd
from tests.library.conftest import refreshed
from vhs.accounts.models import User
from vhs.db import db
from vhs.errors import Conflict, Invalid, NotFound


def refusal(func: Callable[[], object]) -> str:
    """The code of the Conflict ``func`` raises (it must refuse)."""
    with pytest.raises(Conflict) as exc:
        func()
    return exc.value.code


def test_borrow_takes_a_copy_for_the_kinds_period(
    make_patron, make_item, make_licence, clock, outbox
) -> None:
    patron = make_patron()
    item = make_item(kind="audiobook")
    licence = make_licence(item, concurrency=2)
    loan = circulation.borrow(patron, item.id, now=clock.now)
    assert loan.due_at == clock.now + timedelta(days=14)  # VHS_LIBRARY_LOAN_DAYS_AUDIOBOOK
    assert (loan.user_id, loan.item_id, loan.licence_id) == (patron.id, item.id, licence.id)
    assert refreshed(licence).active_loans == 1
    db.session.flush()
    mail = outbox(patron.email)
    assert [m.template for m in mail] == ["library_loan_confirmed"]
    assert "Tod am Deich" in mail[0].subject


@pytest.mark.parametrize(("kind", "days"), [("ebook", 21), ("emagazine", 1), ("video", 7)])
def test_default_period_per_kind(make_patron, make_item, make_licence, clock, kind, days) -> None:
    item = make_item(kind=kind)
    make_licence(item)
    loan = circulation.borrow(make_patron(), item.id, now=clock.now)
    assert loan.due_at - loan.started_at == timedelta(days=days)


def test_chosen_period_is_capped_by_the_licence_and_its_expiry(
    make_patron, make_item, make_licence, clock
) -> None:
    item = make_item()
    make_licence(item, max_loan_days=14)
    loan = circulation.borrow(make_patron(), item.id, days=21, now=clock.now)
    assert loan.due_at == clock.now + timedelta(days=14)
    other = make_item("Sturmflut")
    ending = make_licence(other, expires_in=timedelta(days=3))
    loan = circulation.borrow(make_patron(), other.id, days=7, now=clock.now)
    assert loan.due_at == ending.expires_at


def test_a_period_not_offered_is_invalid(make_patron, make_item, make_licence, clock) -> None:
    item = make_item()
    make_licence(item)
    with pytest.raises(Invalid) as exc:
        circulation.borrow(make_patron(), item.id, days=10, now=clock.now)
    assert "days" in exc.value.errors


def test_card_refusals(make_patron, make_item, make_licence, clock, app: Flask) -> None:
    item = make_item()
    make_licence(item, concurrency=5)
    borrow = lambda patron: lambda: circulation.borrow(patron, item.id, now=clock.now)  # noqa: E731
    assert refusal(borrow(make_patron(card=False))) == "no_card"
    assert refusal(borrow(make_patron(state=CardState.BLOCKED))) == "card_blocked"
    assert refusal(borrow(make_patron(state=CardState.APPLIED))) == "card_applied"
    yesterday = date.today() - timedelta(days=2)
    assert refusal(borrow(make_patron(valid_until=yesterday))) == "card_expired"
    settings = app.config["VHS"]
    settings.library_card_fee_cents = 1200
    try:
        assert refusal(borrow(make_patron())) == "fee_unpaid"
        paid = make_patron(fee_paid_until=date.today() + timedelta(days=100))
        assert circulation.borrow(paid, item.id, now=clock.now).user_id == paid.id
    finally:
        settings.library_card_fee_cents = 0


def test_already_on_loan_and_no_copies(make_patron, make_item, make_licence, clock) -> None:
    item = make_item()
    make_licence(item)
    first = make_patron()
    circulation.borrow(first, item.id, now=clock.now)
    assert refusal(lambda: circulation.borrow(first, item.id, now=clock.now)) == "already_on_loan"
    assert refusal(lambda: circulation.borrow(make_patron(), item.id, now=clock.now)) == (
        "no_copies_available"
    )


def test_no_licence_means_not_lendable(make_patron, make_item, make_licence, clock) -> None:
    item = make_item()
    patron = make_patron()
    assert refusal(lambda: circulation.borrow(patron, item.id, now=clock.now)) == "not_lendable"
    make_licence(item, expires_in=timedelta(days=1))
    clock.advance(days=2)
    assert refusal(lambda: circulation.borrow(patron, item.id, now=clock.now)) == "not_lendable"


def test_drafts_and_withdrawn_items_cannot_be_borrowed(
    make_patron, make_item, make_licence, clock
) -> None:
    for state in ("draft", "withdrawn"):
        item = make_item(state=state)
        make_licence(item)
        with pytest.raises(NotFound):
            circulation.borrow(make_patron(), item.id, now=clock.now)


def test_loan_limit(make_patron, make_item, make_licence, clock, app: Flask) -> None:
    settings = app.config["VHS"]
    settings.library_max_loans = 2
    try:
        patron = make_patron()
        items = [make_item(f"Band {n}") for n in range(3)]
        for item in items:
            make_licence(item)
        circulation.borrow(patron, items[0].id, now=clock.now)
        circulation.borrow(patron, items[1].id, now=clock.now)
        assert refusal(lambda: circulation.borrow(patron, items[2].id, now=clock.now)) == (
            "loan_limit_reached"
        )
        # An overdue loan no longer counts, even before anything closed it.
        clock.advance(days=22)
        assert circulation.borrow(patron, items[2].id, now=clock.now).item_id == items[2].id
    finally:
        settings.library_max_loans = 10


def test_early_return_frees_the_copy_and_forgets_the_patron(
    make_patron, make_item, make_licence, clock
) -> None:
    item = make_item()
    licence = make_licence(item)
    patron = make_patron()
    loan = circulation.borrow(patron, item.id, now=clock.now)
    clock.advance(days=3)
    returned = circulation.return_loan(patron, loan.id, now=clock.now)
    assert (returned.end_reason, returned.ended_at) == (LoanEnd.RETURNED, clock.now)
    assert returned.user_id is None  # VHS_LIBRARY_KEEP_HISTORY off
    assert refreshed(licence).active_loans == 0
    assert circulation.borrow(make_patron(), item.id, now=clock.now).licence_id == licence.id
    with pytest.raises(NotFound):
        circulation.return_loan(patron, loan.id, now=clock.now)


def test_history_kept_only_for_a_patron_who_opted_in(
    make_patron, make_item, make_licence, clock, app: Flask
) -> None:
    settings = app.config["VHS"]
    settings.library_keep_history = True
    try:
        item = make_item()
        make_licence(item, concurrency=2)
        reader, other = make_patron(), make_patron()
        circulation.set_keep_history(reader, True)
        loan = circulation.borrow(reader, item.id, now=clock.now)
        others = circulation.borrow(other, item.id, now=clock.now)
        circulation.return_loan(reader, loan.id, now=clock.now)
        circulation.return_loan(other, others.id, now=clock.now)
        assert [past.id for past in circulation.my_past_loans(reader)] == [loan.id]
        assert refreshed(others).user_id is None  # the default: forgotten at once
        assert refusal(lambda: circulation.return_loan(reader, loan.id, now=clock.now)) == (
            "loan_not_open"
        )
    finally:
        settings.library_keep_history = False


def test_nobody_returns_anyone_elses_loan(make_patron, make_item, make_licence, clock) -> None:
    item = make_item()
    make_licence(item)
    loan = circulation.borrow(make_patron(), item.id, now=clock.now)
    with pytest.raises(NotFound):
        circulation.return_loan(make_patron(), loan.id, now=clock.now)
    with pytest.raises(NotFound):
        circulation.renew(make_patron(), loan.id, now=clock.now)


# --- renewing --------------------------------------------------------------------------------


def test_renew_once_from_now(make_patron, make_item, make_licence, clock) -> None:
    item = make_item()
    make_licence(item)
    patron = make_patron()
    loan = circulation.borrow(patron, item.id, days=7, now=clock.now)
    clock.advance(days=5)
    renewed = circulation.renew(patron, loan.id, now=clock.now)
    assert renewed.due_at == clock.now + timedelta(days=7)
    assert renewed.renewals == 1
    assert refusal(lambda: circulation.renew(patron, loan.id, now=clock.now)) == (
        "renewal_limit_reached"
    )


def test_no_renewal_while_someone_waits(make_patron, make_item, make_licence, clock) -> None:
    item = make_item()
    make_licence(item)
    patron = make_patron()
    loan = circulation.borrow(patron, item.id, now=clock.now)
    circulation.place_hold(make_patron(), item.id, now=clock.now)
    assert refusal(lambda: circulation.renew(patron, loan.id, now=clock.now)) == "holds_waiting"


def test_no_renewal_beyond_the_licence(make_patron, make_item, make_licence, clock) -> None:
    item = make_item()
    make_licence(item, expires_in=timedelta(days=10))
    patron = make_patron()
    loan = circulation.borrow(patron, item.id, days=14, now=clock.now)
    assert loan.due_at == clock.now + timedelta(days=10)
    assert refusal(lambda: circulation.renew(patron, loan.id, now=clock.now)) == (
        "renewal_not_possible"
    )


def test_an_overdue_loan_cannot_be_renewed(make_patron, make_item, make_licence, clock) -> None:
    item = make_item()
    make_licence(item)
    patron = make_patron()
    loan = circulation.borrow(patron, item.id, days=7, now=clock.now)
    clock.advance(days=8)
    assert refusal(lambda: circulation.renew(patron, loan.id, now=clock.now)) == "loan_not_open"


def test_renewing_clears_the_reminder(make_patron, make_item, make_licence, clock, outbox) -> None:
    item = make_item()
    make_licence(item)
    patron = make_patron()
    loan = circulation.borrow(patron, item.id, days=7, now=clock.now)
    clock.advance(days=5, hours=1)
    assert loans.send_due_reminders(clock.now) == 1
    assert loans.send_due_reminders(clock.now) == 0  # once per due date
    circulation.renew(patron, loan.id, now=clock.now)
    assert refreshed(loan).reminder_sent_at is None
    clock.advance(days=5, hours=1)
    assert loans.send_due_reminders(clock.now) == 1
    db.session.flush()
    assert [m.template for m in outbox(patron.email)].count("library_loan_due_soon") == 2


def test_short_loans_get_no_reminder(make_patron, make_item, make_licence, clock) -> None:
    item = make_item(kind="emagazine")
    make_licence(item)
    loan = circulation.borrow(make_patron(), item.id, now=clock.now)
    assert loans.send_due_reminders(clock.now) == 0
    assert refreshed(loan).reminder_sent_at is not None  # looked at once, never again


def test_patron_without_email_borrows_without_mail(
    make_patron, make_item, make_licence, clock, outbox
) -> None:
    item = make_item()
    make_licence(item)
    before = len(outbox())
    loan = circulation.borrow(make_patron(email=None), item.id, now=clock.now)
    db.session.flush()
    assert loan.id and len(outbox()) == before


def test_staff_revoke_frees_the_copy(
    make_patron, make_item, make_licence, clock, make_user
) -> None:
    item = make_item()
    licence = make_licence(item)
    loan = circulation.borrow(make_patron(), item.id, now=clock.now)
    staff = db.session.get(User, make_user("staff").id)
    waiting = make_patron()
    hold = circulation.place_hold(waiting, item.id, now=clock.now)
    loans.revoke_loan(staff, loan.id, now=clock.now)
    assert refreshed(loan).end_reason is LoanEnd.REVOKED
    assert refreshed(hold).state is HoldState.READY and hold.licence_id == licence.id
    resident = make_patron()
    with pytest.raises(Exception) as exc:
        loans.revoke_loan(resident, loan.id, now=clock.now)
    assert getattr(exc.value, "code", "") == "forbidden_role"
    assert refusal(lambda: loans.revoke_loan(staff, loan.id, now=clock.now)) == "loan_not_open"
