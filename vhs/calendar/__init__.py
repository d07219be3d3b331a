"""Calendar: ICS building and feeds. Domains register their event sources here.

A source is a function ``source(user) -> Iterable[CalendarEvent]`` giving the events one
person's feed shows (courses: the sessions they attend or teach; later the library: loan end
dates). The core only knows ``CalendarEvent``; it never imports a domain.

Rendered feeds are cached under the data version ``FEED_VERSION``: a domain that registers a
source must also declare the models its events come from, ``vhs.cache.track(FEED_VERSION,
Loan, ...)``, so that a change of them reaches the next poll.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vhs.accounts.models import User


class EventStatus(enum.StrEnum):
    """RFC 5545 STATUS of a VEVENT."""

    CONFIRMED = "CONFIRMED"
    TENTATIVE = "TENTATIVE"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True, slots=True)
class CalendarEvent:
    """One VEVENT, as a domain describes it; ``vhs.calendar.ics`` turns it into RFC 5545.

    ``start``/``end`` are aware datetimes (written in the app's zone, VHS_TIMEZONE) or dates (all-day
    events, e.g. a loan's end date). ``uid`` must be stable forever for the same thing;
    ``sequence`` grows with every change of time, place or status. ``stamp`` (DTSTAMP) defaults
    to ``last_modified`` so that a feed's bytes only change when its content does.
    """

    uid: str
    start: datetime | date
    end: datetime | date
    summary: str
    last_modified: datetime
    location: str = ""
    description: str = ""
    url: str = ""
    status: EventStatus = EventStatus.CONFIRMED
    sequence: int = 0
    stamp: datetime | None = None


EventSource = Callable[["User"], Iterable[CalendarEvent]]

FEED_VERSION = "calendar_feeds"

_sources: dict[str, EventSource] = {}


def register_source(name: str, func: EventSource) -> None:
    """Register a function giving a user's calendar events (courses, later library loans)."""
    _sources[name] = func


def sources() -> dict[str, EventSource]:
    """All registered event sources by name."""
    return dict(_sources)


AttachmentBuilder = Callable[..., list[Any]]
_attachment_builders: dict[str, AttachmentBuilder] = {}


def register_attachment_builder(kind: str, func: AttachmentBuilder) -> None:
    """Register how to build calendar attachments for mails of a kind (e.g. ``course``)."""
    _attachment_builders[kind] = func


def attachments_for(kind: str, **kwargs: Any) -> list[Any]:
    """Calendar files to attach to a mail, or none when no builder is registered."""
    builder = _attachment_builders.get(kind)
    return builder(**kwargs) if builder else []


__all__ = [
    "FEED_VERSION",
    "CalendarEvent",
    "EventSource",
    "EventStatus",
    "attachments_for",
    "register_attachment_builder",
    "register_source",
    "sources",
]
