"""The database itself refuses broken counters and loans (CHECK constraints, unique indexes and
the triggers of migration 0010), whatever a program does with raw SQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from library.circulation import services as circulation
from library.models import Hold, HoldState, Loan
from vhs.db import db


def refused(statement: str, **params: object) -> None:
    """``statement`` fails with an integrity error and changes nothing."""
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        db.session.execute(sa.text(statement), params)


@pytest.fixture
def lent(make_item, make_licence, make_patron, clock):
    """A metered, time-limited licence with one copy of two lent: (licence, loan, patron)."""
    item = make_item()
    licence = make_licence(item, concurrency=2, checkouts=5, expires_in=timedelta(days=60))
    patron = make_patron()
    loan = circulation.borrow(patron, item.id, now=clock.now)
    db.session.flush()
    return licence, loan, patron


@pytest.mark.parametrize(
    "assignment",
    [
        "active_loans = concurrency + 1",  # more loans than copies
        "active_loans = 1, reserved = 2",  # loans + reserved beyond the copies
        "active_loans = -1",
        "reserved = -1",
        "concurrency = 0",
        "checkouts_left = -1",
        "checkouts_left = checkouts_total + 1",
        "checkouts_total = NULL",  # metered into unlimited
        "max_loan_days = 0",
        "max_loan_days = 367",
    ],
)
def test_licence_counters_are_guarded(lent, assignment) -> None:
    licence, _loan, _patron = lent
    refused(f"UPDATE library_licences SET {assignment} WHERE id = :id", id=licence.id)


def test_reserved_copies_need_checkouts_left(lent) -> None:
    licence, _loan, _patron = lent
    db.session.execute(
        sa.text("UPDATE library_licences SET active_loans = 0, checkouts_left = 1 WHERE id = :id"),
        {"id": licence.id},
    )
    refused("UPDATE library_licences SET reserved = 2 WHERE id = :id", id=licence.id)


def test_checkouts_left_never_rise(lent) -> None:
    licence, _loan, _patron = lent
    refused(
        "UPDATE library_licences SET checkouts_left = checkouts_left + 1 WHERE id = :id",
        id=licence.id,
    )
    refused("UPDATE library_licences SET checkouts_left = NULL WHERE id = :id", id=licence.id)
    # Going down is what a checkout does.
    db.session.execute(
        sa.text("UPDATE library_licences SET checkouts_left = checkouts_left - 1 WHERE id = :id"),
        {"id": licence.id},
    )


def test_no_loan_beyond_its_licence(lent, make_patron, clock) -> None:
    licence, loan, _patron = lent
    refused(
        "UPDATE library_loans SET due_at = :due WHERE id = :id",
        due=licence.expires_at + timedelta(seconds=1),
        id=loan.id,
    )
    later = Loan(
        item_id=loan.item_id,
        licence_id=licence.id,
        user_id=make_patron().id,
        started_at=licence.expires_at + timedelta(days=1),
        due_at=licence.expires_at + timedelta(days=8),
    )
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        db.session.add(later)
        db.session.flush()


def test_one_open_loan_and_hold_per_patron_and_item(lent, clock) -> None:
    licence, loan, patron = lent
    twin = Loan(
        item_id=loan.item_id,
        licence_id=licence.id,
        user_id=patron.id,
        started_at=clock.now,
        due_at=clock.now + timedelta(days=7),
    )
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        db.session.add(twin)
        db.session.flush()
    for _ in range(2):
        db.session.add(Hold(item_id=loan.item_id, user_id=patron.id, placed_at=clock.now))
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        db.session.flush()


def test_loan_and_hold_states_are_consistent(lent) -> None:
    _licence, loan, patron = lent
    refused("UPDATE library_loans SET user_id = NULL WHERE id = :id", id=loan.id)  # open, nobody's
    refused(
        "UPDATE library_loans SET ended_at = started_at WHERE id = :id", id=loan.id
    )  # no reason
    refused("UPDATE library_loans SET due_at = started_at WHERE id = :id", id=loan.id)
    db.session.add(Hold(item_id=loan.item_id, user_id=patron.id, placed_at=loan.started_at))
    db.session.flush()
    hold_id = db.session.scalar(sa.select(Hold.id).where(Hold.user_id == patron.id))
    refused("UPDATE library_holds SET state = 'ready' WHERE id = :id", id=hold_id)  # keeps no copy
    refused("UPDATE library_holds SET state = 'ended' WHERE id = :id", id=hold_id)  # no reason
    assert db.session.get(Hold, hold_id).state is HoldState.WAITING
