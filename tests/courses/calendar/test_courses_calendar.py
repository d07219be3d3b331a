"""Course sessions in calendars: personal feeds, course/session .ics, mails, staff exports.

Every export is read back with icalendar and vobject and expanded with recurring-ical-events;
tests/courses/test_calendar_radicale.py imports them into a real CalDAV server.
"""

from __future__ import annotations

import base64
import csv
import io
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from courses.calendar import events as calendar_events
from courses.calendar import exports as calendar_exports
from courses.enrolment import services as enrolment_services
from courses.models import Course, CourseFormat, CourseStatus, Session
from courses.planning import services as planning_services
from courses.planning import sessions as session_services
from tests.ics_parsers import expand, read_icalendar, read_vobject
from tests.vhs.conftest import tr
from vhs.accounts.models import Role, User
from vhs.db import db
from vhs.uow import unit_of_work

BERLIN = ZoneInfo("Europe/Berlin")  # the test apps' VHS_TIMEZONE

WINTER = datetime(2027, 1, 12, 18, 0, tzinfo=BERLIN)
SUMMER = datetime(2027, 7, 13, 18, 0, tzinfo=BERLIN)
TRICKY = 'Kochen, backen; genießen – „Grüße“\nvom "Seilersee" \\ ÄÖÜß'


@pytest.fixture
def staff(make_user):
    return make_user(Role.STAFF, name="Sabine Büro", email="staff-cal@example.org")


@pytest.fixture
def dated_course(app, make_course, staff):
    """Factory: a course whose sessions start at the given Berlin times (90 minutes each)."""

    def _make(starts=(WINTER, SUMMER), **kw):
        course = make_course(sessions=0, **kw)
        with app.app_context(), unit_of_work():
            actor = db.session.get(User, staff.id)
            c = db.session.get(Course, course.id)
            for start in starts:
                session_services.add_session(
                    actor, c, {"starts_at": start, "ends_at": start + timedelta(minutes=90)}
                )
            return course.id

    return _make


def session_ids(app, course_id):
    with app.app_context():
        return list(
            db.session.execute(
                sa.select(Session.id).where(Session.course_id == course_id).order_by(Session.id)
            ).scalars()
        )


def feed_of(client, api_token, user) -> bytes:
    url = client.get("/api/v1/me/calendar", headers=api_token(user)).json["url"]
    resp = client.get(url.removeprefix("http://vhs.test"))
    assert resp.status_code == 200
    return resp.get_data()


def events_by_summary(body):
    return {str(e["SUMMARY"]): e for e in read_icalendar(body).walk("VEVENT")}


# --- personal feed ---------------------------------------------------------------------------


def test_feed_holds_confirmed_waitlisted_and_taught_sessions_only(
    app, client, make_user, make_enrolment, dated_course, api_token
):
    teacher = make_user(Role.INSTRUCTOR, name="Tom Lehrer")
    resident, other = make_user(), make_user()
    booked = dated_course(title="Töpfern", instructors=[teacher.id])
    full = dated_course(starts=(WINTER + timedelta(days=1),), title="Aquarell", capacity=1)
    foreign = dated_course(starts=(WINTER + timedelta(days=2),), title="Fremdkurs")
    make_enrolment(booked, resident)
    make_enrolment(full, other)
    waiting = make_enrolment(full, resident)
    assert waiting.status.value == "waitlisted"
    make_enrolment(foreign, other)

    body = feed_of(client, api_token, resident)
    waitlist_title = tr(app, "%(title)s (waiting list)") % {"title": "Aquarell"}
    events = events_by_summary(body)
    assert set(events) == {"Töpfern", waitlist_title}
    assert len(read_icalendar(body).walk("VEVENT")) == 3
    statuses = {str(e["STATUS"]) for e in read_icalendar(body).walk("VEVENT")}
    assert statuses == {"CONFIRMED", "TENTATIVE"}
    assert str(events[waitlist_title]["STATUS"]) == "TENTATIVE"
    assert b"Fremdkurs" not in body
    vcal = read_vobject(body)
    assert len(vcal.vevent_list) == 3
    assert len(expand(body, date(2027, 1, 1), date(2028, 1, 1))) == 3

    taught = feed_of(client, api_token, teacher)
    vevents = read_icalendar(taught).walk("VEVENT")
    assert {str(e["SUMMARY"]) for e in vevents} == {"Töpfern"}
    assert all(str(e["STATUS"]) == "CONFIRMED" for e in vevents)
    assert tr(app, "You teach this course.") in str(vevents[0]["DESCRIPTION"])
    assert "Tom Lehrer" in str(vevents[0]["DESCRIPTION"])


