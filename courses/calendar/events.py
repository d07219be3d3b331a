"""Course sessions as calendar events: one VEVENT per session, for ever the same UID.

Every session becomes one VEVENT with the UID ``session-<uuid>@<host>`` for ever, SEQUENCE =
the session's change counter, and STATUS CONFIRMED, TENTATIVE (waiting list, payment pending,
or a course still in planning) or CANCELLED.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from courses.models import (
    Course,
    CourseStatus,
    Session,
    SessionStatus,
    course_instructors,
)
from vhs.accounts.models import User
from vhs.calendar import (
    CalendarEvent,
    EventStatus,
)
from vhs.calendar.services import public_url, uid_host
from vhs.db import db
from vhs.i18n import local_zone


class _ExportUTC(sa.types.TypeDecorator[datetime]):
    """Reads a UTC timestamp column as ``vhs.db.UTCDateTime`` does, but on SQLite parses the
    stored text with ``datetime.fromisoformat`` (C) instead of SQLAlchemy's regular expression:
    at 10,000 rows and two to four timestamps each, that parsing was a tenth of an export."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> Any:
        """Raw text on SQLite, the driver's own datetime elsewhere."""
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String())
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        """An aware UTC datetime."""
        if value is None:
            return None
        if isinstance(value, str):
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        return value if value.tzinfo is UTC else value.astimezone(UTC)


def _utc(column: Any, name: str) -> Any:
    return sa.type_coerce(column, _ExportUTC()).label(name)


# The columns an event needs, read without building ORM objects (exports run to 10,000s).
EVENT_COLUMNS = (
    Session.id,
    Session.uuid,
    _utc(Session.starts_at, "starts_at"),
    _utc(Session.ends_at, "ends_at"),
    Session.online,
    Session.room,
    Session.status,
    Session.sequence,
    _utc(Session.updated_at, "updated_at"),
    Session.note,
    Session.course_id,
    Course.code,
    Course.title,
    Course.venue,
    Course.room.label("course_room"),
    Course.status.label("course_status"),
    _utc(Course.updated_at, "course_updated_at"),
    Course.capacity,
    Course.seats_taken,
)


# The staff CSV needs fewer: every column read costs time at 10,000 rows.
CSV_COLUMNS = (
    Course.code,
    Course.title,
    Session.course_id,
    Session.online,
    Session.room,
    Course.room.label("course_room"),
    Course.venue,
    _utc(Session.starts_at, "starts_at"),
    _utc(Session.ends_at, "ends_at"),
    Session.status,
    Course.status.label("course_status"),
    Course.seats_taken,
    Course.capacity,
    Session.id,
)


class Role:
    """Why a session is in someone's calendar (changes its status and wording)."""

    ATTENDEE = "attendee"
    WAITLISTED = "waitlisted"
    PENDING = "pending"
    TEACHER = "teacher"
    FORMER = "former"  # booked on a course that was then cancelled


# --- rows to events --------------------------------------------------------------------------


def event_status(
    session_status: SessionStatus, course_status: CourseStatus, role: str = "attendee"
) -> EventStatus:
    """CANCELLED (session, course, or a booking on a cancelled course), TENTATIVE (waiting,
    unpaid, or a course still in planning), else CONFIRMED."""
    if (
        session_status is SessionStatus.CANCELLED
        or course_status is CourseStatus.CANCELLED
        or role == Role.FORMER
    ):
        return EventStatus.CANCELLED
    if role in (Role.WAITLISTED, Role.PENDING) or course_status is CourseStatus.DRAFT:
        return EventStatus.TENTATIVE
    return EventStatus.CONFIRMED


