"""API authentication: session cookie or personal token; refusals are problem+json."""

from __future__ import annotations

import hashlib
import re

import sqlalchemy as sa

from tests.vhs.conftest import csrf_headers
from vhs.accounts.models import ApiToken
from vhs.db import db
from vhs.errors import PROBLEM_BASE


def assert_problem(resp, status, code):
    """An RFC 7807 document with every member the house promises."""
    assert resp.status_code == status
    assert resp.mimetype == "application/problem+json"
    body = resp.json
    assert body["type"] == PROBLEM_BASE + code
    assert body["status"] == status
    assert body["code"] == code
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert "Traceback" not in resp.text


def test_api_without_credentials_is_401_problem_json(client):
    assert_problem(client.get("/api/v1/me"), 401, "unauthorized")
    assert_problem(client.get("/api/v1/me/tokens"), 401, "unauthorized")
    assert_problem(client.get("/api/v1/me/export"), 401, "unauthorized")


def test_api_with_unknown_or_malformed_token_is_401(client):
    for header in ("Bearer vhs_not-a-real-token", "Bearer ", "Basic dXNlcjpwYXNz", "vhs_abc"):
        assert_problem(
            client.get("/api/v1/me", headers={"Authorization": header}), 401, "unauthorized"
        )


def test_token_works_and_is_stored_hashed(client, app, make_user, api_token):
    user = make_user()
    headers = api_token(user)
    resp = client.get("/api/v1/me", headers=headers)
    assert resp.status_code == 200
    assert resp.json["id"] == user.id
    assert resp.json["email"] == user.email
    assert resp.json["role"] == "resident"
    assert "password_hash" not in resp.json
    plaintext = headers["Authorization"].split()[1]
    with app.app_context():
        token = db.session.execute(
            sa.select(ApiToken).where(ApiToken.user_id == user.id)
        ).scalar_one()
        assert token.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
        assert plaintext not in (token.token_hash, token.prefix)
        assert token.last_used_at is not None


def test_token_only_counts_on_the_api(client, make_user, api_token):
    headers = api_token(make_user())
    resp = client.get("/account", headers=headers)
    assert resp.status_code == 302
    assert "/account/login" in resp.headers["Location"]


def test_revoked_token_is_401(client, make_user, api_token):
    user = make_user()
    headers = api_token(user)
    tokens = client.get("/api/v1/me/tokens", headers=headers)
    assert tokens.status_code == 200
    [token] = tokens.json
    assert "token" not in token and "token_hash" not in token
    resp = client.delete(f"/api/v1/me/tokens/{token['id']}", headers=headers)
    assert resp.status_code == 204
    assert_problem(client.get("/api/v1/me", headers=headers), 401, "unauthorized")


def test_token_revoked_on_the_account_page_is_401(client, app, make_user, api_token, login):
    user = make_user()
    headers = api_token(user)
    api = app.test_client()
    assert api.get("/api/v1/me", headers=headers).status_code == 200
    login(user)
    [token] = api.get("/api/v1/me/tokens", headers=headers).json
    resp = client.submit(f"/account/tokens/{token['id']}/revoke")
    assert resp.status_code == 302
    assert_problem(api.get("/api/v1/me", headers=headers), 401, "unauthorized")


def test_nobody_revokes_someone_elses_token(client, make_user, api_token):
    alice, bob = make_user(), make_user()
    alice_headers, bob_headers = api_token(alice), api_token(bob)
    [bob_token] = client.get("/api/v1/me/tokens", headers=bob_headers).json
    assert_problem(
        client.delete(f"/api/v1/me/tokens/{bob_token['id']}", headers=alice_headers),
        404,
        "not_found",
    )
    assert client.get("/api/v1/me", headers=bob_headers).status_code == 200


def test_token_created_on_the_account_page_is_shown_once_and_works(client, app, make_user, login):
    user = make_user()
    login(user)
    page = client.submit("/account/tokens", {"token_name": "Kalender-Skript"})
    assert page.status_code == 201
    match = re.search(r'<code class="token">(vhs_[^<]+)</code>', page.text)
    assert match
    resp = app.test_client().get(
        "/api/v1/me", headers={"Authorization": f"Bearer {match.group(1)}"}
    )
    assert resp.status_code == 200 and resp.json["id"] == user.id
    assert match.group(1) not in client.get("/account").text


def test_session_cookie_authenticates_the_api(client, make_user, login):
    user = make_user()
    login(user)
    resp = client.get("/api/v1/me")
    assert resp.status_code == 200 and resp.json["id"] == user.id
    resp = client.post("/api/v1/me/tokens", json={"name": "x"})
    assert_problem(resp, 400, "csrf_failed")
    resp = client.post("/api/v1/me/tokens", json={"name": "x"}, headers=csrf_headers(client))
    assert resp.status_code == 201


def test_validation_errors_carry_field_errors(client, make_user, api_token):
    headers = api_token(make_user())
    resp = client.post("/api/v1/me/tokens", json={}, headers=headers)
    assert_problem(resp, 422, "invalid")
    assert "name" in resp.json["errors"]
    resp = client.patch("/api/v1/me", json={"locale": "fr"}, headers=headers)
    assert_problem(resp, 422, "invalid")
    assert "locale" in resp.json["errors"]


def test_openapi_document_is_served(client):
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    spec = resp.json
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/me" in spec["paths"]
    assert "bearerAuth" in spec["components"]["securitySchemes"]
