"""Migration 0014 (the reading positions) upgrades and downgrades cleanly on top of 0013."""

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
    yield from fresh_database_url(tmp_path, "migration_0014")


@pytest.mark.live
def test_the_position_table_comes_and_goes(fresh_url: str) -> None:
    app = create_app(base_config(fresh_url))
    with app.app_context():
        upgrade(revision="0014_reading_positions")
        with db.engine.connect() as conn:
            inspector = sa.inspect(conn)
            assert "library_reading_positions" in inspector.get_table_names()
            uniques = {
                tuple(u["column_names"])
                for u in inspector.get_unique_constraints("library_reading_positions")
            }
            assert ("loan_id",) in uniques
        downgrade(revision="0013_reading_lists")
        with db.engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            assert "library_reading_positions" not in tables and "library_loans" in tables
        upgrade()
        db.engine.dispose()
