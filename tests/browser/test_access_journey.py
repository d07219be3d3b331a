"""Downloads and streaming in a real browser, on a 320 px phone: the account page lists the
files of a loan ("Anhören", "Herunterladen"), the audio plays from its signed link, a returned
loan's old link shows "Diese Ausleihe ist beendet" with the way on; staff look a watermark up.
axe-core on every page, and no page scrolls sideways on the phone."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask

from tests.browser.a11y import axe_check
from tests.browser.conftest import log_in
from tests.library.seed import give_card
from tests.media.ingest import samples

pytestmark = [pytest.mark.browser, pytest.mark.live]

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth + 1"


def _lent_audiobook(live_app: Flask, user: Any) -> tuple[int, int]:
    """An audiobook with an MP3 the patron has borrowed: (item id, loan id)."""
    from library.circulation.services import borrow
    from library.models import Licence
    from media.files.storage import file_key, get_storage
    from media.models import FileFormat, MediaFile, MediaItem, MediaKind, PublicationState
    from vhs.accounts.models import User
    from vhs.db import db, utcnow
    from vhs.uow import unit_of_work

    give_card(live_app, user)
    data = samples.mp3_frames(3.0)
    sha256 = hashlib.sha256(data).hexdigest()
    with live_app.app_context(), unit_of_work():
        get_storage().put(file_key(sha256), io.BytesIO(data), content_type="audio/mpeg")
        item = MediaItem(
            kind=MediaKind.AUDIOBOOK,
            title="Ein sehr langer Hörbuchtitel über die Sturmflut an der Nordseeküste",
            state=PublicationState.PUBLISHED,
            published_at=utcnow(),
        )
        item.files.append(
            MediaFile(
                format=FileFormat.MP3, media_type="audio/mpeg", size_bytes=len(data), sha256=sha256
            )
        )
        db.session.add(item)
        db.session.flush()
        db.session.add(
            Licence(item_id=item.id, concurrency=1, active_loans=0, reserved=0, max_loan_days=21)
        )
        db.session.flush()
        loan = borrow(db.session.get(User, user.id), item.id)
        return item.id, loan.id


def test_a_patron_listens_returns_and_meets_the_ended_page(
    new_page: Callable[..., Any], live_user: Callable[..., Any], live_app: Flask
) -> None:
    patron = live_user(name="Hanna Hörerin")
    item_id, _loan_id = _lent_audiobook(live_app, patron)
    phone = new_page(width=320, height=640)
    log_in(phone, patron)
    phone.goto("/library/account")
    assert phone.evaluate(NO_SIDEWAYS_SCROLL)
    axe_check(phone)
    listen = phone.get_by_role("link", name="Anhören")
    assert phone.get_by_role("link", name="Herunterladen").count() == 1
    href = listen.get_attribute("href")
    listened = phone.request.get(href, headers={"Range": "bytes=0-99"})
    assert listened.status == 206 and listened.headers["content-type"] == "audio/mpeg"

    phone.get_by_role("link", name="Zurückgeben …").click()
    phone.get_by_role("button", name="Jetzt zurückgeben").click()
    phone.wait_for_url("**/library/account")

    gone = new_page(width=320, height=640, allow_http_errors={urlsplit(href).path})  # the 410
    gone.goto(href)
    assert gone.locator("h1").inner_text() == "Diese Ausleihe ist beendet."
    assert (
        gone.get_by_role("link", name="Erneut ausleihen oder vormerken").get_attribute("href")
        == f"/library/media/{item_id}"
    )
    assert gone.evaluate(NO_SIDEWAYS_SCROLL)
    axe_check(gone)


def test_staff_look_a_watermark_up(
    new_page: Callable[..., Any], live_user: Callable[..., Any]
) -> None:
    desk = new_page(allow_http_errors={"/staff/library/watermarks"})  # the unknown code: 404
    log_in(desk, live_user("staff", name="Theke Thea"))
    desk.locator("header").get_by_role("link", name="Wasserzeichen").click()
    desk.wait_for_url("**/staff/library/watermarks")
    axe_check(desk)
    desk.locator("#code").fill("W-0000-0000")
    desk.get_by_role("button", name="Nachschlagen").click()
    assert "Kein Download trägt diesen Wasserzeichen-Code" in desk.locator("main").inner_text()
    axe_check(desk)