class EventMaker:
    """Turns session rows into ``CalendarEvent``s in the current language.

    Made once per response: the translated phrases and the instructors' names are looked up
    once, not once per session. ``stamp`` overrides DTSTAMP (mails: the time of sending).
    """

    def __init__(self, *, stamp: datetime | None = None) -> None:
        settings = current_app.config["VHS"]
        self.stamp = stamp
        self.host = uid_host()
        self.base = public_url("/").rstrip("/")
        self.open_minutes = settings.jitsi_open_minutes
        self.online = _("Online (Jitsi)")
        self.course_line = _("Course %(code)s")
        self.join_line = _(
            "Join online: %(url)s (the room opens %(minutes)d minutes before the start)"
        )
        self.page_line = _("Course page: %(url)s")
        self.summary_cancelled = _("%(title)s (cancelled)")
        self.summary_waitlisted = _("%(title)s (waiting list)")
        self.summary_pending = _("%(title)s (payment pending)")
        self.texts = {
            Role.TEACHER: _("You teach this course."),
            Role.WAITLISTED: _("You are on the waiting list for this course."),
            Role.PENDING: _("Your seat is reserved until your payment arrives."),
        }
        self.cancelled_text = _("This session has been cancelled.")
        # Both plural forms now, placeholder kept: exports stream after the request is gone.
        keep = {"names": "%(names)s"}
        self.instructor_one = ngettext("Instructor: %(names)s", "Instructors: %(names)s", 1, **keep)
        self.instructor_many = ngettext(
            "Instructor: %(names)s", "Instructors: %(names)s", 2, **keep
        )
        self._instructors: dict[int, str] = {}
        self._heads: dict[tuple[int, str], str] = {}

    def load_instructors(self, course_ids: Iterable[int]) -> None:
        """Fetch the instructor lines of courses not seen yet (one query)."""
        missing = {cid for cid in course_ids if cid not in self._instructors}
        if missing:
            self.use_instructors(instructor_names(missing), missing)

    def use_instructors(self, names: dict[int, list[str]], course_ids: Iterable[int]) -> None:
        """Remember the instructors of ``course_ids`` (those absent from ``names`` have none)."""
        for course_id in course_ids:
            people = names.get(course_id, ())
            if not people:
                self._instructors[course_id] = ""
                continue
            template = self.instructor_one if len(people) == 1 else self.instructor_many
            self._instructors[course_id] = template % {"names": ", ".join(people)}

    def instructors(self, course_id: int) -> str:
        """The "Instructor: ..." line of a course ("" when none is assigned yet)."""
        if course_id not in self._instructors:
            self.load_instructors([course_id])
        return self._instructors[course_id]

    def status(self, row: Any, role: str = Role.ATTENDEE) -> EventStatus:
        """CANCELLED, TENTATIVE or CONFIRMED for this session as this person sees it."""
        return event_status(row.status, row.course_status, role)

    def location(self, row: Any) -> str:
        """Room and venue, or the online room's name (never a Jitsi URL)."""
        return self.place(row.online, row.room, row.course_room, row.venue)

    def place(self, online: bool, room: str, course_room: str, venue: str) -> str:
        """The LOCATION text: "1.01, VHS-Haus" or "Online (Jitsi)"."""
        if online:
            return self.online
        room = room or course_room
        if room and venue:
            return f"{room}, {venue}"
        return room or venue

    def url(self, row: Any) -> str:
        """The join page for online sessions, else the course page (both on our site)."""
        if row.online:
            return f"{self.base}/sessions/{row.id}/join"
        return f"{self.base}/courses/{row.course_id}"

    def _head(self, course_id: int, code: str) -> str:
        """The course's first DESCRIPTION lines (number, instructors), made once per course."""
        key = (course_id, code)
        head = self._heads.get(key)
        if head is None:
            instructors = self.instructors(course_id)
            head = self.course_line % {"code": code} + (f"\n{instructors}" if instructors else "")
            self._heads[key] = head
        return head

    def event(
        self, row: Any, role: str = Role.ATTENDEE, *, status: EventStatus | None = None
    ) -> CalendarEvent:
        """The VEVENT data for one session row (columns as in ``EVENT_COLUMNS``)."""
        # Unpacked by position: ten thousand rows times twenty named lookups is measurable.
        (
            session_id,
            uuid,
            starts_at,
            ends_at,
            online,
            room,
            session_status,
            sequence,
            updated_at,
            note,
            course_id,
            code,
            title,
            venue,
            course_room,
            course_status,
            course_updated_at,
            _capacity,
            _seats_taken,
        ) = row
        status = status or event_status(session_status, course_status, role)
        if status is EventStatus.CANCELLED:
            summary = self.summary_cancelled % {"title": title}
        elif role == Role.WAITLISTED:
            summary = self.summary_waitlisted % {"title": title}
        elif role == Role.PENDING:
            summary = self.summary_pending % {"title": title}
        else:
            summary = title
        head = self._head(course_id, code)
        if online:
            url = f"{self.base}/sessions/{session_id}/join"
            tail = self.join_line % {"url": url, "minutes": self.open_minutes}
        else:
            url = f"{self.base}/courses/{course_id}"
            tail = self.page_line % {"url": url}
        lines = [head, tail]
        if note:
            lines.append(note)
        if role in self.texts:
            lines.append(self.texts[role])
        if status is EventStatus.CANCELLED:
            lines.append(self.cancelled_text)
        return CalendarEvent(
            uid=f"session-{uuid}@{self.host}",
            start=starts_at,
            end=ends_at,
            summary=summary,
            last_modified=max(updated_at, course_updated_at),
            location=self.place(online, room, course_room, venue),
            description="\n".join(lines),
            url=url,
            status=status,
            sequence=sequence,
            stamp=self.stamp,
        )


