"""Logging in with card number and PIN: the web form and HTTP Basic (``patron_from_basic``),
limited exactly like the password login, and as slow for an unknown number as for a wrong PIN."""

from __future__ import annotations

import statistics
import time
from datetime import date, timedelta

import pytest
from argon2 import PasswordHasher

from library.patrons.auth import TooManyAttempts, patron_from_basic
from tests.library.conftest import PIN, card_number, text
from tests.library.patrons.test_desk import csrf


def card_login(new_client, number, pin, ip="10.40.0.1", **extra):
    browser = new_client(ip)
    return browser, browser.post(
        "/login/card" + extra.pop("query", ""),
        data={"number": number, "pin": pin, "csrf_token": csrf(browser), **extra},
    )


def basic(app, number, pin, ip="10.41.0.1"):
    with app.test_request_context(environ_base={"REMOTE_ADDR": ip}):
        return patron_from_basic(number, pin)


def test_the_right_pin_logs_the_cards_account_in(app, make_user, make_card, new_client):
    user = make_user(name="Karla Karte")
    card = make_card(user)
    spaced = f"{card.number[:4]} {card.number[4:8]}-{card.number[8:]}"  # as printed on a card
    browser, resp = card_login(new_client, spaced, PIN, query="?next=/me/payments")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/me/payments")
    assert "Karla Karte" in text(browser.get("/me/library"))


def test_a_foreign_next_is_not_followed(app, make_user, make_card, new_client):
    card = make_card(make_user())
    _b, resp = card_login(new_client, card.number, PIN, query="?next=https://evil.example/")
    assert resp.headers["Location"].endswith("/me/library")


@pytest.mark.parametrize("what", ["wrong pin", "unknown number", "malformed number", "no pin"])
def test_the_same_refusal_for_every_wrong_credential(app, make_user, make_card, new_client, what):
    card = make_card(make_user(), pin=None if what == "no pin" else PIN)
    number, pin = {
        "wrong pin": (card.number, "97531"),
        "unknown number": (card_number(), PIN),
        "malformed number": (card.number[:-1] + str((int(card.number[-1]) + 1) % 10), PIN),
        "no pin": (card.number, PIN),
    }[what]
    browser, resp = card_login(new_client, number, pin)
    assert resp.status_code == 401
    assert "Ausweisnummer oder PIN ist falsch." in text(resp)
    assert browser.get("/me/library").status_code == 302  # not logged in


def test_a_blocked_or_unconfirmed_card_cannot_log_in(app, make_user, make_card, new_client):
    blocked = make_card(make_user(), state="blocked", blocked_reason="verloren")
    _b, resp = card_login(new_client, blocked.number, PIN)
    assert resp.status_code == 401 and "gesperrt" in text(resp)
    applied = make_card(make_user(), state="applied")
    _b, resp = card_login(new_client, applied.number, PIN)
    assert resp.status_code == 401 and "noch nicht freigeschaltet" in text(resp)
    assert basic(app, blocked.number, PIN) is None
    assert basic(app, applied.number, PIN) is None


def test_an_expired_card_still_logs_in(app, make_user, make_card, new_client):
    card = make_card(make_user(), valid_until=date.today() - timedelta(days=10))
    browser, resp = card_login(new_client, card.number, PIN)
    assert resp.status_code == 302
    assert "Abgelaufen" in text(browser.get("/me/library"))


def test_basic_names_the_patron(app, make_user, make_card):
    user = make_user()
    card = make_card(user)
    assert basic(app, card.number, PIN).id == user.id
    assert basic(app, card.number, "97531") is None
    assert basic(app, card_number(), PIN) is None
    assert basic(app, "", "") is None


# --- brute force: five failures a minute per card number and per address ----------------------


def test_the_sixth_failure_from_one_address_is_refused(app, make_user, make_card, new_client):
    card = make_card(make_user())
    for _ in range(5):
        _b, resp = card_login(new_client, card_number(), "97531", ip="10.42.0.1")
        assert resp.status_code == 401
    _b, resp = card_login(new_client, card.number, PIN, ip="10.42.0.1")
    assert resp.status_code == 429 and "Retry-After" in resp.headers
    assert resp.mimetype == "text/html"
    _b, resp = card_login(new_client, card.number, PIN, ip="10.42.0.2")
    assert resp.status_code == 302  # another address is not affected


