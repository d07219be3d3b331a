"""``VHS_TIMEZONE`` is honoured wherever a time is shown or exported: pages and mails (the
i18n filters) and calendar files (TZID, VTIMEZONE, X-WR-TIMEZONE), read back with icalendar.

Vienna keeps Berlin's clock, so it shows that no name is hard-coded; New York and Tokyo keep
other clocks, so they show that the times themselves move with the setting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask, render_template_string
from flask_babel import force_locale

from tests.conftest import base_config
from tests.ics_parsers import read_icalendar, read_vobject
from vhs import create_app
from vhs.calendar import CalendarEvent, ics
from vhs.calendar.vtimezone import vtimezone
from vhs.i18n import local_zone

VIENNA = ZoneInfo("Europe/Vienna")
NEW_YORK = ZoneInfo("America/New_York")
STAMP = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
WINTER = datetime(2027, 1, 12, 17, 0, tzinfo=UTC)  # 18:00 in Vienna, 12:00 in New York
SUMMER = datetime(2027, 7, 13, 16, 0, tzinfo=UTC)  # 18:00 in Vienna, 12:00 in New York


@pytest.fixture(scope="module")
def zoned_app(own_apps_allowed: None) -> Callable[[str], Flask]:
    """Factory: an app configured with ``VHS_TIMEZONE`` = the given zone (one per zone)."""
    apps: dict[str, Flask] = {}

    def _app(zone: str) -> Flask:
        if zone not in apps:
            apps[zone] = create_app(base_config(timezone=zone))
        return apps[zone]

    return _app


@pytest.fixture
def vienna(zoned_app: Callable[[str], Flask]) -> Iterator[Flask]:
    """The Vienna-configured app, with an app context pushed."""
    app = zoned_app("Europe/Vienna")
    with app.app_context():
        yield app


def event(uid: str, start: datetime, minutes: int = 90) -> CalendarEvent:
    """A session-like event starting at ``start``."""
    return CalendarEvent(
        uid=uid,
        start=start,
        end=start + timedelta(minutes=minutes),
        summary="Englisch für Anfänger",
        last_modified=STAMP,
    )


def render(app: Flask, template: str, locale: str = "de", **context: object) -> str:
    """``template`` rendered by ``app`` in a request, as a page or mail would be."""
    with app.test_request_context(), force_locale(locale):
        return render_template_string(template, **context)


# --- the accessor ---------------------------------------------------------------------------


def test_local_zone_is_the_apps_setting(vienna):
    assert local_zone() is vienna.config["VHS"].timezone
    assert local_zone() == VIENNA
    assert vienna.config["BABEL_DEFAULT_TIMEZONE"] == "Europe/Vienna"


def test_local_zone_refuses_to_guess_outside_an_app():
    """A time formatted outside any app would be in a guessed zone: that is an error."""
    with pytest.raises(RuntimeError, match="application context"):
        local_zone()


# --- pages and mails ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "winter", "summer"),
    [
        ("Europe/Vienna", "12.01.27, 18:00", "13.07.27, 18:00"),
        ("America/New_York", "12.01.27, 12:00", "13.07.27, 12:00"),
    ],
)
def test_datetime_filter_shows_the_configured_zone(zoned_app, zone, winter, summer):
    app = zoned_app(zone)
    shown = render(app, "{{ w|datetime('short') }}|{{ s|datetime('short') }}", w=WINTER, s=SUMMER)
    assert shown == f"{winter}|{summer}"


def test_localtime_filter_and_naive_utc_values(zoned_app):
    app = zoned_app("America/New_York")
    shown = render(
        app,
        "{{ t|localtime }}|{{ naive|datetime('short') }}",
        t=SUMMER,
        naive=SUMMER.replace(tzinfo=None),  # stored times are UTC, even without a zone
    )
    assert shown == "2027-07-13 12:00:00-04:00|13.07.27, 12:00"


def test_date_filter_gives_the_day_in_the_configured_zone(zoned_app):
    late = datetime(2027, 1, 12, 20, 0, tzinfo=UTC)  # already the 13th in Tokyo
    assert render(zoned_app("Asia/Tokyo"), "{{ t|date('short') }}", t=late) == "13.01.27"
    assert render(zoned_app("Europe/Vienna"), "{{ t|date('short') }}", t=late) == "12.01.27"
    assert render(zoned_app("Asia/Tokyo"), "{{ d|date('short') }}", d=date(2027, 1, 12)) == (
        "12.01.27"
    )


def test_english_pages_use_the_zone_too(zoned_app):
    shown = render(zoned_app("America/New_York"), "{{ t|datetime('short') }}", "en", t=WINTER)
    assert "12:00" in shown and "17:00" not in shown


# --- calendar files -------------------------------------------------------------------------


def test_ics_export_names_and_uses_vienna(vienna):
    body = ics.calendar_bytes("Kurs", [event("w@vhs.test", WINTER), event("s@vhs.test", SUMMER)])
    assert b"Berlin" not in body
    assert b"X-WR-TIMEZONE:Europe/Vienna\r\n" in body
    assert b"DTSTART;TZID=Europe/Vienna:20270112T180000\r\n" in body
    assert b"DTSTART;TZID=Europe/Vienna:20270713T180000\r\n" in body
    cal = read_icalendar(body)
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Europe/Vienna"]
    starts = {str(e["UID"]): e["DTSTART"] for e in cal.walk("VEVENT")}
    assert {uid: prop.params["TZID"] for uid, prop in starts.items()} == {
        "w@vhs.test": "Europe/Vienna",
        "s@vhs.test": "Europe/Vienna",
    }
    assert starts["w@vhs.test"].dt.astimezone(UTC) == WINTER
    assert starts["s@vhs.test"].dt.astimezone(UTC) == SUMMER


def test_ics_export_in_a_zone_with_other_switch_dates(zoned_app):
    """New York: offsets -5/-4, and summer time starts two weeks before Europe's."""
    between = datetime(2027, 3, 20, 16, 0, tzinfo=UTC)  # US already on summer time, EU not
    with zoned_app("America/New_York").app_context():
        body = ics.calendar_bytes("Kurs", [event("w", WINTER), event("b", between)])
    assert b"DTSTART;TZID=America/New_York:20270112T120000\r\n" in body
    assert b"DTSTART;TZID=America/New_York:20270320T120000\r\n" in body
    assert b"X-WR-TIMEZONE:America/New_York\r\n" in body
    starts = {str(e["UID"]): e["DTSTART"].dt for e in read_icalendar(body).walk("VEVENT")}
    assert starts["w"].astimezone(UTC) == WINTER
    assert starts["b"].astimezone(UTC) == between
    # vobject reads the offsets from our VTIMEZONE alone (not from a zone database).
    vob = {e.uid.value: e.dtstart.value for e in read_vobject(body).vevent_list}
    assert vob["w"].utcoffset() == timedelta(hours=-5)
    assert vob["b"].utcoffset() == timedelta(hours=-4)


