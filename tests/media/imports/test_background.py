"""End to end with real commits, on a database of its own: an upload starts its import in a
thread of the web process (no Celery, no cron), the run page follows it to the end; and
migration 0008 goes up and down."""

from __future__ import annotations

import io
import secrets
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from media.imports.models import ImportRun, ImportState
from tests.conftest import PASSWORD, base_config, fresh_database_url
from tests.media.imports import samples as s
from vhs import create_app
from vhs.accounts.models import Role, User
from vhs.accounts.services import hash_password
from vhs.db import db, utcnow


@pytest.fixture
def fresh_url(tmp_path) -> Iterator[str]:
    """An empty database of the suite's kind (its own PostgreSQL database, or a SQLite file)."""
    yield from fresh_database_url(tmp_path, "media_imports_live")


@pytest.mark.live
def test_an_upload_is_imported_in_a_background_thread(fresh_url: str) -> None:
    app = create_app(base_config(fresh_url, media_import_in_thread=True))
    with app.app_context():
        upgrade()
        staff = User(
            email=f"live-{secrets.token_hex(3)}@example.org",
            name="Bettina Bücherei",
            role=Role.STAFF,
            password_hash=hash_password(PASSWORD),
            locale="de",
            email_verified_at=utcnow(),
            session_token=secrets.token_hex(16),
        )
        db.session.add(staff)
        db.session.commit()
        email = staff.email
    try:
        client = app.test_client()
        page = client.get("/account/login").get_data(as_text=True)
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        resp = client.post(
            "/account/login", data={"csrf_token": token, "email": email, "password": PASSWORD}
        )
        assert resp.status_code == 302
        records = [
            s.marc_record(f"Band {n}", isbn=s.isbn13(n), control=f"c{n}") for n in range(300)
        ]
        page = client.get("/staff/media/imports").get_data(as_text=True)
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        resp = client.post(
            "/staff/media/imports",
            data={"csrf_token": token, "file": (io.BytesIO(s.marc_bytes(*records)), "dnb.mrc")},
            content_type="multipart/form-data",
        )
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        run_url = resp.headers["Location"]
        deadline = time.monotonic() + 120
        while True:
            html = client.get(run_url).get_data(as_text=True)
            if "Fertig" in html or "Fehlgeschlagen" in html or time.monotonic() > deadline:
                break
            assert '<meta http-equiv="refresh"' in html
            time.sleep(0.2)
        assert "Fertig" in html and "300 Datensätze gelesen." in html
        with app.app_context():
            run = db.session.scalars(sa.select(ImportRun)).one()
            assert run.state is ImportState.DONE and run.created == 300
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        # The cached pages' version reads (PostgreSQL) have a small pool of their own.
        for engine in app.extensions.get("vhs_cache_engines", {}).values():
            engine.dispose()


@pytest.mark.live
def test_migration_0008_goes_up_and_down(fresh_url: str) -> None:
    app = create_app(base_config(fresh_url))
    try:
        with app.app_context():
            upgrade(revision="0008_media_imports")
            tables = set(sa.inspect(db.engine).get_table_names())
            assert {"media_import_runs", "media_import_rejections"} <= tables
            downgrade(revision="0007_media")
            tables = set(sa.inspect(db.engine).get_table_names())
            assert not {"media_import_runs", "media_import_rejections"} & tables
            assert "media_items" in tables
            upgrade()
            assert "media_import_runs" in set(sa.inspect(db.engine).get_table_names())
    finally:
        with app.app_context():
            db.engine.dispose()
