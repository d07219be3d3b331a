"""Migration 0012: ended holds forget their patron, open ones keep theirs; cards get the opt-in
(off); the way back drops the holds that forgot their patron."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from tests.conftest import base_config, fresh_database_url
from vhs import create_app
from vhs.db import db


@pytest.fixture
def fresh_url(tmp_path) -> Iterator[str]:
    yield from fresh_database_url(tmp_path, "migration_0012")


NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def insert(conn: sa.Connection, table: str, **values: object) -> None:
    """A row as the schema of the moment has it: required columns not given get a blank."""
    reflected = sa.Table(table, sa.MetaData(), autoload_with=conn)
    for column in reflected.columns:
        if column.name in values or column.nullable or column.server_default is not None:
            continue
        if column.primary_key:
            continue
        python_type = column.type.python_type
        blank: object = {str: "x", int: 0, bool: False, datetime: NOW}.get(python_type, "x")
        values[column.name] = blank
    conn.execute(reflected.insert().values(**values))


def index_sql(conn: sa.Connection, name: str) -> str:
    """How the database itself states an index (its WHERE must survive batch mode)."""
    if conn.dialect.name == "sqlite":
        query = "SELECT sql FROM sqlite_master WHERE name = :name"
    else:
        query = "SELECT indexdef FROM pg_indexes WHERE indexname = :name"
    return str(conn.execute(sa.text(query), {"name": name}).scalar_one())


def _rows(conn: sa.Connection, sql: str) -> list[tuple]:
    return [tuple(r) for r in conn.execute(sa.text(sql))]


@pytest.mark.live
def test_ended_holds_forget_their_patron(fresh_url: str) -> None:
    app = create_app(base_config(fresh_url))
    with app.app_context():
        upgrade(revision="0011_library_access")
        with db.engine.begin() as conn:
            insert(conn, "users", id=1, email="a@example.org", role="resident", locale="de")
            insert(conn, "media_items", id=1, kind="ebook", state="published", language="de")
            insert(conn, "library_cards", id=1, user_id=1, number="580000000001", state="active")
            insert(conn, "library_holds", id=1, item_id=1, user_id=1, state="waiting")
            insert(
                conn,
                "library_holds",
                id=2,
                item_id=1,
                user_id=1,
                state="ended",
                ended_at=NOW,
                end_reason="cancelled",
            )
        upgrade(revision="0012_lending_privacy")
        with db.engine.begin() as conn:
            assert _rows(conn, "SELECT id, user_id FROM library_holds ORDER BY id") == [
                (1, 1),
                (2, None),
            ]
            assert _rows(conn, "SELECT keep_history FROM library_cards") in ([(False,)], [(0,)])
            with pytest.raises(sa.exc.IntegrityError), conn.begin_nested():
                # an open hold keeps its patron
                conn.execute(sa.text("UPDATE library_holds SET user_id = NULL WHERE id = 1"))
            for name in ("uq_library_holds_open", "ix_library_holds_queue"):
                stated = index_sql(conn, name).replace("::text", "").replace("(state)", "state")
                assert "WHERE" in stated and "state <> 'ended'" in stated
        downgrade(revision="0011_library_access")
        with db.engine.begin() as conn:
            assert _rows(conn, "SELECT id, user_id FROM library_holds") == [(1, 1)]
        upgrade()
        db.engine.dispose()
