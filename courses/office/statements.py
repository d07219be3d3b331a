"""Instructor fees: rates per instructor and course, and fee statements (Honorarabrechnungen).

A statement covers one instructor and one term. It lists every *held* session of the
instructor's courses in that term (not cancelled, and over by the time of issue) with its
date, time and teaching units, and the amount: ``units × rate`` for a per-unit rate (each
line rounded half up to the cent), or, for a flat rate, one line with the flat fee after the
course's sessions (which then show their units and no amount). Units are the sessions' own
(45 minutes each, one decimal): a course's teaching-units override changes what the course
reports, not what the instructor held.

Issuing copies every line into the statement and takes the next number of the year's gapless
series (``H-2027-00001``) under a row lock. From then on the statement is frozen: the ORM
refuses any update or delete (``courses.office.models``), and later changes to the sessions do
not touch it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from courses import rules
from courses.access import require_manager
from courses.models import (
    Course,
    CourseStatus,
    Session,
    SessionStatus,
    Term,
    course_instructors,
)
from courses.office.models import (
    FeeStatement,
    FeeStatementCounter,
    FeeStatementLine,
    InstructorRate,
    RateKind,
)
from vhs.accounts.models import Role, User
from vhs.audit import audit
from vhs.db import db, lock_counter, utcnow
from vhs.errors import Conflict, Forbidden, Invalid, NotFound
from vhs.i18n import local_zone

TEACHER_ROLES = (Role.INSTRUCTOR, Role.STAFF, Role.ADMIN)


# --- rates ---------------------------------------------------------------------------------


def rates_of(course: Course) -> dict[int, InstructorRate]:
    """The course's rates by instructor id."""
    rows = db.session.execute(
        sa.select(InstructorRate).where(InstructorRate.course_id == course.id)
    ).scalars()
    return {r.instructor_id: r for r in rows}


def _teacher_of(course: Course, instructor_id: int) -> User:
    for person in course.instructors:
        if person.id == instructor_id:
            return person
    raise NotFound(
        _l("This person does not teach this course."), code="not_an_instructor_of_course"
    )


def set_rate(
    actor: User, course: Course, instructor_id: int, kind: Any, amount_cents: Any
) -> InstructorRate:
    """Agree the fee of one of the course's instructors: per teaching unit or flat, in cents."""
    require_manager(actor)
    instructor = _teacher_of(course, instructor_id)
    errors: dict[str, list[Any]] = {}
    try:
        kind = RateKind(kind)
    except ValueError:
        errors["kind"] = [_l("Choose per teaching unit or flat fee.")]
    if (
        isinstance(amount_cents, bool)
        or not isinstance(amount_cents, int)
        or amount_cents not in rules.FEE_CENTS
    ):
        errors["amount_cents"] = [_l("Enter an amount between 0,00 and 10.000,00 euros.")]
    if errors:
        raise Invalid(errors=errors)
    rate = db.session.execute(
        sa.select(InstructorRate).where(
            InstructorRate.course_id == course.id, InstructorRate.instructor_id == instructor.id
        )
    ).scalar_one_or_none()
    before = None if rate is None else (rate.kind.value, rate.amount_cents)
    if rate is None:
        rate = InstructorRate(course_id=course.id, instructor_id=instructor.id)
        db.session.add(rate)
    rate.kind = kind
    rate.amount_cents = amount_cents
    rate.updated_by_id = actor.id
    rate.updated_at = utcnow()
    db.session.flush()
    audit(
        actor,
        "instructor_rate.set",
        rate,
        course=course.id,
        instructor=instructor.id,
        before=before,
        kind=kind.value,
        amount_cents=amount_cents,
    )
    return rate


# --- the statement's lines -----------------------------------------------------------------


@dataclass
class Line:
    """One line of a statement, before or after issue (same fields as ``FeeStatementLine``)."""

    course_id: int | None
    session_id: int | None
    course_code: str
    course_title: str
    starts_at: datetime | None
    ends_at: datetime | None
    units_tenths: int
    rate_kind: RateKind
    rate_cents: int
    amount_cents: int

    @property
    def units(self) -> int | float:
        """The line's units as a number."""
        return rules.units_value(self.units_tenths)


