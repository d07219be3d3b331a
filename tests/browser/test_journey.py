"""First journeys in a real browser: register, verify by mail, log in, switch language, log out.

axe-core runs on every page visited: no serious or critical accessibility violations.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.a11y import axe_check
from tests.browser.conftest import log_in
from tests.conftest import link_in

pytestmark = [pytest.mark.browser, pytest.mark.live]

PASSWORD = "ein-sicheres-passwort"


def test_register_verify_login_switch_language_logout(
    page: Any, live_outbox: Callable[[str], list[Any]]
) -> None:
    """A new resident's first visit, end to end, as a German-speaking visitor."""
    email = f"browser-{secrets.token_hex(4)}@example.org"

    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "de"
    axe_check(page)

    page.locator("header").get_by_role("link", name="Registrieren").click()
    page.wait_for_url("**/account/register")
    axe_check(page)
    page.locator("#name").fill("Jürgen Groß")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("#password_confirm").fill(PASSWORD)
    page.locator("#accept_privacy").check()
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/account/login")
    assert page.locator(".flash-success").count() == 1
    axe_check(page)

    mails = live_outbox(email)
    assert [m.template for m in mails] == ["verify_email"]
    page.goto(link_in(mails[0].body_text, "/account/verify/"))
    page.wait_for_url("**/account/login")
    assert page.locator(".flash-success").count() == 1
    axe_check(page)

    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))
    assert "Jürgen Groß" in page.locator(".flashes").inner_text()
    axe_check(page)

    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("button", name="Log out").is_visible()
    axe_check(page)

    page.locator("header").get_by_role("link", name="My account").click()
    page.wait_for_url("**/account")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", level=1).inner_text() == "My account"
    axe_check(page)

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/$"))
    header = page.locator("header")
    assert header.get_by_role("link", name="Log in").is_visible()
    assert header.get_by_role("button", name="Log out").count() == 0
    axe_check(page)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/", 200),
        ("/privacy", 200),
        ("/account/login", 200),
        ("/account/register", 200),
        ("/account/forgot", 200),
        ("/kein-solcher-pfad", 404),
    ],
)
def test_public_pages_are_accessible(new_page: Callable[..., Any], path: str, status: int) -> None:
    """Pages an anonymous visitor reaches, the error page included."""
    page = new_page(allow_http_errors={path} if status >= 400 else ())
    assert page.goto(path).status == status
    axe_check(page)


@pytest.mark.parametrize("path", ["/", "/account/register", "/account/login"])
def test_no_horizontal_scroll_at_360px(new_page: Callable[..., Any], path: str) -> None:
    """The layout fits a small phone (360 CSS pixels) without sideways scrolling."""
    page = new_page(width=360, height=740)
    page.goto(path)
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{path} is {overflow}px wider than a 360px screen"


def test_form_errors_are_accessible(new_page: Callable[..., Any]) -> None:
    """A refused form marks its fields and says what is wrong, for everyone."""
    page = new_page(allow_http_errors={"/account/register"})
    page.goto("/account/register")
    page.locator("#email").fill("keine-adresse")
    page.locator("#password").fill("kurz")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#email").get_attribute("aria-invalid") == "true"
    assert page.locator("[role=alert]").count() >= 1
    axe_check(page)


@pytest.mark.parametrize("role", ["resident", "admin"])
def test_signed_in_pages_are_accessible(
    page: Any, live_user: Callable[..., Any], role: str
) -> None:
    """The account pages (and the administrators' user list) of a signed-in person."""
    log_in(page, live_user(role))
    paths = ["/account", "/account/delete"] + (["/admin/users"] if role == "admin" else [])
    for path in paths:
        page.goto(path)
        axe_check(page)
