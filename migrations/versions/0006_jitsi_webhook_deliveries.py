"""webinars keep their own webhook deliveries

Revision ID: 0006_jitsi_deliveries
Revises: 0005_webinars
Create Date: 2026-12-03 07:30:00

Jitsi deliveries were recorded in the payments' ``webhook_events`` table (provider 'jitsi').
They move to ``jitsi_webhook_deliveries``, owned by the webinars; existing rows are carried
over (key, type, times, outcome) and removed from ``webhook_events``. The downgrade moves them
back.
"""
from alembic import op
import sqlalchemy as sa
import vhs.db


# revision identifiers, used by Alembic.
revision = '0006_jitsi_deliveries'
down_revision = '0005_webinars'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('jitsi_webhook_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=255), nullable=False),
    sa.Column('event_type', sa.String(length=100), nullable=False),
    sa.Column('received_at', vhs.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('processed_at', vhs.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jitsi_webhook_deliveries')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_jitsi_webhook_deliveries_idempotency_key'))
    )
    op.execute(
        "INSERT INTO jitsi_webhook_deliveries "
        "(idempotency_key, event_type, received_at, processed_at, outcome) "
        "SELECT event_id, type, received_at, processed_at, outcome FROM webhook_events "
        "WHERE provider = 'jitsi' ORDER BY id"
    )
    op.execute("DELETE FROM webhook_events WHERE provider = 'jitsi'")


def downgrade():
    op.execute(
        "INSERT INTO webhook_events (provider, event_id, type, received_at, processed_at, outcome) "
        "SELECT 'jitsi', idempotency_key, event_type, received_at, processed_at, outcome "
        "FROM jitsi_webhook_deliveries ORDER BY id"
    )
    op.drop_table('jitsi_webhook_deliveries')
