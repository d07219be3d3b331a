"""The course as a group the library dedicates copies to, and what happens when people leave.

Registered with the library when the courses domain plugs in (``courses.domain``): a course's
members are its confirmed participants; its copies are kept until the end of its last
scheduled session. A participant who leaves (cancels, is cancelled or moved by staff, or
whose booking ends otherwise) loses their course-bound loans in the same transaction; a course
called off ends its dedications and their loans.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from courses import signals as course_signals
from courses.models import (
    Course,
    CourseStatus,
    Enrolment,
    EnrolmentStatus,
    Session,
    SessionStatus,
)
from library.dedications.services import end_group, revoke_member_loans
from library.licences.groups import register_group
from vhs import signals
from vhs.db import db

GROUP = "course"


def is_participant(user_id: int, course_id: int, now: datetime | None = None) -> bool:
    """Whether the user holds a confirmed seat on the course (a member of its group)."""
    return (
        db.session.execute(
            sa.select(Enrolment.id).where(
                Enrolment.course_id == course_id,
                Enrolment.user_id == user_id,
                Enrolment.status == EnrolmentStatus.CONFIRMED,
            )
        ).first()
        is not None
    )


def course_ends_at(course_id: int) -> datetime | None:
    """The end of the course's last scheduled session (None: no dates, or called off)."""
    course = db.session.get(Course, course_id)
    if course is None or course.status is CourseStatus.CANCELLED:
        return None
    return db.session.scalar(
        sa.select(sa.func.max(Session.ends_at)).where(
            Session.course_id == course_id, Session.status == SessionStatus.SCHEDULED
        )
    )


def course_title(course_id: int) -> str | None:
    """ "Kurs 123-0001 Englisch für Anfänger" for staff pages; None: no such course."""
    course = db.session.get(Course, course_id)
    return None if course is None else f"{course.code} {course.title}"


register_group(
    GROUP,
    is_member=is_participant,
    ends_at=course_ends_at,
    title=course_title,
    label=_l("Course"),
)


@course_signals.enrolment_cancelled.connect
def _left_course(enrolment: Enrolment, **_kw: Any) -> None:
    """A booking ended (cancelled, refunded, expired): its course-bound loans end too."""
    revoke_member_loans(GROUP, enrolment.course_id, enrolment.user_id)


@signals.purpose_moved.connect
def _moved(_new: Any, *, purpose_type: str, old_id: int, **_kw: Any) -> None:
    """Staff moved a participant to another course: the old course's loans end."""
    if purpose_type != "enrolment":
        return
    old = db.session.get(Enrolment, old_id)
    if old is not None:
        revoke_member_loans(GROUP, old.course_id, old.user_id)


@course_signals.course_cancelled.connect
def _course_called_off(course: Course, **_kw: Any) -> None:
    """The VHS called the course off: its copies go back to the general pool now."""
    end_group(GROUP, course.id)
