"""Attendance marked by hand, and the attendance report per course and session."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from courses.enrolment import services as enrolment_services
from courses.models import (
    Course,
    Enrolment,
    EnrolmentStatus,
    Session,
    SessionStatus,
)
from courses.webinars import jitsi as jitsi
from courses.webinars.events import attendance_row
from courses.webinars.join import require_teacher
from courses.webinars.models import Attendance, Certificate
from vhs.accounts.models import User
from vhs.audit import audit
from vhs.db import db, utcnow
from vhs.errors import Conflict, Invalid


def _settings() -> Any:
    return current_app.config["VHS"]


# --- attendance by hand, and the report -------------------------------------------------------


def min_seconds() -> int:
    """Seconds in the room that count as attended (``VHS_ATTENDANCE_MIN_MINUTES``; > 0)."""
    return max(_settings().attendance_min_minutes * 60, 1)


def is_present(row: Attendance | None) -> bool:
    """An instructor's mark wins; otherwise enough time in the Jitsi room."""
    if row is None:
        return False
    if row.manual_present is not None:
        return row.manual_present
    return row.seconds_present >= min_seconds()


def confirmed_participants(course: Course) -> list[Enrolment]:
    """The people a course's attendance is about: confirmed bookings."""
    return enrolment_services.participants(course, (EnrolmentStatus.CONFIRMED,))


def counted_sessions(course: Course) -> list[Session]:
    """The sessions attendance is counted over: all that were not cancelled."""
    return [s for s in course.sessions if s.status is SessionStatus.SCHEDULED]


def mark_attendance(
    actor: User,
    session: Session,
    marks: Mapping[int, bool | None],
    now: datetime | None = None,
) -> int:
    """Instructors (and staff) mark who was there; None clears a mark. Returns the changes."""
    now = now or utcnow()
    require_teacher(actor, session.course)
    if session.status is SessionStatus.CANCELLED:
        raise Conflict(_l("This session has been cancelled."), code="session_cancelled")
    if now < session.starts_at:
        raise Conflict(
            _l("Attendance can be recorded once the session has started."), code="not_started"
        )
    allowed = {e.user_id for e in confirmed_participants(session.course)}
    unknown = [uid for uid in marks if uid not in allowed]
    if unknown:
        raise Invalid(errors={"marks": [_l("Mark only confirmed participants of this course.")]})
    changed = 0
    for user_id, value in marks.items():
        row = attendance_row(session.id, user_id)
        if row.manual_present is value:
            continue
        row.manual_present = value
        row.marked_by_id = actor.id
        row.marked_at = now
        changed += 1
    if changed:
        audit(actor, "attendance.marked", session, course=session.course.code, changed=changed)
    return changed


@dataclass
class Cell:
    """One participant at one session."""

    session: Session
    attendance: Attendance | None
    present: bool
    held: bool  # the session has started (not yet held: no mark either way)


@dataclass
class Row:
    """One participant across all counted sessions."""

    user: User
    cells: list[Cell]
    present: int
    total: int
    eligible: bool
    certificate: Certificate | None = None

    @property
    def percent(self) -> int:
        """Share of sessions attended, rounded down."""
        return self.present * 100 // self.total if self.total else 0


@dataclass
class Report:
    """Participants x sessions of one course."""

    course: Course
    sessions: list[Session]
    rows: list[Row] = field(default_factory=list)
    min_percent: int = 80


def reaches_threshold(present: int, total: int, min_percent: int) -> bool:
    """Whether ``present`` of ``total`` sessions is at least ``min_percent`` percent (exactly)."""
    return total > 0 and present * 100 >= min_percent * total


def _attendance_rows(session_ids: list[int], user_ids: list[int] | None = None) -> list[Any]:
    if not session_ids:
        return []
    query = sa.select(Attendance).where(Attendance.session_id.in_(session_ids))
    if user_ids is not None:
        query = query.where(Attendance.user_id.in_(user_ids))
    return list(db.session.execute(query).scalars())


def valid_certificates(course: Course) -> dict[int, Certificate]:
    rows = db.session.execute(
        sa.select(Certificate).where(
            Certificate.course_id == course.id, Certificate.revoked_at.is_(None)
        )
    ).scalars()
    return {c.user_id: c for c in rows}


def build_report(course: Course, users: list[User], now: datetime | None = None) -> Report:
    """Attendance of ``users`` at the course's counted sessions (no permission check)."""
    now = now or utcnow()
    sessions = counted_sessions(course)
    by_key = {
        (a.session_id, a.user_id): a
        for a in _attendance_rows([s.id for s in sessions], [u.id for u in users])
    }
    certificates = valid_certificates(course)
    min_percent = _settings().certificate_min_attendance
    report = Report(course=course, sessions=sessions, min_percent=min_percent)
    for user in users:
        cells = []
        for s in sessions:
            row = by_key.get((s.id, user.id))
            cells.append(Cell(s, row, is_present(row), held=s.starts_at <= now))
        present = sum(1 for c in cells if c.present)
        report.rows.append(
            Row(
                user=user,
                cells=cells,
                present=present,
                total=len(sessions),
                eligible=reaches_threshold(present, len(sessions), min_percent),
                certificate=certificates.get(user.id),
            )
        )
    return report


def attendance_report(actor: User, course: Course, now: datetime | None = None) -> Report:
    """Participants x sessions for the course's instructors and staff."""
    require_teacher(actor, course)
    return build_report(course, [e.user for e in confirmed_participants(course)], now)


@dataclass
class SessionSheet:
    """One session's attendance: each confirmed participant, Jitsi data and manual mark."""

    session: Session
    entries: list[tuple[User, Attendance | None, bool]]
    can_mark: bool
    mark_refusal: Any = None


def session_attendance(actor: User, session: Session, now: datetime | None = None) -> SessionSheet:
    """The attendance page of one session (instructors of the course and staff)."""
    now = now or utcnow()
    require_teacher(actor, session.course)
    users = [e.user for e in confirmed_participants(session.course)]
    by_user = {a.user_id: a for a in _attendance_rows([session.id], [u.id for u in users])}
    refusal = None
    if session.status is SessionStatus.CANCELLED:
        refusal = _l("This session has been cancelled.")
    elif now < session.starts_at:
        refusal = _l("Attendance can be recorded once the session has started.")
    return SessionSheet(
        session=session,
        entries=[(u, by_user.get(u.id), is_present(by_user.get(u.id))) for u in users],
        can_mark=refusal is None,
        mark_refusal=refusal,
    )