def test_the_repeated_autumn_hour_is_written_in_utc_in_any_zone(zoned_app):
    """New York repeats 01:00-02:00 on the first Sunday of November (7 Nov 2027)."""
    first = datetime(2027, 11, 7, 5, 30, tzinfo=UTC)  # 01:30 EDT
    second = datetime(2027, 11, 7, 6, 30, tzinfo=UTC)  # 01:30 EST
    with zoned_app("America/New_York").app_context():
        body = ics.calendar_bytes("x", [event("a", first), event("b", second)])
    assert b"DTSTART:20271107T053000Z" in body and b"DTSTART:20271107T063000Z" in body


@pytest.mark.parametrize("zone", ["Europe/Vienna", "America/New_York", "Australia/Sydney"])
def test_vobject_reads_the_generated_vtimezone_like_zoneinfo(zone):
    """Around every switch 2027-2060 the VTIMEZONE's rules give the offsets zoneinfo gives."""
    tz = ZoneInfo(zone)
    body = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n"
    body += vtimezone(tz, 2027).to_ical() + b"END:VCALENDAR\r\n"
    vtz = read_vobject(body).vtimezone.gettzinfo()
    day = datetime(2027, 1, 1, tzinfo=UTC)
    while day.year <= 2060:
        following = day + timedelta(days=1)
        if following.astimezone(tz).utcoffset() != day.astimezone(tz).utcoffset():
            for hours in range(25):
                instant = day + timedelta(hours=hours, minutes=1)
                assert instant.astimezone(vtz).utcoffset() == instant.astimezone(tz).utcoffset()
        day = following


def test_a_zone_without_yearly_rules_keeps_its_switches_as_dates(zoned_app):
    """Jerusalem switches on the Friday before the last Sunday of March: no RRULE says that,
    so the VTIMEZONE lists the dates, and icalendar still reads summer and winter right."""
    parts = vtimezone(ZoneInfo("Asia/Jerusalem"), 2027).subcomponents
    assert parts and all("RRULE" not in part for part in parts)
    with zoned_app("Asia/Jerusalem").app_context():
        body = ics.calendar_bytes("x", [event("w", WINTER), event("s", SUMMER)])
    starts = {str(e["UID"]): e["DTSTART"].dt for e in read_icalendar(body).walk("VEVENT")}
    assert starts["w"].astimezone(UTC) == WINTER and starts["s"].astimezone(UTC) == SUMMER
    assert b"DTSTART;TZID=Asia/Jerusalem:20270713T190000\r\n" in body


def test_a_zone_without_summer_time_has_one_observance():
    parts = vtimezone(ZoneInfo("Asia/Tokyo"), 2027).subcomponents
    assert [(p.name, p["TZOFFSETTO"].td) for p in parts] == [("STANDARD", timedelta(hours=9))]


def test_a_streamed_export_keeps_the_zone_it_was_started_in(vienna):
    """Chunks may be produced after the app context is gone (streamed downloads)."""
    chunks = ics.iter_calendar("Kurs", iter([event("w@vhs.test", WINTER)]))
    outside = Flask("other")  # another app's context: the stream must not read its zone
    with outside.app_context():
        body = b"".join(chunks)
    assert b"DTSTART;TZID=Europe/Vienna:20270112T180000\r\n" in body


def test_the_default_app_still_writes_berlin(app):
    with app.app_context():
        body = ics.calendar_bytes("Kurs", [event("w", WINTER)])
    assert b"DTSTART;TZID=Europe/Berlin:20270112T180000\r\n" in body
    assert b"X-WR-TIMEZONE:Europe/Berlin\r\n" in body