def test_feed_times_across_dst_in_every_parser(
    app, client, make_user, make_enrolment, dated_course, api_token
):
    user = make_user()
    make_enrolment(dated_course(title="Spanisch"), user)
    body = feed_of(client, api_token, user)
    starts = sorted(e["DTSTART"].dt for e in read_icalendar(body).walk("VEVENT"))
    assert [s.astimezone(UTC) for s in starts] == [
        datetime(2027, 1, 12, 17, 0, tzinfo=UTC),
        datetime(2027, 7, 13, 16, 0, tzinfo=UTC),
    ]
    vob = sorted(e.dtstart.value for e in read_vobject(body).vevent_list)
    assert [(v.hour, v.utcoffset()) for v in vob] == [
        (18, timedelta(hours=1)),
        (18, timedelta(hours=2)),
    ]
    occurrences = expand(body, date(2027, 7, 1), date(2027, 8, 1))
    assert [o["DTSTART"].dt.astimezone(BERLIN).hour for o in occurrences] == [18]


def test_edit_bumps_sequence_keeps_uid_and_changes_the_feed(
    app, client, make_user, make_enrolment, dated_course, api_token, staff
):
    user = make_user()
    course_id = dated_course(starts=(WINTER,))
    make_enrolment(course_id, user)
    before = read_icalendar(feed_of(client, api_token, user)).walk("VEVENT")[0]
    assert before["SEQUENCE"] == 0
    with app.app_context(), unit_of_work():
        session = db.session.get(Session, session_ids(app, course_id)[0])
        session_services.update_session(
            db.session.get(User, staff.id),
            session,
            {"starts_at": WINTER + timedelta(hours=1), "ends_at": WINTER + timedelta(hours=2)},
        )
    after = read_icalendar(feed_of(client, api_token, user)).walk("VEVENT")[0]
    assert str(after["UID"]) == str(before["UID"])
    assert str(after["UID"]).startswith("session-") and str(after["UID"]).endswith("@vhs.test")
    assert after["SEQUENCE"] == 1
    assert after["DTSTART"].dt.astimezone(BERLIN).hour == 19
    assert after["DTSTAMP"].dt >= before["DTSTAMP"].dt


def test_cancelled_session_stays_in_the_feed_as_cancelled(
    app, client, make_user, make_enrolment, dated_course, api_token, staff
):
    user = make_user()
    course_id = dated_course(title="Yoga")
    make_enrolment(course_id, user)
    first = session_ids(app, course_id)[0]
    with app.app_context(), unit_of_work():
        session_services.cancel_session(
            db.session.get(User, staff.id), db.session.get(Session, first)
        )
    body = feed_of(client, api_token, user)
    events = read_icalendar(body).walk("VEVENT")
    assert len(events) == 2
    cancelled = [e for e in events if str(e["STATUS"]) == "CANCELLED"]
    assert len(cancelled) == 1 and cancelled[0]["SEQUENCE"] == 1
    assert str(cancelled[0]["SUMMARY"]) == tr(app, "%(title)s (cancelled)") % {"title": "Yoga"}
    assert {e.status.value for e in read_vobject(body).vevent_list} == {"CANCELLED", "CONFIRMED"}


def test_a_course_cancelled_by_the_vhs_stays_cancelled_own_cancellation_leaves(
    app, client, make_user, make_enrolment, dated_course, api_token, staff
):
    user = make_user()
    dropped = dated_course(title="Abgewählt")
    called_off = dated_course(starts=(SUMMER + timedelta(days=1),), title="Ausgefallen")
    own = make_enrolment(dropped, user)
    make_enrolment(called_off, user)
    with app.app_context(), unit_of_work():
        actor = db.session.get(User, staff.id)
        enrolment_services.cancel_enrolment(
            db.session.get(type(own), own.id), db.session.get(User, user.id)
        )
        planning_services.cancel_course(actor, db.session.get(Course, called_off))
    body = feed_of(client, api_token, user)
    events = read_icalendar(body).walk("VEVENT")
    assert b"Abgew" not in body
    assert [str(e["STATUS"]) for e in events] == ["CANCELLED"]


