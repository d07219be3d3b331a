"""Error pages: friendly HTML in German or English, problem+json on the API, no tracebacks."""

from __future__ import annotations

import pytest

from tests.vhs.conftest import shows, tr


def assert_friendly_page(resp, status, lang):
    """The site's own layout, in ``lang``, with nothing internal showing."""
    assert resp.status_code == status
    assert resp.mimetype == "text/html"
    text = resp.get_data(as_text=True)
    assert f'<html lang="{lang}">' in text
    assert 'id="main"' in text and "site-header" in text and "site-footer" in text
    assert f"{status} · " in text
    assert "Traceback" not in text and 'File "' not in text


def test_unknown_page_is_a_german_404_by_default(client, app):
    resp = client.get("/gibt-es-nicht")
    assert_friendly_page(resp, 404, "de")
    assert shows(resp, tr(app, "We could not find what you were looking for.", "de"))


def test_unknown_page_in_english_with_accept_language(client, app):
    resp = client.get("/does-not-exist", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert_friendly_page(resp, 404, "en")
    assert shows(resp, "We could not find what you were looking for.")


def test_language_switch_sticks_for_error_pages(client):
    client.submit("/language", {"lang": "en"})
    assert_friendly_page(client.get("/nope"), 404, "en")


def test_json_clients_get_problem_json_outside_the_api(client):
    resp = client.get("/gibt-es-nicht", headers={"Accept": "application/json"})
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"


def test_api_404_is_problem_json(client):
    resp = client.get("/api/v1/gibt-es-nicht")
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"
    body = resp.json
    assert body["status"] == 404 and body["code"] == "not_found"
    assert body["type"].endswith("/not_found")
    assert body["title"] and body["detail"]


def test_api_405_keeps_the_allow_header(client, make_user, api_token):
    headers = api_token(make_user())
    # PUT: /api/v1/me answers GET, PATCH and DELETE (erasing one's account).
    for resp in (client.put("/api/v1/me"), client.put("/api/v1/me", headers=headers)):
        assert resp.status_code == 405
        assert resp.mimetype == "application/problem+json"
        assert resp.json["code"] == "method_not_allowed"
        allowed = {m.strip() for m in resp.headers["Allow"].split(",")}
        assert {"GET", "PATCH", "DELETE"} <= allowed
        assert "PUT" not in allowed


def test_unknown_address_is_404_even_without_csrf_token(client):
    resp = client.post("/api/v1/gibt-es-nicht", json={})
    assert resp.status_code == 404
    assert client.post("/gibt-es-nicht").status_code == 404


def test_html_405_keeps_the_allow_header(client):
    resp = client.post("/privacy")
    assert resp.status_code == 405
    assert resp.mimetype == "text/html"
    assert "GET" in resp.headers["Allow"]


def test_403_page_is_friendly(client, make_user, login):
    login(make_user())
    assert_friendly_page(client.get("/admin/users"), 403, "de")


def test_csrf_400_page_is_friendly(client):
    resp = client.post("/account/login", data={"email": "a@example.org", "password": "x"})
    assert_friendly_page(resp, 400, "de")


@pytest.fixture
def broken_view(app, monkeypatch):
    """Make one HTML view and one API view crash with a secret in the message."""
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)

    def boom(*args, **kwargs):
        raise RuntimeError("geheimes-detail-1234 in /srv/vhs/app.py")

    monkeypatch.setitem(app.view_functions, "main.privacy", boom)
    monkeypatch.setitem(app.view_functions, "accounts_api.Me", boom)


def test_500_page_shows_no_internals(client, broken_view, caplog):
    resp = client.get("/privacy")
    assert_friendly_page(resp, 500, "de")
    assert "geheimes-detail" not in resp.text and "RuntimeError" not in resp.text
    assert "geheimes-detail-1234" in caplog.text  # ... but operators see it in the log


def test_api_500_is_problem_json_without_internals(client, broken_view, make_user, api_token):
    resp = client.get("/api/v1/me", headers=api_token(make_user()))
    assert resp.status_code == 500
    assert resp.mimetype == "application/problem+json"
    assert resp.json["code"] == "internal_error"
    assert "geheimes-detail" not in resp.text and "RuntimeError" not in resp.text
