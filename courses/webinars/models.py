"""Webinar records: webhook deliveries, raw Jitsi events, attendance, certificates."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from courses.models import Course, Session
from vhs.accounts.models import User
from vhs.db import db, enum_type, utcnow

# A room belongs to exactly one session: webhooks find the session by the room's name. (Declared
# here, with the feature that needs it; the column itself is in courses/models.py.)
sa.Index("uq_course_sessions_jitsi_room", Session.__table__.c.jitsi_room, unique=True)


class JitsiEventKind(enum.StrEnum):
    """The webhook events attendance is built from (JaaS ``eventType`` names)."""

    PARTICIPANT_JOINED = "PARTICIPANT_JOINED"
    PARTICIPANT_LEFT = "PARTICIPANT_LEFT"
    ROOM_CREATED = "ROOM_CREATED"
    ROOM_DESTROYED = "ROOM_DESTROYED"


class JitsiEvent(db.Model):
    """One verified, de-duplicated Jitsi event for a known room.

    Kept raw: attendance is recomputed from all of a person's events every time one arrives,
    so events that come late or out of order still give the right totals.
    """

    __tablename__ = "jitsi_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("course_sessions.id", ondelete="CASCADE"))
    # None for room events; participant events of unknown people are not stored here.
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[JitsiEventKind] = mapped_column(enum_type(JitsiEventKind, 30))
    # One participant connection (a device or browser tab): Jitsi's participant id.
    connection: Mapped[str] = mapped_column(sa.String(255), default="")
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        sa.Index("ix_jitsi_events_session_user", "session_id", "user_id"),
        sa.Index("ix_jitsi_events_user_id", "user_id"),
    )


class WebhookDelivery(db.Model):
    """A verified Jitsi webhook delivery, recorded by its ``idempotencyKey`` before acting.

    The webinars' own table (payments keep theirs): a redelivery finds its key and changes
    nothing, so each event takes effect once.
    """

    __tablename__ = "jitsi_webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(sa.String(255), unique=True)
    event_type: Mapped[str] = mapped_column(sa.String(100))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(sa.Text, default="")


class RoomHeadcount(db.Model):
    """How many were in a session's room at one moment, from Prosody's ``mod_muc_size``.

    Always an estimate (``estimated`` is never false): a count says nothing about who was
    there, so it never becomes a person's attendance. Recorded by a polling job only where no
    event module reports who joined and left.
    """

    __tablename__ = "jitsi_room_headcounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("course_sessions.id", ondelete="CASCADE"))
    measured_at: Mapped[datetime] = mapped_column(default=utcnow)
    participants: Mapped[int]
    estimated: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (
        sa.Index("ix_jitsi_room_headcounts_session_measured", "session_id", "measured_at"),
        sa.CheckConstraint("participants >= 0", name="participants"),
        sa.CheckConstraint("estimated", name="estimated"),
    )


class Attendance(db.Model):
    """Whether and how long a person was at one session: from Jitsi, by hand, or both.

    ``seconds_present`` is the union of the person's connections (two devices at once count
    once); ``manual_present`` is the instructor's mark (None = not marked) and wins when set.
    """

    __tablename__ = "attendances"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("course_sessions.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    first_join_at: Mapped[datetime | None]
    last_leave_at: Mapped[datetime | None]
    seconds_present: Mapped[int] = mapped_column(default=0)
    # A connection is open (joined, not yet left): shown as "in the room now".
    in_room: Mapped[bool] = mapped_column(default=False)
    manual_present: Mapped[bool | None]
    marked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    marked_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    session: Mapped[Session] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])

    __table_args__ = (sa.UniqueConstraint("session_id", "user_id"),)

    @property
    def has_jitsi_data(self) -> bool:
        """Whether Jitsi reported this person in the room at all."""
        return self.first_join_at is not None


class Certificate(db.Model):
    """A Teilnahmebescheinigung: what it says is frozen in ``details`` when it is issued.

    A revoked certificate keeps its code (verification then says "revoked"); a new one for
    the same person and course gets a new code. At most one is valid at a time.
    """

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(
        sa.ForeignKey("courses.id", ondelete="RESTRICT"), index=True
    )
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    # None: issued to the participant automatically (attendance reached the threshold).
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    revoke_reason: Mapped[str] = mapped_column(sa.Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    course: Mapped[Course] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id])

    __table_args__ = (
        sa.Index(
            "uq_certificates_valid",
            "course_id",
            "user_id",
            unique=True,
            sqlite_where=sa.text("revoked_at IS NULL"),
            postgresql_where=sa.text("revoked_at IS NULL"),
        ),
    )

    @property
    def revoked(self) -> bool:
        """Whether the certificate has been withdrawn."""
        return self.revoked_at is not None
