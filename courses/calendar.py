"""Course sessions in calendars: the personal-feed source, mail attachments, staff exports.

Every session becomes one VEVENT with the UID ``session-<uuid>@<host>`` for ever, SEQUENCE =
the session's change counter, and STATUS CONFIRMED, TENTATIVE (waiting list, payment pending,
or a course still in planning) or CANCELLED. Exports read sessions in keyset-paginated batches
and stream, so a whole term never sits in memory.
"""

from __future__ import annotations

import csv
import functools
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
from vhs.cache import track
from vhs.calendar import (
    FEED_VERSION,
    CalendarEvent,
    EventStatus,
    ics,
    register_attachment_builder,
    register_source,
)
from vhs.calendar.services import public_url, uid_host
from vhs.db import db, utcnow
from vhs.errors import Invalid
from vhs.formats import spreadsheet_safe
from vhs.i18n import BERLIN
from vhs.mail.services import Attachment

# Personal feeds keep a year of past sessions: clients drop what vanishes from a feed.
FEED_HISTORY = timedelta(days=365)
EXPORT_BATCH = 1000
ATTACHMENT_TYPE = "text/calendar; charset=utf-8; method=PUBLISH"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"


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
_COLUMNS = (
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
_CSV_COLUMNS = (
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
        """The VEVENT data for one session row (columns as in ``_COLUMNS``)."""
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


def _rows(*where: Any, order: Sequence[Any] = (Session.starts_at, Session.id)) -> list[Any]:
    query = sa.select(*_COLUMNS).join(Course, Course.id == Session.course_id)
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
        events = [maker.event(row, status=status) for row in _rows(Session.id == session.id)]
        if not events:
            return []
        body = ics.calendar_bytes(f"{session.course.code} {session.course.title}", events)
    return [Attachment(ics_filename(session.course.code, prefix="termin"), ATTACHMENT_TYPE, body)]


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

    def conditions(self, starting: datetime | None = None) -> list[Any]:
        """The WHERE clauses of this filter; ``starting``: sessions from then on only.

        One lower bound on ``starts_at``, not two: SQLite ranges its index scan by just one
        of them, and keyset batches must not rescan everything before their start.
        """
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
        lower = _day_start(self.date_from) if self.date_from is not None else None
        if starting is not None:
            lower = starting if lower is None else max(lower, starting)
        if lower is not None:
            where.append(Session.starts_at >= lower)
        if self.date_to is not None:
            where.append(Session.starts_at < _day_start(self.date_to + timedelta(days=1)))
        return where


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=BERLIN)


def session_batches(
    filters: SessionFilter, batch: int = EXPORT_BATCH, columns: Sequence[Any] = _COLUMNS
) -> Iterator[list[Any]]:
    """Matching sessions in start order, ``batch`` rows per query (keyset pagination).

    Each query reads the next rows after the last (start, id) seen: no OFFSET scans, no
    server-side cursor held across the response, memory bounded by one batch.
    """
    last: tuple[datetime, int] | None = None
    while True:
        page = filters.conditions(starting=last[0] if last else None)
        if last is not None:
            # The index ranges over "starts_at >= last start"; the OR only settles ties.
            page.append(sa.or_(Session.starts_at > last[0], Session.id > last[1]))
        query = (
            sa.select(*columns)
            .join(Course, Course.id == Session.course_id)
            .where(*page)
            .order_by(Session.starts_at, Session.id)
            .limit(batch)
        )
        rows = db.session.connection().execute(query).all()  # Core: no ORM row wrapping
        if not rows:
            return
        yield rows
        if len(rows) < batch:
            return
        last = (rows[-1].starts_at, rows[-1].id)


def export_courses(filters: SessionFilter) -> sa.Select[Any]:
    """The ids of the courses an export touches (for one instructor query, not one per batch)."""
    return (
        sa.select(Session.course_id)
        .join(Course, Course.id == Session.course_id)
        .where(*filters.conditions())
        .distinct()
    )


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
    names = instructor_names(export_courses(filters))
    for rows in session_batches(filters):
        maker.use_instructors(names, {row.course_id for row in rows})
        yield b"".join(ics.event_bytes(maker.event(row)) for row in rows)
    yield ics.CALENDAR_END


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
    instructors = {
        course_id: spreadsheet_safe(", ".join(people))
        for course_id, people in instructor_names(export_courses(filters)).items()
    }
    place = maker.place
    for rows in session_batches(filters, columns=_CSV_COLUMNS):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(
            [
                spreadsheet_safe(code),
                spreadsheet_safe(title),
                instructors.get(course_id, ""),
                spreadsheet_safe(place(online, room, course_room, venue)),
                _local(starts_at),
                _local(ends_at),
                labels[event_status(status, course_status)],
                seats_taken,
                capacity,
            ]
            for (
                code,
                title,
                course_id,
                online,
                room,
                course_room,
                venue,
                starts_at,
                ends_at,
                status,
                course_status,
                seats_taken,
                capacity,
                _id,
            ) in rows
        )
        yield buffer.getvalue().encode("utf-8")


@functools.lru_cache(maxsize=4096)
def _local(dt: datetime) -> str:
    d = dt.astimezone(BERLIN)
    return f"{d.day:02d}.{d.month:02d}.{d.year:04d} {d.hour:02d}:{d.minute:02d}"


register_source("courses", user_events)
# What the events above are made of: a change to any of it reaches the next poll of a feed.
track(FEED_VERSION, Course, Session, Enrolment, course_instructors, (User, ("name",)))
register_attachment_builder("course", mail_attachments)
register_attachment_builder("session", session_mail_attachments)
