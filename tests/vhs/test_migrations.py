"""The migrations build exactly the schema the models declare (no autogenerate diff)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from vhs.config import REPO_ROOT
from vhs.db import db, include_object


def migration_context(connection):
    """Compare as ``flask db migrate`` would (see migrations/env.py and create_app)."""
    return MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "include_object": include_object,
            "render_as_batch": True,
        },
    )


def test_migrated_database_matches_the_models(app):
    with app.app_context():
        diff = compare_metadata(migration_context(db.session.connection()), db.metadata)
    assert diff == [], "models and migrations differ; run `flask db migrate`:\n" + "\n".join(
        map(repr, diff)
    )


def test_database_is_at_the_single_head(app):
    script = ScriptDirectory(str(REPO_ROOT / "migrations"))
    heads = script.get_heads()
    assert len(heads) == 1, f"several migration heads: {heads}"
    with app.app_context():
        current = migration_context(db.session.connection()).get_current_revision()
    assert current == heads[0]


def test_the_comparison_would_notice_a_missing_migration(app):
    """Control: a table only the models know about shows up as a diff."""
    metadata = sa.MetaData(naming_convention=db.metadata.naming_convention)
    for table in db.metadata.tables.values():
        table.to_metadata(metadata)
    sa.Table("zz_unmigrated", metadata, sa.Column("id", sa.Integer, primary_key=True))
    with app.app_context():
        diff = compare_metadata(migration_context(db.session.connection()), metadata)
    assert [d[0] for d in diff] == ["add_table"]
    assert diff[0][1].name == "zz_unmigrated"
