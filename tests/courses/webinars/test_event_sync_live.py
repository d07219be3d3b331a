"""event_sync over real HTTP: the stand-in sender posts to a live server (werkzeug, threaded)
on a database of its own with real commits, as Prosody would, including a storm of the same
delivery at once (Prosody's retries racing each other): exactly one effect, no 5xx.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from werkzeug.serving import make_server

from courses.webinars import join as webinar_join
from courses.webinars.models import Attendance, JitsiEvent, WebhookDelivery
from tests.conftest import base_config, fresh_database_url, reset_schema
from tests.courses import factories
from tests.courses.webinars.helpers import first_session, online_course
from tests.prosody_standin import EventSyncSender
from vhs import create_app
from vhs.db import db
from vhs.uow import unit_of_work

pytestmark = pytest.mark.live

SECRET = "event-sync-live-secret-0123456789abcdef"
STORM = 12


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[Flask, str]]:
    """An app on a fresh database of its own, served on a free loopback port."""
    url = next(fresh_database_url(tmp_path, "event_sync_live"))
    app = create_app(base_config(url=url, jitsi_event_sync_secret=SECRET))
    reset_schema(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


def _seed(app: Flask) -> dict[str, Any]:
    with app.app_context(), unit_of_work():
        teacher = factories.new_user("instructor")
        anna = factories.new_user(name="Anna Arndt")
        course = online_course(
            starts_in=timedelta(minutes=-100), duration=timedelta(minutes=90), instructors=[teacher]
        )
        factories.new_enrolment(course, anna.id, status="confirmed")
        session = first_session(course)
        room = webinar_join.room_for(session)
        return {
            "room": room,
            "session_id": session.id,
            "start": session.starts_at,
            "anna": {"id": str(anna.id), "name": anna.name, "email": anna.email},
            "anna_id": anna.id,
        }


def _post(base: str, sender: EventSyncSender, event: tuple) -> requests.Response:
    path, payload = event
    body = json.dumps(payload).encode()
    return requests.post(
        base + sender.prefix + path, data=body, headers=sender.headers(body), timeout=30
    )


def test_a_meeting_and_a_storm_of_retries_over_real_http(live: tuple[Flask, str]) -> None:
    app, base = live
    seeded = _seed(app)
    sender = EventSyncSender(SECRET)
    r, start = seeded["room"], seeded["start"]
    events = [
        sender.room_created(r, start),
        sender.occupant_joined(r, "anna@meet.example/abc", start, seeded["anna"]),
    ]
    left = sender.occupant_left(r, "anna@meet.example/abc", start + timedelta(minutes=42))
    for event in events:
        resp = _post(base, sender, event)
        assert resp.status_code == 200, resp.text
    with ThreadPoolExecutor(max_workers=STORM) as pool:
        answers = list(pool.map(lambda _: _post(base, sender, left), range(STORM)))
    statuses = [a.status_code for a in answers]
    assert statuses == [200] * STORM, [a.text for a in answers]
    outcomes = sorted(a.text.strip() for a in answers)
    assert outcomes.count("duplicate") == STORM - 1
    wrong = EventSyncSender("not-the-secret-0123456789abcdef0123")
    assert _post(base, wrong, left).status_code == 401
    with app.app_context():
        row = db.session.execute(
            sa.select(Attendance).where(Attendance.user_id == seeded["anna_id"])
        ).scalar_one()
        assert row.seconds_present == 42 * 60 and not row.in_room
        assert db.session.scalar(sa.select(sa.func.count(JitsiEvent.id))) == 3
        assert db.session.scalar(sa.select(sa.func.count(WebhookDelivery.id))) == 3
