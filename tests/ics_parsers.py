"""Reading .ics output back the way independent consumers do (shared by the calendar tests).

vobject remembers the first VTIMEZONE it ever parsed for a TZID, process-wide, and reads every
later file's times with it (``registerTzinfo`` keeps an existing entry). A test must therefore
clear that registry before parsing, or it checks some earlier file's time zone, not this one's.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import icalendar
import recurring_ical_events
import vobject
import vobject.icalendar


def read_icalendar(body: bytes) -> icalendar.Calendar:
    """The calendar as icalendar reads it."""
    return icalendar.Calendar.from_ical(body)


def read_vobject(body: bytes) -> Any:
    """The calendar as vobject reads it, using this file's own VTIMEZONE."""
    registry = vars(vobject.icalendar)["__tzidMap"]
    saved = dict(registry)
    registry.clear()
    registry["UTC"] = saved["UTC"]
    try:
        return vobject.readOne(body.decode("utf-8"))
    finally:
        registry.clear()
        registry.update(saved)


def expand(body: bytes, start: date, end: date) -> list[Any]:
    """The event occurrences between two dates, as recurring-ical-events computes them."""
    return list(recurring_ical_events.of(read_icalendar(body)).between(start, end))
