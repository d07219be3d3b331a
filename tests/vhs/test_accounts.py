"""Account flows end to end through the test client: each step and each refusal."""

from __future__ import annotations

import sqlalchemy as sa
from itsdangerous import URLSafeTimedSerializer

from tests.conftest import PASSWORD, link_in
from tests.vhs.conftest import csrf_headers, shows, tr
from vhs.accounts.models import Role, User
from vhs.db import db

NEW_PASSWORD = "ein-ganz-neues-passwort"


def register(client, email, password="sehr-geheim-123", name="Jürgen Groß", **extra):
    """Fill in the registration form."""
    return client.submit(
        "/account/register",
        {
            "name": name,
            "email": email,
            "password": password,
            "password_confirm": password,
            "accept_privacy": "y",
            **extra,
        },
    )


def users_with_email(app, email):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(User.id)).where(User.email == email))


def user_by_email(app, email):
    with app.app_context():
        user = db.session.execute(sa.select(User).where(User.email == email)).scalar_one()
        db.session.expunge(user)
        return user


# --- registration and verification ------------------------------------------------------------


def test_register_creates_unverified_resident_and_mails_link(client, app, outbox):
    resp = register(client, "Neu@Example.org")
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/account/login")
    user = user_by_email(app, "neu@example.org")
    assert user.role is Role.RESIDENT
    assert user.email_verified_at is None
    assert user.password_hash and user.password_hash.startswith("$argon2id$")
    assert "sehr-geheim-123" not in user.password_hash
    mails = outbox("neu@example.org")
    assert [m.template for m in mails] == ["verify_email"]
    assert "Jürgen Groß" in mails[0].body_text
    assert "/account/verify/" in mails[0].body_html


def test_register_in_english_keeps_the_language(client, app, outbox):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    resp = register(client, "english@example.org")
    assert resp.status_code == 302
    assert user_by_email(app, "english@example.org").locale == "en"
    assert outbox("english@example.org")[0].locale == "en"


def test_register_duplicate_address_looks_the_same_and_mails_the_owner(
    client, app, make_user, outbox
):
    owner = make_user(email="erika@example.org")
    fresh = register(client, "someone-new@example.org")
    fresh_page = client.get(fresh.headers["Location"]).get_data(as_text=True)

    dup = register(client, "ERIKA@example.org", password="anderes-passwort-1")
    assert dup.status_code == fresh.status_code == 302
    assert dup.headers["Location"] == fresh.headers["Location"]
    dup_page = client.get(dup.headers["Location"]).get_data(as_text=True)
    flash = tr(
        app,
        "Almost done: we have sent you an e-mail. Please click the link in it "
        "to confirm your address.",
    )
    assert str(flash) in fresh_page and str(flash) in dup_page

    assert users_with_email(app, "erika@example.org") == 1
    mails = outbox("erika@example.org")
    assert [m.template for m in mails] == ["account_exists"]
    assert "/account/forgot" in mails[0].body_text
    # The existing account is untouched: the old password still works, the new one does not.
    assert (
        client.submit(
            "/account/login", {"email": owner.email, "password": "anderes-passwort-1"}
        ).status_code
        == 401
    )
    assert (
        client.submit("/account/login", {"email": owner.email, "password": PASSWORD}).status_code
        == 302
    )


def test_register_refuses_short_password_mismatch_and_missing_consent(client, app, outbox):
    resp = register(client, "kurz@example.org", password="kurz")
    assert resp.status_code == 422
    assert 'id="password-error"' in resp.text
    resp = client.submit(
        "/account/register",
        {
            "name": "A B",
            "email": "diff@example.org",
            "password": "sehr-geheim-123",
            "password_confirm": "sehr-geheim-124",
            "accept_privacy": "y",
        },
    )
    assert resp.status_code == 422
    assert shows(resp, tr(app, "The passwords differ."))
    resp = register(client, "noconsent@example.org", accept_privacy="")
    assert resp.status_code == 422
    assert shows(resp, tr(app, "Please confirm the privacy notice."))
    for email in ("kurz@example.org", "diff@example.org", "noconsent@example.org"):
        assert users_with_email(app, email) == 0
        assert outbox(email) == []


