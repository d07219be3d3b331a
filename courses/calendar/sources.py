"""The personal-feed source and mail attachments for courses (registered with the core)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask_babel import force_locale

from courses.calendar.events import EventMaker, Role, ics_filename, session_rows
from courses.models import (
    Course,
    CourseStatus,
    Enrolment,
    EnrolmentStatus,
    Session,
    SessionStatus,
    course_instructors,
)
from vhs.accounts.models import User
from vhs.cache import track
from vhs.calendar import (
    FEED_VERSION,
    CalendarEvent,
    EventStatus,
    ics,
    register_attachment_builder,
    register_source,
)
from vhs.db import db, utcnow
from vhs.mail.services import Attachment

# Personal feeds keep a year of past sessions: clients drop what vanishes from a feed.
FEED_HISTORY = timedelta(days=365)
ATTACHMENT_TYPE = "text/calendar; charset=utf-8; method=PUBLISH"


# --- the personal feed source --------------------------------------------------------------

_ROLE_OF_ENROLMENT = {
    EnrolmentStatus.CONFIRMED: Role.ATTENDEE,
    EnrolmentStatus.PENDING_PAYMENT: Role.PENDING,
    EnrolmentStatus.WAITLISTED: Role.WAITLISTED,
    EnrolmentStatus.CANCELLED: Role.FORMER,
}
# When one person has several rows for a course, the strongest reason wins.
_RANK = {Role.TEACHER: 0, Role.ATTENDEE: 1, Role.PENDING: 2, Role.WAITLISTED: 3, Role.FORMER: 4}


def user_events(user: User) -> list[CalendarEvent]:
    """Sessions of the courses a person attends, waits for, or teaches (the "courses" source).

    Confirmed bookings are CONFIRMED; waiting list and unpaid reservations TENTATIVE. A course
    cancelled by the VHS stays, its sessions CANCELLED, so subscribed clients strike them out;
    a booking the person cancelled themselves simply leaves the feed.
    """
    roles: dict[int, str] = {}
    enrolments = db.session.execute(
        sa.select(Enrolment.course_id, Enrolment.status, Course.status)
        .join(Course, Course.id == Enrolment.course_id)
        .where(Enrolment.user_id == user.id, Enrolment.status.in_(list(_ROLE_OF_ENROLMENT)))
    )
    for course_id, status, course_status in enrolments:
        role = _ROLE_OF_ENROLMENT[status]
        if role == Role.FORMER and course_status is not CourseStatus.CANCELLED:
            continue
        if course_id not in roles or _RANK[role] < _RANK[roles[course_id]]:
            roles[course_id] = role
    teaching = db.session.execute(
        sa.select(course_instructors.c.course_id).where(course_instructors.c.user_id == user.id)
    ).scalars()
    for course_id in teaching:
        roles[course_id] = Role.TEACHER
    if not roles:
        return []
    since = utcnow() - FEED_HISTORY
    rows = session_rows(
        Session.course_id.in_(list(roles)),
        Session.ends_at >= since,
        Course.status != CourseStatus.DRAFT,
    )
    maker = EventMaker()
    maker.load_instructors(roles)
    return [maker.event(row, roles[row.course_id]) for row in rows]


# --- mail attachments ------------------------------------------------------------------------


def mail_attachments(course: Course, user: User, cancelled: bool = False) -> list[Attachment]:
    """The course's sessions as ``kurs-<code>.ics`` (METHOD:PUBLISH) for a booking mail.

    A confirmation carries the sessions that take place; a cancellation carries all of them as
    CANCELLED. DTSTAMP is the time of the mail, so a later mail wins over an earlier one with
    the same SEQUENCE (RFC 5546) when the person imports both.
    """
    db.session.flush()
    with force_locale(user.locale or "de"):
        maker = EventMaker(stamp=utcnow().replace(microsecond=0))
        rows = session_rows(Session.course_id == course.id)
        if cancelled:
            events = [maker.event(row, status=EventStatus.CANCELLED) for row in rows]
        else:
            events = [maker.event(row) for row in rows if row.status is SessionStatus.SCHEDULED]
        if not events:
            return []
        name = f"{course.code} {course.title}"
        body = ics.calendar_bytes(name, events)
    return [Attachment(ics_filename(course.code), ATTACHMENT_TYPE, body)]


def session_mail_attachments(
    session: Session, user: User, cancelled: bool = True
) -> list[Attachment]:
    """One session as ``termin-<code>.ics`` for a mail about that session (its cancellation).

    Registered as the "session" builder; ``courses.services.cancel_session`` does not ask for
    it yet (``attachments_for("session", session=..., user=..., cancelled=True)``).
    """
    db.session.flush()
    with force_locale(user.locale or "de"):
        maker = EventMaker(stamp=utcnow().replace(microsecond=0))
        status = EventStatus.CANCELLED if cancelled else None
        events = [maker.event(row, status=status) for row in session_rows(Session.id == session.id)]
        if not events:
            return []
        body = ics.calendar_bytes(f"{session.course.code} {session.course.title}", events)
    return [Attachment(ics_filename(session.course.code, prefix="termin"), ATTACHMENT_TYPE, body)]


register_source("courses", user_events)
# What the events above are made of: a change to any of it reaches the next poll of a feed.
track(FEED_VERSION, Course, Session, Enrolment, course_instructors, (User, ("name",)))
register_attachment_builder("course", mail_attachments)
register_attachment_builder("session", session_mail_attachments)
