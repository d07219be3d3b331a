"""Stocking and finding media in a real browser: staff describe and publish an item, a resident
finds it by search on a 320 px phone and opens it; withdrawn, it is gone. axe-core on every
page visited, and no page scrolls sideways on the phone."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.a11y import axe_check
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.live]

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth + 1"


def test_staff_stock_an_item_and_a_resident_finds_it(
    new_page: Callable[..., Any], live_user: Callable[..., Any]
) -> None:
    page = new_page(allow_http_errors={"/staff/media/new"})  # the refused form answers 422
    log_in(page, live_user("staff", name="Bettina Bücherei"))
    page.locator("header").get_by_role("link", name="Medienbestand").click()
    page.wait_for_url("**/staff/media")
    axe_check(page)
    page.get_by_role("link", name="Neues Medium").click()
    page.wait_for_url("**/staff/media/new")
    axe_check(page)

    page.locator("#kind").select_option("audiobook")
    page.locator("#title").fill("Sturmflut am Deich")
    page.locator("#contributors-0-name").fill("Anna Berg")
    page.locator("#contributors-1-name").fill("Jens Wawrczeck")
    page.locator("#contributors-1-role").select_option("narrator")
    page.locator("#series_title").fill("Deich-Krimis")
    page.locator("#series_number").fill("3")
    page.locator("#year").fill("2026")
    page.locator("#min_age").select_option("12")
    page.locator("#duration").fill("7:45")
    page.locator("#identifiers-0-value").fill("978-3-16-148410-1")  # a typo in the check digit
    page.locator("#subjects").fill("Krimi, Nordsee")
    page.locator("#description").fill("Eine Sturmflut, ein Toter am Deich.")
    page.get_by_role("button", name="Als Entwurf speichern").click()
    summary = page.locator(".error-summary")
    assert "Die Prüfziffer stimmt nicht" in summary.inner_text()
    axe_check(page)

    page.locator("#identifiers-0-value").fill("978-3-16-148410-0")
    page.get_by_role("button", name="Als Entwurf speichern").click()
    page.wait_for_url(re.compile(r"/staff/media/\d+/edit$"))
    item_path = re.search(r"/staff/media/(\d+)/edit$", page.url).group(1)
    assert "als Entwurf gespeichert" in page.locator(".flashes").inner_text()
    axe_check(page)
    page.get_by_role("button", name="Veröffentlichen").click()
    page.wait_for_selector(".flash-success")
    assert "steht jetzt im Katalog" in page.locator(".flashes").inner_text()
    axe_check(page)

    phone = new_page(width=320, height=640, allow_http_errors={f"/media/{item_path}"})
    phone.goto("/")
    phone.locator("header").get_by_role("link", name="Medien", exact=True).click()
    phone.wait_for_url("**/media")
    assert phone.evaluate(NO_SIDEWAYS_SCROLL)
    axe_check(phone)
    phone.locator("#q").fill("Krimis")
    phone.get_by_role("button", name="Medien anzeigen").click()
    phone.wait_for_url("**/media?q=Krimis*")
    assert "1 Medium gefunden" in phone.locator("main").inner_text()
    assert phone.evaluate(NO_SIDEWAYS_SCROLL)
    axe_check(phone)
    phone.get_by_role("link", name="Hörbuch").click()  # a facet: plain link, no script
    phone.wait_for_url("**kind=audiobook*")
    assert "1 Medium gefunden" in phone.locator("main").inner_text()
    phone.get_by_role("link", name="Sturmflut am Deich").click()
    phone.wait_for_url(f"**/media/{item_path}")
    main = phone.locator("main").inner_text()
    assert "Band 3 von Deich-Krimis" in main
    assert "Jens Wawrczeck" in main and "7 Std. 45 Min." in main and "Ab 12 Jahren" in main
    assert phone.evaluate(NO_SIDEWAYS_SCROLL)
    axe_check(phone)
    phone.get_by_role("link", name="Deich-Krimis").click()
    phone.wait_for_url("**/media?series=*")
    assert "Reihe: Deich-Krimis" in phone.locator("h1").inner_text()
    axe_check(phone)

    page.get_by_role("link", name="Zurückziehen …").click()
    page.wait_for_url(f"**/staff/media/{item_path}/withdraw")
    assert "verschwindet sofort aus dem Katalog" in page.locator("main").inner_text()
    axe_check(page)
    page.get_by_role("button", name="Jetzt zurückziehen").click()
    page.wait_for_url(f"**/staff/media/{item_path}/edit")
    assert "zurückgezogen" in page.locator(".flashes").inner_text()

    assert phone.goto(f"/media/{item_path}").status == 404
    phone.goto("/media?q=Krimis")
    assert "0 Medien gefunden" in phone.locator("main").inner_text()
    assert phone.evaluate(NO_SIDEWAYS_SCROLL)
    axe_check(phone)
