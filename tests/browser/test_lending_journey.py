"""Lending in a real browser (issue 12): patron A, on a 320 px phone, finds an audiobook with
one copy in the catalogue, borrows it for a period of her choice and sees it under "Meine
Ausleihen", listens to it and downloads it through its signed links; patron B reserves it (Vormerkung); A gives it back early through the confirmation
page; B's account shows the copy kept for him with its deadline (and he is mailed), and he
borrows it. axe-core on every page visited; the item and account pages do not scroll sideways
at 320 px."""

from __future__ import annotations

import hashlib
import io
import re
import secrets
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask

from library.models import CardState, LibraryCard, Licence
from media.catalogue.services import publish_item, save_item
from media.files.storage import file_key, get_storage
from media.models import FileFormat, MediaFile
from tests.browser.a11y import axe_check
from tests.browser.conftest import log_in
from tests.media.ingest import samples
from vhs.accounts.models import User
from vhs.db import db
from vhs.uow import unit_of_work

pytestmark = [pytest.mark.browser, pytest.mark.live]

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth + 1"
DEADLINE = re.compile(r"Für Sie zurückgelegt bis (\d{2}\.\d{2}\.\d{2}, \d{1,2}:\d{2})")


def _stock(live_app: Flask, staff: Any, word: str) -> tuple[int, str]:
    """An audiobook with an MP3, published through the catalogue's services (so search finds
    it), with a licence of one copy; (item id, title)."""
    title = f"Sturm über {word}"
    with live_app.app_context(), unit_of_work():
        actor = db.session.get(User, staff.id)
        item = save_item(
            actor,
            {
                "kind": "audiobook",
                "title": title,
                "contributors": [{"name": "Greta Lund", "role": "author"}],
                "subjects": ["Seefahrt"],
                "duration_seconds": 6 * 3600,
            },
        )
        data = samples.mp3_frames(3.0)
        sha256 = hashlib.sha256(data).hexdigest()
        get_storage().put(file_key(sha256), io.BytesIO(data), content_type="audio/mpeg")
        item.files.append(
            MediaFile(
                format=FileFormat.MP3, media_type="audio/mpeg", size_bytes=len(data), sha256=sha256
            )
        )
        publish_item(actor, item)
        db.session.add(
            Licence(item_id=item.id, concurrency=1, active_loans=0, reserved=0, max_loan_days=21)
        )
        db.session.flush()
        return item.id, title


def _give_card(live_app: Flask, user: Any) -> None:
    with live_app.app_context(), unit_of_work():
        db.session.add(
            LibraryCard(
                user_id=user.id,
                number=f"8{secrets.randbelow(10**12):012d}",
                state=CardState.ACTIVE,
                valid_until=date.today() + timedelta(days=365),
            )
        )


def _loan_row(page: Any, title: str) -> Any:
    """The item's entry in the "Ausleihen" list of the account page."""
    return page.locator("section[aria-labelledby=loans-h] li").filter(has_text=title)


def listen_and_download(page: Any, title: str) -> None:
    """Follow the loan's signed links from the account page: "Anhören" streams the MP3 in
    ranges (206, as a player seeks), "Herunterladen" hands it over as an attachment."""
    row = _loan_row(page, title)
    listen = row.get_by_role("link", name=re.compile("Anhören"))
    streamed = page.request.get(listen.get_attribute("href"), headers={"Range": "bytes=0-99"})
    assert streamed.status == 206 and streamed.headers["content-type"] == "audio/mpeg"
    assert streamed.headers["content-range"].startswith("bytes 0-99/")
    assert len(streamed.body()) == 100
    download = row.get_by_role("link", name=re.compile("Herunterladen"))
    fetched = page.request.get(download.get_attribute("href"))
    assert fetched.status == 200 and fetched.body()[:100] == streamed.body()
    assert fetched.headers["content-disposition"].startswith("attachment")
    assert fetched.headers["x-content-type-options"] == "nosniff"


