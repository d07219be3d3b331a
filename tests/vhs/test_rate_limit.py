"""Login is rate limited per IP address and per account: the 6th failure in a minute gets 429."""

from __future__ import annotations

from tests.conftest import PASSWORD
from tests.vhs.conftest import shows, tr


def attempt(new_client, email, password, ip):
    """One login from a fresh browser at ``ip``."""
    return new_client(ip).submit("/account/login", {"email": email, "password": password})


def test_sixth_failure_from_one_ip_is_refused(app, new_client, make_user):
    user = make_user()
    for i in range(5):
        resp = attempt(new_client, f"guess{i}@example.org", "falsch-falsch", "10.1.0.1")
        assert resp.status_code == 401, i
    resp = attempt(new_client, "guess5@example.org", "falsch-falsch", "10.1.0.1")
    assert resp.status_code == 429
    assert resp.mimetype == "text/html"
    assert shows(resp, tr(app, "Too many attempts. Please wait a minute and try again."))
    assert "Retry-After" in resp.headers
    # Even the right password is refused from this address for now ...
    assert attempt(new_client, user.email, PASSWORD, "10.1.0.1").status_code == 429
    # ... while other addresses are not affected.
    assert attempt(new_client, user.email, PASSWORD, "10.1.0.2").status_code == 302


def test_sixth_failure_for_one_account_is_refused_from_any_ip(app, new_client, make_user):
    user = make_user()
    other = make_user()
    for i in range(5):
        resp = attempt(new_client, user.email, "falsch-falsch", f"10.2.0.{i + 1}")
        assert resp.status_code == 401, i
    assert attempt(new_client, user.email, "falsch-falsch", "10.2.0.6").status_code == 429
    assert attempt(new_client, user.email.upper(), PASSWORD, "10.2.0.7").status_code == 429
    # Other accounts can still log in from a fresh address.
    assert attempt(new_client, other.email, PASSWORD, "10.2.0.8").status_code == 302


def test_successful_logins_do_not_count(app, new_client, make_user):
    user = make_user()
    for _ in range(7):
        assert attempt(new_client, user.email, PASSWORD, "10.3.0.1").status_code == 302


def test_five_failures_still_allow_the_right_password(app, new_client, make_user):
    user = make_user()
    for _ in range(4):
        assert attempt(new_client, user.email, "falsch-falsch", "10.4.0.1").status_code == 401
    assert attempt(new_client, user.email, PASSWORD, "10.4.0.1").status_code == 302