def test_verify_link_confirms_the_address(client, app, outbox, fetch_user):
    register(client, "verify-me@example.org")
    user = user_by_email(app, "verify-me@example.org")
    path = link_in(outbox("verify-me@example.org")[0].body_text, "/account/verify/")
    resp = client.get(path)
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/account/login")
    assert fetch_user(user.id).email_verified_at is not None
    # Following the link again is harmless.
    assert client.get(path).status_code == 302


def test_expired_verification_link_is_refused(client, make_user, make_link_token, fetch_user, app):
    user = make_user(verified=False)
    token = make_link_token("verify", user, seconds_ago=49 * 3600, email=user.email)
    resp = client.get(f"/account/verify/{token}")
    assert resp.status_code == 422
    assert "link_expired" in resp.text
    assert shows(resp, tr(app, "This link has expired. Please request a new one."))
    assert fetch_user(user.id).email_verified_at is None
    # The same link made just now works: only its age was the problem.
    fresh = make_link_token("verify", user, seconds_ago=47 * 3600, email=user.email)
    assert client.get(f"/account/verify/{fresh}").status_code == 302
    assert fetch_user(user.id).email_verified_at is not None


def test_forged_verification_links_are_refused(client, make_user, make_link_token, fetch_user):
    user = make_user(verified=False)
    good = make_link_token("verify", user, email=user.email)
    tampered = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    other_key = URLSafeTimedSerializer("not-our-secret-key", salt="vhs-verify").dumps(
        {"uid": user.id, "fp": "x", "email": user.email}
    )
    reset_token = make_link_token("reset", user)  # right key, wrong purpose
    for token in (tampered, other_key, reset_token, "garbage"):
        resp = client.get(f"/account/verify/{token}")
        assert resp.status_code == 422, token
        assert "link_invalid" in resp.text
    assert fetch_user(user.id).email_verified_at is None


def test_verification_link_for_an_old_address_is_refused(
    client, make_user, make_link_token, fetch_user
):
    user = make_user(verified=False)
    token = make_link_token("verify", user, email="someone-else@example.org")
    resp = client.get(f"/account/verify/{token}")
    assert resp.status_code == 422
    assert fetch_user(user.id).email_verified_at is None


# --- logging in -------------------------------------------------------------------------------


def test_wrong_password_and_unknown_address_get_the_same_refusal(client, make_user, app):
    user = make_user()
    message = tr(app, "E-mail address or password is wrong.")
    wrong = client.submit("/account/login", {"email": user.email, "password": "falsch-falsch"})
    unknown = client.submit(
        "/account/login", {"email": "nobody@example.org", "password": "falsch-falsch"}
    )
    for resp in (wrong, unknown):
        assert resp.status_code == 401
        assert resp.mimetype == "text/html"
        assert shows(resp, message)
    assert client.get("/account").status_code == 302


def test_login_with_email_in_other_case(client, make_user):
    make_user(email="case@example.org")
    resp = client.submit("/account/login", {"email": " CASE@Example.org", "password": PASSWORD})
    assert resp.status_code == 302
    assert client.get("/account").status_code == 200


def test_unverified_user_can_log_in_but_not_create_tokens(client, make_user, login, app):
    user = make_user(verified=False)
    login(user)
    page = client.get("/account")
    assert page.status_code == 200
    assert shows(page, tr(app, "Confirm your e-mail address"))
    me = client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json["email_verified"] is False
    resp = client.post("/api/v1/me/tokens", json={"name": "script"}, headers=csrf_headers(client))
    assert resp.status_code == 403
    assert resp.mimetype == "application/problem+json"
    assert resp.json["code"] == "email_not_verified"
    html = client.submit("/account/tokens", {"token_name": "script"})
    assert html.status_code == 403
    assert "email_not_verified" in html.text


def test_verified_user_creates_token_through_the_api(client, make_user, login):
    user = make_user()
    login(user)
    resp = client.post("/api/v1/me/tokens", json={"name": "script"}, headers=csrf_headers(client))
    assert resp.status_code == 201
    token = resp.json["token"]
    assert token.startswith("vhs_")
    me = client.application.test_client().get(
        "/api/v1/me", headers={"Authorization": f"Bearer {token}"}
    )
    assert me.status_code == 200 and me.json["id"] == user.id


