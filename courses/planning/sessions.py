"""Sessions (the dated meetings of a course): add, change, cancel, and the series generator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from courses.access import require_manager
from courses.enrolment.services import participants
from courses.models import (
    SEAT_STATUSES,
    Course,
    CourseFormat,
    CourseStatus,
    Session,
    SessionStatus,
)
from vhs.accounts.models import User
from vhs.audit import audit
from vhs.calendar import attachments_for
from vhs.db import db, utcnow
from vhs.errors import Conflict, Invalid
from vhs.i18n import local_datetime, local_zone
from vhs.mail import queue_mail

# --- sessions ------------------------------------------------------------------------------


def refresh_schedule(course: Course) -> None:
    """Recompute the first/last date, weekday and start time kept on the course row."""
    db.session.flush()
    rows = (
        db.session.execute(
            sa.select(Session.starts_at)
            .where(Session.course_id == course.id, Session.status == SessionStatus.SCHEDULED)
            .order_by(Session.starts_at)
        )
        .scalars()
        .all()
    )
    course.session_count = len(rows)
    if rows:
        first = rows[0].astimezone(local_zone())
        course.first_session_at = rows[0]
        course.last_session_at = rows[-1]
        course.weekday = first.isoweekday()
        course.start_minute = first.hour * 60 + first.minute
    else:
        course.first_session_at = course.last_session_at = None
        course.weekday = course.start_minute = None


def _check_times(starts_at: datetime, ends_at: datetime) -> None:
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise Invalid(errors={"starts_at": [_l("Give times with a time zone.")]})
    if ends_at <= starts_at:
        raise Invalid(errors={"ends_at": [_l("The end must be after the start.")]})
    if ends_at - starts_at > timedelta(hours=12):
        raise Invalid(errors={"ends_at": [_l("A session can last at most 12 hours.")]})


def add_session(actor: User, course: Course, data: dict[str, Any]) -> Session:
    """Add one dated meeting to a course."""
    require_manager(actor)
    _check_times(data["starts_at"], data["ends_at"])
    session = Session(
        course_id=course.id,
        starts_at=data["starts_at"],
        ends_at=data["ends_at"],
        online=data.get("online", course.format is CourseFormat.ONLINE),
        room=data.get("room", course.room) or "",
        note=data.get("note", ""),
    )
    db.session.add(session)
    refresh_schedule(course)
    audit(actor, "session.added", session, course=course.id)
    return session


def update_session(actor: User, session: Session, data: dict[str, Any]) -> Session:
    """Change a session; a change of time or place bumps its sequence (calendar updates)."""
    require_manager(actor)
    if session.status is SessionStatus.CANCELLED:
        raise Conflict(_l("A cancelled session cannot be changed."), code="session_cancelled")
    starts = data.get("starts_at", session.starts_at)
    ends = data.get("ends_at", session.ends_at)
    _check_times(starts, ends)
    changed = []
    for key in ("starts_at", "ends_at", "online", "room"):
        if key in data and data[key] != getattr(session, key):
            setattr(session, key, data[key])
            changed.append(key)
    if "note" in data:
        session.note = data["note"]
    if changed:
        session.sequence += 1
        session.updated_at = utcnow()
        refresh_schedule(session.course)
        _tell_about_change(session, changed)
    audit(actor, "session.updated", session, changed=changed)
    return session


def _session_attachments(session: Session, user: User, cancelled: bool = False) -> list[Any]:
    return attachments_for("session", session=session, user=user, cancelled=cancelled)


def _tell_about_change(session: Session, changed: list[str]) -> None:
    """Participants and instructors of a published course get the new time or place."""
    course = session.course
    if course.status is not CourseStatus.PUBLISHED or not (
        {"starts_at", "ends_at", "room", "online"} & set(changed)
    ):
        return
    recipients = {e.user.id: e.user for e in participants(course, SEAT_STATUSES)}
    recipients.update({i.id: i for i in course.instructors})
    for user in recipients.values():
        if user.email:
            queue_mail(
                user,
                "session_changed",
                {"course": course, "session": session},
                attachments=_session_attachments(session, user),
            )


def cancel_session(actor: User, session: Session, reason: str = "") -> Session:
    """Cancel one meeting; participants and instructors are told."""
    require_manager(actor)
    if session.status is SessionStatus.CANCELLED:
        raise Conflict(_l("This session is already cancelled."), code="illegal_transition")
    session.status = SessionStatus.CANCELLED
    session.sequence += 1
    session.updated_at = utcnow()
    course = session.course
    refresh_schedule(course)
    recipients = {e.user.id: e.user for e in participants(course, SEAT_STATUSES)}
    recipients.update({i.id: i for i in course.instructors})
    for user in recipients.values():
        if user.email:
            queue_mail(
                user,
                "session_cancelled",
                {"course": course, "session": session, "reason": reason},
                attachments=_session_attachments(session, user, cancelled=True),
            )
    audit(actor, "session.cancelled", session, course=course.id)
    return session


@dataclass(frozen=True)
class SessionPlan:
    """A rule like "weekly on Tuesday 18:00-19:30, 10 times from 2027-02-02"."""

    first_date: date
    weekday: int  # ISO: 1 = Monday
    start: time
    end: time
    count: int
    skip_dates: frozenset[date] = frozenset()
    interval_weeks: int = 1


def plan_dates(plan: SessionPlan) -> list[date]:
    """The dates a plan gives: ``count`` meetings on the weekday, skipping the listed dates."""
    if not 1 <= plan.weekday <= 7:
        raise Invalid(errors={"weekday": [_l("Choose a weekday.")]})
    if not 1 <= plan.count <= 200:
        raise Invalid(errors={"count": [_l("Between 1 and 200 sessions.")]})
    if plan.end <= plan.start:
        raise Invalid(errors={"end": [_l("The end must be after the start.")]})
    day = plan.first_date + timedelta(days=(plan.weekday - plan.first_date.isoweekday()) % 7)
    dates: list[date] = []
    guard = 0
    while len(dates) < plan.count and guard < 1000:
        if day not in plan.skip_dates:
            dates.append(day)
        day += timedelta(weeks=plan.interval_weeks)
        guard += 1
    return dates


def generate_sessions(actor: User, course: Course, plan: SessionPlan) -> list[Session]:
    """Create the sessions of a plan, in Iserlohn wall-clock time across DST changes."""
    require_manager(actor)
    created = []
    for day in plan_dates(plan):
        s = Session(
            course_id=course.id,
            starts_at=local_datetime(day, plan.start),
            ends_at=local_datetime(day, plan.end),
            online=course.format is CourseFormat.ONLINE,
            room=course.room,
        )
        db.session.add(s)
        created.append(s)
    refresh_schedule(course)
    audit(actor, "session.generated", course, count=len(created))
    return created
