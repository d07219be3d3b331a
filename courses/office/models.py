"""Instructor fee rates and fee statements (Honorarabrechnungen), frozen once issued."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from courses.models import Course, Term
from vhs.accounts.models import User
from vhs.db import db, enum_type, utcnow
from vhs.errors import Conflict


class RateKind(enum.StrEnum):
    """How an instructor is paid for a course: per teaching unit held, or a flat fee."""

    PER_UNIT = "per_unit"
    FLAT = "flat"


class InstructorRate(db.Model):
    """The fee agreed with one instructor for one course, in cents."""

    __tablename__ = "instructor_rates"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"))
    instructor_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[RateKind] = mapped_column(enum_type(RateKind))
    amount_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    course: Mapped[Course] = relationship()
    instructor: Mapped[User] = relationship(foreign_keys=[instructor_id])

    __table_args__ = (
        sa.UniqueConstraint("course_id", "instructor_id", name="uq_instructor_rates_course_user"),
        sa.CheckConstraint("amount_cents >= 0", name="rate_nonneg"),
    )


class FeeStatementCounter(db.Model):
    """The last fee statement number per year, taken under a row lock (gapless numbering)."""

    __tablename__ = "fee_statement_counters"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_sequence: Mapped[int] = mapped_column(default=0)


class FeeStatement(db.Model):
    """One instructor's statement for one term; its lines are copies, never recomputed."""

    __tablename__ = "fee_statements"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    year: Mapped[int]
    sequence: Mapped[int]
    instructor_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    term_id: Mapped[int] = mapped_column(sa.ForeignKey("terms.id", ondelete="RESTRICT"))
    instructor_name: Mapped[str] = mapped_column(sa.String(200))
    instructor_address: Mapped[str] = mapped_column(sa.Text, default="")
    term_name: Mapped[str] = mapped_column(sa.String(80))
    issued_at: Mapped[datetime]
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    units_tenths: Mapped[int]
    total_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")

    instructor: Mapped[User] = relationship(foreign_keys=[instructor_id])
    term: Mapped[Term] = relationship()
    lines: Mapped[list[FeeStatementLine]] = relationship(
        back_populates="statement", order_by="FeeStatementLine.position"
    )

    __table_args__ = (
        sa.UniqueConstraint("instructor_id", "term_id", name="uq_fee_statements_instructor_term"),
        sa.UniqueConstraint("year", "sequence", name="uq_fee_statements_year_sequence"),
        sa.CheckConstraint("total_cents >= 0", name="statement_total_nonneg"),
    )


class FeeStatementLine(db.Model):
    """A held session (date, time, units, amount) or a course's flat fee, as issued."""

    __tablename__ = "fee_statement_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(
        sa.ForeignKey("fee_statements.id", ondelete="RESTRICT"), index=True
    )
    position: Mapped[int]
    course_id: Mapped[int | None] = mapped_column(sa.ForeignKey("courses.id", ondelete="SET NULL"))
    session_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("course_sessions.id", ondelete="SET NULL")
    )
    course_code: Mapped[str] = mapped_column(sa.String(20))
    course_title: Mapped[str] = mapped_column(sa.String(200))
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    units_tenths: Mapped[int] = mapped_column(default=0)
    rate_kind: Mapped[RateKind] = mapped_column(enum_type(RateKind))
    rate_cents: Mapped[int]
    amount_cents: Mapped[int]

    statement: Mapped[FeeStatement] = relationship(back_populates="lines")


FROZEN = (FeeStatement, FeeStatementLine)


def _refuse(*_args: Any) -> None:
    raise Conflict(_l("An issued fee statement cannot be changed."), code="statement_frozen")


for _model in FROZEN:
    event.listen(_model, "before_update", _refuse)
    event.listen(_model, "before_delete", _refuse)


@event.listens_for(Session, "before_flush")
def _no_changes_to_statements(session: Session, _ctx: Any, _instances: Any) -> None:
    """Issued statements and their lines are written once (GoBD): no update, no delete.

    ``before_update`` only fires for changed column values; this also catches a statement
    whose lines list is altered or an object deleted through the session.
    """
    for obj in session.dirty:
        if isinstance(obj, FROZEN) and session.is_modified(obj, include_collections=False):
            _refuse()
    for obj in session.deleted:
        if isinstance(obj, FROZEN):
            _refuse()
