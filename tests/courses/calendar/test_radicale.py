"""A real CalDAV server accepts our calendars: Radicale on loopback, no auth, temp storage.

The course .ics and a personal feed are imported (MKCALENDAR, then one PUT per event, and
once as a whole calendar PUT onto a collection), read back, and queried by time range. Radicale
runs in its own process, so it parses the files with its own fresh vobject and reads our
VTIMEZONE, not one cached from an earlier parse.
"""

from __future__ import annotations

import http.client
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from courses.models import Course, Session
from courses.planning import sessions as session_services
from tests.ics_parsers import read_icalendar, read_vobject
from tests.vhs.conftest import free_port
from vhs.accounts.models import Role, User
from vhs.db import db
from vhs.uow import unit_of_work

BERLIN = ZoneInfo("Europe/Berlin")  # the test apps' VHS_TIMEZONE

WINTER = datetime(2027, 1, 12, 18, 0, tzinfo=BERLIN)
SUMMER = datetime(2027, 7, 13, 18, 0, tzinfo=BERLIN)
TITLE = 'Kochen, backen; genießen – „Grüße“\nvom "Seilersee" \\ ÄÖÜß'


class CalDav:
    """Just enough of a CalDAV client: one method, one path, a body."""

    def __init__(self, port: int) -> None:
        self.port = port

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[CalDav]:
    """Radicale listening on a free loopback port, storage in a temp folder."""
    port = free_port()
    config = tmp_path / "radicale.conf"
    config.write_text(
        "[server]\n"
        f"hosts = 127.0.0.1:{port}\n"
        "[auth]\ntype = none\n"
        "[rights]\ntype = authenticated\n"
        "[storage]\n"
        f"filesystem_folder = {tmp_path / 'collections'}\n"
        "[logging]\nlevel = warning\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    client = CalDav(port)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                client.request("OPTIONS", "/")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    pytest.fail(f"Radicale did not start: {err}")
                time.sleep(0.1)
        yield client
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()


AUTH = {"Authorization": "Basic dmhzOnZocw=="}  # user "vhs" (auth type none accepts anyone)
ICS = {"Content-Type": "text/calendar; charset=utf-8", **AUTH}


def mkcalendar(dav: CalDav, path: str) -> None:
    status, body = dav.request("MKCALENDAR", path, headers=AUTH)
    assert status == 201, body


def one_calendar_per_event(body: bytes) -> dict[str, bytes]:
    """Split a calendar into single-event calendars (envelope and VTIMEZONE kept)."""
    cal = icalendar.Calendar.from_ical(body)
    out = {}
    for event in cal.walk("VEVENT"):
        single = icalendar.Calendar()
        for name, value in cal.property_items(recursive=False)[1:]:
            if name != "END":
                single.add(name, value)
        for tz in cal.walk("VTIMEZONE"):
            single.add_component(tz)
        single.add_component(event)
        out[str(event["UID"])] = single.to_ical()
    return out


def summary_of(body: bytes) -> dict[str, tuple]:
    """What must survive the round trip, per UID."""
    return {
        str(e["UID"]): (
            str(e["SUMMARY"]),
            e["DTSTART"].dt.astimezone(UTC),
            e["DTEND"].dt.astimezone(UTC),
            str(e["STATUS"]),
            int(e["SEQUENCE"]),
            str(e.get("LOCATION", "")),
            str(e.get("DESCRIPTION", "")),
        )
        for e in read_icalendar(body).walk("VEVENT")
    }


def time_range_query(start: datetime, end: datetime) -> bytes:
    fmt = "%Y%m%dT%H%M%SZ"
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        "<D:prop><C:calendar-data/></D:prop>"
        '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
        f'<C:time-range start="{start.astimezone(UTC):{fmt}}" end="{end.astimezone(UTC):{fmt}}"/>'
        "</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"
    ).encode()


@pytest.fixture
def exported(app, client, make_course, make_user, make_enrolment, api_token):
    """A course .ics (winter + summer + one cancelled session) and a personal feed."""
    staff = make_user(Role.STAFF)
    teacher = make_user(Role.INSTRUCTOR, name="Jörg Kursleiter")
    course = make_course(sessions=0, title=TITLE, venue="VHS-Haus; Saal, 2", instructors=[teacher])
    with app.app_context(), unit_of_work():
        actor, c = db.session.get(User, staff.id), db.session.get(Course, course.id)
        for start in (WINTER, SUMMER, SUMMER + timedelta(days=7)):
            session_services.add_session(
                actor, c, {"starts_at": start, "ends_at": start + timedelta(minutes=90)}
            )
        db.session.flush()
        last = (
            db.session.execute(
                db.select(Session)
                .where(Session.course_id == c.id)
                .order_by(Session.starts_at.desc())
            )
            .scalars()
            .first()
        )
        session_services.cancel_session(actor, last)
    resident = make_user()
    make_enrolment(course.id, resident)
    course_ics = client.get(f"/courses/{course.id}.ics").get_data()
    url = client.get("/api/v1/me/calendar", headers=api_token(resident)).json["url"]
    feed = client.get(url.removeprefix("http://vhs.test")).get_data()
    return {"course": course_ics, "feed": feed}


def test_radicale_accepts_each_event_and_gives_it_back(radicale, exported):
    for name, body in exported.items():
        collection = f"/vhs/{name}/"
        mkcalendar(radicale, collection)
        singles = one_calendar_per_event(body)
        assert len(singles) == 3
        for uid, single in singles.items():
            status, answer = radicale.request("PUT", f"{collection}{uid}.ics", single, ICS)
            assert status == 201, (name, uid, answer)
        status, stored = radicale.request("GET", collection, headers=AUTH)
        assert status == 200
        assert summary_of(stored) == summary_of(body)
        assert len(read_vobject(stored).vevent_list) == 3


def test_radicale_takes_the_whole_calendar_and_finds_summer_times_right(radicale, exported):
    body = exported["course"]
    status, answer = radicale.request("PUT", "/vhs/whole/", body, ICS)
    assert status == 201, answer
    status, stored = radicale.request("GET", "/vhs/whole/", headers=AUTH)
    assert status == 200 and summary_of(stored) == summary_of(body)
    assert TITLE in {s[0] for s in summary_of(stored).values()}
    # 16:05-16:10 UTC lies inside the summer session (18:00-19:30 CEST) only if the server
    # reads TZID=Europe/Berlin as +02:00 in July; with +01:00 it would start at 17:00 UTC.
    for start, expected in (
        (datetime(2027, 7, 13, 16, 5, tzinfo=UTC), 1),
        (datetime(2027, 1, 12, 17, 5, tzinfo=UTC), 1),
        (datetime(2027, 7, 13, 15, 5, tzinfo=UTC), 0),
    ):
        status, xml = radicale.request(
            "REPORT",
            "/vhs/whole/",
            time_range_query(start, start + timedelta(minutes=5)),
            {"Content-Type": "application/xml; charset=utf-8", "Depth": "1", **AUTH},
        )
        assert status == 207, xml
        assert xml.count(b"BEGIN:VEVENT") == expected, (start, xml[:2000])
