"""The card API: the patron's own card, the desk's cards; refusals as problem+json."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from library import rules
from library.models import CardState
from tests.library.patrons.conftest import PIN
from vhs.accounts.models import User
from vhs.config import DEFAULT_TIMEZONE
from vhs.db import db

CARDS = "/api/v1/staff/library/cards"


def local_today() -> date:
    """Today where the library is (the suite's VHS_TIMEZONE): a card's days are local days,
    so between 22:00/23:00 UTC and midnight this is already tomorrow's date."""
    return datetime.now(ZoneInfo(DEFAULT_TIMEZONE)).date()


def problem(resp, status, code=None):
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    if code:
        assert resp.json["code"] == code, resp.json
    return resp.json


def test_my_card_apply_read_and_change_the_pin(app, client, make_user, api_token, card_of_user):
    user = make_user()
    headers = api_token(user)
    problem(client.get("/api/v1/me/card", headers=headers), 404, "no_card")
    resp = client.post("/api/v1/me/card", json={"pin": "2580"}, headers=headers)
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert body["state"] == "applied" and body["borrow_refusal"] == "card_applied"
    assert len(body["number"]) == 13 and body["number"].startswith("58")
    assert "pin" not in str(body).lower().replace("pin_", "")  # never the PIN or its hash
    problem(
        client.post("/api/v1/me/card", json={"pin": "2580"}, headers=headers), 409, "card_exists"
    )
    mine = client.get("/api/v1/me/card", headers=headers).json
    assert mine["id"] == body["id"] and mine["fee"]["required"] is False

    resp = client.put(
        "/api/v1/me/card/pin", json={"current": "2580", "pin": "97531"}, headers=headers
    )
    assert resp.status_code == 204
    problem(
        client.put(
            "/api/v1/me/card/pin", json={"current": "2580", "pin": "86420"}, headers=headers
        ),
        422,
        "invalid",
    )
    assert card_of_user(user.id).state is CardState.APPLIED


def test_pin_refusals(client, make_user, api_token):
    headers = api_token(make_user())
    for pin in ("123", "123456789", "1111", "4321", "12a4", ""):
        body = problem(client.post("/api/v1/me/card", json={"pin": pin}, headers=headers), 422)
        assert "pin" in body["errors"], pin
    problem(client.post("/api/v1/me/card", json={"pin": "2580", "x": 1}, headers=headers), 422)


def test_an_unverified_address_cannot_apply(client, make_user, login):
    login(make_user(verified=False))
    resp = client.post(
        "/api/v1/me/card", json={"pin": "2580"}, headers={"X-CSRFToken": client.csrf()}
    )
    problem(resp, 403, "email_not_verified")


def test_the_card_says_why_it_cannot_borrow(app, client, make_user, make_card, api_token, settings):
    user = make_user()
    make_card(user, valid_until=local_today() - timedelta(days=1))
    headers = api_token(user)
    body = client.get("/api/v1/me/card", headers=headers).json
    assert (body["expired"], body["borrow_refusal"]) == (True, "card_expired")
    with settings(library_card_fee_cents=1500):
        body = client.get("/api/v1/me/card", headers=headers).json
        assert body["fee"] == {
            "required": True,
            "amount_cents": 1500,
            "currency": "EUR",
            "paid_until": None,
            "paid": False,
            "payable": False,  # expired: extend first
            "open_payment_id": None,
        }


def test_staff_issue_to_an_account_and_to_a_person_without_email(app, client, make_user, api_token):
    staff = api_token(make_user("staff"))
    patron = make_user(name="Api Leserin")
    resp = client.post(CARDS, json={"user_id": patron.id, "pin": "2580"}, headers=staff)
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert body["state"] == "active" and body["new_pin"] is None
    assert body["user"] == {"id": patron.id, "name": "Api Leserin", "email": patron.email}
    assert body["valid_until"] == rules.add_months(local_today(), 12).isoformat()
    problem(client.post(CARDS, json={"user_id": patron.id}, headers=staff), 409, "card_exists")
    problem(client.post(CARDS, json={"user_id": 99999}, headers=staff), 404)

    resp = client.post(
        CARDS,
        json={
            "name": "Ohne Mail",
            "street": "Am Markt 1",
            "postal_code": "58636",
            "city": "Iserlohn",
        },
        headers=staff,
    )
    assert resp.status_code == 201, resp.json
    person = resp.json
    assert person["user"]["email"] is None and rules.pin_problem(person["new_pin"]) is None
    got = client.get(f"{CARDS}/{person['id']}", headers=staff).json
    assert "new_pin" not in got or got["new_pin"] is None  # shown once
    with app.app_context():
        assert db.session.get(User, person["user"]["id"]).password_hash is None


def test_staff_issue_refusals(client, make_user, api_token):
    staff = api_token(make_user("staff"))
    patron = make_user()
    for body in (
        {},
        {"name": "Nur Name"},
        {"user_id": patron.id, "name": "Beides"},
        {"user_id": patron.id, "pin": "0000"},
        {"name": "x" * 121, "street": "s", "postal_code": "1", "city": "c"},
    ):
        problem(client.post(CARDS, json=body, headers=staff), 422)


def test_staff_list_and_search(client, make_user, make_card, api_token):
    staff = api_token(make_user("staff"))
    anna = make_user(name="Anna Api")
    card = make_card(anna)
    make_card(make_user(name="Bert Api"), state="applied")
    page = client.get(CARDS, headers=staff).json
    assert page["total"] == 2 and page["pages"] == 1
    found = client.get(CARDS, query_string={"q": card.number[2:9]}, headers=staff).json
    assert [c["id"] for c in found["items"]] == [card.id]
    applied = client.get(CARDS, query_string={"state": "applied"}, headers=staff).json
    assert [c["user"]["name"] for c in applied["items"]] == ["Bert Api"]
    problem(client.get(CARDS, query_string={"state": "lost"}, headers=staff), 422)


def test_staff_patch_confirm_block_unblock_validity_pin_fee(
    app, client, make_user, make_card, api_token, outbox, settings
):
    staff = api_token(make_user("staff"))
    resident = make_user(email="patch@example.org")
    card = make_card(resident, state="applied")
    url = f"{CARDS}/{card.id}"
    resp = client.patch(url, json={"state": "active"}, headers=staff)
    assert resp.status_code == 200 and resp.json["state"] == "active"
    assert [m.template for m in outbox("patch@example.org")] == ["library_card_confirmed"]
    problem(client.patch(url, json={"state": "active"}, headers=staff), 409, "card_active")
    problem(client.patch(url, json={"state": "blocked"}, headers=staff), 422)
    resp = client.patch(url, json={"state": "blocked", "blocked_reason": "verloren"}, headers=staff)
    assert resp.json["state"] == "blocked" and resp.json["blocked_reason"] == "verloren"
    assert resp.json["borrow_refusal"] == "card_blocked"
    problem(
        client.patch(url, json={"state": "blocked", "blocked_reason": "nochmal"}, headers=staff),
        409,
        "card_blocked",
    )
    resp = client.patch(url, json={"state": "active"}, headers=staff)
    assert resp.json["state"] == "active" and resp.json["blocked_reason"] == ""
    later = (local_today() + timedelta(days=500)).isoformat()
    assert (
        client.patch(url, json={"valid_until": later}, headers=staff).json["valid_until"] == later
    )
    problem(client.patch(url, json={"valid_until": "2000-01-01"}, headers=staff), 422)
    made_up = client.patch(url, json={"reset_pin": True}, headers=staff).json["new_pin"]
    assert rules.pin_problem(made_up) is None
    assert client.patch(url, json={"pin": "97531"}, headers=staff).json["new_pin"] is None
    problem(client.patch(url, json={"pin": "97531", "reset_pin": True}, headers=staff), 422)
    problem(client.patch(url, json={}, headers=staff), 422)
    problem(client.patch(url, json={"fee_paid": True}, headers=staff), 409, "nothing_to_pay")
    with settings(library_card_fee_cents=900):
        body = client.patch(url, json={"fee_paid": True}, headers=staff).json
        assert body["fee"]["paid"] is True and body["fee"]["paid_until"] == later
    problem(client.patch(f"{CARDS}/999999", json={"state": "active"}, headers=staff), 404)


def test_patch_is_one_transaction(client, make_user, make_card, api_token, card_of_user):
    """A refused part undoes the parts before it."""
    staff = api_token(make_user("staff"))
    patron = make_user()
    card = make_card(patron)
    resp = client.patch(
        f"{CARDS}/{card.id}",
        json={"state": "blocked", "blocked_reason": "verloren", "valid_until": "2000-01-01"},
        headers=staff,
    )
    problem(resp, 422)
    after = card_of_user(patron.id)
    assert (after.state, after.valid_until) == (CardState.ACTIVE, card.valid_until)


def test_residents_and_instructors_cannot_use_the_desk(client, make_user, make_card, api_token):
    card = make_card(make_user())
    for role in ("resident", "instructor"):
        headers = api_token(make_user(role))
        problem(client.get(CARDS, headers=headers), 403)
        problem(client.get(f"{CARDS}/{card.id}", headers=headers), 403)
        problem(
            client.patch(
                f"{CARDS}/{card.id}",
                json={"state": "blocked", "blocked_reason": "x"},
                headers=headers,
            ),
            403,
        )
        problem(
            client.post(
                CARDS,
                json={"name": "X", "street": "s", "postal_code": "1", "city": "c"},
                headers=headers,
            ),
            403,
        )
    problem(client.get(CARDS), 401)
    problem(client.get("/api/v1/me/card"), 401)


def test_my_card_is_only_ever_my_own(client, make_user, make_card, api_token):
    """There is no card id in the patron's URLs: another's card cannot be named."""
    victim = make_user(name="Vera Opfer")
    theirs = make_card(victim)
    me = make_user()
    headers = api_token(me)
    problem(client.get("/api/v1/me/card", headers=headers), 404, "no_card")
    resp = client.put("/api/v1/me/card/pin", json={"current": PIN, "pin": "97531"}, headers=headers)
    problem(resp, 404, "no_card")
    assert theirs.number not in resp.get_data(as_text=True)
