"""Migration 0006 carries Jitsi deliveries out of the payments' table and back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from tests.conftest import base_config, fresh_database_url
from vhs import create_app
from vhs.db import db

ROWS = [
    ("jitsi", "k-1", "PARTICIPANT_JOINED", "recorded: PARTICIPANT_JOINED session 1"),
    ("stripe", "evt_1", "checkout.session.completed", "paid"),
    ("jitsi", "k-2", "ROOM_DESTROYED", "ignored: unknown room"),
]


@pytest.fixture
def fresh_url(tmp_path) -> Iterator[str]:
    """An empty database of the suite's kind (its own PostgreSQL database, or a SQLite file)."""
    yield from fresh_database_url(tmp_path, "migration_0006")


@pytest.mark.live
def test_jitsi_deliveries_move_to_the_webinars_table_and_back(fresh_url: str) -> None:
    app = create_app(base_config(fresh_url))
    received = datetime(2027, 1, 12, 17, 0, tzinfo=UTC)
    with app.app_context():
        upgrade(revision="0005_webinars")
        with db.engine.begin() as conn:
            for provider, key, kind, outcome in ROWS:
                conn.execute(
                    sa.text(
                        "INSERT INTO webhook_events "
                        "(provider, event_id, type, received_at, processed_at, outcome) "
                        "VALUES (:p, :k, :t, :r, :r, :o)"
                    ),
                    {"p": provider, "k": key, "t": kind, "r": received, "o": outcome},
                )
        upgrade(revision="0006_jitsi_deliveries")
        with db.engine.connect() as conn:
            moved = conn.execute(
                sa.text(
                    "SELECT idempotency_key, event_type, outcome FROM jitsi_webhook_deliveries "
                    "ORDER BY id"
                )
            ).all()
            left = conn.execute(sa.text("SELECT provider, event_id FROM webhook_events")).all()
        assert [tuple(r) for r in moved] == [
            ("k-1", "PARTICIPANT_JOINED", "recorded: PARTICIPANT_JOINED session 1"),
            ("k-2", "ROOM_DESTROYED", "ignored: unknown room"),
        ]
        assert [tuple(r) for r in left] == [("stripe", "evt_1")]

        downgrade(revision="0005_webinars")
        with db.engine.connect() as conn:
            back = conn.execute(
                sa.text("SELECT provider, event_id FROM webhook_events ORDER BY provider, event_id")
            ).all()
            tables = sa.inspect(conn).get_table_names()
        assert [tuple(r) for r in back] == [("jitsi", "k-1"), ("jitsi", "k-2"), ("stripe", "evt_1")]
        assert "jitsi_webhook_deliveries" not in tables
        db.engine.dispose()
