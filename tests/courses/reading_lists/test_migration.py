"""Migration 0011 (reading lists, the dedications' loan counter) upgrades and downgrades
cleanly, keeps existing dedications and the loans that point at them, and its CHECK holds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from library.models import Licence
from media.models import MediaItem, MediaKind, PublicationState
from tests.conftest import base_config, fresh_database_url
from vhs import create_app
from vhs.db import db


@pytest.fixture
def fresh_url(tmp_path) -> Iterator[str]:
    yield from fresh_database_url(tmp_path, "migration_0013")


@pytest.mark.live
def test_reading_lists_come_and_go_and_dedications_stay(fresh_url: str) -> None:
    app = create_app(base_config(fresh_url))
    with app.app_context():
        upgrade(revision="0012_lending_privacy")
        item = MediaItem(kind=MediaKind.EBOOK, title="Alt", state=PublicationState.PUBLISHED)
        db.session.add(item)
        db.session.flush()
        db.session.add(Licence(id=1, item_id=item.id, concurrency=2, active_loans=0, reserved=0))
        db.session.commit()
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO library_licence_dedications (id, licence_id, group_type, "
                    "group_id, copies, ends_at, created_at) "
                    "VALUES (1, 1, 'course', 7, 2, :t, :t)"
                ),
                {"t": "2030-01-01 00:00:00"},
            )
        upgrade()
        with db.engine.begin() as conn:
            assert "course_reading_items" in sa.inspect(conn).get_table_names()
            assert conn.execute(
                sa.text("SELECT copies, active_loans FROM library_licence_dedications")
            ).one() == (2, 0)
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE library_licence_dedications SET active_loans = 3"))
        downgrade(revision="0012_lending_privacy")
        with db.engine.connect() as conn:
            assert "course_reading_items" not in sa.inspect(conn).get_table_names()
            columns = {
                c["name"] for c in sa.inspect(conn).get_columns("library_licence_dedications")
            }
            assert "active_loans" not in columns
            assert (
                conn.execute(sa.text("SELECT count(*) FROM library_licence_dedications")).scalar()
                == 1
            )
        upgrade()
        db.engine.dispose()
