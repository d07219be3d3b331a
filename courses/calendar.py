"""Course sessions in calendars: the personal-feed source, mail attachments, staff exports.

Every session becomes one VEVENT with the UID ``session-<uuid>@<host>`` for ever, SEQUENCE =
the session's change counter, and STATUS CONFIRMED, TENTATIVE (waiting list, payment pending,
or a course still in planning) or CANCELLED. Exports read sessions in keyset-paginated batches
and stream, so a whole term never sits in memory.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from courses.models import (
    Course,
    CourseFormat,
    CourseStatus,
    Enrolment,
    EnrolmentStatus,
    Session,
    SessionStatus,
    course_instructors,
)
from vhs.accounts.models import User
from vhs.calendar import (
    CalendarEvent,
    EventStatus,
    ics,
    register_attachment_builder,
    register_source,
)
from vhs.calendar.services import public_url, uid_host
from vhs.db import db, utcnow
from vhs.errors import Invalid
from vhs.i18n import BERLIN
from vhs.mail.services import Attachment

# Personal feeds keep a year of past sessions: clients drop what vanishes from a feed.
FEED_HISTORY = timedelta(days=365)
EXPORT_BATCH = 1000
ATTACHMENT_TYPE = "text/calendar; charset=utf-8; method=PUBLISH"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"

# The columns an event needs, read without building ORM objects (exports run to 10,000s).
_COLUMNS = (
    Session.id,
    Session.uuid,
    Session.starts_at,
    Session.ends_at,
    Session.online,
    Session.room,
    Session.status,
    Session.sequence,
    Session.updated_at,
    Session.note,
    Session.course_id,
    Course.code,
    Course.title,
    Course.venue,
    Course.room.label("course_room"),
    Course.status.label("course_status"),
    Course.updated_at.label("course_updated_at"),
    Course.capacity,
    Course.seats_taken,
)


class Role:
    """Why a session is in someone's calendar (changes its status and wording)."""

    ATTENDEE = "attendee"
    WAITLISTED = "waitlisted"
    PENDING = "pending"
    TEACHER = "teacher"
    FORMER = "former"  # booked on a course that was then cancelled


# --- rows to events --------------------------------------------------------------------------


class EventMaker:
    """Turns session rows into ``CalendarEvent``s in the current language.

    Made once per response: the translated phrases and the instructors' names are looked up
    once, not once per session. ``stamp`` overrides DTSTAMP (mails: the time of sending).
    """

    def __init__(self, *, stamp: datetime | None = None) -> None:
        settings = current_app.config["VHS"]
        self.stamp = stamp
        self.host = uid_host()
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

    def load_instructors(self, course_ids: Iterable[int]) -> None:
        """Fetch the instructor lines of courses not seen yet (one query per batch)."""
        missing = {cid for cid in course_ids if cid not in self._instructors}
        if not missing:
            return
        for course_id, people in instructor_names(missing).items():
            template = self.instructor_one if len(people) == 1 else self.instructor_many
            self._instructors[course_id] = template % {"names": ", ".join(people)}
        for course_id in missing - self._instructors.keys():
            self._instructors[course_id] = ""

    def instructors(self, course_id: int) -> str:
        """The "Instructor: ..." line of a course ("" when none is assigned yet)."""
        if course_id not in self._instructors:
            self.load_instructors([course_id])
        return self._instructors[course_id]

    def status(self, row: Any, role: str = Role.ATTENDEE) -> EventStatus:
        """CANCELLED, TENTATIVE or CONFIRMED for this session as this person sees it."""
        if (
            row.status is SessionStatus.CANCELLED
            or row.course_status is CourseStatus.CANCELLED
            or role == Role.FORMER
        ):
            return EventStatus.CANCELLED
        if role in (Role.WAITLISTED, Role.PENDING) or row.course_status is CourseStatus.DRAFT:
            return EventStatus.TENTATIVE
        return EventStatus.CONFIRMED

    def location(self, row: Any) -> str:
        """Room and venue, or the online room's name (never a Jitsi URL)."""
        if row.online:
            return self.online
        return ", ".join(p for p in (row.room or row.course_room, row.venue) if p)

    def url(self, row: Any) -> str:
        """The join page for online sessions, else the course page (both on our site)."""
        if row.online:
            return public_url(f"/sessions/{row.id}/join")
        return public_url(f"/courses/{row.course_id}")

    def event(
        self, row: Any, role: str = Role.ATTENDEE, *, status: EventStatus | None = None
    ) -> CalendarEvent:
        """The VEVENT data for one session row."""
        status = status or self.status(row, role)
        title = row.title
        if status is EventStatus.CANCELLED:
            summary = self.summary_cancelled % {"title": title}
        elif role == Role.WAITLISTED:
            summary = self.summary_waitlisted % {"title": title}
        elif role == Role.PENDING:
            summary = self.summary_pending % {"title": title}
        else:
            summary = title
        url = self.url(row)
        lines = [self.course_line % {"code": row.code}]
        instructors = self.instructors(row.course_id)
        if instructors:
            lines.append(instructors)
        if row.online:
            lines.append(self.join_line % {"url": url, "minutes": self.open_minutes})
        else:
            lines.append(self.page_line % {"url": url})
        if row.note:
            lines.append(row.note)
        if role in self.texts:
            lines.append(self.texts[role])
        if status is EventStatus.CANCELLED:
            lines.append(self.cancelled_text)
        modified = max(row.updated_at, row.course_updated_at)
        return CalendarEvent(
            uid=f"session-{row.uuid}@{self.host}",
            start=row.starts_at,
            end=row.ends_at,
            summary=summary,
            last_modified=modified,
            location=self.location(row),
            description="\n".join(lines),
            url=url,
            status=status,
            sequence=row.sequence,
            stamp=self.stamp,
        )


