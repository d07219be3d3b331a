"""Payments, refunds, webhook events and invoices: generic, with an explicit state machine.

A payment pays for a *purpose* (``purpose_type``/``purpose_id``, e.g. an enrolment), so this
package never imports a domain; domains react to the signals in ``vhs.signals``.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import event
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column, relationship

from vhs.accounts.models import User
from vhs.db import db, enum_type, utcnow
from vhs.errors import Conflict


class PaymentStatus(enum.StrEnum):
    """Where the money is."""

    CREATED = "created"
    PENDING = "pending"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXPIRED = "expired"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


S = PaymentStatus
# The only legal moves; anything else is a Conflict. A late success after expiry is legal
# (the money arrived: we confirm the seat or refund, never ignore it).
TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    S.CREATED: frozenset({S.PENDING, S.PROCESSING, S.SUCCEEDED, S.FAILED, S.EXPIRED}),
    S.PENDING: frozenset({S.PROCESSING, S.SUCCEEDED, S.FAILED, S.EXPIRED}),
    S.PROCESSING: frozenset({S.SUCCEEDED, S.FAILED}),
    S.SUCCEEDED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.PARTIALLY_REFUNDED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.FAILED: frozenset(),
    S.EXPIRED: frozenset({S.SUCCEEDED}),
    S.REFUNDED: frozenset(),
}
OPEN_STATUSES = (S.CREATED, S.PENDING, S.PROCESSING)
PAID_STATUSES = (S.SUCCEEDED, S.PARTIALLY_REFUNDED, S.REFUNDED)


class Provider(enum.StrEnum):
    """How the money travels."""

    MANUAL = "manual"
    STRIPE = "stripe"


class Payment(db.Model):
    """One attempt to collect a fee for a purpose."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose_type: Mapped[str] = mapped_column(sa.String(30))
    purpose_id: Mapped[int]
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    description: Mapped[str] = mapped_column(sa.String(300))
    amount_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")
    provider: Mapped[Provider] = mapped_column(enum_type(Provider))
    status: Mapped[PaymentStatus] = mapped_column(enum_type(PaymentStatus), default=S.CREATED)
    attempt: Mapped[int] = mapped_column(default=1)
    stripe_checkout_session_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    checkout_url: Mapped[str | None] = mapped_column(sa.Text)
    checkout_expires_at: Mapped[datetime | None]
    refunded_cents: Mapped[int] = mapped_column(default=0)
    disputed: Mapped[bool] = mapped_column(default=False)
    failure_reason: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    succeeded_at: Mapped[datetime | None]
    marked_paid_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    refunds: Mapped[list[Refund]] = relationship(back_populates="payment", order_by="Refund.id")
    invoices: Mapped[list[Invoice]] = relationship(back_populates="payment", order_by="Invoice.id")
    credit_notes: Mapped[list[CreditNote]] = relationship(
        back_populates="payment", order_by="CreditNote.id"
    )

    __table_args__ = (
        sa.Index("ix_payments_purpose", "purpose_type", "purpose_id"),
        sa.Index("ix_payments_status_created", "status", "created_at"),
        sa.CheckConstraint("amount_cents > 0", name="amount_positive"),
        sa.CheckConstraint(
            "refunded_cents >= 0 AND refunded_cents <= amount_cents", name="refund_bounds"
        ),
    )

    @property
    def refundable_cents(self) -> int:
        """What may still be paid back."""
        if self.status not in (S.SUCCEEDED, S.PARTIALLY_REFUNDED):
            return 0
        return self.amount_cents - self.refunded_cents

    @property
    def is_open(self) -> bool:
        """Still waiting for money."""
        return self.status in OPEN_STATUSES

    @property
    def invoice(self) -> Invoice | None:
        """The payment's latest invoice: the one that stands, or the last one cancelled.

        A cancelled invoice is never revived (GoBD): money arriving after it was cancelled
        gets a new invoice with a new number, so a payment can have several, one standing.
        """
        return self.invoices[-1] if self.invoices else None


class RefundStatus(enum.StrEnum):
    """Refunds are requested, then done (or fail) at the provider."""

    REQUESTED = "requested"
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


class Refund(db.Model):
    """Money paid back; one row per provider refund (unique provider id)."""

    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("payments.id", ondelete="RESTRICT"), index=True
    )
    amount_cents: Mapped[int]
    reason: Mapped[str] = mapped_column(sa.String(300), default="")
    status: Mapped[RefundStatus] = mapped_column(
        enum_type(RefundStatus), default=RefundStatus.REQUESTED
    )
    provider_refund_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    failure_reason: Mapped[str] = mapped_column(sa.Text, default="")

    payment: Mapped[Payment] = relationship(back_populates="refunds")

    __table_args__ = (sa.CheckConstraint("amount_cents > 0", name="refund_positive"),)

    @property
    def counts(self) -> bool:
        """Whether this refund takes money off the payment (requested or done)."""
        return self.status in (RefundStatus.REQUESTED, RefundStatus.PENDING, RefundStatus.SUCCEEDED)


