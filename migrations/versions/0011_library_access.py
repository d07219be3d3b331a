"""library access: the watermark codes of downloaded EPUBs

Revision ID: 0011_library_access
Revises: 0010_library
Create Date: 2026-12-10

- ``library_watermarks``: one random code per loan and file (``W-7K3M-Q9XD``) that a
  downloaded EPUB carries in its metadata and on a colophon page; staff look a code up to
  learn which loan a file comes from. No patron column: the patron is known through the loan
  for as long as the loan knows them.
"""
from alembic import op
import sqlalchemy as sa
import vhs.db


# revision identifiers, used by Alembic.
revision = '0011_library_access'
down_revision = '0010_library'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('library_watermarks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=True),
    sa.Column('first_downloaded_at', vhs.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_downloaded_at', vhs.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('downloads', sa.Integer(), nullable=False),
    sa.CheckConstraint('downloads >= 1', name=op.f('ck_library_watermarks_downloads')),
    sa.ForeignKeyConstraint(['file_id'], ['media_files.id'], name=op.f('fk_library_watermarks_file_id_media_files'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['loan_id'], ['library_loans.id'], name=op.f('fk_library_watermarks_loan_id_library_loans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_library_watermarks')),
    sa.UniqueConstraint('code', name=op.f('uq_library_watermarks_code')),
    sa.UniqueConstraint('loan_id', 'file_id', name='uq_library_watermarks_loan_file')
    )
    with op.batch_alter_table('library_watermarks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_library_watermarks_loan_id'), ['loan_id'], unique=False)


def downgrade():
    with op.batch_alter_table('library_watermarks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_library_watermarks_loan_id'))

    op.drop_table('library_watermarks')
