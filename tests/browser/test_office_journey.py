"""The office's issue-14 pages in a real browser, each checked with axe-core:

- staff agree an instructor's fee, preview the fee statement and issue it (the preview is the
  confirmation); the instructor reads their own statement; the term report at 320 px;
- staff check a claimed reduction: the decision, then a confirmation page that says what
  follows, then the participants list showing the state;
- a resident's payments page lists the credit note (Gutschrift) of a partial refund.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from courses.enrolment.payments import pay_enrolment
from tests.browser.a11y import axe_check
from tests.browser.conftest import log_in
from tests.courses import factories
from tests.courses.office.factories import new_held_course
from vhs.db import db
from vhs.payments import refunds
from vhs.payments import services as payments
from vhs.payments.models import Provider
from vhs.uow import unit_of_work

pytestmark = [pytest.mark.browser, pytest.mark.live]


def _fits_320(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_staff_agree_a_fee_and_issue_a_statement_the_instructor_reads_it(
    new_page: Callable[..., Any], live_app: Flask, live_user: Callable[..., Any]
) -> None:
    staff = live_user("staff", name="Olga Bürokraft")
    teacher = live_user("instructor", name="Ida Honorarkraft")
    with live_app.app_context():
        course = new_held_course(
            teacher.id,
            sessions=2,
            rate_cents=None,
            duration_minutes=90,
            title="Bürojournal Aquarell",
        )
        course_id, term_id = course.id, course.term_id
        db.session.commit()

    page = new_page()
    log_in(page, staff)
    page.goto(f"/staff/courses/{course_id}/rates")
    expect(page.get_by_text("Noch kein Honorar vereinbart.")).to_be_visible()
    axe_check(page)
    page.locator(f"#rate-{teacher.id}-kind").select_option("per_unit")
    page.locator(f"#rate-{teacher.id}-amount_cents").fill("40,00")
    page.get_by_role("button", name="Honorar speichern").click()
    expect(page.get_by_text("wurde gespeichert")).to_be_visible()

    page.goto(f"/staff/statements/preview?term_id={term_id}&instructor_id={teacher.id}")
    # 2 sessions of 90 minutes = 2 × 2,0 UE at 40,00 € = 160,00 €
    expect(page.get_by_text("160,00").first).to_be_visible()
    axe_check(page)
    page.get_by_role("button", name="Abrechnung jetzt ausstellen").click()
    expect(page.get_by_text("wurde ausgestellt")).to_be_visible()
    number = page.locator("h1").inner_text()
    assert "H-" in number
    axe_check(page)

    page.goto(f"/staff/reports/term?term_id={term_id}")
    expect(page.get_by_role("heading", name="Volkshochschul-Statistik")).to_be_visible()
    axe_check(page)
    narrow = new_page(width=320, height=640)
    log_in(narrow, staff)
    narrow.goto(f"/staff/reports/term?term_id={term_id}")
    _fits_320(narrow)

    mine = new_page(width=320, height=640)
    log_in(mine, teacher)
    mine.goto("/teaching/statements")
    mine.get_by_role("link", name=number.split()[-1]).first.click()
    expect(mine.get_by_text("160,00").first).to_be_visible()
    axe_check(mine)
    _fits_320(mine)


def test_staff_check_a_reduction_with_a_confirmation_step(
    new_page: Callable[..., Any], live_app: Flask, live_user: Callable[..., Any]
) -> None:
    staff = live_user("staff", name="Rita Prüferin")
    resident = live_user(name="Emil Ermäßigt")
    with live_app.app_context():
        course = factories.new_course(
            capacity=10, fee_cents=8000, reduced_fee_cents=5600, title="Bürojournal Ermäßigung"
        )
        enrolment = factories.new_enrolment(
            course, resident.id, status="confirmed", reduction="student"
        )
        enrolment_id, course_id = enrolment.id, course.id
        db.session.commit()

    # The decision left out answers 422 with the form again.
    page = new_page(allow_http_errors=[f"/staff/enrolments/{enrolment_id}/reduction"])
    log_in(page, staff)
    page.goto(f"/staff/enrolments/{enrolment_id}/reduction")
    axe_check(page)
    page.get_by_role("button", name="Weiter").click()  # no decision: the error summary
    expect(page.locator(".error-summary, [role=alert]").first).to_be_visible()
    page.get_by_label("Abgelehnt", exact=False).check()
    page.locator("textarea").fill("Kein Nachweis vorgelegt")
    page.get_by_role("button", name="Weiter").click()
    expect(page.get_by_text("Das kann nicht rückgängig gemacht werden.")).to_be_visible()
    axe_check(page)
    page.get_by_role("button", name="Jetzt ablehnen").click()
    page.goto(f"/staff/courses/{course_id}/enrolments")
    expect(page.get_by_text("abgelehnt", exact=False).first).to_be_visible()
    axe_check(page)


def test_a_resident_finds_the_credit_note_of_a_refund(
    new_page: Callable[..., Any], live_app: Flask, live_user: Callable[..., Any]
) -> None:
    resident = live_user(name="Greta Gutschrift")
    with live_app.app_context(), unit_of_work():
        staff = factories.new_user("staff", name="Karl Kasse")
        course = factories.new_course(capacity=10, fee_cents=6000, title="Bürojournal Kulanz")
        enrolment = factories.new_enrolment(course, resident.id, status="pending_payment")
        payment = pay_enrolment(enrolment, enrolment.user, Provider.MANUAL)
        payments.mark_paid_manually(payment, staff)
        refunds.refund_by_staff(payment, staff, 1500, "Kulanz: ein Termin fiel aus")
        number = payment.credit_notes[-1].number

    page = new_page(width=320, height=640)
    log_in(page, resident)
    page.goto("/me/payments")
    link = page.get_by_role("link", name=number)
    expect(link.first).to_be_visible()
    axe_check(page)
    _fits_320(page)
    with page.expect_response(lambda r: "/credit-notes/" in r.url) as answer:
        page.evaluate("href => fetch(href)", link.first.get_attribute("href"))
    assert answer.value.status == 200
    assert answer.value.headers["content-type"].startswith("application/pdf")