@pytest.fixture
def feed_cache(app):
    """Rendered feeds cached as in production (tests run without caches otherwise)."""
    from vhs.calendar import services as calendar_services

    app.config["RESPONSE_CACHE"] = True
    calendar_services._rendered.clear()
    try:
        yield calendar_services._rendered
    finally:
        app.config.pop("RESPONSE_CACHE", None)
        calendar_services._rendered.clear()


def test_a_cached_feed_shows_every_change_in_the_next_poll(
    app, client, make_user, make_enrolment, dated_course, api_token, staff, feed_cache
):
    teacher = make_user(Role.INSTRUCTOR, name="Ute Alt")
    user = make_user()
    first_course = dated_course(starts=(WINTER,), title="Erster Kurs", instructors=[teacher.id])
    make_enrolment(first_course, user)
    url = client.get("/api/v1/me/calendar", headers=api_token(user)).json["url"]
    path = url.removeprefix("http://vhs.test")

    first = client.get(path)
    assert client.get(path).get_data() == first.get_data()
    assert feed_cache.hits >= 1  # the second poll was served from the cache

    make_enrolment(dated_course(starts=(SUMMER,), title="Zweiter Kurs"), user)  # a booking
    after_booking = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert after_booking.status_code == 200 and b"Zweiter Kurs" in after_booking.get_data()

    with app.app_context(), unit_of_work():  # a session moves
        session = db.session.get(Session, session_ids(app, first_course)[0])
        session_services.update_session(
            db.session.get(User, staff.id),
            session,
            {"starts_at": WINTER + timedelta(hours=2), "ends_at": WINTER + timedelta(hours=3)},
        )
    moved = client.get(path).get_data()
    assert b"DTSTART;TZID=Europe/Berlin:20270112T200000" in moved

    with app.app_context(), unit_of_work():  # an instructor's name changes
        db.session.get(User, teacher.id).name = "Ute Neu"
    assert b"Ute Neu" in client.get(path).get_data()


# --- course and session files ---------------------------------------------------------------


def test_course_ics_is_public_for_published_courses(app, client, dated_course):
    course_id = dated_course(title=TRICKY, venue="VHS-Haus; Raum, 1", room="1.01")
    resp = client.get(f"/courses/{course_id}.ics")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert "public" in resp.headers["Cache-Control"]
    body = resp.get_data()
    cal, vcal = read_icalendar(body), read_vobject(body)
    assert [str(e["SUMMARY"]) for e in cal.walk("VEVENT")] == [TRICKY, TRICKY]
    assert [e.summary.value for e in vcal.vevent_list] == [TRICKY, TRICKY]
    assert {str(e["LOCATION"]) for e in cal.walk("VEVENT")} == {"1.01, VHS-Haus; Raum, 1"}
    assert {e.location.value for e in vcal.vevent_list} == {"1.01, VHS-Haus; Raum, 1"}
    assert all(str(e["URL"]) == f"http://vhs.test/courses/{course_id}" for e in cal.walk("VEVENT"))
    assert b"X-WR-CALNAME:" in body and b"METHOD:PUBLISH" in body


def test_course_ics_answers_304_to_either_validator(client, dated_course):
    course_id = dated_course()
    first = client.get(f"/courses/{course_id}.ics")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert (
        client.get(f"/courses/{course_id}.ics", headers={"If-None-Match": etag}).status_code == 304
    )
    assert (
        client.get(f"/courses/{course_id}.ics", headers={"If-Modified-Since": modified}).status_code
        == 304
    )
    assert (
        client.get(f"/courses/{course_id}.ics", headers={"If-None-Match": '"x"'}).status_code == 200
    )


def test_draft_course_files_are_hidden_from_the_public(client, make_user, login, dated_course, app):
    course_id = dated_course(status=CourseStatus.DRAFT)
    session_id = session_ids(app, course_id)[0]
    assert client.get(f"/courses/{course_id}.ics").status_code == 404
    assert client.get(f"/sessions/{session_id}.ics").status_code == 404
    login(make_user())
    assert client.get(f"/courses/{course_id}.ics").status_code == 404
    login(make_user(Role.STAFF))
    resp = client.get(f"/courses/{course_id}.ics")
    assert resp.status_code == 200 and "private" in resp.headers["Cache-Control"]
    assert {str(e["STATUS"]) for e in read_icalendar(resp.get_data()).walk("VEVENT")} == {
        "TENTATIVE"
    }


