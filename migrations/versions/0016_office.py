"""office: teaching units derived from sessions with an override; instructor fees and statements

Revision ID: 0016_office
Revises: 0016_jitsi
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


# ``courses`` is altered in place on both databases (its new columns carry no foreign key):
# rebuilding it (Alembic's batch mode on SQLite) would drop it, and with foreign keys on,
# SQLite's implicit DELETE would cascade to its sessions (and fail on its enrolments), and its
# full-text triggers would be lost.
NEW_COLUMNS = (
    "units_override_at",
    "units_override_by_name",
    "units_override_by_id",
    "units_override_reason",
    "units_override_tenths",
    "units_derived_tenths",
)


def _sqlite():
    return op.get_bind().dialect.name == "sqlite"


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
down_revision = '0016_jitsi'
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

    op.add_column('courses', sa.Column('units_derived_tenths', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('courses', sa.Column('units_override_tenths', sa.Integer(), nullable=True))
    op.add_column('courses', sa.Column('units_override_reason', sa.Text(), nullable=False, server_default=''))
    op.add_column('courses', sa.Column('units_override_by_id', sa.Integer(), nullable=True))
    op.add_column('courses', sa.Column('units_override_by_name', sa.String(length=200), nullable=False, server_default=''))
    op.add_column('courses', sa.Column('units_override_at', vhs.db.UTCDateTime(timezone=True), nullable=True))

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

    if _sqlite():
        op.execute("ALTER TABLE courses DROP COLUMN teaching_units")
    else:
        op.alter_column('courses', 'units_derived_tenths', server_default=None)
        op.alter_column('courses', 'units_override_reason', server_default=None)
        op.alter_column('courses', 'units_override_by_name', server_default=None)
        op.drop_column('courses', 'teaching_units')


def downgrade():
    op.add_column('courses', sa.Column('teaching_units', sa.Integer(), nullable=False, server_default='0'))
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
    if _sqlite():
        for column in NEW_COLUMNS:
            op.execute(f"ALTER TABLE courses DROP COLUMN {column}")
    else:
        op.alter_column('courses', 'teaching_units', server_default=None)
        for column in NEW_COLUMNS:
            op.drop_column('courses', column)

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
