"""The secret behind a personal calendar feed URL."""

from __future__ import annotations

import hashlib
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vhs.accounts.models import User
from vhs.db import db, utcnow


class CalendarToken(db.Model):
    """A person's feed token: only its SHA-256 digest and a random salt are stored.

    The token itself is ``HMAC(secret key, salt)`` (see ``vhs.calendar.services``), so the
    "Meine Kurse" page can show the feed address again without the database holding it.
    ``feed_hash``/``feed_changed_at`` remember when the feed's bytes last changed: that is the
    honest Last-Modified (a cancelled booking removes events and leaves no timestamp behind).
    """

    __tablename__ = "calendar_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    salt: Mapped[str] = mapped_column(sa.String(64))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    feed_hash: Mapped[str | None] = mapped_column(sa.String(64))
    feed_changed_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    __table_args__ = (
        # One working feed address per person, guarded by the database.
        sa.Index(
            "uq_calendar_tokens_active",
            "user_id",
            unique=True,
            sqlite_where=sa.text("revoked_at IS NULL"),
            postgresql_where=sa.text("revoked_at IS NULL"),
        ),
    )

    @staticmethod
    def digest(token: str) -> str:
        """The stored form of a token (it is random, so a plain hash suffices)."""
        return hashlib.sha256(token.encode()).hexdigest()

    @property
    def active(self) -> bool:
        """A token works until it is revoked or replaced."""
        return self.revoked_at is None