@dataclass
class Draft:
    """What a statement would say now: its lines, totals and what stops it from being issued."""

    instructor: User
    term: Term
    lines: list[Line] = field(default_factory=list)
    missing_rates: list[Course] = field(default_factory=list)
    issued: FeeStatement | None = None

    @property
    def units_tenths(self) -> int:
        """Units held, all lines."""
        return sum(line.units_tenths for line in self.lines)

    @property
    def units(self) -> int | float:
        """Units held as a number."""
        return rules.units_value(self.units_tenths)

    @property
    def total_cents(self) -> int:
        """The fee, all lines."""
        return sum(line.amount_cents for line in self.lines)

    @property
    def can_issue(self) -> bool:
        """Whether issuing would succeed (rates for every course, something held, not yet)."""
        return self.issued is None and not self.missing_rates and bool(self.lines)


def per_unit_amount(units_tenths: int, rate_cents: int) -> int:
    """``units × rate`` in cents, rounded half up (units in tenths)."""
    return (units_tenths * rate_cents + 5) // 10


def taught_courses(instructor: User, term: Term) -> list[Course]:
    """The instructor's courses in the term (drafts left out: they are not held)."""
    return list(
        db.session.execute(
            sa.select(Course)
            .join(course_instructors, course_instructors.c.course_id == Course.id)
            .where(
                course_instructors.c.user_id == instructor.id,
                Course.term_id == term.id,
                Course.status != CourseStatus.DRAFT,
            )
            .order_by(Course.code, Course.id)
        ).scalars()
    )


def held_sessions(course: Course, now: datetime) -> list[Session]:
    """The course's sessions that took place: not cancelled and over by ``now``."""
    return list(
        db.session.execute(
            sa.select(Session)
            .where(
                Session.course_id == course.id,
                Session.status == SessionStatus.SCHEDULED,
                Session.ends_at <= now,
            )
            .order_by(Session.starts_at, Session.id)
        ).scalars()
    )


def draft_statement(instructor: User, term: Term, now: datetime | None = None) -> Draft:
    """What the instructor's statement for ``term`` says if issued at ``now``."""
    now = now or utcnow()
    draft = Draft(instructor=instructor, term=term, issued=find_statement(instructor, term))
    for course in taught_courses(instructor, term):
        sessions = held_sessions(course, now)
        if not sessions:
            continue
        rate = rates_of(course).get(instructor.id)
        if rate is None:
            draft.missing_rates.append(course)
            kind, cents = RateKind.PER_UNIT, 0
        else:
            kind, cents = rate.kind, rate.amount_cents
        for s in sessions:
            units = rules.units_tenths(s.duration_minutes)
            draft.lines.append(
                Line(
                    course_id=course.id,
                    session_id=s.id,
                    course_code=course.code,
                    course_title=course.title,
                    starts_at=s.starts_at,
                    ends_at=s.ends_at,
                    units_tenths=units,
                    rate_kind=kind,
                    rate_cents=cents,
                    amount_cents=per_unit_amount(units, cents) if kind is RateKind.PER_UNIT else 0,
                )
            )
        if kind is RateKind.FLAT:
            draft.lines.append(
                Line(
                    course_id=course.id,
                    session_id=None,
                    course_code=course.code,
                    course_title=course.title,
                    starts_at=None,
                    ends_at=None,
                    units_tenths=0,
                    rate_kind=kind,
                    rate_cents=cents,
                    amount_cents=cents,
                )
            )
    return draft


def preview_statement(
    actor: User, instructor: User, term: Term, now: datetime | None = None
) -> Draft:
    """Staff look at a statement before issuing it."""
    require_manager(actor)
    _check_teacher(instructor)
    return draft_statement(instructor, term, now)


def _check_teacher(instructor: User) -> None:
    if instructor.role not in TEACHER_ROLES:
        raise NotFound(_l("There is no instructor with this id."), code="instructor_not_found")


# --- issuing -------------------------------------------------------------------------------


def find_statement(instructor: User, term: Term) -> FeeStatement | None:
    """The statement issued to ``instructor`` for ``term``, if any."""
    return db.session.execute(
        sa.select(FeeStatement).where(
            FeeStatement.instructor_id == instructor.id, FeeStatement.term_id == term.id
        )
    ).scalar_one_or_none()


