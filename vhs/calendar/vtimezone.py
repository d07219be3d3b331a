"""VTIMEZONE components from ``zoneinfo``: a zone's yearly switches as an RRULE pair.

Not ``Timezone.from_tzinfo()`` / ``Calendar.add_missing_timezones()``: those write each
transition as a long RDATE list, and vobject (like some clients) keeps only the first RDATE,
so summer times read an hour off there. A recurring rule reads the same in every parser.
The rules are read off the zone itself (any IANA zone, not just Europe/Berlin) and kept only
when they give zoneinfo's own switches for decades ahead; a zone whose switches follow no
"n-th or last weekday of a month" rule (Morocco's Ramadan breaks, say) gets the RDATE form
after all, because right in most parsers beats wrong in all of them.
"""

from __future__ import annotations

import calendar
import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard, vRecur

RULE_EPOCH = 1970  # each observance starts on its rule's first date in this year
CHECK_YEARS = 30  # a rule read off one year must hold for this many years after it
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class Switch:
    """One change of UTC offset: the instant (UTC), the offsets around it, the new name."""

    at: datetime
    offset_from: timedelta
    offset_to: timedelta
    name: str

    @property
    def wall(self) -> datetime:
        """The switch's time on the local clock before it (naive), as RFC 5545 writes it."""
        return (self.at + self.offset_from).replace(tzinfo=None)


@dataclass(frozen=True)
class Rule:
    """A yearly switch on the ``nth`` (``-1``: last) ``weekday`` of ``month`` at ``at``."""

    month: int
    weekday: int
    nth: int
    at: time

    def wall(self, year: int) -> datetime | None:
        """The local time of the switch in ``year``; None when that weekday does not exist."""
        days = calendar.monthrange(year, self.month)[1]
        if self.nth > 0:
            first = date(year, self.month, 1).weekday()
            day = 1 + (self.weekday - first) % 7 + 7 * (self.nth - 1)
            if day > days:
                return None
        else:
            day = days - (date(year, self.month, days).weekday() - self.weekday) % 7
        return datetime.combine(date(year, self.month, day), self.at)

    def recur(self) -> vRecur:
        """The rule as RRULE: ``FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU``."""
        return vRecur(
            freq="YEARLY", bymonth=self.month, byday=f"{self.nth}{_WEEKDAYS[self.weekday]}"
        )


def vtimezone(zone: ZoneInfo, year: int) -> Timezone:
    """``zone`` as a VTIMEZONE, with the rules in force in ``year`` (the current one)."""
    found = switches(zone, year)
    tz = Timezone()
    tz.add("TZID", zone.key)
    tz.add("X-LIC-LOCATION", zone.key)
    if not found and _steady(zone, year):
        noon = datetime(year, 1, 1, 12, tzinfo=UTC).astimezone(zone)
        standard = TimezoneStandard()
        standard.add("DTSTART", datetime(RULE_EPOCH, 1, 1))
        standard.add("TZNAME", noon.tzname())
        standard.add("TZOFFSETFROM", noon.utcoffset())
        standard.add("TZOFFSETTO", noon.utcoffset())
        tz.add_component(standard)
        return tz
    rules = [_rule(zone, year, s) for s in found] if len(found) == 2 else []
    if not rules or None in rules:
        return Timezone.from_tzinfo(
            zone,
            tzid=zone.key,
            first_date=date(year - 10, 1, 1),
            last_date=date(year + CHECK_YEARS, 1, 1),
        )
    # The switch to the larger offset is summer time (DAYLIGHT), written first.
    pairs = sorted(zip(found, rules, strict=True), key=lambda p: p[0].offset_to, reverse=True)
    for kind, (switch, rule) in zip((TimezoneDaylight, TimezoneStandard), pairs, strict=True):
        part = kind()
        part.add("DTSTART", rule.wall(RULE_EPOCH) or switch.wall)
        part.add("RRULE", rule.recur())
        part.add("TZNAME", switch.name)
        part.add("TZOFFSETFROM", switch.offset_from)
        part.add("TZOFFSETTO", switch.offset_to)
        tz.add_component(part)
    return tz


@functools.lru_cache(maxsize=256)
def switches(zone: ZoneInfo, year: int) -> tuple[Switch, ...]:
    """The zone's changes of UTC offset in ``year`` (UTC): found by day, then to the second."""
    found = []
    day = datetime(year, 1, 1, tzinfo=UTC)
    offset = day.astimezone(zone).utcoffset()
    while day.year == year:
        following = day + timedelta(days=1)
        new = following.astimezone(zone).utcoffset()
        if new != offset:
            before, after = 0, 86_400  # seconds after `day`: old offset, new offset
            while after - before > 1:
                middle = (before + after) // 2
                if (day + timedelta(seconds=middle)).astimezone(zone).utcoffset() == offset:
                    before = middle
                else:
                    after = middle
            at = day + timedelta(seconds=after)
            assert offset is not None and new is not None
            found.append(Switch(at, offset, new, at.astimezone(zone).tzname() or zone.key))
            offset = new
        day = following
    return tuple(found)


def _steady(zone: ZoneInfo, year: int) -> bool:
    """Whether the zone keeps one offset for ``CHECK_YEARS`` years from ``year``."""
    return not any(switches(zone, y) for y in range(year, year + CHECK_YEARS))


def _rule(zone: ZoneInfo, year: int, switch: Switch) -> Rule | None:
    """The weekday rule behind ``switch`` that zoneinfo confirms for decades; else None.

    A switch on day 25 of March is both the 4th and the last Sunday: the years after decide.
    """
    wall = switch.wall
    days = calendar.monthrange(wall.year, wall.month)[1]
    candidates = [Rule(wall.month, wall.weekday(), -1, wall.time())] if wall.day + 7 > days else []
    candidates.append(Rule(wall.month, wall.weekday(), (wall.day - 1) // 7 + 1, wall.time()))
    for rule in candidates:
        if all(_holds(zone, rule, switch, y) for y in range(year, year + CHECK_YEARS)):
            return rule
    return None


def _holds(zone: ZoneInfo, rule: Rule, switch: Switch, year: int) -> bool:
    """Whether the zone switches as ``switch`` did, at ``rule``'s time in ``year``."""
    wall = rule.wall(year)
    if wall is None or len(switches(zone, year)) != 2:
        return False
    at = wall.replace(tzinfo=UTC) - switch.offset_from
    return (at - timedelta(seconds=1)).astimezone(zone).utcoffset() == switch.offset_from and (
        at.astimezone(zone).utcoffset() == switch.offset_to
    )
