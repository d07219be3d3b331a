"""Roles: who may see staff pages and endpoints, and that nobody grants themselves more."""

from __future__ import annotations

import sqlalchemy as sa

from tests.vhs.conftest import csrf_headers
from vhs.accounts.models import Role
from vhs.audit import AuditEntry
from vhs.db import db


def audit_rows(app, action=None):
    with app.app_context():
        query = sa.select(AuditEntry).order_by(AuditEntry.id)
        if action:
            query = query.where(AuditEntry.action == action)
        rows = list(db.session.execute(query).scalars())
        for r in rows:
            db.session.expunge(r)
        return rows


def test_resident_is_refused_on_admin_pages_and_staff_api(client, make_user, login, api_token):
    user = make_user(Role.RESIDENT)
    login(user)
    page = client.get("/admin/users")
    assert page.status_code == 403
    assert page.mimetype == "text/html"
    assert "forbidden_role" in page.text
    for resp in (
        client.get("/api/v1/users"),
        client.application.test_client().get("/api/v1/users", headers=api_token(user)),
    ):
        assert resp.status_code == 403
        assert resp.mimetype == "application/problem+json"
        assert resp.json["status"] == 403
        assert resp.json["code"] == "forbidden_role"
        assert user.email not in resp.text


def test_instructor_is_refused_too(client, make_user, login):
    login(make_user(Role.INSTRUCTOR))
    assert client.get("/admin/users").status_code == 403
    assert client.get("/api/v1/users").status_code == 403


def test_staff_may_list_users_but_not_grant_roles(client, make_user, login, api_token, fetch_user):
    staff = make_user(Role.STAFF)
    target = make_user(Role.RESIDENT, name="Zielperson Weber")
    headers = api_token(staff)
    other = client.application.test_client()
    resp = other.get("/api/v1/users", query_string={"q": "zielperson"}, headers=headers)
    assert resp.status_code == 200
    assert [u["id"] for u in resp.json] == [target.id]
    resp = other.put(f"/api/v1/users/{target.id}/role", json={"role": "staff"}, headers=headers)
    assert resp.status_code == 403
    assert fetch_user(target.id).role is Role.RESIDENT
    login(staff)
    assert client.get("/admin/users").status_code == 403  # role grants are for admins


def test_anonymous_visitors_are_sent_to_login_or_get_401(client):
    resp = client.get("/admin/users")
    assert resp.status_code == 302
    assert "/account/login" in resp.headers["Location"]
    resp = client.get("/api/v1/users")
    assert resp.status_code == 401
    assert resp.mimetype == "application/problem+json"


def test_profile_form_cannot_grant_a_role(client, make_user, login, fetch_user, app):
    user = make_user(Role.RESIDENT)
    login(user)
    resp = client.submit("/account", {"name": "Eve", "locale": "de", "role": "admin"})
    assert resp.status_code == 302
    assert fetch_user(user.id).role is Role.RESIDENT
    assert audit_rows(app, "user.role_granted") == []


def test_api_me_refuses_a_role_field(client, make_user, api_token, fetch_user, login):
    user = make_user(Role.RESIDENT)
    headers = api_token(user)
    resp = client.patch("/api/v1/me", json={"role": "admin"}, headers=headers)
    assert resp.status_code == 422
    assert resp.mimetype == "application/problem+json"
    assert resp.json["code"] == "invalid"
    assert "role" in resp.json["errors"]
    resp = client.patch("/api/v1/me", json={"name": "Eve", "role": "admin"}, headers=headers)
    assert resp.status_code == 422
    for field, value in (("email", "eve@example.org"), ("email_verified", True), ("id", 1)):
        assert client.patch("/api/v1/me", json={field: value}, headers=headers).status_code == 422
    saved = fetch_user(user.id)
    assert saved.role is Role.RESIDENT
    assert saved.name == user.name
    assert saved.email == user.email
    # The same through the session cookie.
    browser = client.application.test_client()
    login(user, c=browser)
    resp = browser.patch("/api/v1/me", json={"role": "admin"}, headers=csrf_headers(browser))
    assert resp.status_code == 422
    assert fetch_user(user.id).role is Role.RESIDENT


def test_resident_cannot_grant_themselves_a_role(client, make_user, api_token, login, fetch_user):
    user = make_user(Role.RESIDENT)
    resp = client.put(
        f"/api/v1/users/{user.id}/role", json={"role": "admin"}, headers=api_token(user)
    )
    assert resp.status_code == 403
    login(user)
    resp = client.submit(f"/admin/users/{user.id}/role", {"role": "admin"})
    assert resp.status_code == 403
    assert fetch_user(user.id).role is Role.RESIDENT


def test_admin_grants_a_role_on_the_page_and_it_is_audited(
    client, app, make_user, login, fetch_user
):
    admin = make_user(Role.ADMIN)
    target = make_user(Role.RESIDENT, name="Dozentin Werner")
    login(admin)
    page = client.get("/admin/users")
    assert page.status_code == 200
    assert "Dozentin Werner" in page.text
    resp = client.submit(f"/admin/users/{target.id}/role", {"role": "instructor"})
    assert resp.status_code == 302
    assert fetch_user(target.id).role is Role.INSTRUCTOR
    [entry] = audit_rows(app, "user.role_granted")
    assert entry.actor_id == admin.id
    assert (entry.object_type, entry.object_id) == ("users", str(target.id))
    assert entry.details == {"previous": "resident", "role": "instructor"}
    assert entry.at is not None and entry.at.tzinfo is not None


def test_admin_grants_a_role_through_the_api_and_it_is_audited(
    client, app, make_user, api_token, fetch_user
):
    admin = make_user(Role.ADMIN)
    target = make_user(Role.RESIDENT)
    resp = client.put(
        f"/api/v1/users/{target.id}/role", json={"role": "staff"}, headers=api_token(admin)
    )
    assert resp.status_code == 200
    assert resp.json["role"] == "staff"
    assert fetch_user(target.id).role is Role.STAFF
    [entry] = audit_rows(app, "user.role_granted")
    assert entry.actor_id == admin.id and entry.details["role"] == "staff"


def test_role_grant_refusals(client, app, make_user, api_token, fetch_user):
    admin = make_user(Role.ADMIN)
    headers = api_token(admin)
    resp = client.put(f"/api/v1/users/{admin.id}/role", json={"role": "resident"}, headers=headers)
    assert resp.status_code == 409
    assert resp.json["code"] == "own_role"
    resp = client.put("/api/v1/users/999999/role", json={"role": "staff"}, headers=headers)
    assert resp.status_code == 404
    target = make_user(Role.RESIDENT)
    resp = client.put(f"/api/v1/users/{target.id}/role", json={"role": "emperor"}, headers=headers)
    assert resp.status_code == 422
    assert "role" in resp.json["errors"]
    assert fetch_user(admin.id).role is Role.ADMIN
    assert fetch_user(target.id).role is Role.RESIDENT
    assert audit_rows(app, "user.role_granted") == []
