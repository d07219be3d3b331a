"""Fixtures and helpers for the core's tests (accounts, API, mail, jobs, config)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from itsdangerous import TimestampSigner
from markupsafe import escape

from vhs.accounts.models import User
from vhs.db import db


def tr(app: Flask, message: str, locale: str = "de", **variables: Any) -> str:
    """``message`` as the app shows it in ``locale`` (tests keep working as catalogs grow)."""
    from flask_babel import force_locale, gettext

    with app.test_request_context(), force_locale(locale):
        return gettext(message, **variables)


def shows(resp: Any, text: str) -> bool:
    """Whether an HTML response shows ``text`` (as Jinja escapes it)."""
    return str(escape(text)) in resp.get_data(as_text=True)


def csrf_headers(client: Any) -> dict[str, str]:
    """Headers a page script would send for an API call with the session cookie."""
    return {"X-CSRFToken": client.csrf()}


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fetch_user(app: Flask) -> Callable[[int], User]:
    """Load an account's current state from the database (detached)."""

    def _fetch(user_id: int) -> User:
        with app.app_context():
            user = db.session.get(User, user_id)
            assert user is not None
            _ = list(user.api_tokens)
            db.session.expunge(user)
            return user

    return _fetch


@pytest.fixture
def make_link_token(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Factory: a signed link token (verify, reset, email_change), optionally made in the past."""

    def _make(kind: str, user: User, *, seconds_ago: int = 0, **extra: Any) -> str:
        from vhs.accounts import services

        with monkeypatch.context() as m:
            if seconds_ago:
                m.setattr(
                    TimestampSigner, "get_timestamp", lambda self: int(time.time()) - seconds_ago
                )
            with app.app_context():
                u = db.session.get(User, user.id)
                assert u is not None
                return services.make_token(kind, u, **extra)

    return _make


class SmtpSink:
    """An aiosmtpd handler that keeps every envelope it receives."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Accept the message."""
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


class SmtpServer:
    """A real SMTP server on loopback that can be started and stopped on a fixed port."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sink = SmtpSink()
        self._controller: Any = None

    @property
    def url(self) -> str:
        """What ``VHS_MAIL_URL`` would say."""
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Listen on the port."""
        from aiosmtpd.controller import Controller

        self._controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        """Stop listening (the port refuses connections again)."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def envelopes(self) -> list[Any]:
        """Everything received so far."""
        return self.sink.envelopes


@pytest.fixture
def smtp_server(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    """An SMTP server on a free loopback port, not yet started; ``VHS_MAIL_URL`` points at it."""
    server = SmtpServer(free_port())
    monkeypatch.setattr(app.config["VHS"], "mail_url", server.url)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def new_client(app: Flask, client: Any) -> Callable[..., Any]:
    """Factory: another browser (its own cookies), optionally at client address ``ip``."""

    def _new(ip: str | None = None) -> Any:
        browser = app.test_client()
        if ip:
            browser.environ_base["REMOTE_ADDR"] = ip
        return browser

    return _new


@pytest.fixture(scope="session")
def own_apps_allowed(app: Flask) -> Iterator[None]:
    """For tests that build their own app: that re-binds the extensions' module globals, so
    the session app becomes garbage at exit; close its pooled connections before then (else
    PostgreSQL connections are collected open and raise ResourceWarning)."""
    yield
    with app.app_context():
        db.engine.dispose()