def test_login_starts_a_new_session(client, make_user):
    user = make_user()
    old_csrf = client.csrf()
    with client.session_transaction() as sess:
        sess["planted"] = "by-an-attacker"
    before = client.get_cookie("session").value
    resp = client.submit("/account/login", {"email": user.email, "password": PASSWORD})
    assert resp.status_code == 302
    after = client.get_cookie("session").value
    assert after != before
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert "csrf_token" not in sess
    # A form token from before the login is no longer accepted.
    resp = client.post("/account/logout", data={"csrf_token": old_csrf})
    assert resp.status_code == 400
    assert client.get("/account").status_code == 200


def test_remember_me_sets_a_cookie_that_restores_the_login(client, make_user, app):
    user = make_user()
    resp = client.submit(
        "/account/login", {"email": user.email, "password": PASSWORD, "remember": "y"}
    )
    assert resp.status_code == 302
    cookie = client.get_cookie("remember_token")
    assert cookie is not None and cookie.value
    assert cookie.http_only
    assert (cookie.same_site or "").lower() == "lax"
    # The browser closed: the session cookie is gone, the remember cookie brings the user back.
    client.delete_cookie("session")
    assert client.get("/account").status_code == 200


def test_without_remember_me_no_cookie_and_closing_the_browser_logs_out(client, make_user):
    user = make_user()
    client.submit("/account/login", {"email": user.email, "password": PASSWORD})
    assert client.get_cookie("remember_token") is None
    client.delete_cookie("session")
    assert client.get("/account").status_code == 302


def test_logout_forgets_the_remember_cookie(client, make_user):
    user = make_user()
    client.submit("/account/login", {"email": user.email, "password": PASSWORD, "remember": "y"})
    assert client.get("/account").status_code == 200
    assert client.submit("/account/logout").status_code == 302
    assert client.get("/account").status_code == 302
    client.delete_cookie("session")
    assert client.get("/account").status_code == 302


def test_logout_needs_csrf_token(client, make_user, login):
    login(make_user())
    resp = client.post("/account/logout")
    assert resp.status_code == 400
    assert client.get("/account").status_code == 200


# --- CSRF -------------------------------------------------------------------------------------


def test_forms_without_csrf_token_are_refused(client, make_user, app, outbox):
    user = make_user()
    resp = client.post("/account/login", data={"email": user.email, "password": PASSWORD})
    assert resp.status_code == 400
    assert resp.mimetype == "text/html"
    assert "csrf_failed" in resp.text
    assert client.get("/account").status_code == 302

    resp = client.post(
        "/account/register",
        data={
            "name": "X Y",
            "email": "nocsrf@example.org",
            "password": "sehr-geheim-123",
            "password_confirm": "sehr-geheim-123",
            "accept_privacy": "y",
        },
    )
    assert resp.status_code == 400
    assert users_with_email(app, "nocsrf@example.org") == 0

    resp = client.post(
        "/account/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": "forged-token"},
    )
    assert resp.status_code == 400


def test_api_with_session_cookie_needs_csrf_header(client, make_user, login, api_token):
    user = make_user()
    login(user)
    resp = client.patch("/api/v1/me", json={"name": "Ohne Token"})
    assert resp.status_code == 400
    assert resp.mimetype == "application/problem+json"
    assert resp.json["code"] == "csrf_failed"
    resp = client.patch("/api/v1/me", json={"name": "Mit Token"}, headers=csrf_headers(client))
    assert resp.status_code == 200 and resp.json["name"] == "Mit Token"
    # A bearer token is never sent by a browser on its own: no CSRF token needed.
    other = client.application.test_client()
    resp = other.patch("/api/v1/me", json={"name": "Per API"}, headers=api_token(user))
    assert resp.status_code == 200 and resp.json["name"] == "Per API"


# --- password reset ---------------------------------------------------------------------------


