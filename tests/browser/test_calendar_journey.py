"""Calendars in a real browser: "Zum Kalender hinzufügen" on a course page, the personal feed
on "Meine Kurse" (set up, replace), and the staff export page. axe-core on every page."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from tests.browser.a11y import axe_check
from tests.browser.conftest import log_in
from vhs.db import db

pytestmark = [pytest.mark.browser, pytest.mark.live]


def _course(live_app: Flask, title: str) -> int:
    from tests.courses import factories

    with live_app.app_context():
        course = factories.new_course(title=title, sessions=3, venue="VHS-Haus", room="1.01")
        db.session.commit()
        return course.id


def _webcal(page: Any) -> str:
    return page.locator("main a[href^='webcal://']").get_attribute("href")


def test_resident_adds_a_course_and_subscribes_to_the_feed(
    page: Any, live_app: Flask, live_user: Callable[..., Any]
) -> None:
    course_id = _course(live_app, "Aquarellmalen im Park")
    log_in(page, live_user())

    page.goto(f"/courses/{course_id}")
    section = page.locator(
        "section", has=page.get_by_role("heading", name="Zum Kalender hinzufügen")
    )
    assert section.count() == 1
    axe_check(page)
    ics = page.request.get(
        section.get_by_role("link", name=re.compile("Alle Termine")).get_attribute("href")
    )
    assert ics.status == 200 and ics.headers["content-type"] == "text/calendar; charset=utf-8"
    assert ics.text().count("BEGIN:VEVENT") == 3
    google = section.get_by_role("link", name=re.compile("Google")).get_attribute("href")
    assert google.startswith("https://calendar.google.com/calendar/render?action=TEMPLATE")

    page.get_by_role("button", name=re.compile("Jetzt anmelden|Warteliste")).click()
    page.wait_for_url("**/me/courses")
    page.get_by_role("button", name="Meine Kalenderadresse einrichten").click()
    page.wait_for_url("**/me/courses")
    first = _webcal(page)
    assert first.startswith("webcal://") and first.endswith(".ics")
    axe_check(page)
    feed = page.request.get("/" + first.split("/", 3)[3])
    assert feed.status == 200 and "Aquarellmalen im Park" in feed.text()

    page.locator("details summary").click()
    assert page.get_by_text("Per URL").count() == 1
    page.get_by_role("button", name="Neue Adresse erstellen").click()
    page.wait_for_url("**/me/courses")
    second = _webcal(page)
    assert second != first
    assert page.request.get("/" + first.split("/", 3)[3]).status == 404
    axe_check(page)


def test_staff_export_page(page: Any, live_app: Flask, live_user: Callable[..., Any]) -> None:
    _course(live_app, "Exportkurs")
    log_in(page, live_user("staff"))
    page.goto("/staff/exports")
    axe_check(page)
    csv = page.request.get("/staff/exports/sessions.csv")
    assert csv.status == 200 and csv.body().startswith(b"\xef\xbb\xbf")
    assert "Exportkurs" in csv.body().decode("utf-8-sig")
