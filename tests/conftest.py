"""Shared fixtures: one schema per run, one rolled-back transaction per test, factories.

The database is SQLite (a temp file) unless ``VHS_TEST_DATABASE_URL`` points at PostgreSQL,
which is how ``.ci/run`` runs the whole suite a second time.
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient

from vhs import create_app
from vhs.accounts.models import Role, User
from vhs.accounts.services import hash_password, use_hasher
from vhs.db import db, utcnow
from vhs.extensions import limiter

pytest_plugins = ["tests.courses.plan_fixture"]

PASSWORD = "correct horse battery"
_TMP = Path(tempfile.mkdtemp(prefix="vhs-tests-"))
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def database_url() -> str:
    """The database the suite runs on (one per pytest-xdist worker on PostgreSQL)."""
    url = os.environ.get("VHS_TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{_TMP / 'test.sqlite3'}"
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker and is_postgres_url(url):
        return _worker_database(url, worker)
    return url


def _worker_database(url: str, worker: str) -> str:
    """``<database>_<worker>``, created on first use, so parallel workers never share rows."""
    import psycopg
    from psycopg import sql

    base = sa.engine.make_url(url)
    name = f"{base.database}_{worker}"
    admin = base.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return base.set(database=name).render_as_string(hide_password=False)


def is_postgres_url(url: str) -> bool:
    """Whether a URL names a PostgreSQL database."""
    return url.startswith("postgresql")


def fresh_database_url(tmp_path: Path, name: str) -> Iterator[str]:
    """An empty database of the suite's kind for a test that migrates it itself: a PostgreSQL
    database ``name`` of its own (emptied), or a SQLite file in ``tmp_path``."""
    url = os.environ.get("VHS_TEST_DATABASE_URL", "")
    if is_postgres_url(url):
        fresh = _worker_database(url, name)
        engine = sa.create_engine(fresh)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
        engine.dispose()
        yield fresh
    else:
        yield f"sqlite:///{tmp_path / (name + '.sqlite3')}"


def base_config(url: str | None = None, **overrides: Any) -> dict[str, Any]:
    """Configuration every test app shares."""
    cfg: dict[str, Any] = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url or database_url(),
        "RATELIMIT_STORAGE_URI": "memory://",
        "SERVER_NAME": None,
        "secret_key": "test-secret-key-" + "x" * 32,
        "public_base_url": "http://vhs.test",
        "mail_url": "",
        "stripe_secret_key": "",
        "stripe_webhook_secret": "",
        "storage_url": f"file://{_TMP / 'media'}",  # never the checkout's instance/media
        # Imports run when a test says so (a thread would share the test's connection);
        # tests/media/imports/test_background.py runs them in the thread, on a database of its own.
        "media_import_in_thread": False,
    }
    cfg.update(overrides)
    return cfg


def reset_schema(app: Flask) -> None:
    """Empty the database and build the schema from the migrations."""
    from flask_migrate import upgrade

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
                conn.exec_driver_sql("CREATE SCHEMA public")
        else:
            path = db.engine.url.database
            db.engine.dispose()
            if path and Path(path).exists():
                Path(path).unlink()
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def app() -> Iterator[Flask]:
    """The application under test, with its schema migrated once for the whole run."""
    application = create_app(base_config())
    reset_schema(application)
    yield application
    with application.app_context():
        db.engine.dispose()  # close pooled connections before the app is garbage


@pytest.fixture(autouse=True)
def _transaction(request: pytest.FixtureRequest) -> Iterator[None]:
    """Run each test in an outer transaction; commits inside become savepoints."""
    if "live" in request.keywords or "app" not in request.fixturenames:
        yield
        return
    application: Flask = request.getfixturevalue("app")
    with application.app_context():
        limiter.reset()
        connection = db.engine.connect()
        outer = connection.begin()
        db.session.remove()
        db.session.configure(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield
    finally:
        with application.app_context():
            db.session.remove()
            outer.rollback()
            connection.close()
            factory_kw = db.session.session_factory.kw
            factory_kw.pop("bind", None)
            factory_kw.pop("join_transaction_mode", None)


class Client(FlaskClient):
    """Test client that can submit forms with a valid CSRF token, as a browser would."""

    _csrf_kept: tuple[str, str] | None = None

    def _session_csrf(self) -> str | None:
        with self.session_transaction() as sess:
            return sess.get("csrf_token")

    def csrf(self) -> str:
        """A CSRF token valid for this client's session: read from a page as a browser would,
        then reused while the session keeps the secret it was made from (a login starts a new
        session, and so a new token; the suite submits thousands of forms)."""
        raw = self._session_csrf()
        if raw is not None and self._csrf_kept is not None and self._csrf_kept[0] == raw:
            return self._csrf_kept[1]
        page = self.get("/privacy")
        match = CSRF_RE.search(page.get_data(as_text=True))
        assert match, "no CSRF token on the page"
        raw = self._session_csrf()
        if raw is not None:
            self._csrf_kept = (raw, match.group(1))
        return match.group(1)

    def submit(self, url: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
        """POST a form with the CSRF token filled in."""
        payload = {"csrf_token": self.csrf(), **(data or {})}
        return self.post(url, data=payload, **kw)


@pytest.fixture
def client(app: Flask) -> Client:
    """A browser-like test client."""
    app.test_client_class = Client
    return app.test_client()  # type: ignore[return-value]


@pytest.fixture
def runner(app: Flask) -> Any:
    """The Flask CLI runner."""
    return app.test_cli_runner()


# Passwords and PINs are hashed and checked with argon2id as in production, at its lowest cost
# (t=1, 8 KiB): the suite logs in thousands of times, and 35 ms of hashing each was a fifth of
# the authorisation matrix's time. The production parameters are tested in
# tests/vhs/test_accounts.py; live-server tests (gunicorn) run with them.
use_hasher(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
_PASSWORD_HASH: dict[str, str] = {}


@pytest.fixture
def make_user(app: Flask) -> Callable[..., User]:
    """Factory: ``make_user(role=Role.STAFF, verified=True, email=None, name=None)``."""

    def _make(
        role: Role | str = Role.RESIDENT,
        *,
        verified: bool = True,
        email: str | None = None,
        name: str | None = None,
        locale: str = "de",
        password: str = PASSWORD,
    ) -> User:
        if password not in _PASSWORD_HASH:
            _PASSWORD_HASH[password] = hash_password(password)
        with app.app_context():
            user = User(
                email=email or f"user-{secrets.token_hex(4)}@example.org",
                name=name or "Erika Müller",
                role=Role(role),
                password_hash=_PASSWORD_HASH[password],
                locale=locale,
                email_verified_at=utcnow() if verified else None,
                session_token=secrets.token_hex(16),
            )
            db.session.add(user)
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
            return user

    return _make


@pytest.fixture
def login(client: Client) -> Callable[..., Any]:
    """Log ``client`` (or another client) in as ``user`` through the login form."""

    def _login(user: User, password: str = PASSWORD, c: Client | None = None) -> Any:
        c = c or client
        resp = c.submit("/account/login", {"email": user.email, "password": password})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        return resp

    return _login


@pytest.fixture
def api_token(app: Flask) -> Callable[[User], dict[str, str]]:
    """Factory: headers with a fresh personal API token for ``user``."""

    def _token(user: User) -> dict[str, str]:
        from vhs.accounts.services import create_api_token

        with app.app_context():
            u = db.session.get(User, user.id)
            assert u is not None
            _tok, plaintext = create_api_token(u, "test")
            db.session.commit()
        return {"Authorization": f"Bearer {plaintext}"}

    return _token


@pytest.fixture
def outbox(app: Flask) -> Callable[..., list[Any]]:
    """Messages in the outbox, newest last, optionally for one address."""

    def _outbox(to: str | None = None) -> list[Any]:
        from vhs.mail.models import OutboxMessage

        with app.app_context():
            query = sa.select(OutboxMessage).order_by(OutboxMessage.id)
            if to:
                query = query.where(OutboxMessage.to_address == to)
            rows = list(db.session.execute(query).scalars())
            for r in rows:
                db.session.expunge(r)
            return rows

    return _outbox


def link_in(text: str, path_prefix: str) -> str:
    """The path of the first link in ``text`` that starts with ``path_prefix``."""
    match = re.search(r"https?://[^/\s]+(" + re.escape(path_prefix) + r"[^\s\"<]*)", text)
    assert match, f"no link to {path_prefix} in mail"
    return match.group(1)
