"""The account pages' API twins: erase one's account, change password and address, resend the
verification link — the same services and confirmations as the pages."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tests.conftest import PASSWORD
from vhs.accounts.models import Role
from vhs.audit import AuditEntry
from vhs.db import db


def _problem(resp: Any) -> tuple[int, str]:
    assert resp.mimetype == "application/problem+json", resp.get_data(as_text=True)
    return resp.status_code, resp.get_json().get("code", "")


# --- DELETE /api/v1/me ---------------------------------------------------------------------------


def test_erase_through_the_api_anonymises_and_locks_out(
    app, client, make_user, api_token, fetch_user
):
    user = make_user(email="weg@example.org", name="Dieter Schröder")
    headers = api_token(user)
    client.patch("/api/v1/me", json={"street": "Am Poth 3", "city": "Iserlohn"}, headers=headers)
    resp = client.delete(
        "/api/v1/me", json={"password": PASSWORD, "confirm": True}, headers=headers
    )
    assert resp.status_code == 204, resp.get_data(as_text=True)
    gone = fetch_user(user.id)
    assert gone.email is None and gone.password_hash is None
    assert gone.name == f"Gelöschtes Konto #{user.id}"
    assert (gone.street, gone.city) == ("", "")
    assert gone.erased_at is not None
    assert all(t.revoked_at is not None for t in gone.api_tokens)
    # The token used is dead, and the page's login does not know the address any more.
    assert _problem(client.get("/api/v1/me", headers=headers))[0] == 401
    login = client.submit("/account/login", {"email": "weg@example.org", "password": PASSWORD})
    assert login.status_code != 302
    with app.app_context():
        assert db.session.execute(
            sa.select(AuditEntry).where(AuditEntry.action == "user.erased")
        ).scalar_one()


def test_erase_through_the_api_with_the_browser_session_ends_it(
    client, make_user, login, fetch_user
):
    user = make_user()
    login(user)
    resp = client.delete(
        "/api/v1/me",
        json={"password": PASSWORD, "confirm": True},
        headers={"X-CSRFToken": client.csrf()},
    )
    assert resp.status_code == 204, resp.get_data(as_text=True)
    assert fetch_user(user.id).erased_at is not None
    assert _problem(client.get("/api/v1/me"))[0] == 401


def test_erase_refusals(client, make_user, api_token, fetch_user):
    user = make_user()
    headers = api_token(user)
    # The same confirmation as the page: the right password and an explicit yes.
    wrong = client.delete(
        "/api/v1/me", json={"password": "falsches-passwort", "confirm": True}, headers=headers
    )
    assert _problem(wrong)[0] == 422 and "password" in wrong.get_json()["errors"]
    for body in (
        {"password": PASSWORD},
        {"password": PASSWORD, "confirm": False},
        {"confirm": True},
        {"password": PASSWORD, "confirm": True, "role": "admin"},
    ):
        assert _problem(client.delete("/api/v1/me", json=body, headers=headers))[0] == 422, body
    assert _problem(client.delete("/api/v1/me", headers=headers))[0] in (400, 415, 422)
    assert _problem(client.delete("/api/v1/me", json={"password": PASSWORD, "confirm": True}))[
        0
    ] == (401)
    assert fetch_user(user.id).erased_at is None
    assert client.get("/api/v1/me", headers=headers).status_code == 200


def test_the_last_administrator_cannot_erase_their_account_through_the_api(
    client, make_user, api_token, fetch_user
):
    admin = make_user(Role.ADMIN)
    headers = api_token(admin)
    body = {"password": PASSWORD, "confirm": True}
    assert _problem(client.delete("/api/v1/me", json=body, headers=headers)) == (409, "last_admin")
    assert fetch_user(admin.id).erased_at is None
    make_user(Role.ADMIN)
    assert client.delete("/api/v1/me", json=body, headers=headers).status_code == 204


# --- PUT /api/v1/me/password ---------------------------------------------------------------------


def test_change_password_through_the_api(client, make_user, api_token, new_client, login, outbox):
    user = make_user()
    headers = api_token(user)
    browser = new_client()
    login(user, c=browser)
    new = "ein ganz neues Passwort"
    resp = client.put(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": new},
        headers=headers,
    )
    assert resp.status_code == 204, resp.get_data(as_text=True)
    # Other browser sessions end, the token goes on, the new password logs in, a mail tells.
    assert browser.get("/account").status_code == 302
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    login(user, password=new, c=new_client())
    assert any(m.template == "password_changed" for m in outbox(user.email))


def test_change_password_with_the_browser_session_keeps_it(client, make_user, login):
    user = make_user()
    login(user)
    resp = client.put(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "ein ganz neues Passwort"},
        headers={"X-CSRFToken": client.csrf()},
    )
    assert resp.status_code == 204, resp.get_data(as_text=True)
    assert client.get("/api/v1/me").status_code == 200


def test_change_password_refusals(client, make_user, api_token, login, new_client):
    user = make_user()
    headers = api_token(user)
    wrong = client.put(
        "/api/v1/me/password",
        json={"current_password": "falsch", "new_password": "ein ganz neues Passwort"},
        headers=headers,
    )
    assert _problem(wrong)[0] == 422 and "current_password" in wrong.get_json()["errors"]
    short = client.put(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "kurz"},
        headers=headers,
    )
    assert _problem(short)[0] == 422 and "new_password" in short.get_json()["errors"]
    missing = client.put("/api/v1/me/password", json={"new_password": "x" * 12}, headers=headers)
    assert _problem(missing)[0] == 422
    anonymous = client.put(
        "/api/v1/me/password", json={"current_password": PASSWORD, "new_password": "x" * 12}
    )
    assert _problem(anonymous)[0] == 401
    login(user, c=new_client())  # the old password still works


# --- POST /api/v1/me/email, POST /api/v1/me/verification -----------------------------------------


def test_change_email_through_the_api_mails_the_new_address(
    client, make_user, api_token, outbox, fetch_user
):
    user = make_user(email="alt@example.org")
    resp = client.post(
        "/api/v1/me/email",
        json={"new_email": "Neu@Example.org", "password": PASSWORD},
        headers=api_token(user),
    )
    assert resp.status_code == 202, resp.get_data(as_text=True)
    assert [m.template for m in outbox("neu@example.org")] == ["confirm_email_change"]
    assert fetch_user(user.id).email == "alt@example.org"  # until the link is opened


def test_change_email_refusals(client, make_user, api_token, outbox):
    user = make_user(email="alt@example.org")
    make_user(email="vergeben@example.org")
    headers = api_token(user)
    for body, field in (
        ({"new_email": "neu@example.org", "password": "falsch"}, "password"),
        ({"new_email": "alt@example.org", "password": PASSWORD}, "new_email"),
        ({"new_email": "vergeben@example.org", "password": PASSWORD}, "new_email"),
        ({"new_email": "keine-adresse", "password": PASSWORD}, "new_email"),
        ({"password": PASSWORD}, "new_email"),
    ):
        resp = client.post("/api/v1/me/email", json=body, headers=headers)
        assert _problem(resp)[0] == 422, body
        assert field in resp.get_json()["errors"], body
    anonymous = client.post(
        "/api/v1/me/email", json={"new_email": "neu@example.org", "password": PASSWORD}
    )
    assert _problem(anonymous)[0] == 401
    assert outbox("neu@example.org") == []


def test_resend_verification_through_the_api(client, make_user, api_token, outbox, login):
    # An unconfirmed account gets no API token yet, so it calls with its browser session.
    unverified = make_user(verified=False, email="offen@example.org")
    login(unverified)
    resp = client.post("/api/v1/me/verification", headers={"X-CSRFToken": client.csrf()})
    assert resp.status_code == 202, resp.get_data(as_text=True)
    client.post("/account/logout", data={"csrf_token": client.csrf()})
    assert [m.template for m in outbox("offen@example.org")] == ["verify_email"]
    verified = make_user(email="fertig@example.org")
    assert client.post("/api/v1/me/verification", headers=api_token(verified)).status_code == 202
    assert outbox("fertig@example.org") == []
    assert _problem(client.post("/api/v1/me/verification"))[0] == 401