class WebhookEvent(db.Model):
    """A delivered webhook, recorded by event id before acting: the effect happens once."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(sa.String(20))
    event_id: Mapped[str] = mapped_column(sa.String(255))
    type: Mapped[str] = mapped_column(sa.String(100))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(sa.Text, default="")

    __table_args__ = (
        sa.UniqueConstraint("provider", "event_id", name="uq_webhook_events_provider_event"),
    )


class InvoiceStatus(enum.StrEnum):
    """An invoice is issued once; a cancelled one keeps its number (no gaps).

    ISSUED -> CANCELLED is the only change an invoice ever sees (with a cancellation invoice,
    ``CreditNote``); the ORM guard in ``vhs.payments.immutable`` and a database trigger refuse
    every other one.
    """

    ISSUED = "issued"
    CANCELLED = "cancelled"


class Invoice(db.Model):
    """Invoice/receipt with a number without gaps per year (``2027-000123``)."""

    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    year: Mapped[int]
    sequence: Mapped[int]
    payment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("payments.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[InvoiceStatus] = mapped_column(
        enum_type(InvoiceStatus), default=InvoiceStatus.ISSUED
    )
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    recipient_name: Mapped[str] = mapped_column(sa.String(200))
    recipient_address: Mapped[str] = mapped_column(sa.String(400), default="")
    lines: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    amount_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")

    payment: Mapped[Payment] = relationship(back_populates="invoices")
    credit_notes: Mapped[list[CreditNote]] = relationship(
        back_populates="invoice", order_by="CreditNote.id"
    )

    __table_args__ = (
        sa.UniqueConstraint("year", "sequence", name="uq_invoices_year_sequence"),
        # At most one standing invoice per payment; cancelled ones stay beside it.
        sa.Index(
            "uq_invoices_payment_issued",
            "payment_id",
            unique=True,
            sqlite_where=sa.text("status = 'issued'"),
            postgresql_where=sa.text("status = 'issued'"),
        ),
    )

    @property
    def credited_cents(self) -> int:
        """What credit notes have taken off this invoice so far."""
        return sum(note.amount_cents for note in self.credit_notes)


class InvoiceCounter(db.Model):
    """The last invoice number per year, taken under a row lock (gapless numbering)."""

    __tablename__ = "invoice_counters"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_sequence: Mapped[int] = mapped_column(default=0)


class CreditNoteKind(enum.StrEnum):
    """A refund credits part or all of a paid invoice; a cancellation voids an invoice."""

    REFUND = "refund"  # Gutschrift
    CANCELLATION = "cancellation"  # Stornorechnung


class CreditNote(db.Model):
    """Gutschrift / Stornorechnung: its own gapless number series per year (``GS-2027-00012``).

    It names the original invoice by number and date (copied: the document must read alone),
    and like an invoice it never changes after issue.
    """

    __tablename__ = "credit_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    year: Mapped[int]
    sequence: Mapped[int]
    kind: Mapped[CreditNoteKind] = mapped_column(enum_type(CreditNoteKind))
    invoice_id: Mapped[int] = mapped_column(
        sa.ForeignKey("invoices.id", ondelete="RESTRICT"), index=True
    )
    invoice_number: Mapped[str] = mapped_column(sa.String(20))
    invoice_issued_at: Mapped[datetime]
    payment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("payments.id", ondelete="RESTRICT"), index=True
    )
    refund_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("refunds.id", ondelete="RESTRICT"), unique=True
    )
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    recipient_name: Mapped[str] = mapped_column(sa.String(200))
    recipient_address: Mapped[str] = mapped_column(sa.String(400), default="")
    description: Mapped[str] = mapped_column(sa.String(300))
    reason: Mapped[str] = mapped_column(sa.String(300), default="")
    amount_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")

    invoice: Mapped[Invoice] = relationship(back_populates="credit_notes")
    payment: Mapped[Payment] = relationship(back_populates="credit_notes")

    __table_args__ = (
        sa.UniqueConstraint("year", "sequence", name="uq_credit_notes_year_sequence"),
        sa.CheckConstraint("amount_cents > 0", name="amount_positive"),
    )


class CreditNoteCounter(db.Model):
    """The last credit-note number per year, taken under a row lock (gapless numbering)."""

    __tablename__ = "credit_note_counters"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_sequence: Mapped[int] = mapped_column(default=0)


# --- GoBD: invoices and credit notes never change after issue --------------------------------


class DocumentImmutable(Conflict):
    """An attempt to change or delete an issued invoice or credit note."""

    code = "document_immutable"
    title = _l("Invoices and credit notes cannot be changed once issued.")


def _refuse_changes(session: Session, _context: Any, _instances: Any) -> None:
    """Before a flush: an issued document may only go from issued to cancelled (invoices)."""
    for obj in session.deleted:
        if isinstance(obj, Invoice | CreditNote):
            raise DocumentImmutable(code="document_immutable")
    for obj in session.dirty:
        if not isinstance(obj, Invoice | CreditNote):
            continue
        state = sa.inspect(obj)
        for attr in state.mapper.column_attrs:
            history = state.attrs[attr.key].history
            if not history.has_changes():
                continue
            if (
                isinstance(obj, Invoice)
                and attr.key == "status"
                and list(history.deleted) == [InvoiceStatus.ISSUED]
                and list(history.added) == [InvoiceStatus.CANCELLED]
            ):
                continue
            if history.deleted and list(history.deleted) == list(history.added):
                continue  # assigned the value it had
            raise DocumentImmutable(code="document_immutable")


def _refuse_bulk_writes(execute_state: ORMExecuteState) -> None:
    """ORM-enabled ``update(Invoice)`` / ``delete(CreditNote)`` statements bypass the flush."""
    if not (execute_state.is_update or execute_state.is_delete):
        return
    if any(m.class_ in (Invoice, CreditNote) for m in execute_state.all_mappers):
        raise DocumentImmutable(code="document_immutable")


event.listen(Session, "before_flush", _refuse_changes)
event.listen(Session, "do_orm_execute", _refuse_bulk_writes)
