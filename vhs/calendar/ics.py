"""RFC 5545 output: calendars built with ``icalendar``, events streamed one by one.

The calendar envelope and the VTIMEZONE of the app's zone (``VHS_TIMEZONE``, read through
``vhs.i18n.local_zone``) are ``icalendar`` components; times are written in that zone.
``event_component`` maps a :class:`CalendarEvent` to an ``icalendar.Event``; that mapping is the
reference for what a VEVENT looks like. Serialising an ``icalendar.Event`` costs about a
millisecond, so a staff export of 10,000 sessions would take ten seconds: ``event_bytes``
writes the very same bytes directly (same property order, ``icalendar``'s own TEXT escaping,
the same line folding), and the tests hold the two byte-for-byte equal for arbitrary text.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vDuration, vText

from vhs.calendar import CalendarEvent, EventStatus
from vhs.calendar.vtimezone import vtimezone
from vhs.i18n import local_zone

PRODID = "-//VHS Iserlohn//vhs-platform//DE"
CONTENT_TYPE = "text/calendar; charset=utf-8"
# How often subscribed clients should fetch a feed again (they may choose to wait longer).
REFRESH = timedelta(hours=1)

CALENDAR_END = b"END:VCALENDAR\r\n"
_FOLD_LIMIT = 74  # octets per physical line before the fold (icalendar folds "at 75")
_BACKSLASH, _CARET = 0x5C, 0x5E


# --- the envelope --------------------------------------------------------------------------


def new_calendar(
    name: str, *, feed: bool = False, description: str = "", zone: ZoneInfo | None = None
) -> Calendar:
    """An empty VCALENDAR (METHOD:PUBLISH) with our PRODID, name and the zone's VTIMEZONE.

    ``feed`` adds the refresh hints subscribed clients read (REFRESH-INTERVAL, and the older
    X-PUBLISHED-TTL that Outlook honours). ``zone`` defaults to the app's (``local_zone``).
    """
    zone = zone or local_zone()
    cal = Calendar.new(
        prodid=PRODID,
        calscale="GREGORIAN",
        method="PUBLISH",
        name=" ".join(_clean(name).split()),
        description=_clean(description) or None,
        uid="",
    )
    del cal["UID"]  # a calendar UID is optional; a random one would change every response
    if feed:
        cal.add("REFRESH-INTERVAL", REFRESH, parameters={"VALUE": "DURATION"})
        cal.add("X-PUBLISHED-TTL", vDuration(REFRESH))
    cal.add("X-WR-TIMEZONE", zone.key)
    # The rules in force this year: a zone that changes them gets the new ones from then on.
    cal.add_component(vtimezone(zone, datetime.now(UTC).year))
    return cal


def calendar_head(
    name: str, *, feed: bool = False, description: str = "", zone: ZoneInfo | None = None
) -> bytes:
    """The serialised envelope up to the first event, in ``zone`` (default: the app's)."""
    return _calendar_head(name, feed, description, zone or local_zone(), datetime.now(UTC).year)


@functools.lru_cache(maxsize=64)
def _calendar_head(name: str, feed: bool, description: str, zone: ZoneInfo, year: int) -> bytes:
    """Cached: the envelope rarely differs (the year is part of the key: see new_calendar)."""
    body = new_calendar(name, feed=feed, description=description, zone=zone).to_ical()
    assert body.endswith(CALENDAR_END)
    return body[: -len(CALENDAR_END)]


def iter_calendar(
    name: str,
    events: Iterable[CalendarEvent],
    *,
    feed: bool = False,
    description: str = "",
    zone: ZoneInfo | None = None,
) -> Iterator[bytes]:
    """The calendar as chunks of bytes: the envelope, then one chunk per event (streams).

    The zone is read now, so the chunks can be produced where no app context is left.
    """
    zone = zone or local_zone()
    return _chunks(calendar_head(name, feed=feed, description=description, zone=zone), events, zone)


def _chunks(head: bytes, events: Iterable[CalendarEvent], zone: ZoneInfo) -> Iterator[bytes]:
    """The envelope, each event in ``zone``, the end (needs no app context)."""
    yield head
    for event in events:
        yield event_bytes(event, zone)
    yield CALENDAR_END


def calendar_bytes(
    name: str,
    events: Iterable[CalendarEvent],
    *,
    feed: bool = False,
    description: str = "",
    zone: ZoneInfo | None = None,
) -> bytes:
    """The whole calendar at once (feeds, single courses, mail attachments)."""
    return b"".join(iter_calendar(name, events, feed=feed, description=description, zone=zone))


# --- events: the icalendar reference ------------------------------------------------------


def event_component(event: CalendarEvent, zone: ZoneInfo | None = None) -> Event:
    """The VEVENT for ``event`` as an ``icalendar.Event`` (what ``event_bytes`` must equal)."""
    zone = zone or local_zone()
    component = Event.new(
        uid=_clean(event.uid),
        stamp=_utc(event.stamp or event.last_modified),
        last_modified=_utc(event.last_modified),
        start=_when(event.start, zone),
        end=_when(event.end, zone),
        sequence=event.sequence,
        status=event.status.value,
        summary=_clean(event.summary) or None,
        location=_clean(event.location) or None,
        description=_clean(event.description) or None,
        url=event.url or None,
    )
    return component


def _utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(microsecond=0)


def _when(value: datetime | date, zone: ZoneInfo) -> datetime | date:
    """Wall-clock time in ``zone``, except where that is ambiguous (then UTC).

    When clocks go back, an hour happens twice (02:00-03:00 in Europe). RFC 5545 says such a
    local time means the first one, but not every parser agrees; either instant is written
    in UTC.
    """
    if not isinstance(value, datetime):
        return value
    local = value.astimezone(zone)
    if local.microsecond:
        local = local.replace(microsecond=0)
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        return local.astimezone(UTC)
    return local


# --- events: the fast writer ---------------------------------------------------------------


_STATUS_LINES = {status: f"STATUS:{status.value}\r\n".encode() for status in EventStatus}


def event_bytes(event: CalendarEvent, zone: ZoneInfo | None = None) -> bytes:
    """The VEVENT for ``event``: byte-for-byte what ``event_component(event).to_ical()`` gives."""
    zone = zone or local_zone()
    modified = _utc_value(event.last_modified)
    stamp = modified if event.stamp is None else _utc_value(event.stamp)
    # DTSTART, DTEND, DTSTAMP, SEQUENCE, LAST-MODIFIED and STATUS are short ASCII: no folding.
    parts = [
        b"BEGIN:VEVENT\r\n",
        _text_line("SUMMARY", event.summary),
        (
            f"DTSTART{_date_value(event.start, zone)}\r\n"
            f"DTEND{_date_value(event.end, zone)}\r\n"
            f"DTSTAMP:{stamp}\r\n"
        ).encode(),
        _text_line("UID", event.uid),
        f"SEQUENCE:{int(event.sequence)}\r\n".encode(),
    ]
    if event.description:
        parts.append(_text_line("DESCRIPTION", event.description))
    parts.append(f"LAST-MODIFIED:{modified}\r\n".encode())
    if event.location:
        parts.append(_text_line("LOCATION", event.location))
    parts.append(_STATUS_LINES[event.status])
    if event.url:
        parts.append(_fold(f"URL:{event.url}"))
    parts.append(b"END:VEVENT\r\n")
    return b"".join(parts)


def _utc_value(dt: datetime) -> str:
    u = dt if dt.tzinfo is UTC else dt.astimezone(UTC)
    return f"{u.year:04d}{u.month:02d}{u.day:02d}T{u.hour:02d}{u.minute:02d}{u.second:02d}Z"


@functools.lru_cache(maxsize=4096)  # sessions share their start and end times
def _date_value(value: datetime | date, zone: ZoneInfo) -> str:
    """``;TZID=Europe/Berlin:20270112T180000``, ``:20271031T003000Z`` or ``;VALUE=DATE:...``."""
    when = _when(value, zone)
    if not isinstance(when, datetime):
        return f";VALUE=DATE:{when.year:04d}{when.month:02d}{when.day:02d}"
    stamp = (
        f"{when.year:04d}{when.month:02d}{when.day:02d}"
        f"T{when.hour:02d}{when.minute:02d}{when.second:02d}"
    )
    if when.tzinfo is UTC:
        return f":{stamp}Z"
    return f";TZID={zone.key}:{stamp}"


def _text_line(name: str, value: str) -> bytes:
    """A folded TEXT property; empty when the value is empty once cleaned."""
    if not value:
        return b""
    if value.isascii() and value.isprintable() and not _needs_escape(value):
        return _fold(f"{name}:{value}")  # nothing for icalendar to escape or clean
    return _escaped_line(name, value)


def _needs_escape(value: str) -> bool:
    return "\\" in value or ";" in value or "," in value


@functools.lru_cache(maxsize=8192)
def _escaped_line(name: str, value: str) -> bytes:
    """Escaped by icalendar itself; course titles and places repeat, so this is cached."""
    cleaned = _clean(value)
    if not cleaned:
        return b""
    return _fold(f"{name}:{vText(cleaned).to_ical().decode('utf-8')}")


# C0 controls other than TAB, LF and CR, and DEL, are not allowed in iCalendar TEXT.
# Control characters, and the byte-order mark (U+FEFF), which icalendar drops at the start of
# a value but keeps elsewhere: dropped everywhere, so both writers agree.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufeff]")


def _clean(text: str) -> str:
    """Text as it may appear in a calendar: NFC, without control characters."""
    if not text:
        return ""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    if _CONTROLS.search(text):
        text = _CONTROLS.sub("", text)
    return text


def _fold(line: str) -> bytes:
    """RFC 5545 line folding exactly as icalendar does it (never inside a UTF-8 sequence,
    never right after a backslash), plus the CRLF."""
    data = line.encode("utf-8")
    if len(data) <= _FOLD_LIMIT:
        return data + b"\r\n"
    chunks = []
    pos, size = 0, len(data)
    while size - pos > _FOLD_LIMIT:
        cut = pos + _FOLD_LIMIT
        while data[cut] & 0xC0 == 0x80:  # a continuation byte: back off to the char start
            cut -= 1
        if data[cut - 1] in (_BACKSLASH, _CARET) and cut - 1 > pos:
            cut -= 1  # keep an escape sequence together on the next line
        chunks.append(data[pos:cut])
        pos = cut
    chunks.append(data[pos:])
    return b"\r\n ".join(chunks) + b"\r\n"
