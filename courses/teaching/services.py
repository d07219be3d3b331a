"""What instructors do with their courses: list them, write to participants."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from courses.access import can_see_participants
from courses.enrolment.services import participants
from courses.models import (
    SEAT_STATUSES,
    Course,
)
from vhs.accounts.models import User
from vhs.audit import audit
from vhs.errors import Forbidden, Invalid
from vhs.mail import queue_mail


def message_participants(actor: User, course: Course, subject: str, body: str) -> int:
    """An instructor or staff member writes to everyone holding a seat (via the outbox)."""
    if not can_see_participants(actor, course):
        raise Forbidden(_l("You do not teach this course."), code="not_instructor")
    subject, body = subject.strip(), body.strip()
    errors = {}
    if not subject:
        errors["subject"] = [_l("Please enter a subject.")]
    if not body:
        errors["body"] = [_l("Please enter a message.")]
    if errors:
        raise Invalid(errors=errors)
    count = 0
    for e in participants(course, SEAT_STATUSES):
        if e.user.email:
            queue_mail(
                e.user,
                "course_message",
                {"course": course, "sender": actor, "subject": subject, "body": body},
            )
            count += 1
    audit(actor, "course.messaged", course, recipients=count)
    return count
