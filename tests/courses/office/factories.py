"""Builders for the office: a course with held sessions and agreed fees, an issued statement.

They work in the caller's app context and session (no commit), like ``tests.courses.factories``;
the authorisation matrix calls them from its builders.
"""

from __future__ import annotations

from typing import Any

from courses.models import Course, Term
from courses.office import statements as statement_services
from courses.office.models import FeeStatement, RateKind
from tests.courses import factories
from vhs.accounts.models import User
from vhs.db import db


def new_held_course(
    instructor: User | int,
    *,
    term: Term | int | None = None,
    sessions: int = 3,
    rate_cents: int | None = 3500,
    kind: RateKind = RateKind.PER_UNIT,
    **kw: Any,
) -> Course:
    """A published course whose ``sessions`` weekly meetings (90 minutes) are all over."""
    instructor_id = instructor if isinstance(instructor, int) else instructor.id
    course = factories.new_course(
        instructors=[instructor_id],
        term=term,
        sessions=sessions,
        starts_in_days=kw.pop("starts_in_days", -7 * sessions - 1),
        **kw,
    )
    if rate_cents is not None:
        statement_services.set_rate(office_staff(), course, instructor_id, kind, rate_cents)
    return course


def office_staff() -> User:
    """A staff member who sets fees and issues statements."""
    return factories.new_user("staff", name="Olga Office")


def new_statement(instructor: User | int, **kw: Any) -> FeeStatement:
    """An issued statement for ``instructor`` (a held course in a fresh term)."""
    instructor_id = instructor if isinstance(instructor, int) else instructor.id
    course = new_held_course(instructor_id, **kw)
    teacher = db.session.get(User, instructor_id)
    assert teacher is not None
    return statement_services.issue_statement(office_staff(), teacher, course.term)
