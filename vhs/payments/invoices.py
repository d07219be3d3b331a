"""Invoices and credit notes, each numbered per year without gaps (a counter row, locked).

An invoice is issued for a payment; it is cancelled (never changed otherwise) with a
cancellation invoice, and a refund issues a credit note. Both kinds of credit note share one
series of their own (``GS-2027-00001``) and name the original invoice by number and date.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from vhs.db import db, lock_counter, utcnow
from vhs.i18n import local_zone
from vhs.payments.models import (
    CreditNote,
    CreditNoteCounter,
    CreditNoteKind,
    Invoice,
    InvoiceCounter,
    InvoiceStatus,
    Payment,
    Refund,
)


def _year(now: datetime) -> int:
    return now.astimezone(local_zone()).year


def issue_invoice(payment: Payment, now: datetime | None = None) -> Invoice:
    """The payment's standing invoice; a new one with the year's next number when it has none.

    A payment whose invoice was cancelled (it lapsed unpaid) and that is paid after all gets a
    new invoice: the cancelled one and its cancellation invoice stay as they are.
    """
    now = now or utcnow()
    current = payment.invoice
    if current is not None and current.status is InvoiceStatus.ISSUED:
        return current
    year = _year(now)
    counter = lock_counter(InvoiceCounter, year)
    counter.last_sequence += 1
    user = payment.user
    invoice = Invoice(
        number=f"{year}-{counter.last_sequence:06d}",
        year=year,
        sequence=counter.last_sequence,
        payment_id=payment.id,
        issued_at=now,
        recipient_name=user.name,
        recipient_address=user.postal_address,
        lines=[{"description": payment.description, "amount_cents": payment.amount_cents}],
        amount_cents=payment.amount_cents,
        currency=payment.currency,
    )
    payment.invoices.append(invoice)
    db.session.flush()
    return invoice


def _credit_note(
    invoice: Invoice,
    kind: CreditNoteKind,
    amount_cents: int,
    reason: str,
    *,
    refund: Refund | None = None,
    now: datetime | None = None,
) -> CreditNote:
    now = now or utcnow()
    year = _year(now)
    counter = lock_counter(CreditNoteCounter, year)
    counter.last_sequence += 1
    payment = invoice.payment
    note = CreditNote(
        number=f"GS-{year}-{counter.last_sequence:05d}",
        year=year,
        sequence=counter.last_sequence,
        kind=kind,
        invoice_id=invoice.id,
        invoice_number=invoice.number,
        invoice_issued_at=invoice.issued_at,
        payment_id=payment.id,
        refund_id=refund.id if refund is not None else None,
        issued_at=now,
        # The recipient as the invoice names them: the credit note corrects that document.
        recipient_name=invoice.recipient_name,
        recipient_address=invoice.recipient_address,
        description=payment.description,
        reason=(reason or "")[:300],
        amount_cents=amount_cents,
        currency=invoice.currency,
    )
    invoice.credit_notes.append(note)
    payment.credit_notes.append(note)
    db.session.add(note)
    db.session.flush()
    return note


def cancel_invoice(invoice: Invoice, reason: str, now: datetime | None = None) -> CreditNote | None:
    """Cancel a standing invoice with a cancellation invoice for its amount; idempotent."""
    if invoice.status is not InvoiceStatus.ISSUED:
        return None
    invoice.status = InvoiceStatus.CANCELLED
    return _credit_note(invoice, CreditNoteKind.CANCELLATION, invoice.amount_cents, reason, now=now)


def credit_refund(refund: Refund, now: datetime | None = None) -> CreditNote | None:
    """The credit note for a refund that has paid money back (once per refund).

    It credits the payment's standing invoice; a payment without one (there is none for a
    refund today: money is refunded only once paid, and paying issues the invoice) gets none.
    """
    existing = db.session.execute(
        sa.select(CreditNote).where(CreditNote.refund_id == refund.id)
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    invoice = refund.payment.invoice
    if invoice is None:
        return None
    return _credit_note(
        invoice, CreditNoteKind.REFUND, refund.amount_cents, refund.reason, refund=refund, now=now
    )
