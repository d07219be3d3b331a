"""ODL distributors in a real browser (issue 13): a staff member reaches the distributors from
the lending desk, adds one pointing at the stand-in distributor (a real HTTP server) after the
error summary refused a bad feed address, syncs it and finds the imported title and its
licence, changes it (the error summary again, focused and linking to the field), and deletes it
through the confirmation page. Once at 320 px, once at desktop width; axe-core on every page
visited, and no page scrolls sideways.

Each run has its own stand-in, its own title and its own feed address, so the shared live
server's other journeys (and the other run) never see them."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.browser.a11y import axe_check
from tests.browser.conftest import log_in
from tests.library.odl_standin import OdlStandin, StandinLicence, StandinPublication

pytestmark = [pytest.mark.browser, pytest.mark.live]

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth + 1"
FOCUSED_SUMMARY = "document.activeElement?.classList.contains('error-summary') ?? false"
LIST = "/staff/library/distributors"
# The refused forms answer 422; the list and the edit page are where they are posted.
REFUSED = {LIST, re.compile(r"/staff/library/distributors/\d+/edit")}

# One word per run that no other journey uses, in the title the catalogue search finds.
# A feed address as distributors hand them out: one long word, with the library's access key.
ACCESS_KEY = "zugang=8f3c2a9d71e04b6c5a2f9e1d7b3c8a4f6e2d9c1b7a5f3e8d"

RUNS = {"phone": (320, 640, "Quendelhain"), "desktop": (1280, 800, "Wisperwacholder")}


@pytest.fixture
def standin() -> Iterator[OdlStandin]:
    """A stand-in distributor of this run's own (starting one takes milliseconds)."""
    server = OdlStandin().start()
    yield server
    server.stop()


def _looks_right(page: Any) -> None:
    """What every page of the journey must be: axe clean and not wider than the screen."""
    assert page.evaluate(NO_SIDEWAYS_SCROLL), f"{page.url} scrolls sideways"
    axe_check(page)


def _card(page: Any, name: str) -> Any:
    """The distributor's card on the list, found by its heading."""
    return page.locator("li.card").filter(has=page.get_by_role("heading", name=name, exact=True))


def _for(action: str, name: str) -> re.Pattern[str]:
    """An action's accessible name on a card: the verb, then (visually hidden) whose card it is,
    so a screen reader's list of buttons tells the distributors apart."""
    return re.compile(rf"^{action}\s*:\s*{re.escape(name)}$")


@pytest.mark.parametrize("run", sorted(RUNS))
def test_staff_add_sync_edit_and_delete_a_distributor(
    run: str,
    new_page: Callable[..., Any],
    live_user: Callable[..., Any],
    standin: OdlStandin,
) -> None:
    width, height, word = RUNS[run]
    title = f"Nebelhorn über {word}"
    name = f"Vertrieb {word}"
    standin.add(
        StandinPublication(
            id=f"urn:uuid:journey-{word.lower()}",
            title=title,
            author=f"Greta {word}",
            # Not the stand-in's default "Krimi": other journeys count their search hits.
            subjects=(f"Sagen aus {word}",),
            licences=[StandinLicence(id=f"lic-{word.lower()}", concurrency=2, checkouts_total=9)],
        )
    )
    feed = f"{standin.feed_url}?fuer={word}&{ACCESS_KEY}"
    page = new_page(width=width, height=height, allow_http_errors=REFUSED)
    log_in(page, live_user("staff", name=f"Theke {word}"))

    # From the lending desk to the distributors.
    page.locator("header").get_by_role("link", name="Ausleihe", exact=True).click()
    page.wait_for_url("**/staff/library/reports/holds")
    page.locator("main").get_by_role("link", name="E-Book-Anbieter").click()
    page.wait_for_url(f"**{LIST}")
    _looks_right(page)

    # A feed that is no web address is refused with the summary, which takes the focus.
    page.locator("#name").fill(name)
    page.locator("#feed_url").fill("ftp://nicht-erlaubt.example")
    page.get_by_role("button", name="Anbieter hinzufügen").click()
    summary = page.locator(".error-summary")
    assert "beginnend mit https://" in summary.inner_text()
    assert page.evaluate(FOCUSED_SUMMARY)
    assert page.locator("#feed_url").get_attribute("aria-invalid") == "true"
    _looks_right(page)
    page.locator("#feed_url").fill(feed)
    page.locator("#username").fill(f"bib-{word.lower()}")
    page.get_by_role("button", name="Anbieter hinzufügen").click()
    page.wait_for_selector(".flash-success")
    card = _card(page, name)
    assert "Noch nicht abgeglichen" in card.inner_text()
    _looks_right(page)

    # Sync now: the list tells the outcome; the title is in the catalogue, with its licence.
    card.get_by_role("button", name=_for("Jetzt abgleichen", name)).click()
    page.wait_for_selector(".flash-success")
    card = _card(page, name)
    assert "erfolgreich" in card.inner_text()
    assert re.search(r"1 neue.*1 Lizenzen? hinzugefügt", card.inner_text()), card.inner_text()
    _looks_right(page)
    page.goto(f"/media?q={word}")
    page.get_by_role("link", name=title).first.click()
    page.wait_for_url(re.compile(r"/media/\d+$"))
    assert f"Greta {word}" in page.locator("main").inner_text()
    _looks_right(page)
    item_id = int(page.url.rsplit("/", 1)[1])
    page.goto(f"/staff/library/items/{item_id}/licences")
    row = page.locator("section[aria-labelledby=licences-h] tbody tr")
    assert row.count() == 1
    assert "9 / 0 / 9" in row.inner_text()
    _looks_right(page)

    # Edit: a bad address is refused (focused summary, its link leads to the field), then saved.
    page.goto(LIST)
    _card(page, name).get_by_role("link", name=_for("Bearbeiten", name)).click()
    page.wait_for_url(re.compile(r"/edit$"))
    assert page.locator("#username").input_value() == f"bib-{word.lower()}"
    _looks_right(page)
    page.locator("#feed_url").fill("kein Feed")
    page.get_by_role("button", name="Speichern").click()
    summary = page.locator(".error-summary")
    assert "beginnend mit https://" in summary.inner_text()
    assert page.evaluate(FOCUSED_SUMMARY)
    _looks_right(page)
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "feed_url"
    page.locator("#feed_url").fill(feed)
    page.locator("#name").fill(f"{name} (neu)")
    page.get_by_role("button", name="Speichern").click()
    page.wait_for_selector(".flash-success")
    name = f"{name} (neu)"
    assert _card(page, name).count() == 1
    _looks_right(page)

    # Delete through the confirmation page; going back keeps it, confirming removes it.
    _card(page, name).get_by_role("link", name=_for("Löschen", name)).click()
    page.wait_for_url(re.compile(r"/delete$"))
    _looks_right(page)
    page.get_by_role("link", name="Zurück zu den Anbietern").click()
    page.wait_for_url(f"**{LIST}")
    _card(page, name).get_by_role("link", name=_for("Löschen", name)).click()
    page.wait_for_url(re.compile(r"/delete$"))
    page.get_by_role("button", name="Anbieter löschen").click()
    page.wait_for_selector(".flash-success")
    assert f"Der Anbieter „{name}“ wurde gelöscht" in page.locator(".flashes").inner_text()
    assert _card(page, name).count() == 0
    _looks_right(page)
