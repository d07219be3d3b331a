"""The instructor's "In the room now" in a real browser: Prosody's mod_muc_size (the stand-in,
a real HTTP server on loopback) reports a head count, and ``vhs/static/js/jitsi-room.js``
keeps it current without a full reload; when Prosody stops answering the section says so.
axe-core on the page, and 320 px without horizontal scrolling.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from courses.webinars import join as webinar_join
from tests.browser.a11y import axe_check
from tests.browser.conftest import log_in
from tests.courses import factories
from tests.courses.webinars.helpers import first_session, online_course
from tests.prosody_standin import RoomSizeServer
from vhs.db import db

pytestmark = [pytest.mark.browser, pytest.mark.live]


@pytest.fixture
def muc_size(live_app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[RoomSizeServer]:
    server = RoomSizeServer(domain="meet.jit.si")
    server.start()
    monkeypatch.setattr(live_app.config["VHS"], "jitsi_room_size_url", server.url)
    monkeypatch.setattr(live_app.config["VHS"], "jitsi_room_size_timeout_seconds", 1)
    yield server
    server.stop()


def test_the_room_size_refreshes_without_a_reload(
    new_page: Callable[..., Any],
    live_app: Flask,
    live_user: Callable[..., Any],
    muc_size: RoomSizeServer,
) -> None:
    teacher = live_user("instructor", name="Karla Kursleiterin")
    resident = live_user(name="Jürgen Groß")
    with live_app.app_context():
        course = online_course(starts_in=timedelta(minutes=-5), instructors=[teacher.id])
        factories.new_enrolment(course, resident.id, status="confirmed")
        session = first_session(course)
        room = webinar_join.room_for(session)
        session_id = session.id
        db.session.commit()
    muc_size.set_people(room, 1)

    page = new_page()
    page.clock.install()
    log_in(page, teacher)
    page.goto(f"/teaching/sessions/{session_id}/attendance")
    message = page.locator("#room-now [data-room-message]")
    assert message.inner_text() == "1 Person ist gerade im Raum."
    axe_check(page)
    page.evaluate("window.__marker = 'same page'")

    muc_size.set_people(room, 3)
    page.clock.run_for(21_000)
    expect(message).to_have_text("3 Personen sind gerade im Raum.")
    assert page.evaluate("window.__marker") == "same page"  # no reload happened

    muc_size.delay = 2.0  # Prosody stops answering in time
    page.clock.run_for(21_000)
    expect(message).to_have_text("Raumgröße gerade nicht abrufbar.", timeout=15_000)
    muc_size.delay = 0.0

    narrow = new_page(width=320, height=640)
    log_in(narrow, teacher)
    narrow.goto(f"/teaching/sessions/{session_id}/attendance")
    assert narrow.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert narrow.get_by_role("link", name="Aktualisieren").is_visible()
