"""Reading in the browser (issue 13), on a 320 px phone: a patron borrows an e-book, opens it
from "Meine Ausleihen" with "Im Browser lesen", turns two pages with the "Nächste Seite" button
and the arrow key, reloads, and the reader opens at the same place (the position was saved to
the loan); the table of contents jumps to a chapter. axe-core on the reader page, no sideways
scroll, and no console error (so no CSP refusal of epub.js)."""

from __future__ import annotations

import hashlib
import io
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from library.models import Licence
from media.catalogue.services import publish_item, save_item
from media.demo import files as epub_files
from media.files.storage import file_key, get_storage
from media.models import FileFormat, MediaFile
from tests.browser.a11y import axe_check
from tests.browser.conftest import log_in
from tests.library.seed import give_card
from vhs.accounts.models import User
from vhs.db import db
from vhs.uow import unit_of_work

pytestmark = [pytest.mark.browser, pytest.mark.live]

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth + 1"
WAIT_MS = 10_000


def _book(title: str) -> bytes:
    """A small EPUB 3 of three chapters, each a few pages long on a phone."""
    sentence = "Der Wind kam von Westen, und das Wasser stieg über die Buhnen am Deich. "
    chapters = [(f"Kapitel {n}", "\n\n".join(sentence * 6 for _ in range(8))) for n in (1, 2, 3)]
    book = epub_files.Book(
        title=title, creators=[("Jonna Leuchtfeuer", "aut")], language="de", chapters=chapters
    )
    return epub_files.ocf_zip(epub_files.epub_entries(book))


def _stock(live_app: Flask, staff: Any, title: str) -> int:
    """The e-book, published, with one copy; its id."""
    data = _book(title)
    sha256 = hashlib.sha256(data).hexdigest()
    with live_app.app_context(), unit_of_work():
        actor = db.session.get(User, staff.id)
        item = save_item(actor, {"kind": "ebook", "title": title, "subjects": ["Deichbau"]})
        get_storage().put(file_key(sha256), io.BytesIO(data), content_type="application/epub+zip")
        item.files.append(
            MediaFile(
                format=FileFormat.EPUB,
                media_type="application/epub+zip",
                size_bytes=len(data),
                sha256=sha256,
            )
        )
        publish_item(actor, item)
        db.session.add(
            Licence(item_id=item.id, concurrency=1, active_loans=0, reserved=0, max_loan_days=21)
        )
        db.session.flush()
        return item.id


def _location(page: Any) -> str:
    return page.locator("#reader").get_attribute("data-location") or ""


def _moved_from(page: Any, before: str) -> str:
    page.wait_for_function(
        "b => (document.getElementById('reader').dataset.location || '') !== b",
        arg=before,
        timeout=WAIT_MS,
    )
    return _location(page)


def test_a_patron_reads_two_pages_and_resumes_after_a_reload(
    live_app: Flask, new_page: Callable[..., Any], live_user: Callable[..., Any]
) -> None:
    title = f"Leuchtfeuer über Süderoog {secrets.token_hex(2)}"
    item_id = _stock(live_app, live_user("staff", name="Rieke Regal"), title)
    patron = live_user(name="Lene Leserin")
    give_card(live_app, patron)

    phone = new_page(width=320, height=640)
    log_in(phone, patron)
    phone.goto(f"/library/media/{item_id}")
    phone.get_by_role("button", name="Ausleihen", exact=True).click()
    phone.wait_for_url("**/library/account")
    phone.get_by_role("link", name=f"Im Browser lesen: {title}").click()
    phone.wait_for_url("**/library/loans/*/read/*")

    reader = phone.locator("#reader")
    phone.wait_for_function(
        "() => document.getElementById('reader').dataset.location", timeout=WAIT_MS
    )
    assert reader.get_attribute("aria-busy") == "false"
    first = _location(phone)
    status = phone.locator("#reader-location")
    assert "Seite 1 von" in status.inner_text()
    assert phone.locator("#reader-view iframe").get_attribute("title") == f"Text von „{title}“"

    phone.get_by_role("button", name="Nächste Seite").click()
    second = _moved_from(phone, first)
    phone.locator("#reader-view").focus()
    phone.keyboard.press("ArrowRight")
    third = _moved_from(phone, second)
    said = status.inner_text()
    assert "Seite 3 von" in said
    phone.wait_for_function(
        "() => { const d = document.getElementById('reader').dataset;"
        " return d.saved && d.saved === d.location; }",
        timeout=WAIT_MS,
    )
    assert phone.evaluate(NO_SIDEWAYS_SCROLL)
    axe_check(phone)

    phone.reload()
    phone.wait_for_function(
        "() => document.getElementById('reader').dataset.location", timeout=WAIT_MS
    )
    assert _location(phone) == third
    assert "Seite 3 von" in status.inner_text()

    # Back one page with the button, then the contents jump to the last chapter.
    phone.get_by_role("button", name="Vorherige Seite").click()
    assert _moved_from(phone, third) != third
    phone.get_by_text("Inhalt", exact=True).click()
    phone.get_by_role("button", name="Kapitel 3").click()
    phone.wait_for_function(
        "() => document.getElementById('reader-location').textContent.startsWith('Kapitel 3')",
        timeout=WAIT_MS,
    )
    assert phone.evaluate(NO_SIDEWAYS_SCROLL)
