"""Course-bound copies (library/dedications): counted apart, lent to members only, capped at
the course's end, revoked when a member leaves, back in the general pool when the course ends."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from courses.enrolment import services as enrolment_services
from courses.models import SessionStatus
from courses.planning import services as planning_services
from courses.reading_lists.groups import course_ends_at
from library.circulation import services as circulation
from library.dedications import services as dedications
from library.dedications.jobs import release_dedications
from library.licences import services as licences
from library.licences.availability import copies_of, free_copies, item_copies
from library.licences.groups import UnknownGroupType, group_type
from library.models import HoldState, LicenceDedication, LoanEnd
from tests.courses import factories
from tests.library.conftest import holds_of, refreshed
from tests.library.test_borrowing import refusal
from vhs.accounts.models import User
from vhs.db import db
from vhs.errors import Forbidden, Invalid


@pytest.fixture
def staff(ctx, make_user) -> User:
    return db.session.get(User, make_user("staff").id)


@pytest.fixture
def course(ctx):
    """A published course with three weekly sessions, the first tomorrow."""
    return factories.new_course(starts_in_days=1, sessions=3, capacity=10, cancellation_days=0)


def member(make_patron, course):
    """A patron with a card and a confirmed seat on the course."""
    patron = make_patron()
    factories.new_enrolment(course, patron)
    return patron


def dedicated(staff, licence, course, copies=1, clock=None) -> LicenceDedication:
    return dedications.dedicate(
        staff,
        licence,
        {"group_type": "course", "group_id": course.id, "copies": copies},
        now=clock.now if clock else None,
    )


def test_dedicated_copies_are_not_free_for_anyone_else(
    staff, course, make_item, make_licence, make_patron, clock
) -> None:
    item = make_item()
    licence = make_licence(item, concurrency=3)
    d = dedicated(staff, licence, course, copies=2, clock=clock)
    assert d.ends_at == course_ends_at(course.id)
    copies = item_copies(item.id, clock.now)
    assert (copies.copies, copies.available, copies.dedicated) == (3, 1, 2)
    assert copies == copies_of(licences.licences_of(item.id), clock.now)
    outsider = make_patron()
    circulation.borrow(outsider, item.id, now=clock.now)
    assert (
        refusal(lambda: circulation.borrow(make_patron(), item.id, now=clock.now))
        == "no_copies_available"
    )


def test_members_borrow_dedicated_copies_due_at_the_course_end(
    staff, course, make_item, make_licence, make_patron, clock
) -> None:
    item = make_item()
    licence = make_licence(item, concurrency=1)
    d = dedicated(staff, licence, course, clock=clock)
    assert (
        refusal(lambda: circulation.borrow(make_patron(), item.id, now=clock.now))
        == "no_copies_available"
    )
    participant = member(make_patron, course)
    loan = circulation.borrow(participant, item.id, days=21, now=clock.now)
    assert loan.dedication_id == d.id
    assert loan.due_at == d.ends_at < clock.now + timedelta(days=21)
    assert refreshed(d).active_loans == 1
    assert refreshed(licence).active_loans == 1
    # The course's only copy is out: the next participant waits like anyone else.
    assert (
        refusal(lambda: circulation.borrow(member(make_patron, course), item.id, now=clock.now))
        == "no_copies_available"
    )


def test_a_member_takes_the_course_copy_before_a_general_one(
    staff, course, make_item, make_licence, make_patron, clock
) -> None:
    item = make_item()
    licence = make_licence(item, concurrency=2)
    d = dedicated(staff, licence, course, clock=clock)
    loan = circulation.borrow(member(make_patron, course), item.id, now=clock.now)
    assert loan.dedication_id == d.id
    assert item_copies(item.id, clock.now).available == 1


def test_waitlisted_and_pending_people_are_not_members(
    staff, make_item, make_licence, make_patron, clock
) -> None:
    full = factories.new_course(starts_in_days=1, capacity=1)
    factories.new_enrolment(full, make_patron())
    waiting = make_patron()
    factories.new_enrolment(full, waiting)  # the waiting list
    item = make_item()
    dedicated(staff, make_licence(item, concurrency=1), full, clock=clock)
    assert (
        refusal(lambda: circulation.borrow(waiting, item.id, now=clock.now))
        == "no_copies_available"
    )


def test_a_member_with_a_free_course_copy_borrows_rather_than_reserves(
    staff, course, make_item, make_licence, make_patron, clock
) -> None:
    item = make_item()
    licence = make_licence(item, concurrency=2)
    circulation.borrow(make_patron(), item.id, now=clock.now)
    dedicated(staff, licence, course, clock=clock)
    participant = member(make_patron, course)
    assert (
        refusal(lambda: circulation.place_hold(participant, item.id, now=clock.now))
        == "currently_available"
    )
    # An outsider may wait: the course copy is not theirs.
    assert circulation.place_hold(make_patron(), item.id, now=clock.now).state is HoldState.WAITING


def test_renewal_stays_within_the_course(
    staff, make_item, make_licence, make_patron, clock
) -> None:
    course = factories.new_course(starts_in_days=1, sessions=5, interval_days=7)
    item = make_item()
    d = dedicated(staff, make_licence(item, concurrency=1), course, clock=clock)
    loan = circulation.borrow(member(make_patron, course), item.id, days=7, now=clock.now)
    assert loan.due_at < d.ends_at
    renewed = circulation.renew(loan.user, loan.id, now=clock.now + timedelta(days=6))
    assert renewed.due_at <= d.ends_at


def test_leaving_the_course_revokes_the_loan(
    staff, course, make_item, make_licence, make_patron, clock, outbox
) -> None:
    item = make_item()
    licence = make_licence(item, concurrency=1)
    d = dedicated(staff, licence, course, clock=clock)
    participant = make_patron()
    enrolment = factories.new_enrolment(course, participant)
    loan = circulation.borrow(participant, item.id, now=clock.now)
    enrolment_services.cancel_enrolment(enrolment, participant)
    loan = refreshed(loan)
    assert loan.end_reason is LoanEnd.REVOKED
    assert (refreshed(d).active_loans, refreshed(licence).active_loans) == (0, 0)
    db.session.flush()
    [told] = [m for m in outbox(participant.email) if m.template == "library_loan_revoked"]
    assert "für einen Kurs zurückgelegt" in told.body_text  # why, in the patron's words
    # The copy is the course's again: the next participant borrows it.
    assert circulation.borrow(member(make_patron, course), item.id, now=clock.now).dedication_id
    # A general loan of the same patron is no business of the course.
    other = make_item("Anderes Buch")
    make_licence(other, concurrency=1)
    again = make_patron()
    booking = factories.new_enrolment(course, again)
    general = circulation.borrow(again, other.id, now=clock.now)
    enrolment_services.cancel_enrolment(booking, again)
    assert refreshed(general).ended_at is None


def test_moving_to_another_course_revokes_the_loan(
    staff, course, make_item, make_licence, make_patron, clock
) -> None:
    item = make_item()
    dedicated(staff, make_licence(item, concurrency=1), course, clock=clock)
    participant = make_patron()
    enrolment = factories.new_enrolment(course, participant)
    loan = circulation.borrow(participant, item.id, now=clock.now)
    target = factories.new_course(starts_in_days=2)
    enrolment_services.move_enrolment(staff, enrolment, target)
    assert refreshed(loan).end_reason is LoanEnd.REVOKED


def test_a_course_called_off_frees_its_copies_for_waiting_patrons(
    staff, course, make_item, make_licence, make_patron, clock
) -> None:
    item = make_item()
    licence = make_licence(item, concurrency=1)
    d = dedicated(staff, licence, course, clock=clock)
    participant = member(make_patron, course)
    loan = circulation.borrow(participant, item.id, now=clock.now)
    waiting = make_patron()
    hold = circulation.place_hold(waiting, item.id, now=clock.now)
    planning_services.cancel_course(staff, course, "Krankheit")
    assert refreshed(loan).end_reason is LoanEnd.REVOKED
    assert refreshed(d).ends_at <= clock.now + timedelta(minutes=5)
    assert refreshed(hold).state is HoldState.READY


def test_the_course_end_returns_the_copies_and_promotes_a_hold_lazily(
    staff, course, make_item, make_licence, make_patron, clock
) -> None:
    item = make_item()
    licence = make_licence(item, concurrency=2)
    d = dedicated(staff, licence, course, clock=clock)
    circulation.borrow(make_patron(), item.id, now=clock.now)
    hold = circulation.place_hold(make_patron(), item.id, now=clock.now)
    assert item_copies(item.id, clock.now).available == 0
    after = d.ends_at + timedelta(minutes=1)
    assert free_copies(refreshed(licence), after) == 1  # by the clock alone
    circulation.availability(item.id, after)  # the lazy path
    assert refreshed(hold).state is HoldState.READY
    assert refreshed(licence).reserved == 1


def test_the_job_hands_back_the_copies_of_ended_courses(
    staff, make_item, make_licence, make_patron, clock
) -> None:
    course = factories.new_course(starts_in_days=-30, sessions=1)  # over already
    item = make_item()
    licence = make_licence(item, concurrency=1)
    db.session.add(
        LicenceDedication(
            licence_id=licence.id,
            group_type="course",
            group_id=course.id,
            copies=1,
            ends_at=clock.now + timedelta(seconds=1),
            active_loans=0,
        )
    )
    db.session.flush()
    db.session.expire(licence)
    hold = circulation.place_hold(make_patron(), item.id, now=clock.now)
    db.session.execute(
        sa.update(LicenceDedication)
        .where(LicenceDedication.licence_id == licence.id)
        .values(ends_at=clock.now - timedelta(seconds=1))
    )
    assert holds_of(item, HoldState.WAITING) == [hold]
    assert release_dedications() == 1
    assert refreshed(hold).state is HoldState.READY
    assert release_dedications() == 0


def test_staff_end_a_dedication_early(
    staff, course, make_item, make_licence, make_patron, clock
) -> None:
    item = make_item()
    licence = make_licence(item, concurrency=1)
    d = dedicated(staff, licence, course, clock=clock)
    hold = circulation.place_hold(make_patron(), item.id, now=clock.now)
    dedications.end_dedication(staff, d.id)
    assert refreshed(hold).state is HoldState.READY
    assert refusal(lambda: dedications.end_dedication(staff, d.id)) == "dedication_ended"


def test_dedicating_is_validated(staff, course, make_item, make_licence, make_patron, clock):
    item = make_item()
    licence = make_licence(item, concurrency=2)
    circulation.borrow(make_patron(), item.id, now=clock.now)

    def errors(**data):
        with pytest.raises(Invalid) as exc:
            dedications.dedicate(
                staff, licence, {"group_type": "course", "group_id": course.id, **data}
            )
        return set(exc.value.errors)

    assert errors(copies=2) == {"copies"}  # only one is free
    assert errors(copies=3) == {"copies"}  # more than the licence lends at once
    assert errors(copies=1, group_type="club") == {"group_type"}
    assert errors(copies=1, group_id=999_999) == {"group_id"}
    no_dates = factories.new_course(sessions=0)
    assert errors(copies=1, group_id=no_dates.id) == {"group_id"}
    over = factories.new_course(starts_in_days=-20, sessions=1)
    assert errors(copies=1, group_id=over.id) == {"group_id"}
    dedicated(staff, licence, course)
    assert refusal(lambda: dedicated(staff, licence, course)) == "dedication_exists"


def test_only_staff_dedicate(course, make_item, make_licence, make_patron) -> None:
    licence = make_licence(make_item(), concurrency=1)
    instructor = factories.new_user("instructor")
    with pytest.raises(Forbidden):
        dedications.dedicate(instructor, licence, {"group_id": course.id, "copies": 1})


def test_a_licence_keeps_at_least_its_dedicated_copies(
    staff, course, make_item, make_licence
) -> None:
    licence = make_licence(make_item(), concurrency=3)
    dedicated(staff, licence, course, copies=2)
    with pytest.raises(Invalid) as exc:
        licences.update_licence(staff, licence, {"concurrency": 1})
    assert "concurrency" in exc.value.errors


def test_an_unknown_group_type_fails_loudly(ctx) -> None:
    assert group_type("course").key == "course"
    with pytest.raises(UnknownGroupType):
        group_type("club")
    with pytest.raises(UnknownGroupType):
        dedications.revoke_member_loans("club", 1, 1)


def test_the_course_end_is_its_last_scheduled_session(ctx) -> None:
    course = factories.new_course(starts_in_days=3, sessions=2)
    ends = sorted(s.ends_at for s in course.sessions)
    assert course_ends_at(course.id) == ends[-1]
    course.sessions[-1].status = SessionStatus.CANCELLED
    db.session.flush()
    assert course_ends_at(course.id) == ends[0]
