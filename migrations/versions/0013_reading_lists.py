"""reading lists and course-bound copies

Revision ID: 0013_reading_lists
Revises: 0012_lending_privacy
Create Date: 2026-12-03

- ``course_reading_items``: media on a course's reading list (unique per course and item),
  with a note and a position.
- ``library_licence_dedications.active_loans``: open loans on a dedication's copies, a
  counter moved with the loan rows (CHECK ``0 <= active_loans <= copies``). Added in place,
  not in batch mode: re-creating the table on SQLite would drop the rows that loans point at.
"""
from alembic import op
import sqlalchemy as sa
import vhs.db


# revision identifiers, used by Alembic.
revision = '0013_reading_lists'
down_revision = '0012_lending_privacy'
branch_labels = None
depends_on = None

CHECK = "active_loans >= 0 AND active_loans <= copies"
CHECK_NAME = "ck_library_licence_dedications_active_loans"


def upgrade():
    op.create_table('course_reading_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('added_at', vhs.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('position >= 1', name=op.f('ck_course_reading_items_position')),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_course_reading_items_added_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_course_reading_items_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['item_id'], ['media_items.id'], name=op.f('fk_course_reading_items_item_id_media_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_course_reading_items')),
    sa.UniqueConstraint('course_id', 'item_id', name='uq_course_reading_items_item')
    )
    with op.batch_alter_table('course_reading_items', schema=None) as batch_op:
        batch_op.create_index('ix_course_reading_items_order', ['course_id', 'position'], unique=False)
        batch_op.create_index(batch_op.f('ix_course_reading_items_item_id'), ['item_id'], unique=False)

    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column with its CHECK in place (no table re-creation).
        op.execute(
            "ALTER TABLE library_licence_dedications ADD COLUMN active_loans INTEGER "
            f"DEFAULT 0 NOT NULL CONSTRAINT {CHECK_NAME} CHECK ({CHECK})"
        )
    else:
        op.add_column(
            'library_licence_dedications',
            sa.Column('active_loans', sa.Integer(), server_default=sa.text('0'), nullable=False),
        )
        op.create_check_constraint(CHECK_NAME, 'library_licence_dedications', CHECK)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE library_licence_dedications DROP COLUMN active_loans")
    else:
        op.drop_constraint(CHECK_NAME, 'library_licence_dedications', type_='check')
        op.drop_column('library_licence_dedications', 'active_loans')
    with op.batch_alter_table('course_reading_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_course_reading_items_item_id'))
        batch_op.drop_index('ix_course_reading_items_order')

    op.drop_table('course_reading_items')
