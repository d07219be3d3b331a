"""Staff exports of sessions (.ics and CSV): keyset-paginated batches, streamed."""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from courses.calendar.events import (
    CSV_COLUMNS,
    EVENT_COLUMNS,
    EventMaker,
    event_status,
    instructor_names,
)
from courses.models import (
    Course,
    CourseFormat,
    Session,
    course_instructors,
)
from courses.planning.services import category_ids_with_children
from courses.rules import EARLIEST_DAY, LATEST_DAY
from vhs.calendar import (
    EventStatus,
    ics,
)
from vhs.db import db
from vhs.errors import Invalid
from vhs.formats import spreadsheet_safe
from vhs.i18n import local_zone

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"

EXPORT_BATCH = 1000


# --- staff exports ---------------------------------------------------------------------------


EARLIEST, LATEST = EARLIEST_DAY, LATEST_DAY  # the planning range of courses.rules


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
    return datetime.combine(day, time(0), tzinfo=local_zone())


def session_batches(
    filters: SessionFilter, batch: int = EXPORT_BATCH, columns: Sequence[Any] = EVENT_COLUMNS
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
    zone = local_zone()  # resolved now: the stream runs after the request's context is gone
    head = ics.calendar_head(export_name(), zone=zone)
    return _stream_ics(filters, maker, head, zone)


def _stream_ics(
    filters: SessionFilter, maker: EventMaker, head: bytes, zone: ZoneInfo
) -> Iterator[bytes]:
    yield head
    names = instructor_names(export_courses(filters))
    for rows in session_batches(filters):
        maker.use_instructors(names, {row.course_id for row in rows})
        yield b"".join(ics.event_bytes(maker.event(row), zone=zone) for row in rows)
    yield ics.CALENDAR_END


def iter_export_csv(filters: SessionFilter) -> Iterator[bytes]:
    """The staff export as CSV for Excel: UTF-8 with BOM, semicolons, local times.

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
    return _stream_csv(filters, maker, labels, header, local_zone())


def _stream_csv(
    filters: SessionFilter,
    maker: EventMaker,
    labels: dict[EventStatus, str],
    header: list[str],
    zone: ZoneInfo,
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
    for rows in session_batches(filters, columns=CSV_COLUMNS):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(
            [
                spreadsheet_safe(code),
                spreadsheet_safe(title),
                instructors.get(course_id, ""),
                spreadsheet_safe(place(online, room, course_room, venue)),
                _local(starts_at, zone),
                _local(ends_at, zone),
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
def _local(dt: datetime, zone: ZoneInfo) -> str:
    d = dt.astimezone(zone)
    return f"{d.day:02d}.{d.month:02d}.{d.year:04d} {d.hour:02d}:{d.minute:02d}"
