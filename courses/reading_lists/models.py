"""A course's reading list: media of the library's catalogue, in order, each with a note."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from courses.models import Course
from media.models import MediaItem
from vhs.db import db, utcnow

NOTE_MAX = 300


class CourseReadingItem(db.Model):
    """One medium on a course's reading list ("bis zum 3. Termin lesen")."""

    __tablename__ = "course_reading_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(
        sa.ForeignKey("media_items.id", ondelete="CASCADE"), index=True
    )
    note: Mapped[str] = mapped_column(sa.String(NOTE_MAX), default="")
    # The list's order: 1, 2, 3... (kept dense by the services).
    position: Mapped[int] = mapped_column(default=1)
    added_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    course: Mapped[Course] = relationship()
    item: Mapped[MediaItem] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("course_id", "item_id", name="uq_course_reading_items_item"),
        sa.CheckConstraint("position >= 1", name="position"),
        sa.Index("ix_course_reading_items_order", "course_id", "position"),
    )
