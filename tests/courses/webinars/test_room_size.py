"""Live room size from Prosody's mod_muc_size: the client, the instructor's page, the API route
and the head-count job, against ``tests/prosody_standin.RoomSizeServer`` (a real threaded HTTP
server on loopback with mod_muc_size's 200/404/403 answers, and a delay for timeouts).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from flask import Flask

from courses.models import Session, SessionStatus
from courses.webinars import join as webinar_join
from courses.webinars import live, room_size
from courses.webinars.models import Attendance, RoomHeadcount
from tests.courses import factories
from tests.courses.webinars.helpers import attend, first_session, online_course
from tests.prosody_standin import RoomSizeServer
from vhs import jobs
from vhs.accounts.models import Role, User
from vhs.config import ConfigError, Settings
from vhs.db import db, utcnow

DOMAIN = "meet.vhs-iserlohn.example"
APP_SECRET = "prosody-shared-secret-for-tests-0123456789"
UNAVAILABLE = "Raumgröße gerade nicht abrufbar"


@pytest.fixture
def server() -> Iterator[RoomSizeServer]:
    standin = RoomSizeServer(domain=DOMAIN)
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture
def prosody(app: Flask, server: RoomSizeServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A self-hosted Jitsi with tokens, its mod_muc_size at the stand-in; no event module."""
    settings = app.config["VHS"]
    monkeypatch.setattr(settings, "jitsi_domain", DOMAIN)
    monkeypatch.setattr(settings, "jitsi_app_id", "vhs-iserlohn")
    monkeypatch.setattr(settings, "jitsi_app_secret", APP_SECRET)
    monkeypatch.setattr(settings, "jitsi_room_size_url", server.url + "/")
    monkeypatch.setattr(settings, "jitsi_room_size_timeout_seconds", 1)
    monkeypatch.setattr(settings, "jitsi_event_sync_secret", "")
    return settings


@pytest.fixture
def webinar(app: Flask, make_user: Any) -> dict[str, Any]:
    """An online session that started five minutes ago, with its room; teacher, participant."""
    teacher = make_user(Role.INSTRUCTOR, name="Karla Kursleiterin")
    participant = make_user(name="Jürgen Groß", email="juergen@example.org")
    with app.app_context():
        course = online_course(starts_in=timedelta(minutes=-5), instructors=[teacher])
        factories.new_enrolment(course, participant.id, status="confirmed")
        session = first_session(course)
        room = webinar_join.room_for(session)
        db.session.commit()
        return {
            "session_id": session.id,
            "room": room,
            "teacher": teacher,
            "participant": participant,
            "course_id": course.id,
        }


def fetch(app: Flask, room: str) -> room_size.RoomSize:
    with app.test_request_context():
        return room_size.fetch(room)


# --- the client --------------------------------------------------------------------------------


def test_the_head_count_without_the_focus_user(
    app: Flask, server: RoomSizeServer, prosody: Any
) -> None:
    server.set_people("kurs-a", 3)
    assert fetch(app, "kurs-a") == room_size.RoomSize("ok", 3)
    assert server.requests[-1] == {"room": "kurs-a", "domain": DOMAIN}  # no token unless asked
    server.set_people("kurs-a", 1)
    assert fetch(app, "kurs-a") == room_size.RoomSize("ok", 1)


def test_an_unknown_room_is_an_empty_room(app: Flask, server: RoomSizeServer, prosody: Any) -> None:
    assert fetch(app, "niemand-hier") == room_size.RoomSize("no_room", 0)


