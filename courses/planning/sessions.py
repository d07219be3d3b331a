"""Sessions (the dated meetings of a course): add, change, cancel, and the series generator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from courses import rules
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
from vhs.i18n import exists_locally, fmt_date, local_datetime, local_zone
from vhs.mail import queue_mail

# --- sessions ------------------------------------------------------------------------------


def refresh_schedule(course: Course) -> None:
    """Recompute the first/last date, weekday, start time and derived teaching units.

    The units are those of the held sessions: every session not cancelled, each
    ``minutes / 45`` rounded half up to one decimal (``courses.rules.units_tenths``).
    """
    db.session.flush()
    times = db.session.execute(
        sa.select(Session.starts_at, Session.ends_at)
        .where(Session.course_id == course.id, Session.status == SessionStatus.SCHEDULED)
        .order_by(Session.starts_at)
    ).all()
    rows = [start for start, _end in times]
    course.session_count = len(rows)
    course.units_derived_tenths = sum(
        rules.units_tenths(int((end - start).total_seconds() // 60)) for start, end in times
    )
    if rows:
        first = rows[0].astimezone(local_zone())
        course.first_session_at = rows[0]
        course.last_session_at = rows[-1]
        course.weekday = first.isoweekday()
        course.start_minute = first.hour * 60 + first.minute
    else:
        course.first_session_at = course.last_session_at = None
        course.weekday = course.start_minute = None


DAY_OUT_OF_RANGE = _l(
    "Choose a date between %(first)d and %(last)d.",
    first=rules.EARLIEST_DAY.year,
    last=rules.LATEST_DAY.year,
)


def _check_times(starts_at: datetime, ends_at: datetime) -> None:
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise Invalid(errors={"starts_at": [_l("Give times with a time zone.")]})
    # Before any arithmetic: a time in year 9999 overflows on its way to UTC.
    for key, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if not rules.day_in_range(value):
            raise Invalid(errors={key: [DAY_OUT_OF_RANGE]})
    if ends_at <= starts_at:
        raise Invalid(errors={"ends_at": [_l("The end must be after the start.")]})
    if ends_at - starts_at > rules.SESSION_MAX_LENGTH:
        raise Invalid(
            errors={
                "ends_at": [
                    _l(
                        "A session can last at most %(n)d hours.",
                        n=rules.SESSION_MAX_LENGTH // timedelta(hours=1),
                    )
                ]
            }
        )


def _check_texts(data: dict[str, Any]) -> None:
    """A session's room and note have the limits of ``courses.rules``."""
    for key, limit in (("room", rules.ROOM_MAX), ("note", rules.NOTE_MAX)):
        value = data.get(key)
        if isinstance(value, str) and len(value.strip() if key == "room" else value) > limit:
            raise Invalid(errors={key: [_l("Use at most %(n)d characters.", n=limit)]})


def add_session(actor: User, course: Course, data: dict[str, Any]) -> Session:
    """Add one dated meeting to a course."""
    require_manager(actor)
    _check_times(data["starts_at"], data["ends_at"])
    _check_texts(data)
    session = Session(
        course_id=course.id,
        starts_at=data["starts_at"],
        ends_at=data["ends_at"],
        online=data.get("online", course.format is CourseFormat.ONLINE),
        room=(data.get("room", course.room) or "").strip(),
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
    _check_texts(data)
    if isinstance(data.get("room"), str):
        data = {**data, "room": data["room"].strip()}
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
    if len(reason or "") > rules.REASON_MAX:
        raise Invalid(errors={"reason": [_l("Use at most %(n)d characters.", n=rules.REASON_MAX)]})
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


def _check_plan(plan: SessionPlan) -> None:
    """The limits of a series (``courses.rules``), each refusal naming its field."""
    errors: dict[str, list[Any]] = {}
    if plan.weekday not in rules.WEEKDAY:
        errors["weekday"] = [_l("Choose a weekday.")]
    if plan.count not in rules.SERIES_COUNT:
        errors["count"] = [
            _l(
                "Between %(lo)d and %(hi)d sessions.",
                lo=rules.SERIES_COUNT.lo,
                hi=rules.SERIES_COUNT.hi,
            )
        ]
    if plan.interval_weeks not in rules.SERIES_INTERVAL_WEEKS:
        errors["interval_weeks"] = [
            _l(
                "Every %(lo)d to %(hi)d weeks.",
                lo=rules.SERIES_INTERVAL_WEEKS.lo,
                hi=rules.SERIES_INTERVAL_WEEKS.hi,
            )
        ]
    if not rules.day_in_range(plan.first_date):
        errors["first_date"] = [DAY_OUT_OF_RANGE]
    if len(plan.skip_dates) > rules.SKIP_DATES_MAX:
        errors["skip_dates"] = [_l("Skip at most %(n)d dates.", n=rules.SKIP_DATES_MAX)]
    if plan.end <= plan.start:
        errors["end"] = [_l("The end must be after the start.")]
    if errors:
        raise Invalid(errors=errors)


def plan_dates(plan: SessionPlan) -> list[date]:
    """The dates a plan gives: ``count`` meetings on the weekday, skipping the listed dates."""
    _check_plan(plan)
    day = plan.first_date + timedelta(days=(plan.weekday - plan.first_date.isoweekday()) % 7)
    dates: list[date] = []
    guard = 0
    # At most 1,000 steps of at most 8 weeks from a day before 2200: no date overflow.
    while len(dates) < plan.count and guard < 1000:
        if day not in plan.skip_dates:
            dates.append(day)
        day += timedelta(weeks=plan.interval_weeks)
        guard += 1
    if dates and not rules.day_in_range(dates[-1]):
        raise Invalid(
            errors={
                "count": [
                    _l(
                        "The series would end on %(day)s, after %(last)d.",
                        day=fmt_date(dates[-1]),
                        last=rules.LATEST_DAY.year,
                    )
                ]
            }
        )
    return dates


def _check_wall_clock(dates: list[date], start: time, end: time) -> None:
    """Refuse a series whose start or end falls into the hour the clocks skip on some date."""
    for key, at in (("start", start), ("end", end)):
        skipped = [day for day in dates if not exists_locally(day, at)]
        if skipped:
            raise Invalid(
                errors={
                    key: [
                        _l(
                            "%(time)s does not exist on %(days)s: the clocks go forward "
                            "that night. Choose another time or skip that date.",
                            time=at.strftime("%H:%M"),
                            days=", ".join(fmt_date(day) for day in skipped),
                        )
                    ]
                }
            )


def generate_sessions(actor: User, course: Course, plan: SessionPlan) -> list[Session]:
    """Create the sessions of a plan, in Iserlohn wall-clock time across DST changes."""
    require_manager(actor)
    dates = plan_dates(plan)
    _check_wall_clock(dates, plan.start, plan.end)
    created = []
    for day in dates:
        starts_at, ends_at = local_datetime(day, plan.start), local_datetime(day, plan.end)
        try:
            _check_times(starts_at, ends_at)
        except Invalid as exc:  # named for the plan's fields, start and end
            renamed = {"starts_at": "start", "ends_at": "end"}
            raise Invalid(errors={renamed[k]: v for k, v in exc.errors.items()}) from exc
        s = Session(
            course_id=course.id,
            starts_at=starts_at,
            ends_at=ends_at,
            online=course.format is CourseFormat.ONLINE,
            room=course.room,
        )
        db.session.add(s)
        created.append(s)
    refresh_schedule(course)
    audit(actor, "session.generated", course, count=len(created))
    return created