def test_password_reset_flow_and_link_works_once(client, make_user, outbox, app, fetch_user):
    user = make_user(email="vergesslich@example.org")
    resp = client.submit("/account/forgot", {"email": "Vergesslich@example.org"})
    assert resp.status_code == 302
    mails = outbox(user.email)
    assert [m.template for m in mails] == ["reset_password"]
    path = link_in(mails[0].body_text, "/account/reset/")

    assert client.get(path).status_code == 200
    resp = client.submit(path, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/account/login")
    assert [m.template for m in outbox(user.email)][-1] == "password_changed"

    assert (
        client.submit("/account/login", {"email": user.email, "password": PASSWORD}).status_code
        == 401
    )
    assert (
        client.submit("/account/login", {"email": user.email, "password": NEW_PASSWORD}).status_code
        == 302
    )

    # Used once: the link is dead now, for viewing and for posting.
    again = client.get(path)
    assert again.status_code == 422
    assert "link_used" in again.text
    hash_before = fetch_user(user.id).password_hash
    resp = client.submit(
        path, {"password": "drittes-passwort-1", "password_confirm": "drittes-passwort-1"}
    )
    assert resp.status_code == 422
    assert fetch_user(user.id).password_hash == hash_before


def test_password_reset_for_unknown_address_looks_the_same(client, app, outbox):
    known_msg = tr(
        app,
        "If an account exists for this address, we have sent a link to reset the "
        "password. It is valid for two hours.",
    )
    resp = client.submit("/account/forgot", {"email": "unbekannt@example.org"})
    assert resp.status_code == 302
    assert shows(client.get(resp.headers["Location"]), known_msg)
    assert outbox("unbekannt@example.org") == []


def test_expired_reset_link_is_refused(client, make_user, make_link_token, fetch_user, app):
    user = make_user()
    token = make_link_token("reset", user, seconds_ago=2 * 3600 + 60)
    resp = client.get(f"/account/reset/{token}")
    assert resp.status_code == 422
    assert "link_expired" in resp.text
    resp = client.submit(
        f"/account/reset/{token}", {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    )
    assert resp.status_code == 422
    assert fetch_user(user.id).password_hash == user.password_hash


def test_forged_reset_links_are_refused(client, make_user, make_link_token, fetch_user):
    user = make_user()
    good = make_link_token("reset", user)
    tampered = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    other_key = URLSafeTimedSerializer("not-our-secret-key", salt="vhs-reset").dumps(
        {"uid": user.id, "fp": "x"}
    )
    verify_token = make_link_token("verify", user, email=user.email)
    for token in (tampered, other_key, verify_token):
        resp = client.submit(
            f"/account/reset/{token}", {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
        )
        assert resp.status_code == 422
        assert "link_invalid" in resp.text
    assert fetch_user(user.id).password_hash == user.password_hash


def test_reset_refuses_short_password(client, make_user, make_link_token, fetch_user):
    user = make_user()
    token = make_link_token("reset", user)
    resp = client.submit(
        f"/account/reset/{token}", {"password": "kurz", "password_confirm": "kurz"}
    )
    assert resp.status_code == 422
    assert fetch_user(user.id).password_hash == user.password_hash


def test_reset_ends_every_session(client, app, make_user, login, make_link_token):
    user = make_user()
    browser = app.test_client()
    login(user, c=browser)
    token = make_link_token("reset", user)
    client.submit(
        f"/account/reset/{token}", {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    )
    assert browser.get("/account").status_code == 302


# --- changing password and e-mail -------------------------------------------------------------


def test_change_password_ends_other_sessions(client, app, make_user, login, outbox, fetch_user):
    user = make_user()
    other = app.test_client()
    login(user)
    login(user, c=other)
    assert other.get("/account").status_code == 200

    resp = client.submit(
        "/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert resp.status_code == 302
    assert client.get("/account").status_code == 200  # this session goes on
    assert other.get("/account").status_code == 302  # the other one is over
    assert outbox(user.email)[-1].template == "password_changed"

    fresh = app.test_client()
    assert (
        fresh.submit("/account/login", {"email": user.email, "password": NEW_PASSWORD}).status_code
        == 302
    )


def test_change_password_refuses_wrong_current_password(client, app, make_user, login, fetch_user):
    user = make_user()
    other = app.test_client()
    login(user)
    login(user, c=other)
    resp = client.submit(
        "/account/password",
        {"current_password": "nicht-das-richtige", "new_password": NEW_PASSWORD},
    )
    assert resp.status_code == 422
    assert shows(resp, tr(app, "The current password is wrong."))
    assert fetch_user(user.id).password_hash == user.password_hash
    assert other.get("/account").status_code == 200


def test_change_email_through_confirmation_link(client, app, make_user, login, outbox, fetch_user):
    user = make_user(email="alt@example.org")
    login(user)
    resp = client.submit("/account/email", {"new_email": "Neu@Example.org", "password": PASSWORD})
    assert resp.status_code == 302
    assert fetch_user(user.id).email == "alt@example.org"  # nothing changes before the click
    mails = outbox("neu@example.org")
    assert [m.template for m in mails] == ["confirm_email_change"]
    path = link_in(mails[0].body_text, "/account/email/confirm/")

    resp = client.get(path)
    assert resp.status_code == 302
    assert fetch_user(user.id).email == "neu@example.org"
    assert outbox("alt@example.org")[-1].template == "email_changed"

    fresh = app.test_client()
    assert (
        fresh.submit(
            "/account/login", {"email": "neu@example.org", "password": PASSWORD}
        ).status_code
        == 302
    )
    assert (
        fresh.submit(
            "/account/login", {"email": "alt@example.org", "password": PASSWORD}
        ).status_code
        == 401
    )
    # The link worked once.
    again = client.get(path)
    assert again.status_code == 422


def test_change_email_refusals(client, app, make_user, login, outbox, fetch_user):
    make_user(email="vergeben@example.org")
    user = make_user(email="ich@example.org")
    login(user)
    resp = client.submit(
        "/account/email", {"new_email": "frei@example.org", "password": "falsches-passwort"}
    )
    assert resp.status_code == 422
    assert shows(resp, tr(app, "The password is wrong."))
    resp = client.submit(
        "/account/email", {"new_email": "vergeben@example.org", "password": PASSWORD}
    )
    assert resp.status_code == 422
    assert shows(resp, tr(app, "This address belongs to another account."))
    resp = client.submit("/account/email", {"new_email": "ich@example.org", "password": PASSWORD})
    assert resp.status_code == 422
    assert shows(resp, tr(app, "This is already your address."))
    assert outbox("frei@example.org") == []
    assert outbox("vergeben@example.org") == []
    assert fetch_user(user.id).email == "ich@example.org"


def test_email_change_link_is_refused_when_address_was_taken_meanwhile(
    client, make_user, make_link_token, fetch_user
):
    user = make_user()
    token = make_link_token("email_change", user, new_email="beliebt@example.org")
    make_user(email="beliebt@example.org")
    resp = client.get(f"/account/email/confirm/{token}")
    assert resp.status_code == 409
    assert "email_taken" in resp.text
    assert fetch_user(user.id).email == user.email


# --- profile ----------------------------------------------------------------------------------


def test_profile_saves_name_language_and_address(client, make_user, login, fetch_user):
    user = make_user()
    login(user)
    resp = client.submit(
        "/account",
        {
            "name": "Käthe Köhler",
            "locale": "en",
            "street": "Hauptstraße 5",
            "postal_code": "58636",
            "city": "Iserlohn",
        },
    )
    assert resp.status_code == 302
    saved = fetch_user(user.id)
    assert (saved.name, saved.locale, saved.postal_address) == (
        "Käthe Köhler",
        "en",
        "Hauptstraße 5, 58636 Iserlohn",
    )
    assert 'lang="en"' in client.get("/account").text


def test_profile_form_ignores_a_posted_role(client, make_user, login, fetch_user):
    user = make_user()
    login(user)
    resp = client.submit(
        "/account",
        {
            "name": "Mallory",
            "locale": "de",
            "role": "admin",
            "email": "mallory@example.org",
            "email_verified_at": "2020-01-01",
        },
    )
    assert resp.status_code == 302
    saved = fetch_user(user.id)
    assert saved.name == "Mallory"
    assert saved.role is Role.RESIDENT
    assert saved.email == user.email
    assert client.get("/admin/users").status_code == 403


def test_production_hashes_use_owasp_argon2id_parameters(app):
    """The suite hashes at argon2's lowest cost (tests/conftest.py); the application's own
    hasher keeps OWASP's parameters, and a login checks a hash made with them."""
    from argon2 import Type, extract_parameters

    from vhs.accounts import services

    hasher = services.PRODUCTION_HASHER
    assert (hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (2, 19456, 1)
    assert hasher.type is Type.ID
    stored = hasher.hash(PASSWORD)
    params = extract_parameters(stored)
    assert (params.time_cost, params.memory_cost, params.type) == (2, 19456, Type.ID)
    user = User(email="owasp@example.org", name="O", password_hash=stored)
    assert services.check_password(user, PASSWORD)
    assert not services.check_password(user, PASSWORD + "x")
