"""lending privacy: ended holds forget their patron; the patron's opt-in to a reading history

Revision ID: 0012_lending_privacy
Revises: 0011_library_access
Create Date: 2026-12-03

- ``library_holds.user_id`` may be NULL once a hold ended (a CHECK keeps open holds with their
  patron); holds that ended before this migration forget their patron now.
- ``library_cards.keep_history``: the patron's own opt-in to a "read before" list (off).

SQLite re-creates ``library_holds`` in batch mode; its partial indexes are dropped before and
made again after, so their ``WHERE`` survives. (No triggers live on this table.)
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_lending_privacy'
down_revision = '0011_library_access'
branch_labels = None
depends_on = None

_OPEN = sa.text("state <> 'ended'")


def _drop_partial_indexes():
    op.drop_index('uq_library_holds_open', table_name='library_holds')
    op.drop_index('ix_library_holds_queue', table_name='library_holds')


def _create_partial_indexes():
    op.create_index(
        'ix_library_holds_queue', 'library_holds', ['item_id', 'placed_at', 'id'],
        unique=False, sqlite_where=_OPEN, postgresql_where=_OPEN,
    )
    op.create_index(
        'uq_library_holds_open', 'library_holds', ['user_id', 'item_id'],
        unique=True, sqlite_where=_OPEN, postgresql_where=_OPEN,
    )


def upgrade():
    with op.batch_alter_table('library_cards', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('keep_history', sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    _drop_partial_indexes()
    with op.batch_alter_table('library_holds', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=True)
    op.execute("UPDATE library_holds SET user_id = NULL WHERE state = 'ended'")
    with op.batch_alter_table('library_holds', schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f('ck_library_holds_open_has_patron'), "state = 'ended' OR user_id IS NOT NULL"
        )
    _create_partial_indexes()


def downgrade():
    # Holds that forgot their patron cannot get one back: they go.
    op.execute("DELETE FROM library_holds WHERE user_id IS NULL")
    _drop_partial_indexes()
    with op.batch_alter_table('library_holds', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_library_holds_open_has_patron'), type_='check')
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=False)
    _create_partial_indexes()

    with op.batch_alter_table('library_cards', schema=None) as batch_op:
        batch_op.drop_column('keep_history')
