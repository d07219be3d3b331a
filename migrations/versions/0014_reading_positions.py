"""reading positions: where a patron is in a loan's file (the browser reader)

Revision ID: 0014_reading_positions
Revises: 0013_reading_lists
Create Date: 2026-12-12

- ``library_reading_positions``: one row per open loan — an EPUB CFI or seconds into an audio
  or video file, the file, and the progress (0..1) — so a second device resumes where the
  first stopped. Deleted when the loan ends (the services), and with the loan or file
  (``ON DELETE CASCADE``).
"""

from alembic import op
import sqlalchemy as sa
import vhs.db


# revision identifiers, used by Alembic.
revision = "0014_reading_positions"
down_revision = "0013_reading_lists"
branch_labels = None
depends_on = None

# As library.rules has them when this migration was written (a migration does not follow later
# changes of the rules).
POSITION_CFI_MAX = 1000
POSITION_SECONDS_MAX = 100 * 3600


def upgrade():
    op.create_table(
        "library_reading_positions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("cfi", sa.String(length=POSITION_CFI_MAX), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("updated_at", vhs.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(cfi IS NULL) <> (seconds IS NULL)",
            name=op.f("ck_library_reading_positions_cfi_or_seconds"),
        ),
        sa.CheckConstraint(
            f"seconds IS NULL OR (seconds >= 0 AND seconds <= {POSITION_SECONDS_MAX})",
            name=op.f("ck_library_reading_positions_seconds"),
        ),
        sa.CheckConstraint(
            "progress >= 0 AND progress <= 1", name=op.f("ck_library_reading_positions_progress")
        ),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["media_files.id"],
            name=op.f("fk_library_reading_positions_file_id_media_files"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"],
            ["library_loans.id"],
            name=op.f("fk_library_reading_positions_loan_id_library_loans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_library_reading_positions")),
        sa.UniqueConstraint("loan_id", name=op.f("uq_library_reading_positions_loan_id")),
    )


def downgrade():
    op.drop_table("library_reading_positions")
