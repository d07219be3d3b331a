"""Authentication for OPDS 1.0 (the document, 401s) and HTTP Basic with card number and PIN:
refusals, the shared rate limit, and the PIN fast path (argon2 skipped for a pair checked a
moment ago, invalidated at once by a new PIN, a blocked or an expired card)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from library.models import CardState, LibraryCard
from library.patrons import auth as patron_auth
from library.patrons import pin_cache
from tests.library.opds.conftest import basic
from vhs.accounts.services import hash_password
from vhs.db import db

AUTH = "application/vnd.opds.authentication.v1.0+json"


def test_the_document_is_public_and_complete(client):
    resp = client.get("/opds/auth")
    assert resp.status_code == 200 and resp.mimetype == AUTH
    doc = resp.get_json()
    assert doc["id"] == "http://localhost/opds/auth"
    assert doc["title"] == "Stadtbibliothek Iserlohn"
    assert isinstance(doc["description"], str)
    links = {link["rel"]: link for link in doc["links"]}
    logo = links["logo"]
    assert (logo["type"], logo["width"], logo["height"]) == ("image/png", 90, 90)
    assert client.get("/opds/logo.png").get_data()[:4] == b"\x89PNG"
    assert links["register"]["href"].endswith("/me/library")
    assert links["register"]["type"] == "text/html"
    assert links["http://librarysimplified.org/terms/rel/patron-password-reset"]["href"].endswith(
        "/me/library"
    )
    assert links["start"]["href"].endswith("/opds/")
    (flow,) = doc["authentication"]
    assert flow == {
        "type": "http://opds-spec.org/auth/basic",
        "labels": {"login": "Ausweisnummer", "password": "PIN"},
    }


@pytest.mark.parametrize("path", ["/opds/shelf", "/opds/v2/shelf", "/opds/works/1/borrow"])
def test_every_401_carries_the_document(client, path):
    resp = client.get(path)
    assert resp.status_code == 401
    assert resp.mimetype == AUTH
    assert resp.get_json()["authentication"][0]["type"] == "http://opds-spec.org/auth/basic"
    assert (
        resp.headers["WWW-Authenticate"]
        == 'Basic realm="Stadtbibliothek Iserlohn", charset="UTF-8"'
    )
    assert 'rel="http://opds-spec.org/auth/document"' in resp.headers["Link"]
    assert "Digest" not in resp.headers["WWW-Authenticate"]


def test_refusals(client, opds_patron):
    good = opds_patron()
    blocked = opds_patron(state="blocked", blocked_reason="verloren")
    applied = opds_patron(state="applied")
    env = {"REMOTE_ADDR": "10.61.0.1"}
    assert (
        client.get("/opds/shelf", headers=basic(good.number, "97531"), environ_base=env).status_code
        == 401
    )
    assert client.get("/opds/shelf", headers=blocked.auth, environ_base=env).status_code == 401
    assert client.get("/opds/shelf", headers=applied.auth, environ_base=env).status_code == 401
    digest = {"Authorization": 'Digest username="x", realm="y"'}
    assert client.get("/opds/shelf", headers=digest, environ_base=env).status_code == 401
    assert client.get("/opds/shelf", headers=good.auth, environ_base=env).status_code == 200


def test_an_expired_card_sees_its_shelf_but_cannot_borrow(client, opds_patron, stock):
    item_id = stock("Abgelaufen-Probe")
    patron = opds_patron(valid_until=date.today() - timedelta(days=2))
    assert client.get("/opds/shelf", headers=patron.auth).status_code == 200
    resp = client.get(f"/opds/works/{item_id}/borrow", headers=patron.auth)
    assert resp.status_code == 409
    assert resp.mimetype == "application/problem+json"
    assert resp.get_json()["code"] == "card_expired"


def test_the_rate_limit_counts_like_the_login(client, opds_patron):
    patron = opds_patron()
    env = {"REMOTE_ADDR": "10.62.0.1"}
    for _ in range(5):
        resp = client.get("/opds/shelf", headers=basic(patron.number, "97531"), environ_base=env)
        assert resp.status_code == 401
    resp = client.get("/opds/shelf", headers=patron.auth, environ_base={"REMOTE_ADDR": "10.62.0.2"})
    assert resp.status_code == 429
    assert resp.mimetype == "application/problem+json"
    assert resp.get_json()["code"] == "rate_limited"
    assert int(resp.headers["Retry-After"]) >= 1


# --- the fast path ----------------------------------------------------------------------------


@pytest.fixture
def argon2_calls(monkeypatch):
    """Count the argon2 verifications of the card login (the real function still runs)."""
    calls = []
    real = patron_auth.verify_secret

    def counting(stored, secret):
        calls.append(stored)
        return real(stored, secret)

    monkeypatch.setattr(patron_auth, "verify_secret", counting)
    return calls


def test_a_pair_checked_a_moment_ago_skips_argon2(client, opds_patron, argon2_calls):
    patron = opds_patron()
    env = {"REMOTE_ADDR": "10.63.0.1"}
    for _ in range(3):
        assert client.get("/opds/shelf", headers=patron.auth, environ_base=env).status_code == 200
    assert len(argon2_calls) == 1
    # A wrong PIN for the same number is never served from the cache.
    wrong = client.get("/opds/shelf", headers=basic(patron.number, "97531"), environ_base=env)
    assert wrong.status_code == 401 and len(argon2_calls) == 2


def test_a_new_pin_a_block_or_expiry_invalidate_at_once(app, client, opds_patron, argon2_calls):
    patron = opds_patron()
    env = {"REMOTE_ADDR": "10.64.0.1"}
    assert client.get("/opds/shelf", headers=patron.auth, environ_base=env).status_code == 200

    def change(**values):
        with app.app_context():
            db.session.execute(
                sa.update(LibraryCard).where(LibraryCard.number == patron.number).values(**values)
            )
            db.session.commit()

    change(pin_hash=hash_password("8642"))
    assert client.get("/opds/shelf", headers=patron.auth, environ_base=env).status_code == 401
    assert (
        client.get(
            "/opds/shelf", headers=basic(patron.number, "8642"), environ_base=env
        ).status_code
        == 200
    )
    change(state=CardState.BLOCKED)
    assert (
        client.get(
            "/opds/shelf", headers=basic(patron.number, "8642"), environ_base=env
        ).status_code
        == 401
    )
    change(state=CardState.ACTIVE, valid_until=date.today() - timedelta(days=1))
    calls = len(argon2_calls)
    assert (
        client.get(
            "/opds/shelf", headers=basic(patron.number, "8642"), environ_base=env
        ).status_code
        == 200
    )
    assert len(argon2_calls) == calls + 1  # an expired card always takes the full check


def test_the_cache_never_holds_the_pin_the_number_or_the_hash(app, client, opds_patron):
    store = pin_cache.MemoryStore()
    app.extensions["vhs_pin_store"] = store
    try:
        patron = opds_patron(pin="2580")
        assert client.get("/opds/shelf", headers=patron.auth).status_code == 200
        with app.app_context():
            pin_hash = db.session.scalar(
                sa.select(LibraryCard.pin_hash).where(LibraryCard.number == patron.number)
            )
        (key,) = store._data
        value = store._data[key][1]
        for secret in (patron.number, "2580", pin_hash):
            assert secret not in key and secret not in value
    finally:
        app.extensions.pop("vhs_pin_store", None)


def test_the_fast_path_can_be_switched_off(client, opds_patron, argon2_calls, settings_override):
    patron = opds_patron()
    with settings_override(opds_pin_cache_seconds=0):
        for _ in range(2):
            assert client.get("/opds/shelf", headers=patron.auth).status_code == 200
    assert len(argon2_calls) == 2


@pytest.fixture
def settings_override(app):
    from contextlib import contextmanager

    @contextmanager
    def _override(**values):
        current = app.config["VHS"]
        saved = {name: getattr(current, name) for name in values}
        for name, value in values.items():
            setattr(current, name, value)
        try:
            yield
        finally:
            for name, value in saved.items():
                setattr(current, name, value)

    return _override


def test_entries_live_only_their_lifetime():
    store = pin_cache.MemoryStore(maxsize=2)
    store.set("a", "1", ttl=0)
    assert store.get("a") is None
    store.set("b", "2", ttl=60)
    store.set("c", "3", ttl=60)
    store.set("d", "4", ttl=60)
    assert store.get("b") is None and store.get("d") == "4"  # the oldest went


@pytest.fixture(scope="module")
def redis_url():
    """A real Redis server on a free loopback port (Debian's redis-server)."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is needed (apt-get install redis-server; .ci/run installs it)"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.02)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=5)


def test_with_redis_every_worker_shares_the_entries(
    app, client, opds_patron, argon2_calls, redis_url
):
    first, second = pin_cache.RedisStore(redis_url), pin_cache.RedisStore(redis_url)
    patron = opds_patron()
    app.extensions["vhs_pin_store"] = first
    try:
        assert client.get("/opds/shelf", headers=patron.auth).status_code == 200
        app.extensions["vhs_pin_store"] = second  # another worker, the same Redis
        assert client.get("/opds/shelf", headers=patron.auth).status_code == 200
        assert len(argon2_calls) == 1
    finally:
        app.extensions.pop("vhs_pin_store", None)


def test_a_redis_that_is_down_only_costs_speed(app, client, opds_patron, argon2_calls):
    app.extensions["vhs_pin_store"] = pin_cache.RedisStore("redis://127.0.0.1:1/0")
    try:
        patron = opds_patron()
        for _ in range(2):
            assert client.get("/opds/shelf", headers=patron.auth).status_code == 200
        assert len(argon2_calls) == 2
    finally:
        app.extensions.pop("vhs_pin_store", None)
