from tests.conftest import link_in


def test_register_verify_login_logout(client, outbox, app):
    resp = client.submit(
        "/account/register",
        {
            "name": "Jürgen Groß",
            "email": "Juergen@Example.org",
            "password": "sehr-geheim-123",
            "password_confirm": "sehr-geheim-123",
            "accept_privacy": "y",
        },
    )
    assert resp.status_code == 302
    mails = outbox("juergen@example.org")
    assert len(mails) == 1 and mails[0].template == "verify_email"
    assert "Bitte bestätigen" in mails[0].subject or mails[0].subject
    path = link_in(mails[0].body_text, "/account/verify/")
    resp = client.get(path)
    assert resp.status_code == 302
    resp = client.submit(
        "/account/login", {"email": "juergen@example.org", "password": "sehr-geheim-123"}
    )
    assert resp.status_code == 302
    page = client.get("/account")
    assert page.status_code == 200
    assert "Jürgen Groß" in page.get_data(as_text=True)
    resp = client.submit("/account/logout")
    assert resp.status_code == 302
    assert client.get("/account").status_code == 302


def test_api_requires_auth(client):
    resp = client.get("/api/v1/me")
    assert resp.status_code == 401
    assert resp.mimetype == "application/problem+json"
    assert resp.json["code"] == "unauthorized"
