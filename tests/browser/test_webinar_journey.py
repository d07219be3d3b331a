"""Webinars in a real browser: the instructor starts the webinar, a participant joins, the
attendance page and a certificate check. axe-core on every page.

Jitsi's ``external_api.js`` is answered by a stand-in (no network in tests) that records the
options ``vhs/static/js/jitsi-embed.js`` passes and the commands it sends; the page's CSP must
let it load from the Jitsi origin, and nothing else runs inline.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from courses.certificates import services as certificate_services
from tests.browser.a11y import axe_check
from tests.browser.conftest import log_in
from vhs.db import db

pytestmark = [pytest.mark.browser, pytest.mark.live]

STAND_IN = """
window.__jitsi = {commands: [], listeners: {}};
window.JitsiMeetExternalAPI = function (domain, options) {
  window.__jitsi.domain = domain;
  window.__jitsi.options = {
    roomName: options.roomName, jwt: options.jwt || null, lang: options.lang,
    displayName: options.userInfo && options.userInfo.displayName,
    prejoin: options.configOverwrite.prejoinConfig.enabled
  };
  var frame = document.createElement("iframe");
  options.parentNode.appendChild(frame);
  this.getIFrame = function () { return frame; };
  this.addEventListener = function (name, fn) { window.__jitsi.listeners[name] = fn; };
  this.executeCommand = function (name, value) { window.__jitsi.commands.push([name, value]); };
  this.dispose = function () {};
};
"""


def _stand_in(page: Any) -> None:
    page.route(
        "https://meet.jit.si/external_api.js",
        lambda route: route.fulfill(
            status=200, content_type="application/javascript", body=STAND_IN
        ),
    )


def _running_webinar(live_app: Flask, teacher_id: int, participant_id: int) -> tuple[int, int]:
    from tests.courses import factories
    from tests.courses.webinars.helpers import first_session, online_course

    with live_app.app_context():
        course = online_course(
            starts_in=timedelta(minutes=-5),
            instructors=[teacher_id],
            title="Spanisch online für Fortgeschrittene",
        )
        factories.new_enrolment(course, participant_id, status="confirmed")
        session_id = first_session(course).id
        db.session.commit()
        return course.id, session_id


def test_instructor_starts_and_participant_joins(
    new_page: Callable[..., Any], live_app: Flask, live_user: Callable[..., Any]
) -> None:
    teacher = live_user("instructor", name="Karla Kursleiterin")
    resident = live_user(name="Jürgen Groß")
    course_id, session_id = _running_webinar(live_app, teacher.id, resident.id)

    host = new_page()
    _stand_in(host)
    log_in(host, teacher)
    host.goto(f"/courses/{course_id}")
    axe_check(host)
    host.get_by_role("link", name="Webinar starten").click()
    host.wait_for_url(f"**/sessions/{session_id}/join")
    host.wait_for_function("window.__jitsi && window.__jitsi.options")
    axe_check(host)
    started = host.evaluate("window.__jitsi")
    assert started["domain"] == "meet.jit.si"
    assert started["options"]["displayName"] == "Karla Kursleiterin"
    assert started["options"]["lang"] == "de" and started["options"]["prejoin"] is True
    room = started["options"]["roomName"]
    assert re.fullmatch(r"990-\d{4}-[a-z2-7]{32}", room), room
    assert host.locator("#jitsi-meeting iframe").get_attribute("title").startswith("Videotreffen")
    # Once Jitsi makes the instructor moderator, the page switches the lobby on.
    host.evaluate("window.__jitsi.listeners.participantRoleChanged({role: 'moderator'})")
    assert host.evaluate("window.__jitsi.commands") == [["toggleLobby", True]]
    assert "Lobby" in host.locator("main").inner_text()

    guest = new_page()
    _stand_in(guest)
    log_in(guest, resident)
    guest.goto(f"/courses/{course_id}")
    axe_check(guest)
    guest.get_by_role("link", name="Jetzt teilnehmen").click()
    guest.wait_for_url(f"**/sessions/{session_id}/join")
    guest.wait_for_function("window.__jitsi && window.__jitsi.options")
    axe_check(guest)
    joined = guest.evaluate("window.__jitsi")
    assert joined["options"]["roomName"] == room  # the same room for everyone
    assert joined["options"]["displayName"] == "Jürgen Groß"
    assert "listeners" in joined and "participantRoleChanged" not in joined["listeners"]
    fallback = guest.get_by_role("link", name=re.compile("neuen Tab"))
    assert fallback.get_attribute("href").startswith(f"https://meet.jit.si/{room}#")

    host.goto(f"/teaching/sessions/{session_id}/attendance")
    assert "Jürgen Groß" in host.locator("main").inner_text()
    axe_check(host)


def test_refused_and_not_yet_open(
    new_page: Callable[..., Any], live_app: Flask, live_user: Callable[..., Any]
) -> None:
    from tests.courses import factories
    from tests.courses.webinars.helpers import first_session, online_course

    resident = live_user()
    with live_app.app_context():
        other = online_course(starts_in=timedelta(minutes=-5))
        later = online_course(starts_in=timedelta(days=3))
        factories.new_enrolment(later, resident.id, status="confirmed")
        refused, waiting = first_session(other).id, first_session(later).id
        db.session.commit()
    page = new_page(allow_http_errors={f"/sessions/{refused}/join"})
    log_in(page, resident)
    page.goto(f"/sessions/{refused}/join")
    assert "Bitte buchen Sie zuerst den Kurs" in page.locator("main").inner_text()
    axe_check(page)
    page.goto(f"/sessions/{waiting}/join")
    assert "Der Raum öffnet am" in page.locator("main").inner_text()
    axe_check(page)


def test_certificate_check_page(page: Any, live_app: Flask, live_user: Callable[..., Any]) -> None:
    pass
    from courses.models import CourseStatus
    from tests.courses import factories
    from tests.courses.webinars.helpers import online_course
    from vhs.accounts.models import User

    holder = live_user(name="Bärbel Schäfer")
    with live_app.app_context():
        course = online_course(starts_in=timedelta(days=-10), title="Töpfern für Anfänger")
        factories.new_enrolment(course, holder.id, status="confirmed")
        course.status = CourseStatus.COMPLETED
        certificate = certificate_services._create_certificate(
            course, db.session.get(User, holder.id), None, 1, 1
        )
        db.session.commit()
        code = certificate.code
    page.goto(f"/certificates/verify/{code}")
    text = page.locator("main").inner_text()
    assert "echt und gültig" in text and "Bärbel Schäfer" in text and "Töpfern für Anfänger" in text
    axe_check(page)
