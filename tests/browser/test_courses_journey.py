"""Booking and paying in a real browser: find a course, book it, pay by bank transfer, get a
receipt once the office records the money — axe-core on every page visited."""

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


@pytest.fixture
def live_course(live_app: Flask) -> Callable[..., int]:
    """Factory: a published course in the live database; returns its id."""

    def _make(**kw: Any) -> int:
        from tests.courses import factories

        with live_app.app_context():
            course = factories.new_course(**kw)
            db.session.commit()
            return course.id

    return _make


def test_find_book_pay_and_get_receipt(
    page: Any, new_page: Callable[..., Any], live_user, live_course
) -> None:
    course_id = live_course(
        title="Spanisch für Anfänger",
        code="272-101",
        fee_cents=7950,
        reduced_fee_cents=5600,
        capacity=8,
    )
    resident = live_user(name="Jürgen Groß")
    log_in(page, resident)

    page.goto("/courses?q=Spanisch")
    axe_check(page)
    page.get_by_role("link", name="Spanisch für Anfänger").first.click()
    page.wait_for_url(f"**/courses/{course_id}")
    assert "79,50\xa0€" in page.locator("main").inner_text()
    axe_check(page)

    page.locator("#reduction_reason").select_option("student")
    page.locator("form[action$='/enrol'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/enrolments/\d+/pay$"))
    assert "56,00\xa0€" in page.locator("main").inner_text()
    axe_check(page)

    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/payments/\d+$"))
    text = page.locator("main").inner_text()
    assert "IBAN" in text
    reference = re.search(r"\d{4}-\d{6}", text).group(0)
    payment_url = page.url
    axe_check(page)

    page.goto("/me/courses")
    assert "Spanisch für Anfänger" in page.locator("main").inner_text()
    axe_check(page)

    staff_page = new_page()
    log_in(staff_page, live_user("staff", name="Stefan Sommer"))
    staff_page.goto("/staff/payments?status=pending")
    axe_check(staff_page)
    staff_page.get_by_role("link", name=re.compile(r"^\d+$")).first.click()
    assert reference in staff_page.locator("main").inner_text()
    axe_check(staff_page)
    staff_page.get_by_role("button", name="Als bezahlt markieren").click()
    staff_page.wait_for_selector(".flash-success")
    axe_check(staff_page)

    page.goto(payment_url)
    assert "bezahlt" in page.locator("main").inner_text()
    page.get_by_role("link", name=re.compile(reference)).click()
    page.wait_for_url(re.compile(r"/receipt$"))
    assert "Jürgen Groß" in page.locator("main").inner_text()
    axe_check(page)


def test_full_course_offers_the_waiting_list_on_a_phone(
    new_page: Callable[..., Any], live_user, live_course
) -> None:
    course_id = live_course(title="Töpfern an der Drehscheibe", capacity=1)
    first = new_page(width=360, height=740)
    log_in(first, live_user())
    first.goto(f"/courses/{course_id}")
    first.get_by_role("button", name="Jetzt anmelden").click()
    first.wait_for_url("**/me/courses")
    axe_check(first)

    second = new_page(width=360, height=740)
    log_in(second, live_user())
    second.goto(f"/courses/{course_id}")
    assert second.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    axe_check(second)
    second.get_by_role("button", name="Auf die Warteliste").click()
    second.wait_for_url("**/me/courses")
    assert "Warteliste" in second.locator("main").inner_text()
    axe_check(second)