def test_session_ics_holds_one_event(app, client, dated_course):
    course_id = dated_course(title="Malen")
    _first, second = session_ids(app, course_id)
    resp = client.get(f"/sessions/{second}.ics")
    assert resp.status_code == 200
    events = read_icalendar(resp.get_data()).walk("VEVENT")
    assert len(events) == 1
    assert events[0]["DTSTART"].dt.astimezone(UTC) == SUMMER.astimezone(UTC)
    assert client.get("/sessions/999999.ics").status_code == 404


def test_online_sessions_point_to_our_join_page_never_to_jitsi(app, client, dated_course):
    course_id = dated_course(format=CourseFormat.ONLINE, title="Online-Englisch")
    first = session_ids(app, course_id)[0]
    body = client.get(f"/courses/{course_id}.ics").get_data()
    event = next(e for e in read_icalendar(body).walk("VEVENT"))
    assert str(event["LOCATION"]) == tr(app, "Online (Jitsi)")
    assert str(event["URL"]) == f"http://vhs.test/sessions/{first}/join"
    assert f"http://vhs.test/sessions/{first}/join" in str(event["DESCRIPTION"])
    assert b"jit.si" not in body and b"jitsi." not in body.lower()


def test_course_page_offers_add_to_calendar_links(app, client, dated_course):
    course_id = dated_course(title="Gitarre", venue="VHS-Haus")
    page = client.get(f"/courses/{course_id}", headers={"Accept-Language": "de"})
    html = page.get_data(as_text=True)
    assert tr(app, "Add to calendar") in html
    assert f'href="/courses/{course_id}.ics"' in html
    first = session_ids(app, course_id)[0]
    assert f'href="/sessions/{first}.ics"' in html
    link = html.split('href="https://calendar.google.com/calendar/render?', 1)[1].split('"', 1)[0]
    query = parse_qs(link.replace("&amp;", "&"))
    assert query["action"] == ["TEMPLATE"]
    assert query["text"] == ["Gitarre"]
    start = WINTER.astimezone(UTC)
    assert query["dates"] == [
        f"{start:%Y%m%dT%H%M%SZ}/{start + timedelta(minutes=90):%Y%m%dT%H%M%SZ}"
    ]
    assert "details" in query and "location" in query


def test_my_courses_offers_the_subscription(app, client, make_user, login):
    login(make_user())
    html = client.get("/me/courses").get_data(as_text=True)
    assert tr(app, "Set up my calendar address") in html
    client.submit("/account/calendar/regenerate", {"next": "/me/courses"})
    html = client.get("/me/courses").get_data(as_text=True)
    assert 'href="webcal://vhs.test/calendar/' in html
    assert "Google" in html and "Outlook" in html and "Apple" in html


# --- mails -----------------------------------------------------------------------------------


def _ics_attachment(message):
    [attachment] = [a for a in message.attachments if a["filename"].endswith(".ics")]
    return attachment, base64.b64decode(attachment["data"])


def test_confirmation_mail_carries_the_course_as_ics(
    app, make_user, make_enrolment, dated_course, outbox, load
):
    user = make_user()
    course_id = dated_course(title="Schach")
    make_enrolment(course_id, user)
    course = load(Course, course_id)
    [mail] = [m for m in outbox(user.email) if m.template == "enrolment_confirmed"]
    attachment, body = _ics_attachment(mail)
    assert attachment["filename"] == f"kurs-{course.code}.ics"
    assert attachment["content_type"] == "text/calendar; charset=utf-8; method=PUBLISH"
    assert b"METHOD:PUBLISH" in body
    events = read_icalendar(body).walk("VEVENT")
    assert len(events) == 2 and {str(e["STATUS"]) for e in events} == {"CONFIRMED"}
    assert len(read_vobject(body).vevent_list) == 2