def session_rows(*where: Any, order: Sequence[Any] = (Session.starts_at, Session.id)) -> list[Any]:
    query = sa.select(*EVENT_COLUMNS).join(Course, Course.id == Session.course_id)
    return list(db.session.execute(query.where(*where).order_by(*order)))


def instructor_names(course_ids: Iterable[int] | sa.Select[Any]) -> dict[int, list[str]]:
    """The instructors of each course, by name (courses without any are left out).

    ``course_ids`` may be a SELECT of course ids: exports ask once for all their courses.
    """
    ids = course_ids if isinstance(course_ids, sa.Select) else list(course_ids)
    names: dict[int, list[str]] = {}
    rows = db.session.execute(
        sa.select(course_instructors.c.course_id, User.name)
        .join(User, User.id == course_instructors.c.user_id)
        .where(course_instructors.c.course_id.in_(ids))
        .order_by(User.name)
    )
    for course_id, name in rows:
        names.setdefault(course_id, []).append(name)
    return names


# --- one course, one session ----------------------------------------------------------------


def course_events(course: Course, *, maker: EventMaker | None = None) -> list[CalendarEvent]:
    """Every session of a course, cancelled ones included (as STATUS:CANCELLED)."""
    maker = maker or EventMaker()
    return [maker.event(row) for row in session_rows(Session.course_id == course.id)]


def session_events(session: Session) -> list[CalendarEvent]:
    """One session as a list of one event."""
    return [EventMaker().event(row) for row in session_rows(Session.id == session.id)]


def course_last_modified(course: Course) -> datetime:
    """When anything an event of this course shows last changed."""
    latest = db.session.scalar(
        sa.select(sa.func.max(Session.updated_at)).where(Session.course_id == course.id)
    )
    return max(course.updated_at, latest) if latest else course.updated_at


def ics_filename(code: str, prefix: str = "kurs") -> str:
    """``kurs-271-105.ics``: the course number, safe as a file name."""
    return f"{prefix}-{re.sub(r'[^0-9A-Za-z-]+', '-', code).strip('-') or 'kurs'}.ics"


def google_calendar_link(event: CalendarEvent) -> str:
    """An "add to Google Calendar" template link for one event (UTC times, as Google wants)."""
    fmt = "%Y%m%dT%H%M%SZ"
    start = event.start.astimezone(UTC)  # type: ignore[union-attr]
    end = event.end.astimezone(UTC)  # type: ignore[union-attr]
    params = {
        "action": "TEMPLATE",
        "text": event.summary,
        "dates": f"{start.strftime(fmt)}/{end.strftime(fmt)}",
        "details": event.description,
        "location": event.location,
        "ctz": local_zone().key,
    }
    return "https://calendar.google.com/calendar/render?" + urlencode(
        {k: v for k, v in params.items() if v}
    )
