"""Security headers on every answer, and cookies a script cannot read or send cross-site."""

from __future__ import annotations

from tests.conftest import PASSWORD
from vhs.config import Settings, flask_config


def csp(resp):
    """The Content-Security-Policy as {directive: sources}."""
    policy = {}
    for part in resp.headers["Content-Security-Policy"].split(";"):
        name, _, value = part.strip().partition(" ")
        policy[name] = value.split()
    return policy


def test_pages_api_and_errors_carry_security_headers(client):
    for resp in (
        client.get("/"),
        client.get("/account/login"),
        client.get("/api/v1/me"),
        client.get("/gibt-es-nicht"),
        client.get("/api/v1/openapi.json"),
    ):
        policy = csp(resp)
        assert policy["default-src"] == ["'self'"], resp.request.path
        assert policy["frame-ancestors"] == ["'self'"]
        assert "'unsafe-inline'" not in policy.get("script-src", [])
        assert policy["object-src"] == ["'none'"]
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["X-Frame-Options"] == "SAMEORIGIN"
        assert resp.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_account_pages_are_not_cached(client, make_user, login):
    login(make_user())
    assert "no-store" in client.get("/account").headers["Cache-Control"]
    assert "no-store" in client.get("/api/v1/me").headers["Cache-Control"]


def set_cookie_headers(resp, name):
    return [h for h in resp.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]


def test_session_and_remember_cookies_are_httponly_and_lax(client, make_user):
    user = make_user()
    resp = client.submit(
        "/account/login", {"email": user.email, "password": PASSWORD, "remember": "y"}
    )
    assert resp.status_code == 302
    for name in ("session", "remember_token"):
        [header] = set_cookie_headers(resp, name)
        attrs = {a.strip().split("=")[0].lower(): a for a in header.split(";")[1:]}
        assert "httponly" in attrs, header
        assert attrs["samesite"].strip().lower() == "samesite=lax", header
        assert "secure" not in attrs  # plain http in development and tests


def test_production_cookies_are_secure():
    settings = Settings(
        env="production",
        secret_key="s" * 40,
        database_url="postgresql+psycopg://vhs@db/vhs",
        public_base_url="https://vhs.example",
    )
    settings.validate()
    cfg = flask_config(settings, "/tmp")
    assert cfg["SESSION_COOKIE_SECURE"] and cfg["REMEMBER_COOKIE_SECURE"]
    assert cfg["SESSION_COOKIE_HTTPONLY"] and cfg["REMEMBER_COOKIE_HTTPONLY"]
    assert cfg["SESSION_COOKIE_SAMESITE"] == cfg["REMEMBER_COOKIE_SAMESITE"] == "Lax"
    assert not flask_config(Settings(), "/tmp")["SESSION_COOKIE_SECURE"]
