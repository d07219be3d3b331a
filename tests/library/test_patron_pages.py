"""Patron pages: an item's lending page, borrowing and reserving there, "Mein Konto"."""

from __future__ import annotations

import re

from flask import Flask

from tests.library.seed import give_card, item_with_licence


def text(resp) -> str:
    return resp.get_data(as_text=True)


def test_item_page_links_lending(app: Flask, client) -> None:
    item_id, _ = item_with_licence(app)
    assert f'href="/library/media/{item_id}"' in text(client.get(f"/media/{item_id}"))
    page = text(client.get(f"/library/media/{item_id}"))
    assert "1 von 1 verfügbar" in page and "Anmelden" in page


def test_borrow_return_and_reserve_through_the_pages(app: Flask, client, login, make_user) -> None:
    item_id, _ = item_with_licence(app)
    first, second = make_user(), make_user()
    for user in (first, second):
        give_card(app, user)
    login(first)
    page = text(client.get(f"/library/media/{item_id}"))
    assert 'name="days"' in page and "21 Tage" in page
    resp = client.submit(f"/library/media/{item_id}/loans", {"days": "7"})
    assert resp.status_code == 302 and resp.location.endswith("/library/account")
    account = text(client.get("/library/account"))
    assert "Tod am Deich" in account and "Zurückgeben" in account
    loan_id = int(re.search(r"/library/loans/(\d+)/return", account).group(1))
    assert client.submit(f"/library/loans/{loan_id}/renew").status_code == 302

    client.post("/account/logout", data={"csrf_token": client.csrf()})
    login(second)
    page = text(client.get(f"/library/media/{item_id}"))
    assert "0 von 1 verfügbar" in page and "Vormerken" in page
    assert client.submit(f"/library/media/{item_id}/holds").status_code == 302
    account = text(client.get("/library/account"))
    assert "Nummer 1 von 1" in account

    client.post("/account/logout", data={"csrf_token": client.csrf()})
    login(first)
    confirm = client.get(f"/library/loans/{loan_id}/return")
    assert confirm.status_code == 200 and "nächste wartende Person" in text(confirm)
    assert client.submit(f"/library/loans/{loan_id}/return").status_code == 302
    assert "nichts ausgeliehen" in text(client.get("/library/account"))

    client.post("/account/logout", data={"csrf_token": client.csrf()})
    login(second)
    account = text(client.get("/library/account"))
    assert "Für Sie zurückgelegt bis" in account
    hold_id = int(re.search(r"/library/holds/(\d+)/cancel", account).group(1))
    assert client.submit(f"/library/holds/{hold_id}/cancel").status_code == 302


def test_refusals_on_pages_are_error_pages(app: Flask, client, login, make_user) -> None:
    item_id, _ = item_with_licence(app)
    login(make_user())  # no card
    resp = client.submit(f"/library/media/{item_id}/loans", {"days": "7"})
    assert resp.status_code == 409 and "Bibliotheksausweis" in text(resp)
    resp = client.submit(f"/library/media/{item_id}/loans", {"days": "9"})
    assert resp.status_code == 422