def _rows(*where: Any, order: Sequence[Any] = (Session.starts_at, Session.id)) -> list[Any]:
    query = sa.select(*_COLUMNS).join(Course, Course.id == Session.course_id)
    return list(db.session.execute(query.where(*where).order_by(*order)))


def instructor_names(course_ids: Iterable[int]) -> dict[int, list[str]]:
    """The instructors of each course, by name (courses without any are left out)."""
    names: dict[int, list[str]] = {}
    rows = db.session.execute(
        sa.select(course_instructors.c.course_id, User.name)
        .join(User, User.id == course_instructors.c.user_id)
        .where(course_instructors.c.course_id.in_(list(course_ids)))
        .order_by(User.name)
    )
    for course_id, name in rows:
        names.setdefault(course_id, []).append(name)
    return names


# --- one course, one session ----------------------------------------------------------------


def course_events(course: Course, *, maker: EventMaker | None = None) -> list[CalendarEvent]:
    """Every session of a course, cancelled ones included (as STATUS:CANCELLED)."""
    maker = maker or EventMaker()
    return [maker.event(row) for row in _rows(Session.course_id == course.id)]


def session_events(session: Session) -> list[CalendarEvent]:
    """One session as a list of one event."""
    return [EventMaker().event(row) for row in _rows(Session.id == session.id)]


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
        "ctz": ics.TZID,
    }
    return "https://calendar.google.com/calendar/render?" + urlencode(
        {k: v for k, v in params.items() if v}
    )


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
    rows = _rows(
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
        rows = _rows(Session.course_id == course.id)
        if cancelled:
            events = [maker.event(row, status=EventStatus.CANCELLED) for row in rows]
        else:
            events = [maker.event(row) for row in rows if row.status is SessionStatus.SCHEDULED]
        if not events:
            return []
        name = f"{course.code} {course.title}"
        body = ics.calendar_bytes(name, events)
    return [Attachment(ics_filename(course.code), ATTACHMENT_TYPE, body)]


# --- staff exports ---------------------------------------------------------------------------


EARLIEST, LATEST = date(1990, 1, 1), date(2199, 12, 31)


@dataclass(frozen=True)
class SessionFilter:
    """What a staff export covers; every field optional (dates are Berlin calendar days)."""

    term_id: int | None = None
    category_id: int | None = None
    instructor_id: int | None = None
    room: str | None = None
    format: CourseFormat | None = None
    date_from: date | None = None
    date_to: date | None = None

    def check(self) -> SessionFilter:
        """Refuse a date range that is backwards or outside any sensible programme."""
        errors: dict[str, list[Any]] = {}
        for name in ("date_from", "date_to"):
            value = getattr(self, name)
            if value is not None and not EARLIEST <= value <= LATEST:
                errors[name] = [_l("Choose a date between 1990 and 2199.")]
        if self.date_from and self.date_to and self.date_to < self.date_from:
            errors["date_to"] = [_l("The end must not be before the start.")]
        if self.room is not None and len(self.room) > 100:
            errors["room"] = [_l("At most 100 characters.")]
        if errors:
            raise Invalid(errors=errors)
        return self

    def conditions(self) -> list[Any]:
        """The WHERE clauses of this filter."""
        from courses.services import category_ids_with_children

        where: list[Any] = []
        if self.term_id is not None:
            where.append(Course.term_id == self.term_id)
        if self.category_id is not None:
            where.append(Course.category_id.in_(category_ids_with_children(self.category_id)))
        if self.instructor_id is not None:
            where.append(
                sa.exists().where(
                    course_instructors.c.course_id == Course.id,
                    course_instructors.c.user_id == self.instructor_id,
                )
            )
        if self.room:
            pattern = "%" + re.sub(r"([\\%_])", r"\\\1", self.room.strip()) + "%"
            where.append(
                sa.or_(
                    Session.room.ilike(pattern, escape="\\"),
                    sa.and_(Session.room == "", Course.room.ilike(pattern, escape="\\")),
                    Course.venue.ilike(pattern, escape="\\"),
                )
            )
        if self.format is not None:
            where.append(Course.format == self.format)
        if self.date_from is not None:
            where.append(Session.starts_at >= _day_start(self.date_from))
        if self.date_to is not None:
            where.append(Session.starts_at < _day_start(self.date_to + timedelta(days=1)))
        return where


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=BERLIN)


