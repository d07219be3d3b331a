"""Library cards in a real browser: staff register a person without e-mail at the desk and
issue a card (the PIN shown once); that person logs in with card number and PIN on a 320 px
phone and changes the PIN; a resident applies online and staff confirm; staff block a card after
a confirmation page. axe-core on every page visited, and no page scrolls sideways on the phone."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.a11y import axe_check
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.live]

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth + 1"


def test_a_person_without_email_gets_a_card_at_the_desk_and_logs_in_with_it(
    new_page: Callable[..., Any], live_user: Callable[..., Any]
) -> None:
    desk = new_page(allow_http_errors={"/staff/library/cards/new/person"})  # the refused form
    log_in(desk, live_user("staff", name="Theke Thea"))
    desk.locator("header").get_by_role("link", name="Ausweise").click()
    desk.wait_for_url("**/staff/library/cards")
    axe_check(desk)
    desk.get_by_role("link", name="Ausweis ausstellen").click()
    desk.wait_for_url("**/staff/library/cards/new")
    axe_check(desk)
    desk.get_by_role("link", name="Person erfassen und Ausweis ausstellen").click()
    desk.wait_for_url("**/staff/library/cards/new/person")
    axe_check(desk)
    desk.locator("#name").fill("Olga Ohnemail")
    desk.locator("#pin").fill("1234")  # too easy to guess
    desk.locator("#pin_confirm").fill("1234")
    desk.get_by_role("button", name="Erfassen und Ausweis ausstellen").click()
    summary = desk.locator(".error-summary")
    assert "zu leicht zu erraten" in summary.inner_text()
    assert "Straße und Hausnummer" in summary.inner_text()
    axe_check(desk)
    desk.locator("#street").fill("Am Markt 1")
    desk.locator("#postal_code").fill("58636")
    desk.locator("#city").fill("Iserlohn")
    desk.locator("#pin").fill("")
    desk.locator("#pin_confirm").fill("")
    desk.get_by_role("button", name="Erfassen und Ausweis ausstellen").click()
    desk.wait_for_selector("strong.pin")
    pin = desk.locator("strong.pin").inner_text()
    number = re.search(r"Bibliotheksausweis (\d+)", desk.locator("h1").inner_text()).group(1)
    axe_check(desk)

    phone = new_page(width=320, height=640)
    phone.goto("/account/login")
    phone.get_by_role("link", name="Mit Ausweisnummer anmelden").click()
    phone.wait_for_url("**/login/card*")
    assert phone.evaluate(NO_SIDEWAYS_SCROLL)
    axe_check(phone)
    phone.locator("#number").fill(f"{number[:4]} {number[4:8]} {number[8:]}")
    phone.locator("#pin").fill(pin)
    phone.locator("main form button[type=submit]").click()
    phone.wait_for_url("**/me/library")
    main = phone.locator("main").inner_text()
    assert number in main and "Aktiv" in main
    assert phone.evaluate(NO_SIDEWAYS_SCROLL)
    axe_check(phone)
    phone.locator("#current").fill(pin)
    phone.locator("#new_pin").fill("97531")
    phone.locator("#new_pin_confirm").fill("97531")
    phone.get_by_role("button", name="PIN ändern").click()
    phone.wait_for_selector(".flash-success")
    assert "Ihre PIN wurde geändert" in phone.locator(".flashes").inner_text()
    axe_check(phone)


def test_a_resident_applies_staff_confirm_and_later_block(
    new_page: Callable[..., Any], live_user: Callable[..., Any], live_outbox: Callable[..., Any]
) -> None:
    resident = live_user(name="Rita Leserin")
    page = new_page(width=320, height=640)
    log_in(page, resident)
    page.locator("header").get_by_role("link", name="Mein Bibliotheksausweis").click()
    page.wait_for_url("**/me/library")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    axe_check(page)
    page.locator("#pin").fill("2580")
    page.locator("#pin_confirm").fill("2580")
    page.get_by_role("button", name="Bibliotheksausweis beantragen").click()
    page.wait_for_selector(".flash-success")
    assert "Beantragt" in page.locator("main").inner_text()
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    axe_check(page)

    desk = new_page()
    log_in(desk, live_user("staff", name="Theke Theo"))
    desk.goto("/staff/library/cards?state=applied")
    desk.get_by_role("link", name=re.compile(r"^\d+$")).first.click()
    desk.wait_for_url(re.compile(r"/staff/library/cards/\d+$"))
    assert "Rita Leserin" in desk.locator("main").inner_text()
    axe_check(desk)
    desk.get_by_role("button", name="Antrag bestätigen").click()
    desk.wait_for_selector(".flash-success")
    axe_check(desk)
    (mail,) = live_outbox(resident.email)
    assert mail.template == "library_card_confirmed"

    desk.get_by_role("link", name="Sperren …").click()
    desk.wait_for_url(re.compile(r"/block$"))
    axe_check(desk)
    desk.locator("#reason").fill("telefonisch als verloren gemeldet")
    desk.get_by_role("button", name="Jetzt sperren").click()
    desk.wait_for_selector(".flash-success")
    assert "Gesperrt" in desk.locator("main").inner_text()
    axe_check(desk)
