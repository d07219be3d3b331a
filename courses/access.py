"""Who may see and act on which course, and loading courses under those rules."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from courses.models import (
    Course,
    CourseStatus,
    course_instructors,
)
from vhs.accounts.models import User
from vhs.db import db, lock
from vhs.errors import Forbidden, NotFound

# --- permissions --------------------------------------------------------------------------


def is_instructor_of(user: User | None, course: Course) -> bool:
    """Whether ``user`` teaches ``course``."""
    return user is not None and any(i.id == user.id for i in course.instructors)


def can_manage(user: User | None) -> bool:
    """Staff plan terms, courses and sessions."""
    return user is not None and user.is_staff


def can_see_participants(user: User | None, course: Course) -> bool:
    """Staff and the course's own instructors see who is coming."""
    return can_manage(user) or is_instructor_of(user, course)


def can_view_course(user: User | None, course: Course) -> bool:
    """Published, cancelled and completed courses are public; drafts only for staff/teachers."""
    if course.status is not CourseStatus.DRAFT:
        return True
    return can_see_participants(user, course)


def require_manager(user: User | None) -> User:
    """The acting staff member, or a refusal."""
    if user is None or not user.is_staff:
        raise Forbidden(_l("This area is for VHS staff only."), code="forbidden_role")
    return user


# --- loading ------------------------------------------------------------------------------


def get_course(course_id: int, user: User | None = None) -> Course:
    """A course the user may see, or 404 (drafts are invisible to the public)."""
    course = db.session.get(Course, course_id)
    if course is None or not can_view_course(user, course):
        raise NotFound(
            _l("This course does not exist or is not published."), code="course_not_found"
        )
    return course


def lock_course(course_id: int) -> Course:
    """Load a course under a row lock: seats are counted and taken only while holding it."""
    course = lock(Course, course_id)
    if course is None:
        raise NotFound(_l("This course does not exist."), code="course_not_found")
    return course


def courses_taught_by(user: User) -> list[Course]:
    """Courses a person teaches."""
    return list(
        db.session.execute(
            sa.select(Course)
            .join(course_instructors, course_instructors.c.course_id == Course.id)
            .where(course_instructors.c.user_id == user.id)
            .order_by(Course.first_session_at.desc().nulls_last())
        ).scalars()
    )