def test_cancellation_mail_carries_the_cancelled_events(
    app, make_user, make_enrolment, dated_course, outbox
):
    user = make_user()
    course_id = dated_course(title="Schach")
    enrolment = make_enrolment(course_id, user)
    confirmation = _ics_attachment(
        next(m for m in outbox(user.email) if m.template == "enrolment_confirmed")
    )[1]
    with app.app_context(), unit_of_work():
        e = db.session.get(type(enrolment), enrolment.id)
        enrolment_services.cancel_enrolment(e, db.session.get(User, user.id))
    [mail] = [m for m in outbox(user.email) if m.template == "enrolment_cancelled"]
    _attachment, body = _ics_attachment(mail)
    cancelled = read_icalendar(body).walk("VEVENT")
    confirmed = read_icalendar(confirmation).walk("VEVENT")
    assert {str(e["STATUS"]) for e in cancelled} == {"CANCELLED"}
    assert {str(e["UID"]) for e in cancelled} == {str(e["UID"]) for e in confirmed}
    # Same SEQUENCE (the sessions did not change), later DTSTAMP: the later mail wins.
    assert [e["SEQUENCE"] for e in cancelled] == [e["SEQUENCE"] for e in confirmed]
    assert min(e["DTSTAMP"].dt for e in cancelled) >= max(e["DTSTAMP"].dt for e in confirmed)


def test_a_session_cancellation_attachment_is_ready_for_the_session_mail(
    app, make_user, dated_course, staff
):
    """``attachments_for("session", ...)``: what cancel_session's mail can carry."""
    from vhs.calendar import attachments_for

    user = make_user()
    course_id = dated_course(title="Schach")
    first = session_ids(app, course_id)[0]
    with app.app_context():
        session = db.session.get(Session, first)
        session_services.cancel_session(db.session.get(User, staff.id), session)
        [attachment] = attachments_for(
            "session", session=session, user=db.session.get(User, user.id), cancelled=True
        )
    assert attachment.filename.startswith("termin-") and attachment.filename.endswith(".ics")
    [event] = read_icalendar(attachment.data).walk("VEVENT")
    assert str(event["STATUS"]) == "CANCELLED" and event["SEQUENCE"] == 1
    assert read_vobject(attachment.data).vevent.status.value == "CANCELLED"


# --- staff exports ---------------------------------------------------------------------------


def test_exports_are_for_staff_only(app, client, make_user, login, api_token):
    paths = ("/staff/exports", "/staff/exports/sessions.ics", "/staff/exports/sessions.csv")
    for path in paths:
        resp = client.get(path)
        assert resp.status_code == 302 and "/account/login" in resp.headers["Location"]
    for role in (Role.RESIDENT, Role.INSTRUCTOR):
        login(make_user(role))
        assert [client.get(p).status_code for p in paths] == [403, 403, 403]
    anonymous = app.test_client()
    for path in ("/api/v1/exports/sessions.ics", "/api/v1/exports/sessions.csv"):
        assert anonymous.get(path).status_code == 401
        assert anonymous.get(path, headers=api_token(make_user())).status_code == 403
        ok = anonymous.get(path, headers=api_token(make_user(Role.STAFF)))
        assert ok.status_code == 200 and ok.get_data()


def test_staff_csv_export(app, client, make_user, login, make_enrolment, dated_course, make_term):
    term = make_term(name="Herbst 2027")
    teacher = make_user(Role.INSTRUCTOR, name="Ilse Lehrerin")
    course_id = dated_course(
        term=term.id,
        title="=HYPERLINK(1); Töpfern",
        instructors=[teacher.id],
        venue="VHS-Haus",
        room="1.04",
        capacity=12,
    )
    make_enrolment(course_id, make_user())
    dated_course(starts=(WINTER,), title="Anderes Semester")
    login(make_user(Role.STAFF))
    resp = client.get("/staff/exports/sessions.csv", query_string={"term": term.id})
    assert resp.status_code == 200
    assert resp.is_streamed
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in resp.headers["Content-Disposition"]
    raw = resp.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    header, *data = rows
    assert len(header) == 9 and len(data) == 2
    code = db_code(app, course_id)
    assert data[0] == [
        code,
        "'=HYPERLINK(1); Töpfern",
        "Ilse Lehrerin",
        "1.04, VHS-Haus",
        "12.01.2027 18:00",
        "12.01.2027 19:30",
        tr(app, "takes place"),
        "1",
        "12",
    ]
    assert data[1][4:6] == ["13.07.2027 18:00", "13.07.2027 19:30"]  # Berlin time in summer