def test_the_sixth_failure_for_one_card_is_refused_from_any_address(
    app, make_user, make_card, new_client
):
    card = make_card(make_user())
    other = make_card(make_user())
    for i in range(5):
        _b, resp = card_login(new_client, card.number, "97531", ip=f"10.43.0.{i + 1}")
        assert resp.status_code == 401
    _b, resp = card_login(new_client, card.number, PIN, ip="10.43.0.9")
    assert resp.status_code == 429
    with pytest.raises(TooManyAttempts) as exc:
        basic(app, card.number, PIN, ip="10.43.0.10")  # Basic counts with the form
    assert exc.value.status == 429 and int(exc.value.headers["Retry-After"]) >= 1
    _b, resp = card_login(new_client, other.number, PIN, ip="10.43.0.11")
    assert resp.status_code == 302


def test_basic_failures_count_like_form_failures(app, make_user, make_card, new_client):
    card = make_card(make_user())
    for i in range(5):
        assert basic(app, card.number, "97531", ip=f"10.44.0.{i + 1}") is None
    _b, resp = card_login(new_client, card.number, PIN, ip="10.44.0.9")
    assert resp.status_code == 429


def test_successes_do_not_count(app, make_user, make_card, new_client):
    card = make_card(make_user())
    for _ in range(7):
        _b, resp = card_login(new_client, card.number, PIN, ip="10.45.0.1")
        assert resp.status_code == 302
    for _ in range(4):
        assert basic(app, card.number, "97531", ip="10.45.0.2") is None
    assert basic(app, card.number, PIN, ip="10.45.0.2") is not None


def test_wrong_proofs_when_changing_the_pin_count_too(app, client, login_as, make_card):
    user = login_as()
    card = make_card(user)
    for _ in range(5):
        resp = client.submit(
            "/me/library/pin", {"current": "0815", "new_pin": "97531", "new_pin_confirm": "97531"}
        )
        assert resp.status_code == 422
    resp = client.submit(
        "/me/library/pin", {"current": PIN, "new_pin": "97531", "new_pin_confirm": "97531"}
    )
    assert resp.status_code == 429
    with pytest.raises(TooManyAttempts):
        basic(app, card.number, PIN, ip="10.46.0.2")


# --- timing --------------------------------------------------------------------------------


@pytest.fixture
def verifications(monkeypatch):
    """Count argon2 verifications (each still runs: this watches, it does not replace)."""
    calls = []
    original = PasswordHasher.verify

    def counting(self, hash, password):
        calls.append(hash)
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    return calls


def test_every_attempt_verifies_exactly_one_hash(app, make_user, make_card, verifications):
    card = make_card(make_user())
    no_pin = make_card(make_user(), pin=None)
    for number, pin in (
        (card.number, PIN),
        (card.number, "97531"),
        (card_number(), PIN),
        ("12", PIN),
        (no_pin.number, PIN),
    ):
        verifications.clear()
        basic(app, number, pin, ip=f"10.47.0.{len(number)}")
        assert len(verifications) == 1, number


def test_an_unknown_number_takes_as_long_as_a_wrong_pin(app, make_user, make_card):
    """A loose bound on purpose (a shared machine): without the dummy hash an unknown number
    answers about a hundred times faster than a wrong PIN."""
    card = make_card(make_user())

    def median(number: str) -> float:
        times = []
        for i in range(5):
            start = time.perf_counter()
            basic(app, number, "97531", ip=f"10.48.{len(times)}.{i}")
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    wrong_pin, unknown = median(card.number), median(card_number())
    assert unknown > wrong_pin * 0.4, (unknown, wrong_pin)


@pytest.mark.parametrize("role", ["instructor", "staff", "admin"])
def test_accounts_that_see_others_data_log_in_to_the_web_with_their_password(
    app, make_user, make_card, new_client, role
):
    user = make_user(role)
    card = make_card(user)
    browser, resp = card_login(new_client, card.number, PIN)
    assert resp.status_code == 401 and "E-Mail-Adresse und Passwort" in text(resp)
    assert browser.get("/me/library").status_code == 302
    assert basic(app, card.number, PIN).id == user.id  # reading apps act for the patron only
