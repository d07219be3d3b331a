"""Migration 0011 (the watermark codes) upgrades and downgrades cleanly on top of 0010."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from tests.conftest import base_config, fresh_database_url
from vhs import create_app
from vhs.db import db


@pytest.fixture
def fresh_url(tmp_path) -> Iterator[str]:
    """An empty database of the suite's kind (its own PostgreSQL database, or a SQLite file)."""
    yield from fresh_database_url(tmp_path, "migration_0011")


@pytest.mark.live
def test_the_watermark_table_comes_and_goes(fresh_url: str) -> None:
    app = create_app(base_config(fresh_url))
    with app.app_context():
        upgrade(revision="0011_library_access")
        with db.engine.connect() as conn:
            inspector = sa.inspect(conn)
            assert "library_watermarks" in inspector.get_table_names()
            uniques = {
                tuple(u["column_names"])
                for u in inspector.get_unique_constraints("library_watermarks")
            }
            assert {("code",), ("loan_id", "file_id")} <= uniques
        downgrade(revision="0010_library")
        with db.engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            assert "library_watermarks" not in tables and "library_loans" in tables
        upgrade()
        db.engine.dispose()