def db_code(app, course_id):
    with app.app_context():
        return db.session.get(Course, course_id).code


def test_staff_ics_export_and_filters(
    app, client, make_user, api_token, dated_course, make_category, make_term
):
    parent = make_category(name_de="Sprachen")
    child = make_category(name_de="Englisch", parent=parent.id)
    teacher = make_user(Role.INSTRUCTOR)
    term = make_term(name="Frühjahr 2027")
    a = dated_course(term=term.id, category=child.id, instructors=[teacher.id], room="Küche")
    b = dated_course(
        starts=(SUMMER + timedelta(days=3),), format=CourseFormat.ONLINE, title="Online"
    )
    c = dated_course(starts=(WINTER + timedelta(days=40),), venue="Gesamtschule Seilersee")
    headers = api_token(make_user(Role.STAFF))

    def uids(**query):
        resp = client.get("/api/v1/exports/sessions.ics", query_string=query, headers=headers)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        assert resp.headers["Content-Type"] == "text/calendar; charset=utf-8"
        body = resp.get_data()
        ical = read_icalendar(body).walk("VEVENT")
        assert len(read_vobject(body).vevent_list) == len(ical)
        return {str(e["UID"]) for e in ical}

    def of(*course_ids):
        with app.app_context():
            rows = db.session.execute(
                sa.select(Session.uuid).where(Session.course_id.in_(course_ids))
            ).scalars()
            return {f"session-{u}@vhs.test" for u in rows}

    everything = uids()
    assert of(a, b, c) <= everything
    assert uids(term=term.id) == of(a)
    assert uids(category=parent.id) == of(a)  # sub-categories included
    assert uids(instructor=teacher.id) == of(a)
    assert uids(room="küche") == of(a)
    assert uids(room="Seilersee") == of(c)
    assert uids(format="online") & of(a, b, c) == of(b)
    window = uids(date_from="2027-02-01", date_to="2027-02-28")
    assert window & of(a, b, c) == of(c)
    assert uids(date_from="2027-07-13", date_to="2027-07-13") & of(a, b, c) == {
        u for u in of(a) if u in uids(date_from="2027-07-01", date_to="2027-07-31")
    }
    bad = client.get(
        "/api/v1/exports/sessions.ics",
        query_string={"date_from": "2027-03-01", "date_to": "2027-02-01"},
        headers=headers,
    )
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    assert (
        client.get(
            "/api/v1/exports/sessions.csv", query_string={"term": 2**40}, headers=headers
        ).status_code
        == 422
    )


def test_staff_export_page_validates_its_filters(client, make_user, login):
    login(make_user(Role.STAFF))
    assert client.get("/staff/exports").status_code == 200
    resp = client.get(
        "/staff/exports", query_string={"date_from": "2027-03-01", "date_to": "2027-02-01"}
    )
    assert resp.status_code == 422
    assert (
        client.get("/staff/exports/sessions.ics", query_string={"term": "abc"}).status_code == 422
    )


def test_exports_read_in_keyset_batches(app, dated_course):
    """Sessions with equal start times still come exactly once across batch borders."""
    same = WINTER + timedelta(days=100)
    ids = [dated_course(starts=(same, same + timedelta(days=7))) for _ in range(3)]
    with app.app_context():
        filters = calendar_exports.SessionFilter(date_from=same.date(), date_to=same.date())
        batches = list(calendar_exports.session_batches(filters, batch=2))
        assert [len(b) for b in batches] == [2, 1]
        seen = [row.id for b in batches for row in b]
        assert len(seen) == len(set(seen)) == 3
        assert {row.course_id for b in batches for row in b} == set(ids)


def test_google_link_is_built_from_the_event(app, dated_course):
    course_id = dated_course(starts=(SUMMER,), title="Tanz & Musik")
    with app.app_context(), app.test_request_context():
        session = db.session.get(Session, session_ids(app, course_id)[0])
        event = calendar_events.session_events(session)[0]
        link = calendar_events.google_calendar_link(event)
    parts = urlsplit(link)
    assert parts.netloc == "calendar.google.com"
    query = parse_qs(parts.query)
    assert query["text"] == ["Tanz & Musik"]
    assert query["dates"] == ["20270713T160000Z/20270713T173000Z"]