def issue_statement(
    actor: User, instructor: User, term: Term, now: datetime | None = None
) -> FeeStatement:
    """Issue the statement: number it (gapless per year), copy its lines, freeze it."""
    require_manager(actor)
    _check_teacher(instructor)
    now = now or utcnow()
    year = now.astimezone(local_zone()).year
    # The counter lock serialises issuing: the check below sees a statement issued meanwhile.
    counter = lock_counter(FeeStatementCounter, year)
    draft = draft_statement(instructor, term, now)
    if draft.issued is not None:
        raise Conflict(
            _l("The statement for this term has already been issued (%(number)s).")
            % {"number": draft.issued.number},
            code="statement_exists",
        )
    if draft.missing_rates:
        raise Conflict(
            _l("Set the fee for %(courses)s first.")
            % {"courses": ", ".join(c.code for c in draft.missing_rates)},
            code="rate_missing",
        )
    if not draft.lines:
        raise Conflict(
            _l("No session of this instructor has been held in this term yet."),
            code="nothing_held",
        )
    counter.last_sequence += 1
    statement = FeeStatement(
        number=f"H-{year}-{counter.last_sequence:05d}",
        year=year,
        sequence=counter.last_sequence,
        instructor_id=instructor.id,
        term_id=term.id,
        instructor_name=instructor.name,
        instructor_address=instructor.postal_address,
        term_name=term.name,
        issued_at=now,
        issued_by_id=actor.id,
        units_tenths=draft.units_tenths,
        total_cents=draft.total_cents,
        lines=[FeeStatementLine(position=n, **vars(line)) for n, line in enumerate(draft.lines, 1)],
    )
    db.session.add(statement)
    db.session.flush()
    audit(
        actor,
        "fee_statement.issued",
        statement,
        number=statement.number,
        instructor=instructor.id,
        term=term.id,
        total_cents=statement.total_cents,
    )
    return statement


# --- reading -------------------------------------------------------------------------------


def can_see_statement(user: User | None, statement: FeeStatement) -> bool:
    """Staff see every statement; an instructor only their own."""
    if user is None:
        return False
    return user.is_staff or statement.instructor_id == user.id


def get_statement(user: User, statement_id: int) -> FeeStatement:
    """A statement the user may see; 404 if there is none, 403 if it is someone else's."""
    statement = db.session.get(FeeStatement, statement_id)
    if statement is None:
        raise NotFound(_l("There is no such fee statement."), code="statement_not_found")
    if not can_see_statement(user, statement):
        raise Forbidden(_l("You can only see your own fee statements."), code="not_your_statement")
    return statement


def statements_of(user: User) -> list[FeeStatement]:
    """The statements issued to ``user``, newest first."""
    return list(
        db.session.execute(
            sa.select(FeeStatement)
            .where(FeeStatement.instructor_id == user.id)
            .order_by(FeeStatement.issued_at.desc(), FeeStatement.id.desc())
        ).scalars()
    )


@dataclass
class TermOverview:
    """One row of the staff's statement page: an instructor of the term and their statement."""

    instructor: User
    courses: list[Course]
    statement: FeeStatement | None


def term_overview(actor: User, term: Term) -> list[TermOverview]:
    """Everybody who teaches in ``term``, with their statement if issued (staff)."""
    require_manager(actor)
    people = list(
        db.session.execute(
            sa.select(User)
            .join(course_instructors, course_instructors.c.user_id == User.id)
            .join(Course, Course.id == course_instructors.c.course_id)
            .where(Course.term_id == term.id, Course.status != CourseStatus.DRAFT)
            .distinct()
            .order_by(User.name, User.id)
        ).scalars()
    )
    return [
        TermOverview(person, taught_courses(person, term), find_statement(person, term))
        for person in people
    ]


def get_instructor(instructor_id: int) -> User:
    """An account that can teach, or 404."""
    user = db.session.get(User, instructor_id)
    if user is None:
        raise NotFound(_l("There is no instructor with this id."), code="instructor_not_found")
    _check_teacher(user)
    return user
