"""Migration 0010 (the library) upgrades and downgrades cleanly, with its card tables."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from tests.conftest import base_config, fresh_database_url
from vhs import create_app
from vhs.db import db

LIBRARY_TABLES = {
    "library_cards",
    "library_card_fees",
    "library_retired_card_numbers",
    "library_licences",
    "library_licence_dedications",
    "library_loans",
    "library_holds",
}


@pytest.fixture
def fresh_url(tmp_path) -> Iterator[str]:
    """An empty database of the suite's kind (its own PostgreSQL database, or a SQLite file)."""
    yield from fresh_database_url(tmp_path, "migration_0010")


@pytest.mark.live
def test_the_library_tables_come_and_go(fresh_url: str) -> None:
    app = create_app(base_config(fresh_url))
    with app.app_context():
        upgrade(revision="0010_library")
        with db.engine.connect() as conn:
            assert set(sa.inspect(conn).get_table_names()) >= LIBRARY_TABLES
        downgrade(revision="0008_media_imports")
        with db.engine.connect() as conn:
            assert not LIBRARY_TABLES & set(sa.inspect(conn).get_table_names())
        upgrade()
        with db.engine.connect() as conn:
            assert set(sa.inspect(conn).get_table_names()) >= LIBRARY_TABLES
        db.engine.dispose()
