"""ODL distributors: their feeds, the ODL side of licences and loans

Revision ID: 0015_odl_distributors
Revises: 0014_reading_positions
Create Date: 2026-12-10

- ``library_distributors``: a distributor's feed (unique), the library's account there (the
  password encrypted), the key of the patrons' opaque ids, the last sync's outcome.
- ``library_odl_licences``: per licence of provider ``odl``, its distributor, publication,
  checkout link template and License Info Document URL.
- ``library_odl_loans``: per loan made at a distributor, the checkout id (unique; what the
  notification URL names), the Loan Status Document's URL, status and links, and a return
  that is owed (partial index on the due ones).
"""
from alembic import op
import sqlalchemy as sa
import vhs.db


# revision identifiers, used by Alembic.
revision = '0015_odl_distributors'
down_revision = '0014_reading_positions'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('library_distributors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('feed_url', sa.String(length=1000), nullable=False),
    sa.Column('username', sa.String(length=200), nullable=False),
    sa.Column('secret_encrypted', sa.Text(), nullable=False),
    sa.Column('patron_key', sa.String(length=64), nullable=False),
    sa.Column('created_at', vhs.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('sync_requested_at', vhs.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_synced_at', vhs.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_sync_ok', sa.Boolean(), nullable=True),
    sa.Column('last_sync_summary', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_library_distributors_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_library_distributors')),
    sa.UniqueConstraint('feed_url', name='uq_library_distributors_feed_url')
    )
    op.create_table('library_odl_licences',
    sa.Column('licence_id', sa.Integer(), nullable=False),
    sa.Column('distributor_id', sa.Integer(), nullable=False),
    sa.Column('publication_id', sa.String(length=500), nullable=False),
    sa.Column('checkout_template', sa.String(length=2000), nullable=False),
    sa.Column('info_url', sa.String(length=1000), nullable=False),
    sa.Column('metadata_digest', sa.String(length=64), nullable=False),
    sa.Column('cover_href', sa.String(length=1000), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('removed_at', vhs.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('checked_at', vhs.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['distributor_id'], ['library_distributors.id'], name=op.f('fk_library_odl_licences_distributor_id_library_distributors'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['licence_id'], ['library_licences.id'], name=op.f('fk_library_odl_licences_licence_id_library_licences'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('licence_id', name=op.f('pk_library_odl_licences'))
    )
    with op.batch_alter_table('library_odl_licences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_library_odl_licences_distributor_id'), ['distributor_id'], unique=False)
        batch_op.create_index('ix_library_odl_licences_publication', ['distributor_id', 'publication_id'], unique=False)

    op.create_table('library_odl_loans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checkout_id', sa.String(length=64), nullable=False),
    sa.Column('licence_id', sa.Integer(), nullable=False),
    sa.Column('lsd_url', sa.String(length=1000), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('links', sa.JSON(), nullable=False),
    sa.Column('created_at', vhs.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('checked_at', vhs.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('return_state', sa.Enum('none', 'pending', 'confirmed', name='returnstate', native_enum=False, length=20), nullable=False),
    sa.Column('return_attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', vhs.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=False),
    sa.CheckConstraint('return_attempts >= 0', name=op.f('ck_library_odl_loans_return_attempts')),
    sa.ForeignKeyConstraint(['licence_id'], ['library_licences.id'], name=op.f('fk_library_odl_loans_licence_id_library_licences'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_library_odl_loans')),
    sa.UniqueConstraint('checkout_id', name=op.f('uq_library_odl_loans_checkout_id'))
    )
    with op.batch_alter_table('library_odl_loans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_library_odl_loans_licence_id'), ['licence_id'], unique=False)
        batch_op.create_index('ix_library_odl_loans_returns_due', ['next_attempt_at'], unique=False, sqlite_where=sa.text("return_state = 'pending'"), postgresql_where=sa.text("return_state = 'pending'"))


def downgrade():
    with op.batch_alter_table('library_odl_loans', schema=None) as batch_op:
        batch_op.drop_index('ix_library_odl_loans_returns_due', sqlite_where=sa.text("return_state = 'pending'"), postgresql_where=sa.text("return_state = 'pending'"))
        batch_op.drop_index(batch_op.f('ix_library_odl_loans_licence_id'))

    op.drop_table('library_odl_loans')
    with op.batch_alter_table('library_odl_licences', schema=None) as batch_op:
        batch_op.drop_index('ix_library_odl_licences_publication')
        batch_op.drop_index(batch_op.f('ix_library_odl_licences_distributor_id'))

    op.drop_table('library_odl_licences')
    op.drop_table('library_distributors')
