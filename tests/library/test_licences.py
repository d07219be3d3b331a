"""Licences (library/licences): which licence lends, free copies, staff adding and changing."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from library.circulation import services as circulation
from library.licences import services as licences
from library.licences.availability import (
    available_now_condition,
    best_licence,
    copies_of,
    free_copies,
    item_copies,
    lendable_copies,
    selection_key,
)
from library.models import Licence, LicenceDedication
from media.models import MediaItem
from tests.library.conftest import refreshed
from tests.library.test_borrowing import refusal
from vhs.accounts.models import User
from vhs.audit import AuditEntry
from vhs.db import db, utcnow
from vhs.errors import Forbidden, Invalid


@pytest.fixture
def staff(ctx, make_user) -> User:
    return db.session.get(User, make_user("staff").id)


def test_selection_order(make_item, make_licence, make_patron, clock) -> None:
    """Time-limited (soonest first), perpetual, metered and time-limited, metered (most left)."""
    item = make_item()
    metered_few = make_licence(item, checkouts=5)
    metered_many = make_licence(item, checkouts=20)
    perpetual = make_licence(item)
    both = make_licence(item, checkouts=10, expires_in=timedelta(days=100))
    later = make_licence(item, expires_in=timedelta(days=60))
    sooner = make_licence(item, expires_in=timedelta(days=30))
    expected = [sooner, later, perpetual, both, metered_many, metered_few]
    assert (
        sorted([metered_few, metered_many, perpetual, both, later, sooner], key=selection_key)
        == expected
    )
    taken = [circulation.borrow(make_patron(), item.id, now=clock.now).licence_id for _ in expected]
    assert taken == [lic.id for lic in expected]


def test_expired_and_used_up_licences_never_lend(
    make_item, make_licence, make_patron, clock
) -> None:
    item = make_item()
    expired = make_licence(item, expires_in=timedelta(days=1))
    used_up = make_licence(item, checkouts=1)
    circulation.borrow(make_patron(), item.id, now=clock.now)  # takes the time-limited one
    loan = circulation.borrow(make_patron(), item.id, now=clock.now)  # the last checkout
    assert loan.licence_id == used_up.id and refreshed(used_up).checkouts_left == 0
    clock.advance(days=1)
    assert free_copies(refreshed(expired), clock.now) == 0
    assert best_licence([expired, used_up], clock.now) is None
    assert (
        refusal(lambda: circulation.borrow(make_patron(), item.id, now=clock.now)) == "not_lendable"
    )


def test_metered_copies_count_the_checkouts_already_taken(
    make_item, make_licence, make_patron, clock
) -> None:
    """5 copies at once, 10 checkouts: once 8 were taken and 3 loans are out, 2 checkouts are
    left, so 2 copies are free (not 5 − 3, and not min(5, 2) − 3)."""
    item = make_item()
    licence = make_licence(item, concurrency=5, checkouts=10)

    def borrow_n(n: int) -> list:
        out = []
        for _ in range(n):
            patron = make_patron()
            out.append((patron, circulation.borrow(patron, item.id, now=clock.now)))
        return out

    def give_back(lent: list) -> None:
        for patron, loan in lent:
            circulation.return_loan(patron, loan.id, now=clock.now)

    first = borrow_n(5)
    give_back(first[:3])
    second = borrow_n(3)
    give_back(second[:2])
    licence = refreshed(licence)
    assert (licence.active_loans, licence.checkouts_left) == (3, 2)
    assert free_copies(licence, clock.now) == 2
    assert lendable_copies(licence, clock.now) == 5
    assert item_copies(item.id, clock.now).available == 2


def test_availability_counts_reserved_copies_out(
    make_item, make_licence, make_patron, clock
) -> None:
    item = make_item()
    make_licence(item, concurrency=2)
    loans = [
        (p, circulation.borrow(p, item.id, now=clock.now)) for p in (make_patron(), make_patron())
    ]
    circulation.place_hold(make_patron(), item.id, now=clock.now)
    circulation.return_loan(loans[0][0], loans[0][1].id, now=clock.now)
    copies = item_copies(item.id, clock.now)
    assert (copies.copies, copies.available, copies.on_loan, copies.reserved) == (2, 0, 1, 1)


# Random licence states within the constraints: the Python and SQL formulas agree.
@st.composite
def licence_states(draw: st.DrawFn) -> dict:
    concurrency = draw(st.integers(1, 6))
    active = draw(st.integers(0, concurrency))
    metered = draw(st.booleans())
    total = left = None
    if metered:
        total = draw(st.integers(1, 12))
        left = draw(st.integers(0, total))
    room = concurrency - active
    if left is not None:
        room = min(room, left)
    reserved = draw(st.integers(0, max(room, 0)))
    expires = draw(st.sampled_from([None, -2, 5]))
    # Copies dedicated to courses (running or ended), some lent to members.
    dedications = []
    for copies in draw(st.lists(st.integers(1, 3), max_size=2)):
        dedications.append(
            {
                "copies": copies,
                "active_loans": draw(st.integers(0, copies)),
                "ends_days": draw(st.sampled_from([-1, 3])),
            }
        )
    return {
        "concurrency": concurrency,
        "active_loans": active,
        "reserved": reserved,
        "checkouts_total": total,
        "checkouts_left": left,
        "expires_days": expires,
        "dedications": dedications,
    }


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(states=st.lists(licence_states(), min_size=1, max_size=4))
def test_python_and_sql_formulas_agree(ctx, make_item, states) -> None:
    now = utcnow()
    with db.session.begin_nested() as savepoint:
        item = make_item()
        rows = []
        for state in states:
            state = dict(state)
            days = state.pop("expires_days")
            dedicated = state.pop("dedications")
            licence = Licence(
                item_id=item.id,
                expires_at=now + timedelta(days=days) if days is not None else None,
                **state,
            )
            licence.dedications = [
                LicenceDedication(
                    group_type="course",
                    group_id=1,
                    copies=d["copies"],
                    active_loans=d["active_loans"],
                    ends_at=now + timedelta(days=d["ends_days"]),
                )
                for d in dedicated
            ]
            rows.append(licence)
        db.session.add_all(rows)
        db.session.flush()
        assert item_copies(item.id, now) == copies_of(rows, now)
        assert all(free_copies(lic, now) >= 0 for lic in rows)
        # The catalogue's filter is the same formula.
        listed = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(MediaItem)
            .where(MediaItem.id == item.id, available_now_condition(now))
        )
        assert bool(listed) == (copies_of(rows, now).available > 0)
        savepoint.rollback()


# --- staff -----------------------------------------------------------------------------------


def test_add_licence_validates_with_field_messages(staff, make_item, clock) -> None:
    item = make_item()
    cases = [
        ({}, "concurrency"),
        ({"concurrency": 0}, "concurrency"),
        ({"concurrency": 1001}, "concurrency"),
        ({"concurrency": 1, "checkouts_total": 0}, "checkouts_total"),
        ({"concurrency": 1, "max_loan_days": 367}, "max_loan_days"),
        ({"concurrency": 1, "expires_at": clock.now - timedelta(minutes=1)}, "expires_at"),
        ({"concurrency": 1, "note": "x" * 301}, "note"),
        (
            {"concurrency": 1, "download_allowed": False, "streaming_allowed": False},
            "streaming_allowed",
        ),
        ({"concurrency": 1, "provider": "nowhere"}, "provider"),
    ]
    for data, field in cases:
        with pytest.raises(Invalid) as exc:
            licences.add_licence(staff, item, data, now=clock.now)
        assert field in exc.value.errors, (data, exc.value.errors)


def test_add_licence_is_for_staff_and_audited(staff, make_item, make_patron, clock) -> None:
    item = make_item(state="draft")  # staff stock drafts too
    with pytest.raises(Forbidden):
        licences.add_licence(make_patron(), item, {"concurrency": 1}, now=clock.now)
    licence = licences.add_licence(
        staff,
        item,
        {"concurrency": 3, "checkouts_total": 26, "expires_at": clock.now + timedelta(days=730)},
        now=clock.now,
    )
    assert (licence.checkouts_left, licence.kind.value) == (26, "metered_time_limited")
    entry = db.session.execute(
        db.select(AuditEntry).where(AuditEntry.action == "library.licence_added")
    ).scalar_one()
    assert entry.object_id == str(licence.id) and entry.details["concurrency"] == 3


def test_an_external_licence_is_stocked_once(staff, make_item, clock) -> None:
    item = make_item()
    data = {"concurrency": 1, "external_id": "urn:uuid:1"}
    licences.add_licence(staff, item, data, now=clock.now)
    assert (
        refusal(lambda: licences.add_licence(staff, item, data, now=clock.now)) == "licence_exists"
    )
    # Local licences have no external id: any number of them.
    licences.add_licence(staff, item, {"concurrency": 1}, now=clock.now)
    licences.add_licence(staff, item, {"concurrency": 1}, now=clock.now)


def test_concurrency_not_below_what_is_lent(
    staff, make_item, make_licence, make_patron, clock
) -> None:
    item = make_item()
    licence = make_licence(item, concurrency=3)
    circulation.borrow(make_patron(), item.id, now=clock.now)
    circulation.borrow(make_patron(), item.id, now=clock.now)
    with pytest.raises(Invalid) as exc:
        licences.update_licence(staff, licence, {"concurrency": 1}, now=clock.now)
    assert "concurrency" in exc.value.errors
    changed = licences.update_licence(
        staff, licence, {"concurrency": 2, "max_loan_days": 14, "note": " Onleihe "}, now=clock.now
    )
    assert (changed.concurrency, changed.max_loan_days, changed.note) == (2, 14, "Onleihe")


def test_expiring_list(staff, make_item, make_licence, clock) -> None:
    item = make_item()
    soon = make_licence(item, expires_in=timedelta(days=10))
    make_licence(item, expires_in=timedelta(days=45))
    make_licence(item)
    gone = make_licence(item, expires_in=timedelta(days=1))
    clock.advance(days=2)
    assert [lic.id for lic in licences.expiring_licences(staff, clock.now)] == [soon.id]
    assert gone.id not in [lic.id for lic in licences.expiring_licences(staff, clock.now)]
