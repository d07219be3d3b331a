"""Stocking an item by upload in a real browser: staff create a bare draft, upload a file that
is not what its name says, take the title, author, keywords and cover over from the EPUB,
publish, and a resident on a 320 px phone finds the book by its author and sees its cover.
axe-core on every page, no sideways scrolling on the phone."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.browser.a11y import axe_check
from tests.browser.conftest import log_in
from tests.media.ingest import samples

pytestmark = [pytest.mark.browser, pytest.mark.live]

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth + 1"


def test_staff_stock_an_item_by_upload_and_a_resident_finds_it(
    new_page: Callable[..., Any], live_user: Callable[..., Any], tmp_path: Path
) -> None:
    broken = tmp_path / "kaputt.epub"
    broken.write_bytes(samples.epub()[:700])  # cut off: no archive directory
    book = tmp_path / "scan.pdf"  # an EPUB with a wrong name
    book.write_bytes(
        samples.epub(
            title="Der Schimmelreiter",
            author="Theodor Storm",
            book_isbn=samples.isbn("978315006112"),
            cover=samples.png(color="darkred"),
        )
    )

    page = new_page(allow_http_errors={re.compile(r"/staff/media/\d+/files")})
    log_in(page, live_user("staff", name="Bettina Bücherei"))
    page.goto("/staff/media/new")
    page.locator("#kind").select_option("ebook")
    page.locator("#title").fill("Neuzugang")
    page.get_by_role("button", name="Als Entwurf speichern").click()
    page.wait_for_url(re.compile(r"/staff/media/\d+/edit$"))
    item_id = re.search(r"/staff/media/(\d+)/edit$", page.url).group(1)

    page.get_by_role("link", name="Dateien und Titelbild hochladen, Metadaten übernehmen").click()
    page.wait_for_url(f"**/staff/media/{item_id}/files")
    assert "Dieses Medium hat noch keine Dateien." in page.locator("main").inner_text()
    axe_check(page)

    page.locator("#file").set_input_files(str(broken))
    page.get_by_role("button", name="Hochladen").click()
    summary = page.locator(".error-summary")
    summary.wait_for()
    assert summary.inner_text().strip()  # the reason, translated, linked to the field
    assert "Dieses Medium hat noch keine Dateien." in page.locator("main").inner_text()
    axe_check(page)

    page.locator("#file").set_input_files(str(book))
    page.get_by_role("button", name="Hochladen").click()
    page.wait_for_url(re.compile(rf"/staff/media/{item_id}/files/\d+/metadata$"))
    flashes = page.locator(".flashes").inner_text()
    assert "Als EPUB gespeichert." in flashes and "„.pdf“" in flashes
    main = page.locator("main").inner_text()
    assert "Der Schimmelreiter" in main and "Theodor Storm" in main
    axe_check(page)
    for name in ("title", "contributors", "subjects", "cover"):
        page.locator(f"#take-{name}").check()
    page.get_by_role("button", name="Gewählte Angaben übernehmen").click()
    page.wait_for_url(f"**/staff/media/{item_id}/files")
    assert "Aus der Datei übernommen" in page.locator(".flashes").inner_text()
    assert page.get_by_role("img", name="Cover von „Der Schimmelreiter“").is_visible()
    axe_check(page)

    page.goto(f"/staff/media/{item_id}/edit")
    page.get_by_role("button", name="Veröffentlichen").click()
    page.wait_for_selector(".flash-success")

    phone = new_page(width=320, height=640)
    phone.goto("/media")
    phone.locator("#q").fill("Storm")
    phone.get_by_role("button", name="Medien anzeigen").click()
    phone.wait_for_url("**/media?q=Storm*")
    assert "1 Medium gefunden" in phone.locator("main").inner_text()
    assert phone.evaluate(NO_SIDEWAYS_SCROLL)
    axe_check(phone)
    phone.get_by_role("link", name="Der Schimmelreiter").first.click()
    phone.wait_for_url(f"**/media/{item_id}")
    cover = phone.locator("main img").first
    assert cover.evaluate("img => img.complete && img.naturalWidth > 0")
    assert "Theodor Storm" in phone.locator("main").inner_text()
    assert phone.evaluate(NO_SIDEWAYS_SCROLL)
    axe_check(phone)
