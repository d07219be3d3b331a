"""What a booking owes beyond its first payment, and the check of its reduction (Ermäßigung).

Both hang off an enrolment in tables of their own, so the enrolment row keeps its shape:

- ``ReductionCheck``: a claimed reduction is verified or rejected by staff, with a note, who
  decided and when (one row per enrolment that claims a reduction).
- ``EnrolmentCharge``: an amount a booking owes on top of what it paid (a rejected reduction,
  a move to a dearer course). Each charge is a payment *purpose* of its own
  (``enrolment_charge``), so it is paid the usual way, with its own invoice, once.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from courses.models import Enrolment
from vhs.accounts.models import User
from vhs.db import db, enum_type, utcnow


class ReductionState(enum.StrEnum):
    """Claimed at booking; verified or rejected once by staff."""

    CLAIMED = "claimed"
    VERIFIED = "verified"
    REJECTED = "rejected"


class ReductionCheck(db.Model):
    """The verification of one enrolment's claimed reduction."""

    __tablename__ = "reduction_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enrolments.id", ondelete="RESTRICT"), unique=True
    )
    state: Mapped[ReductionState] = mapped_column(
        enum_type(ReductionState), default=ReductionState.CLAIMED, index=True
    )
    note: Mapped[str] = mapped_column(sa.Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    enrolment: Mapped[Enrolment] = relationship(
        backref=backref("reduction_check", uselist=False, lazy="select")
    )
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class ChargeKind(enum.StrEnum):
    """Why a booking owes more."""

    REDUCTION_REJECTED = "reduction_rejected"
    MOVED = "moved"


class EnrolmentCharge(db.Model):
    """An amount owed on top of a booking's payment; paid as a purpose of its own."""

    __tablename__ = "enrolment_charges"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enrolments.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[ChargeKind] = mapped_column(enum_type(ChargeKind, length=30))
    amount_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    # Set when it is no longer owed (its booking ended, or a move settled it) before it was
    # paid: money that still arrives for it goes back.
    cancelled_at: Mapped[datetime | None]

    enrolment: Mapped[Enrolment] = relationship()

    __table_args__ = (sa.CheckConstraint("amount_cents > 0", name="amount_positive"),)
