"""office: teaching units derived from sessions with an override; instructor fees and statements

Revision ID: 0016_office
Revises: 0015_odl_distributors
Create Date: 2026-12-03

- ``courses.teaching_units`` (a typed-in number) gives way to ``units_derived_tenths`` (kept
  from the held sessions, 45 minutes each, to one decimal) and an override with its reason,
  author and time. Data: the derived figure is computed for every course; a typed value
  becomes an override only where it differs from the derived one (0, the old default, means
  "never typed" and becomes nothing). Downgrade writes the effective figure back, rounded.
- ``instructor_rates``: per course and instructor, per unit or flat, in cents.
- ``fee_statements`` / ``fee_statement_lines`` / ``fee_statement_counters``: issued
  statements, their frozen lines, and the gapless numbers per year.
"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa
import vhs.db

MIGRATED_REASON = "Aus der bisherigen Eingabe übernommen (Migration 0016)"


def _units_tenths(minutes):
    """The rule of courses.rules.units_tenths, frozen here: minutes / 45, half up, tenths."""
    return (max(minutes, 0) * 20 + 45) // 90


_sessions = sa.table(
    "course_sessions",
    sa.column("course_id", sa.Integer),
    sa.column("starts_at", vhs.db.UTCDateTime(timezone=True)),
    sa.column("ends_at", vhs.db.UTCDateTime(timezone=True)),
    sa.column("status", sa.String),
)
_courses = sa.table(
    "courses",
    sa.column("id", sa.Integer),
    sa.column("teaching_units", sa.Integer),
    sa.column("units_derived_tenths", sa.Integer),
    sa.column("units_override_tenths", sa.Integer),
    sa.column("units_override_reason", sa.Text),
    sa.column("units_override_at", vhs.db.UTCDateTime(timezone=True)),
)


# SQLite rebuilds ``courses`` for the column changes (batch mode), which drops the triggers
# that keep the full-text index (0002_courses) in step: they are made again, and the index
# rebuilt, after each rebuild. PostgreSQL alters the table in place.
SQLITE_SEARCH_TRIGGERS = [
    """CREATE TRIGGER courses_fts_ai AFTER INSERT ON courses BEGIN
        INSERT INTO courses_fts(rowid, search_document) VALUES (new.id, new.search_document);
    END""",
    """CREATE TRIGGER courses_fts_ad AFTER DELETE ON courses BEGIN
        INSERT INTO courses_fts(courses_fts, rowid, search_document)
        VALUES ('delete', old.id, old.search_document);
    END""",
    """CREATE TRIGGER courses_fts_au AFTER UPDATE OF search_document ON courses BEGIN
        INSERT INTO courses_fts(courses_fts, rowid, search_document)
        VALUES ('delete', old.id, old.search_document);
        INSERT INTO courses_fts(rowid, search_document) VALUES (new.id, new.search_document);
    END""",
]


def _restore_search_triggers():
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in ("courses_fts_ai", "courses_fts_ad", "courses_fts_au"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for statement in SQLITE_SEARCH_TRIGGERS:
        op.execute(statement)
    op.execute("INSERT INTO courses_fts(courses_fts) VALUES ('rebuild')")


def _derived(conn):
    """Derived tenths per course id, from the sessions that are not cancelled."""
    derived = {}
    rows = conn.execute(
        sa.select(_sessions.c.course_id, _sessions.c.starts_at, _sessions.c.ends_at).where(
            _sessions.c.status == "scheduled"
        )
    )
    for course_id, starts, ends in rows:
        minutes = int((ends - starts).total_seconds() // 60)
        derived[course_id] = derived.get(course_id, 0) + _units_tenths(minutes)
    return derived


# revision identifiers, used by Alembic.
revision = '0016_office'
down_revision = '0015_odl_distributors'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('fee_statement_counters',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_sequence', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_fee_statement_counters'))
    )
    op.create_table('fee_statements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('instructor_id', sa.Integer(), nullable=False),
    sa.Column('term_id', sa.Integer(), nullable=False),
    sa.Column('instructor_name', sa.String(length=200), nullable=False),
    sa.Column('instructor_address', sa.Text(), nullable=False),
    sa.Column('term_name', sa.String(length=80), nullable=False),
    sa.Column('issued_at', vhs.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('units_tenths', sa.Integer(), nullable=False),
    sa.Column('total_cents', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.CheckConstraint('total_cents >= 0', name=op.f('ck_fee_statements_statement_total_nonneg')),
    sa.ForeignKeyConstraint(['instructor_id'], ['users.id'], name=op.f('fk_fee_statements_instructor_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_fee_statements_issued_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['term_id'], ['terms.id'], name=op.f('fk_fee_statements_term_id_terms'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fee_statements')),
    sa.UniqueConstraint('instructor_id', 'term_id', name='uq_fee_statements_instructor_term'),
    sa.UniqueConstraint('number', name=op.f('uq_fee_statements_number')),
    sa.UniqueConstraint('year', 'sequence', name='uq_fee_statements_year_sequence')
    )
    with op.batch_alter_table('fee_statements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fee_statements_instructor_id'), ['instructor_id'], unique=False)

    op.create_table('instructor_rates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('instructor_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('per_unit', 'flat', name='ratekind', native_enum=False, length=20), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('updated_at', vhs.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('amount_cents >= 0', name=op.f('ck_instructor_rates_rate_nonneg')),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_instructor_rates_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['instructor_id'], ['users.id'], name=op.f('fk_instructor_rates_instructor_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_instructor_rates_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instructor_rates')),
    sa.UniqueConstraint('course_id', 'instructor_id', name='uq_instructor_rates_course_user')
    )
    with op.batch_alter_table('instructor_rates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instructor_rates_instructor_id'), ['instructor_id'], unique=False)

    op.create_table('fee_statement_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=True),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('course_code', sa.String(length=20), nullable=False),
    sa.Column('course_title', sa.String(length=200), nullable=False),
    sa.Column('starts_at', vhs.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ends_at', vhs.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('units_tenths', sa.Integer(), nullable=False),
    sa.Column('rate_kind', sa.Enum('per_unit', 'flat', name='ratekind', native_enum=False, length=20), nullable=False),
    sa.Column('rate_cents', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_fee_statement_lines_course_id_courses'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['course_sessions.id'], name=op.f('fk_fee_statement_lines_session_id_course_sessions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['statement_id'], ['fee_statements.id'], name=op.f('fk_fee_statement_lines_statement_id_fee_statements'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fee_statement_lines'))
    )
    with op.batch_alter_table('fee_statement_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fee_statement_lines_statement_id'), ['statement_id'], unique=False)

    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('units_derived_tenths', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('units_override_tenths', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('units_override_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('units_override_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('units_override_at', vhs.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_courses_units_override_by_id_users'), 'users', ['units_override_by_id'], ['id'], ondelete='SET NULL')

    conn = op.get_bind()
    derived = _derived(conn)
    now = datetime.now(UTC)
    for course_id, typed in conn.execute(sa.select(_courses.c.id, _courses.c.teaching_units)).all():
        tenths = derived.get(course_id, 0)
        values = {"units_derived_tenths": tenths, "units_override_reason": ""}
        if typed and typed * 10 != tenths:
            values.update(
                units_override_tenths=typed * 10,
                units_override_reason=MIGRATED_REASON,
                units_override_at=now,
            )
        conn.execute(_courses.update().where(_courses.c.id == course_id).values(**values))

    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.alter_column('units_derived_tenths', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('units_override_reason', existing_type=sa.Text(), nullable=False)
        batch_op.drop_column('teaching_units')
    _restore_search_triggers()



def downgrade():
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('teaching_units', sa.Integer(), nullable=True))
    conn = op.get_bind()
    for course_id, derived, override in conn.execute(
        sa.select(_courses.c.id, _courses.c.units_derived_tenths, _courses.c.units_override_tenths)
    ).all():
        tenths = override if override is not None else derived
        conn.execute(
            _courses.update()
            .where(_courses.c.id == course_id)
            .values(teaching_units=(tenths + 5) // 10)
        )
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.alter_column('teaching_units', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint(batch_op.f('fk_courses_units_override_by_id_users'), type_='foreignkey')
        batch_op.drop_column('units_override_at')
        batch_op.drop_column('units_override_by_id')
        batch_op.drop_column('units_override_reason')
        batch_op.drop_column('units_override_tenths')
        batch_op.drop_column('units_derived_tenths')
    _restore_search_triggers()

    with op.batch_alter_table('fee_statement_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fee_statement_lines_statement_id'))

    op.drop_table('fee_statement_lines')
    with op.batch_alter_table('instructor_rates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instructor_rates_instructor_id'))

    op.drop_table('instructor_rates')
    with op.batch_alter_table('fee_statements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fee_statements_instructor_id'))

    op.drop_table('fee_statements')
    op.drop_table('fee_statement_counters')