def test_a_patron_borrows_returns_early_and_the_next_in_line_gets_the_copy(
    live_app: Flask,
    new_page: Callable[..., Any],
    live_user: Callable[..., Any],
    live_outbox: Callable[..., Any],
) -> None:
    word = f"Wattenmeer{secrets.token_hex(3)}"
    item_id, title = _stock(live_app, live_user("staff", name="Bettina Bücherei"), word)
    anna, ben = live_user(name="Anna Leserin"), live_user(name="Ben Hörer")
    _give_card(live_app, anna)
    _give_card(live_app, ben)

    # A finds the audiobook on her phone and borrows it for a period she chooses.
    a = new_page(width=320, height=640)
    log_in(a, anna)
    a.goto(f"/media?q={word}")
    axe_check(a)
    a.get_by_role("link", name=title).first.click()
    a.wait_for_url(f"**/media/{item_id}")
    assert a.evaluate(NO_SIDEWAYS_SCROLL)
    axe_check(a)
    a.get_by_role("link", name="Ausleihen oder vormerken").click()
    a.wait_for_url(f"**/library/media/{item_id}")
    assert "1 von 1 verfügbar" in a.locator("main").inner_text()
    assert a.evaluate(NO_SIDEWAYS_SCROLL)
    axe_check(a)
    periods = a.locator("#days option")
    chosen = next(v for v in periods.evaluate_all("os => os.map(o => o.value)") if v)
    a.locator("#days").select_option(chosen)
    a.get_by_role("button", name="Ausleihen", exact=True).click()
    a.wait_for_url("**/library/account")
    assert "ausgeliehen" in a.locator(".flashes").inner_text()
    assert _loan_row(a, title).is_visible()
    assert a.evaluate(NO_SIDEWAYS_SCROLL)
    axe_check(a)
    listen_and_download(a, title)

    # B finds every copy out and reserves it.
    b = new_page()
    log_in(b, ben)
    b.goto(f"/library/media/{item_id}")
    assert "0 von 1 verfügbar" in b.locator("main").inner_text()
    axe_check(b)
    b.get_by_role("button", name="Vormerken").click()
    b.wait_for_url("**/library/account")
    assert "Vorgemerkt" in b.locator(".flashes").inner_text()
    assert "Nummer 1 von 1 in der Warteschlange" in b.locator("main").inner_text()
    axe_check(b)

    # A gives it back early, after the confirmation page.
    a.goto("/library/account")
    a.get_by_role("link", name=f"„{title}“ zurückgeben …").click()
    a.wait_for_url(re.compile(r"/library/loans/\d+/return$"))
    assert "nächste wartende Person" in a.locator("main").inner_text()
    assert a.evaluate(NO_SIDEWAYS_SCROLL)
    axe_check(a)
    a.get_by_role("button", name="Jetzt zurückgeben").click()
    a.wait_for_url("**/library/account")
    assert "Zurückgegeben" in a.locator(".flashes").inner_text()
    assert _loan_row(a, title).count() == 0
    axe_check(a)

    # B's hold is ready at once, with its deadline, and he is told by mail.
    b.goto("/library/account")
    main = b.locator("main").inner_text()
    ready = DEADLINE.search(main)
    assert ready, main
    assert "library_hold_ready" in [m.template for m in live_outbox(ben.email)]
    axe_check(b)
    b.get_by_role("link", name="Jetzt ausleihen").click()
    b.wait_for_url(f"**/library/media/{item_id}")
    assert f"bis {ready.group(1)} für Sie bereit" in b.locator("main").inner_text()
    axe_check(b)
    b.get_by_role("button", name="Ausleihen", exact=True).click()
    b.wait_for_url("**/library/account")
    assert _loan_row(b, title).is_visible()
    assert "Warteschlange" not in b.locator("main").inner_text()
    axe_check(b)
