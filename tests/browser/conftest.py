"""Browser suite: the app on a live server on 127.0.0.1, driven by Debian's headless Chromium.

The live app has its own SQLite file and commits for real (the tests are marked ``live``, so
the per-test rolled-back transaction of ``tests/conftest.py`` leaves them alone). Chromium is
the Debian package (``apt-get install -y chromium``), never a Playwright download. Without it
the run stops before its first test, saying once how to install it, unless
``VHS_BROWSER_OPTIONAL=1`` says that skipping the browser tests is fine on this machine.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.serving import make_server

from tests.conftest import PASSWORD, base_config, reset_schema
from vhs import create_app
from vhs.db import db

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, with the install command; None when they can."""
    if CHROMIUM.exists():
        return None
    return f"{CHROMIUM} not found: install Debian's package (apt-get install chromium)"


def browser_optional() -> bool:
    """Whether this machine may skip the browser tests (``VHS_BROWSER_OPTIONAL=1``)."""
    return os.environ.get("VHS_BROWSER_OPTIONAL") == "1"


def pytest_collection_finish(session: pytest.Session) -> None:
    """Stop before the first test, with one message, when selected browser tests cannot run.

    Otherwise the missing browser would surface only after every other test, as the same
    error once per browser test.
    """
    reason = chromium_missing()
    if reason is None or browser_optional():
        return
    if any("browser" in getattr(item, "fixturenames", ()) for item in session.items):
        pytest.exit(
            f"{reason}, or set VHS_BROWSER_OPTIONAL=1 to skip the browser tests",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An app of its own, on its own SQLite file, migrated from empty."""
    db_file = tmp_path_factory.mktemp("live") / "live.sqlite3"
    application = create_app(base_config(url=f"sqlite:///{db_file}"))
    reset_schema(application)
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(live_app: Flask) -> Iterator[str]:
    """The live app served on a free port of 127.0.0.1; yields its base URL."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium, shared by the whole run."""
    reason = chromium_missing()
    if reason is not None:
        if browser_optional():
            pytest.skip(f"{reason}; skipped because VHS_BROWSER_OPTIONAL=1")
        # Reached only where collection could not stop the run (a pytest-xdist worker).
        pytest.fail(f"{reason}, or set VHS_BROWSER_OPTIONAL=1 to skip the browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_page(browser: Any, live_server: str) -> Iterator[Callable[..., Any]]:
    """Factory: a fresh page (own cookies) on the live server; German visitor by default.

    Answers of 400 and above fail the test unless their path is in ``allow_http_errors`` (a
    path, or a compiled pattern the whole path must match), and
    so do console errors and uncaught script errors (a CSP refusal, say).
    """
    contexts: list[Any] = []
    problems: list[str] = []

    def _new(
        *,
        width: int = 1280,
        height: int = 800,
        locale: str = "de-DE",
        allow_http_errors: Collection[str | re.Pattern[str]] = (),
    ) -> Any:
        context = browser.new_context(
            base_url=live_server, viewport={"width": width, "height": height}, locale=locale
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)

        def on_response(response: Any) -> None:
            path = urlsplit(response.url).path
            allowed = any(
                a.fullmatch(path) if isinstance(a, re.Pattern) else a == path
                for a in allow_http_errors
            )
            if response.status >= 400 and not allowed:
                problems.append(f"HTTP {response.status} for {response.url}")

        def on_console(msg: Any) -> None:
            # A failed load is reported by on_response, which knows the allowed ones.
            if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
                problems.append(f"console error on {page.url}: {msg.text}")

        page.on("response", on_response)
        page.on("console", on_console)
        page.on("pageerror", lambda exc: problems.append(f"script error on {page.url}: {exc}"))
        return page

    yield _new
    for context in contexts:
        context.close()
    assert not problems, "\n".join(problems)


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    """A fresh desktop-sized page for a German-speaking visitor."""
    return new_page()


@pytest.fixture
def live_outbox(live_app: Flask) -> Callable[[str], list[Any]]:
    """Messages the live app queued for an address, oldest first."""

    def _outbox(to: str) -> list[Any]:
        from vhs.mail.models import OutboxMessage

        with live_app.app_context():
            rows = list(
                db.session.execute(
                    sa.select(OutboxMessage)
                    .where(OutboxMessage.to_address == to)
                    .order_by(OutboxMessage.id)
                ).scalars()
            )
            for row in rows:
                db.session.expunge(row)
            return rows

    return _outbox


@pytest.fixture
def live_user(live_app: Flask) -> Callable[..., Any]:
    """Factory: a verified account in the live app's database (password ``PASSWORD``)."""
    from vhs.accounts.models import Role, User
    from vhs.accounts.services import hash_password
    from vhs.db import utcnow

    def _make(role: Role | str = Role.RESIDENT, *, name: str = "Erika Müller") -> Any:
        with live_app.app_context():
            user = User(
                email=f"live-{secrets.token_hex(4)}@example.org",
                name=name,
                role=Role(role),
                password_hash=hash_password(PASSWORD),
                locale="de",
                email_verified_at=utcnow(),
                session_token=secrets.token_hex(16),
            )
            db.session.add(user)
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
            return user

    return _make


def log_in(page: Any, user: Any, password: str = PASSWORD) -> None:
    """Log ``user`` in through the login form, as a person would."""
    page.goto("/account/login")
    page.locator("#email").fill(user.email)
    page.locator("#password").fill(password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(lambda url: "/account/login" not in url)
