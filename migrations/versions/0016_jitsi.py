"""Jitsi head counts: estimated room sizes from Prosody's mod_muc_size

Revision ID: 0016_jitsi
Revises: 0015_odl_distributors
Create Date: 2026-12-03

- ``jitsi_room_headcounts``: per online session, how many were in its room at a moment, as
  ``mod_muc_size`` answered a polling job (only where no event module reports attendance).
  Always an estimate (a check constraint), never a person's attendance.
"""
from alembic import op
import sqlalchemy as sa
import vhs.db


# revision identifiers, used by Alembic.
revision = '0016_jitsi'
down_revision = '0015_odl_distributors'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('jitsi_room_headcounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('measured_at', vhs.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('participants', sa.Integer(), nullable=False),
    sa.Column('estimated', sa.Boolean(), nullable=False),
    sa.CheckConstraint('participants >= 0', name=op.f('ck_jitsi_room_headcounts_participants')),
    sa.CheckConstraint('estimated', name=op.f('ck_jitsi_room_headcounts_estimated')),
    sa.ForeignKeyConstraint(['session_id'], ['course_sessions.id'], name=op.f('fk_jitsi_room_headcounts_session_id_course_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jitsi_room_headcounts'))
    )
    with op.batch_alter_table('jitsi_room_headcounts', schema=None) as batch_op:
        batch_op.create_index('ix_jitsi_room_headcounts_session_measured', ['session_id', 'measured_at'], unique=False)


def downgrade():
    with op.batch_alter_table('jitsi_room_headcounts', schema=None) as batch_op:
        batch_op.drop_index('ix_jitsi_room_headcounts_session_measured')

    op.drop_table('jitsi_room_headcounts')
