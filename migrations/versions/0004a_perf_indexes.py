"""perf: catalogue indexes, cache version counters

Revision ID: 0004_perf_indexes
Revises: 0003_payments
Create Date: 2026-11-23 06:40:00.000000

- ``ix_courses_status_first_id`` (status, first_session_at, id) replaces
  ``ix_courses_status_first``: the catalogue's default order comes straight from the index on
  every page (no sort of all published courses; measured by ``make bench``).
- ``ix_courses_code_lower``: the course-number prefix search (``lower(code) LIKE '271-1%'``)
  next to the full-text match, so PostgreSQL can combine both indexes instead of scanning.
- ``cache_versions``: counters that cached pages compare against (see vhs/cache.py).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_perf_indexes'
down_revision = '0003_payments'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('cache_versions',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_cache_versions'))
    )
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.drop_index('ix_courses_status_first')
        batch_op.create_index('ix_courses_status_first_id', ['status', 'first_session_at', 'id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        # PostgreSQL only: SQLite searches course numbers through FTS5 (and cannot reflect
        # expression indexes, so the schema comparison would warn).
        op.execute('CREATE INDEX ix_courses_code_lower ON courses (lower(code) text_pattern_ops)')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP INDEX ix_courses_code_lower')
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.drop_index('ix_courses_status_first_id')
        batch_op.create_index('ix_courses_status_first', ['status', 'first_session_at'], unique=False)
    op.drop_table('cache_versions')
