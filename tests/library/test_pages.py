"""Staff pages of lending, and the catalogue's "available now" filter with its cache."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask

from media.catalogue import cache as media_cache
from tests.library.seed import give_card, item_with_licence
from vhs.db import utcnow


def text(resp) -> str:
    return resp.get_data(as_text=True)


@pytest.fixture
def staff_client(client, login, make_user):
    login(make_user("staff"))
    return client


def test_item_licences_page_adds_and_shows(app: Flask, staff_client) -> None:
    item_id, _ = item_with_licence(app, concurrency=None)
    url = f"/staff/library/items/{item_id}/licences"
    page = text(staff_client.get(url))
    assert "noch keine Lizenz" in page and 'name="concurrency"' in page
    resp = staff_client.submit(
        url,
        {
            "concurrency": "2",
            "checkouts_total": "26",
            "expires_at": (utcnow() + timedelta(days=20)).date().isoformat(),
            "max_loan_days": "14",
            "download_allowed": "y",
            "streaming_allowed": "y",
        },
    )
    assert resp.status_code == 302, text(resp)[:2000]
    page = text(staff_client.get(url))
    assert "26 / 0 / 26" in page and "läuft innerhalb von 30 Tagen ab" in page
    assert "Die Lizenz wurde hinzugefügt." in page


def test_item_licences_page_shows_refusals_next_to_the_fields(app: Flask, staff_client) -> None:
    item_id, _ = item_with_licence(app, concurrency=None)
    url = f"/staff/library/items/{item_id}/licences"
    resp = staff_client.submit(url, {"concurrency": "0", "max_loan_days": "21"})
    assert resp.status_code == 422
    assert 'aria-invalid="true"' in text(resp) and "error-summary" in text(resp)
    resp = staff_client.submit(
        url, {"concurrency": "1", "max_loan_days": "21", "expires_at": "2001-01-01"}
    )
    assert resp.status_code == 422 and "Vergangenheit" in text(resp)


def test_edit_licence_and_revoke(app: Flask, staff_client, make_user, api_token) -> None:
    item_id, licence_id = item_with_licence(app, concurrency=2)
    resident = make_user()
    give_card(app, resident)
    headers = api_token(resident)
    resp = app.test_client().post(f"/api/v1/media/{item_id}/loans", headers=headers)
    assert resp.status_code == 201, resp.json
    loan = resp.json
    url = f"/staff/library/licences/{licence_id}/edit"
    assert 'value="2"' in text(staff_client.get(url))
    resp = staff_client.submit(url, {"concurrency": "0", "max_loan_days": "21"})
    assert resp.status_code == 422
    resp = staff_client.submit(
        url,
        {"concurrency": "3", "max_loan_days": "14", "streaming_allowed": "y", "note": "Onleihe"},
    )
    assert resp.status_code == 302
    page = text(staff_client.get(f"/staff/library/items/{item_id}/licences"))
    assert "Onleihe" in page and f"#{loan['id']}" in page
    resp = staff_client.submit(f"/staff/library/loans/{loan['id']}/revoke")
    assert resp.status_code == 302
    assert "Derzeit hat niemand dieses Medium ausgeliehen." in text(
        staff_client.get(f"/staff/library/items/{item_id}/licences")
    )


def test_reports_and_links(app: Flask, staff_client) -> None:
    item_id, _ = item_with_licence(app, "Bald weg", expires_at=utcnow() + timedelta(days=3))
    assert "Bald weg" in text(staff_client.get("/staff/library/licences/expiring"))
    page = text(staff_client.get("/staff/library/reports/holds"))
    assert "Lange Vormerkungslisten" in page and "Derzeit wartet niemand" in page
    # The item's staff page links its licences; the navigation links lending.
    edit = text(staff_client.get(f"/staff/media/{item_id}/edit"))
    assert f"/staff/library/items/{item_id}/licences" in edit
    assert 'href="/staff/library/reports/holds"' in text(staff_client.get("/"))


def test_staff_pages_are_for_staff(app: Flask, client, login, make_user) -> None:
    item_id, _ = item_with_licence(app)
    login(make_user())
    assert client.get(f"/staff/library/items/{item_id}/licences").status_code == 403


# --- the catalogue's "available now" filter ------------------------------------------------------


@pytest.fixture
def cached(app: Flask) -> Iterator[None]:
    """Response caches on, and empty, for one test."""
    caches = (
        media_cache.pages,
        media_cache.api_pages,
        media_cache.available_pages,
        media_cache.available_api_pages,
    )
    app.config["RESPONSE_CACHE"] = True
    for cache in caches:
        cache.clear()
    try:
        yield
    finally:
        app.config.pop("RESPONSE_CACHE", None)
        for cache in caches:
            cache.clear()


def titles(resp) -> list[str]:
    return sorted(entry["title"] for entry in resp.json["items"])


def test_available_now_filter_follows_loans_without_dropping_other_pages(
    app: Flask, client, cached, make_user, api_token
) -> None:
    free_id, _ = item_with_licence(app, "Frei")
    item_with_licence(app, "Ohne Lizenz", concurrency=None)
    item_with_licence(app, "Abgelaufen", expires_at=utcnow() + timedelta(seconds=1))
    resident = make_user()
    give_card(app, resident)
    headers = api_token(resident)

    everything = client.get("/api/v1/media")
    assert len(everything.json["items"]) == 3
    assert titles(client.get("/api/v1/media?available=true")) in (["Abgelaufen", "Frei"], ["Frei"])
    hits = media_cache.api_pages.hits
    assert client.post(f"/api/v1/media/{free_id}/loans", headers=headers).status_code == 201
    # The loan shows at once in the filtered answer ...
    assert "Frei" not in titles(client.get("/api/v1/media?available=true"))
    # ... and the unfiltered catalogue answer is still served from its cache.
    again = client.get("/api/v1/media")
    assert media_cache.api_pages.hits == hits + 1
    assert again.get_data() == everything.get_data()

    page = text(client.get("/media?available=1"))
    assert (
        "Nur sofort verfügbare Medien" in page
        and "Frei" not in re.sub(r"<[^>]+>", " ", page).split("Ergebnisse")[-1]
    )


def test_available_now_on_the_page_has_a_removable_chip(app: Flask, client) -> None:
    item_with_licence(app, "Frei")
    page = text(client.get("/media?available=1"))
    assert "Sofort verfügbar" in page and 'href="/media"' in page