def test_token_protected_room_size(
    app: Flask, server: RoomSizeServer, prosody: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.app_secret = APP_SECRET  # enable_roomsize_token_verification = true
    server.set_people("kurs-a", 2)
    assert fetch(app, "kurs-a").status == "forbidden"  # we sent no token
    monkeypatch.setattr(prosody, "jitsi_room_size_token", True)
    assert fetch(app, "kurs-a") == room_size.RoomSize("ok", 2)
    token = server.requests[-1]["token"]
    claims = jwt.decode(token, APP_SECRET, algorithms=["HS256"], audience="jitsi")
    assert claims["room"] == "kurs-a" and claims["sub"] == DOMAIN
    assert claims["moderator"] is False and claims["exp"] - claims["nbf"] <= 6 * 60
    server.app_secret = "a-different-app-secret-0123456789abcdef"
    assert fetch(app, "kurs-a") == room_size.RoomSize("forbidden")


def test_timeouts_refusals_and_garbage_are_unavailable(
    app: Flask, server: RoomSizeServer, prosody: Any
) -> None:
    server.set_people("kurs-a", 2)
    for answer in [
        (500, b""),
        (200, b"<html>"),
        (200, b'{"participants": "2"}'),
        (200, b'{"participants": -1}'),
        (200, b"[]"),
        (302, b""),
        (200, b'{"participants": true}'),
        (200, b"x" * 5000),
    ]:
        server.override = answer
        assert fetch(app, "kurs-a") == room_size.RoomSize("unavailable"), answer
    server.override = None
    server.delay = 2.0  # longer than VHS_JITSI_ROOM_SIZE_TIMEOUT_SECONDS (1)
    assert fetch(app, "kurs-a") == room_size.RoomSize("unavailable")


def test_a_server_that_is_gone_is_unavailable(
    app: Flask, server: RoomSizeServer, prosody: Any
) -> None:
    server.stop()
    assert fetch(app, "kurs-a") == room_size.RoomSize("unavailable")


def test_settings_are_checked_at_start() -> None:
    with pytest.raises(ConfigError, match="VHS_JITSI_ROOM_SIZE_URL"):
        Settings.from_env({"VHS_JITSI_ROOM_SIZE_URL": "ftp://meet.example"}).validate()
    with pytest.raises(ConfigError, match="VHS_JITSI_ROOM_SIZE_TOKEN"):
        Settings.from_env({"VHS_JITSI_ROOM_SIZE_TOKEN": "true"}).validate()
    with pytest.raises(ConfigError, match="VHS_JITSI_ROOM_SIZE_TIMEOUT_SECONDS"):
        Settings.from_env({"VHS_JITSI_ROOM_SIZE_TIMEOUT_SECONDS": "0"}).validate()


# --- the instructor's page ---------------------------------------------------------------------


def page(client: Any, login: Any, user: User, session_id: int) -> Any:
    login(user)
    return client.get(f"/teaching/sessions/{session_id}/attendance")


def test_the_instructor_sees_who_is_in_the_room_now(
    app: Flask,
    client: Any,
    login: Any,
    server: RoomSizeServer,
    prosody: Any,
    webinar: dict[str, Any],
) -> None:
    server.set_people(webinar["room"], 2)
    with app.app_context():
        row = attend(db.session.get(Session, webinar["session_id"]), webinar["participant"].id)
        row.in_room = True
        row.first_join_at = utcnow()
        db.session.commit()
    resp = page(client, login, webinar["teacher"], webinar["session_id"])
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "2 Personen sind gerade im Raum." in html
    assert "Jürgen Groß</li>" in html
    # Refreshing without a full reload: the script and the API route it polls; without
    # JavaScript, a plain link reloads the page.
    assert "js/jitsi-room.js" in html
    assert f'data-room-url="/api/v1/sessions/{webinar["session_id"]}/room"' in html
    assert f'href="/teaching/sessions/{webinar["session_id"]}/attendance#room-now"' in html


def test_the_page_renders_when_prosody_does_not_answer(
    app: Flask,
    client: Any,
    login: Any,
    server: RoomSizeServer,
    prosody: Any,
    webinar: dict[str, Any],
) -> None:
    server.set_people(webinar["room"], 2)
    server.delay = 2.0
    resp = page(client, login, webinar["teacher"], webinar["session_id"])
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert UNAVAILABLE in html
    assert "Jürgen Groß" in html  # the attendance sheet is all there


def test_prosody_refusing_the_token_is_said_the_same_way(
    app: Flask,
    client: Any,
    login: Any,
    server: RoomSizeServer,
    prosody: Any,
    webinar: dict[str, Any],
) -> None:
    server.app_secret = "not-our-app-secret-0123456789abcdefgh"
    server.set_people(webinar["room"], 2)
    resp = page(client, login, webinar["teacher"], webinar["session_id"])
    assert resp.status_code == 200 and UNAVAILABLE in resp.get_data(as_text=True)


def test_outside_the_window_prosody_is_not_asked(
    app: Flask,
    client: Any,
    login: Any,
    server: RoomSizeServer,
    prosody: Any,
    make_user: Any,
) -> None:
    teacher = make_user(Role.INSTRUCTOR)
    with app.app_context():
        course = online_course(starts_in=timedelta(days=2), instructors=[teacher])
        session = first_session(course)
        webinar_join.room_for(session)
        db.session.commit()
        sid = session.id
    resp = page(client, login, teacher, sid)
    assert resp.status_code == 200
    assert "Der Raum ist gerade nicht geöffnet." in resp.get_data(as_text=True)
    assert server.requests == []


def test_no_room_size_section_for_in_person_sessions(
    app: Flask, client: Any, login: Any, prosody: Any, make_user: Any
) -> None:
    teacher = make_user(Role.INSTRUCTOR)
    with app.app_context():
        course = online_course(starts_in=timedelta(minutes=-5), instructors=[teacher], online=False)
        sid = first_session(course).id
        db.session.commit()
    resp = page(client, login, teacher, sid)
    assert resp.status_code == 200 and 'id="room-now"' not in resp.get_data(as_text=True)


# --- the API route the page polls --------------------------------------------------------------


def test_the_api_gives_the_room_now(
    app: Flask,
    client: Any,
    api_token: Any,
    server: RoomSizeServer,
    prosody: Any,
    webinar: dict[str, Any],
) -> None:
    server.set_people(webinar["room"], 4)
    resp = client.get(
        f"/api/v1/sessions/{webinar['session_id']}/room", headers=api_token(webinar["teacher"])
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.headers["Cache-Control"] == "private, no-store"
    body = resp.get_json()
    assert body["status"] == "ok" and body["participants"] == 4
    assert body["message"] == "4 Personen sind gerade im Raum."
    assert body["in_room"] == [] and body["estimates"] == []
    server.delay = 2.0
    body = client.get(
        f"/api/v1/sessions/{webinar['session_id']}/room", headers=api_token(webinar["teacher"])
    ).get_json()
    assert body["status"] == "unavailable" and body["participants"] is None
    assert body["message"] == UNAVAILABLE + "."


def test_the_api_refuses_everyone_but_the_course_s_teachers(
    app: Flask,
    client: Any,
    api_token: Any,
    make_user: Any,
    server: RoomSizeServer,
    prosody: Any,
    webinar: dict[str, Any],
) -> None:
    url = f"/api/v1/sessions/{webinar['session_id']}/room"
    assert client.get(url).status_code == 401
    resp = client.get(url, headers=api_token(webinar["participant"]))
    assert resp.status_code == 403 and resp.get_json()["code"] == "not_instructor"
    other = make_user(Role.INSTRUCTOR)
    assert client.get(url, headers=api_token(other)).status_code == 403
    assert client.get(url, headers=api_token(make_user(Role.STAFF))).status_code == 200
    assert server.requests and all(r["room"] == webinar["room"] for r in server.requests)
    assert len(server.requests) == 1  # refused callers never reach Prosody
    assert client.get("/api/v1/sessions/999999/room", headers=api_token(other)).status_code == 404


def test_the_api_says_not_configured_without_mod_muc_size(
    app: Flask,
    client: Any,
    api_token: Any,
    prosody: Any,
    webinar: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(prosody, "jitsi_room_size_url", "")
    body = client.get(
        f"/api/v1/sessions/{webinar['session_id']}/room", headers=api_token(webinar["teacher"])
    ).get_json()
    assert body["status"] == "not_configured" and body["participants"] is None


# --- estimated head counts (the polling job) ---------------------------------------------------


def _sessions(app: Flask, teacher: User) -> dict[str, int]:
    """Running, past, future, cancelled and roomless online sessions."""
    ids = {}
    with app.app_context():
        for label, starts in [
            ("running", timedelta(minutes=-20)),
            ("past", timedelta(hours=-5)),
            ("future", timedelta(hours=5)),
            ("cancelled", timedelta(minutes=-20)),
            ("roomless", timedelta(minutes=-20)),
        ]:
            course = online_course(starts_in=starts, instructors=[teacher])
            session = first_session(course)
            if label != "roomless":
                webinar_join.room_for(session)
            if label == "cancelled":
                session.status = SessionStatus.CANCELLED
            ids[label] = session.id
        db.session.commit()
    return ids


def _room(app: Flask, session_id: int) -> str:
    with app.app_context():
        return db.session.get(Session, session_id).jitsi_room or ""


def _headcounts(app: Flask) -> list[tuple[int, int, bool]]:
    with app.app_context():
        return [
            tuple(r)
            for r in db.session.execute(
                sa.select(
                    RoomHeadcount.session_id, RoomHeadcount.participants, RoomHeadcount.estimated
                ).order_by(RoomHeadcount.id)
            )
        ]


def test_the_job_records_estimated_head_counts_of_running_sessions(
    app: Flask, server: RoomSizeServer, prosody: Any, make_user: Any
) -> None:
    ids = _sessions(app, make_user(Role.INSTRUCTOR))
    for label in ("running", "past", "future", "cancelled"):
        server.set_people(_room(app, ids[label]), 7)
    assert jobs.registered_jobs()["jitsi_headcounts"].every == timedelta(seconds=120)
    with app.app_context():
        assert jobs.run_job("jitsi_headcounts") == 1
    assert _headcounts(app) == [(ids["running"], 7, True)]
    with app.app_context():
        # A count is never a person's attendance.
        assert db.session.scalar(sa.select(sa.func.count(Attendance.id))) == 0
    server.set_people(_room(app, ids["running"]), 0)
    with app.app_context():
        jobs.run_job("jitsi_headcounts")
    assert _headcounts(app)[-1] == (ids["running"], 0, True)


def test_no_row_when_prosody_does_not_answer(
    app: Flask, server: RoomSizeServer, prosody: Any, make_user: Any
) -> None:
    ids = _sessions(app, make_user(Role.INSTRUCTOR))
    server.set_people(_room(app, ids["running"]), 3)
    server.override = (503, b"")
    with app.app_context():
        assert jobs.run_job("jitsi_headcounts") == 0
    assert _headcounts(app) == []


def test_with_an_event_module_or_without_mod_muc_size_the_job_does_nothing(
    app: Flask,
    server: RoomSizeServer,
    prosody: Any,
    make_user: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = _sessions(app, make_user(Role.INSTRUCTOR))
    server.set_people(_room(app, ids["running"]), 3)
    monkeypatch.setattr(prosody, "jitsi_event_sync_secret", "x" * 40)
    with app.app_context():
        assert live.record_headcounts() == 0
    monkeypatch.setattr(prosody, "jitsi_event_sync_secret", "")
    monkeypatch.setattr(prosody, "jitsi_room_size_url", "")
    with app.app_context():
        assert live.record_headcounts() == 0
    assert server.requests == [] and _headcounts(app) == []


def test_estimates_are_shown_as_estimates(
    app: Flask,
    client: Any,
    login: Any,
    api_token: Any,
    server: RoomSizeServer,
    prosody: Any,
    webinar: dict[str, Any],
) -> None:
    server.set_people(webinar["room"], 5)
    with app.app_context():
        live.record_headcounts()
        server.set_people(webinar["room"], 3)
        live.record_headcounts(utcnow() + timedelta(minutes=2))
        db.session.commit()
    html = page(client, login, webinar["teacher"], webinar["session_id"]).get_data(as_text=True)
    assert "Geschätzte Teilnehmerzahl" in html and "höchstens 5" in html
    body = client.get(
        f"/api/v1/sessions/{webinar['session_id']}/room", headers=api_token(webinar["teacher"])
    ).get_json()
    assert [e["participants"] for e in body["estimates"]] == [5, 3]
    assert all(e["estimated"] is True for e in body["estimates"])


def test_an_estimate_cannot_be_stored_as_exact(app: Flask, webinar: dict[str, Any]) -> None:
    with app.app_context():
        db.session.add(
            RoomHeadcount(session_id=webinar["session_id"], participants=3, estimated=False)
        )
        with pytest.raises(sa.exc.IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_the_page_s_poll_works_with_the_login_cookie(
    app: Flask,
    client: Any,
    login: Any,
    server: RoomSizeServer,
    prosody: Any,
    webinar: dict[str, Any],
) -> None:
    """jitsi-room.js fetches with the browser's session, not an API token."""
    server.set_people(webinar["room"], 2)
    html = page(client, login, webinar["teacher"], webinar["session_id"]).get_data(as_text=True)
    url = f"/api/v1/sessions/{webinar['session_id']}/room"
    assert f'data-room-url="{url}"' in html
    resp = client.get(url, headers={"Accept": "application/json"})
    assert resp.status_code == 200
    assert resp.get_json()["message"] == "2 Personen sind gerade im Raum."