def session_batches(filters: SessionFilter, batch: int = EXPORT_BATCH) -> Iterator[list[Any]]:
    """Matching sessions in start order, ``batch`` rows per query (keyset pagination).

    Each query reads the next rows after the last (start, id) seen: no OFFSET scans, no
    server-side cursor held across the response, memory bounded by one batch.
    """
    where = filters.conditions()
    last: tuple[datetime, int] | None = None
    while True:
        page = list(where)
        if last is not None:
            page.append(
                sa.or_(
                    Session.starts_at > last[0],
                    sa.and_(Session.starts_at == last[0], Session.id > last[1]),
                )
            )
        query = (
            sa.select(*_COLUMNS)
            .join(Course, Course.id == Session.course_id)
            .where(*page)
            .order_by(Session.starts_at, Session.id)
            .limit(batch)
        )
        rows = list(db.session.execute(query))
        if not rows:
            return
        yield rows
        if len(rows) < batch:
            return
        last = (rows[-1].starts_at, rows[-1].id)


def export_name() -> str:
    """The calendar name of a staff export."""
    return _("%(org)s – sessions", org=current_app.config["VHS"].org_name)


def iter_export_ics(filters: SessionFilter) -> Iterator[bytes]:
    """The staff export as .ics; translated now, the sessions read and written as it streams."""
    maker = EventMaker()
    head = ics.calendar_head(export_name())
    return _stream_ics(filters, maker, head)


def _stream_ics(filters: SessionFilter, maker: EventMaker, head: bytes) -> Iterator[bytes]:
    yield head
    for rows in session_batches(filters):
        maker.load_instructors({row.course_id for row in rows})
        yield b"".join(ics.event_bytes(maker.event(row)) for row in rows)
    yield ics.CALENDAR_END


CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    """A text cell that spreadsheets will not run as a formula (CSV injection)."""
    return "'" + value if value.startswith(CSV_FORMULA_START) else value


def iter_export_csv(filters: SessionFilter) -> Iterator[bytes]:
    """The staff export as CSV for Excel: UTF-8 with BOM, semicolons, Berlin times.

    Translated now; the sessions are read and written batch by batch as the response streams.
    """
    maker = EventMaker()
    labels = {
        EventStatus.CONFIRMED: _("takes place"),
        EventStatus.TENTATIVE: _("in planning"),
        EventStatus.CANCELLED: _("cancelled"),
    }
    header = [
        _("Course number"),
        _("Title"),
        _("Instructors"),
        _("Room / venue"),
        _("Start"),
        _("End"),
        _("Status"),
        _("Enrolled"),
        _("Capacity"),
    ]
    return _stream_csv(filters, maker, labels, header)


def _stream_csv(
    filters: SessionFilter,
    maker: EventMaker,
    labels: dict[EventStatus, str],
    header: list[str],
) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    yield "\ufeff".encode() + buffer.getvalue().encode("utf-8")
    for rows in session_batches(filters):
        buffer.seek(0)
        buffer.truncate()
        names = instructor_names({row.course_id for row in rows})
        for row in rows:
            writer.writerow(
                [
                    _cell(row.code),
                    _cell(row.title),
                    _cell(", ".join(names.get(row.course_id, ()))),
                    _cell(maker.location(row)),
                    _local(row.starts_at),
                    _local(row.ends_at),
                    labels[maker.status(row)],
                    row.seats_taken,
                    row.capacity,
                ]
            )
        yield buffer.getvalue().encode("utf-8")


def _local(dt: datetime) -> str:
    d = dt.astimezone(BERLIN)
    return f"{d.day:02d}.{d.month:02d}.{d.year:04d} {d.hour:02d}:{d.minute:02d}"


register_source("courses", user_events)
register_attachment_builder("course", mail_attachments)
