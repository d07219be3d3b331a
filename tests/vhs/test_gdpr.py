"""GDPR: "download my data" and "delete my account" (anonymised, never again usable)."""

from __future__ import annotations

import json

import sqlalchemy as sa

from tests.conftest import PASSWORD
from tests.vhs.conftest import shows, tr
from vhs.accounts.models import ApiToken, Role
from vhs.audit import AuditEntry
from vhs.db import db
from vhs.mail.models import OutboxMessage


def test_export_contains_the_account_section(client, make_user, login, outbox):
    user = make_user(name="Renate Köhler", email="renate@example.org")
    login(user)
    client.submit("/account/forgot", {"email": user.email})  # something in the mail section
    client.submit("/account/tokens", {"token_name": "Skript"})
    resp = client.get("/account/export")
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    assert "attachment" in resp.headers["Content-Disposition"]
    assert "Renate Köhler" in resp.get_data(as_text=True)  # UTF-8, not \u escapes
    data = json.loads(resp.get_data(as_text=True))
    account = data["account"]
    assert account["id"] == user.id
    assert account["email"] == "renate@example.org"
    assert account["name"] == "Renate Köhler"
    assert account["role"] == "resident"
    assert set(account["postal_address"]) == {"street", "postal_code", "city"}
    assert [t["name"] for t in account["api_tokens"]] == ["Skript"]
    assert "token_hash" not in json.dumps(data)
    assert "password_hash" not in json.dumps(data)
    assert [m["to"] for m in data["emails"]] == ["renate@example.org"]
    assert data["generated_at"]


def test_export_through_the_api(client, make_user, api_token):
    user = make_user()
    resp = client.get("/api/v1/me/export", headers=api_token(user))
    assert resp.status_code == 200
    assert resp.json["account"]["email"] == user.email


def test_export_holds_only_ones_own_data(client, make_user, login):
    me, other = make_user(), make_user()
    login(me)
    text = client.get("/account/export").get_data(as_text=True)
    assert other.email not in text


def test_delete_page_says_what_stays_and_why(client, make_user, login, app):
    login(make_user())
    page = client.get("/account/delete")
    assert page.status_code == 200
    assert shows(page, tr(app, "What stays, and why"))
    assert shows(
        page, tr(app, "Public bodies must be able to show who changed what (accountability).")
    )


def test_erase_account_anonymises_and_locks_out(
    client, app, make_user, login, api_token, fetch_user
):
    user = make_user(email="weg@example.org", name="Dieter Schröder")
    headers = api_token(user)
    api = app.test_client()
    assert api.get("/api/v1/me", headers=headers).status_code == 200
    login(user)
    client.submit(
        "/account",
        {
            "name": "Dieter Schröder",
            "locale": "de",
            "street": "Am Poth 3",
            "postal_code": "58636",
            "city": "Iserlohn",
        },
    )
    client.submit("/account/forgot", {"email": user.email})

    resp = client.submit("/account/delete", {"password": PASSWORD, "confirm": "y"})
    assert resp.status_code == 302

    gone = fetch_user(user.id)
    assert gone.email is None
    assert gone.name == f"Gelöschtes Konto #{user.id}"
    assert gone.password_hash is None
    assert (gone.street, gone.postal_code, gone.city) == ("", "", "")
    assert gone.erased_at is not None
    assert gone.email_verified_at is None
    assert all(t.revoked_at is not None for t in gone.api_tokens)
    with app.app_context():
        assert not db.session.scalar(
            sa.select(sa.func.count(OutboxMessage.id)).where(
                sa.or_(
                    OutboxMessage.user_id == user.id, OutboxMessage.to_address == "weg@example.org"
                )
            )
        )
        assert (
            db.session.scalar(
                sa.select(sa.func.count(AuditEntry.id)).where(
                    AuditEntry.action == "user.erased", AuditEntry.object_id == str(user.id)
                )
            )
            == 1
        )
        assert db.session.scalar(
            sa.select(sa.func.count(ApiToken.id)).where(ApiToken.user_id == user.id)
        )

    # Logged out, and never again: not by password, not by session, not by token.
    assert client.get("/account").status_code == 302
    resp = app.test_client().submit(
        "/account/login", {"email": "weg@example.org", "password": PASSWORD}
    )
    assert resp.status_code == 401
    assert api.get("/api/v1/me", headers=headers).status_code == 401
    # The address is free for a new account.
    resp = client.submit(
        "/account/register",
        {
            "name": "Neu",
            "email": "weg@example.org",
            "password": "sehr-geheim-123",
            "password_confirm": "sehr-geheim-123",
            "accept_privacy": "y",
        },
    )
    assert resp.status_code == 302


def test_erase_refuses_wrong_password_or_missing_confirmation(
    client, make_user, login, fetch_user, app
):
    user = make_user()
    login(user)
    resp = client.submit("/account/delete", {"password": "falsches-passwort", "confirm": "y"})
    assert resp.status_code == 422
    assert shows(resp, tr(app, "The password is wrong."))
    resp = client.submit("/account/delete", {"password": PASSWORD})
    assert resp.status_code == 422
    assert shows(resp, tr(app, "Please confirm the deletion."))
    assert fetch_user(user.id).erased_at is None
    assert client.get("/account").status_code == 200


def test_last_admin_cannot_erase_their_account(
    client, app, make_user, login, fetch_user, new_client
):
    admin = make_user(Role.ADMIN)
    login(admin)
    resp = client.submit("/account/delete", {"password": PASSWORD, "confirm": "y"})
    assert resp.status_code == 409
    assert "last_admin" in resp.text
    assert shows(resp, tr(app, "The last administrator cannot delete their account."))
    assert fetch_user(admin.id).erased_at is None
    # With a second administrator it works.
    make_user(Role.ADMIN)
    resp = client.submit("/account/delete", {"password": PASSWORD, "confirm": "y"})
    assert resp.status_code == 302
    assert fetch_user(admin.id).erased_at is not None


def test_erased_account_cannot_get_a_role(
    client, make_user, login, api_token, fetch_user, new_client
):
    admin = make_user(Role.ADMIN)
    user = make_user()
    login(user)
    client.submit("/account/delete", {"password": PASSWORD, "confirm": "y"})
    resp = new_client().put(
        f"/api/v1/users/{user.id}/role", json={"role": "staff"}, headers=api_token(admin)
    )
    assert resp.status_code == 409
    assert resp.json["code"] == "account_erased"
    assert fetch_user(user.id).role is Role.RESIDENT
