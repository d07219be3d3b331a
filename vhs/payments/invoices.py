"""Invoices: one per payment, numbered per year without gaps (under a row lock)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from vhs.db import db, lock, utcnow
from vhs.i18n import local_zone
from vhs.payments.models import Invoice, InvoiceCounter, Payment


def _lock_counter(year: int) -> InvoiceCounter:
    """The year's counter row, locked; created first if this is the year's first invoice."""
    counter = lock(InvoiceCounter, year)
    if counter is None:
        try:
            with db.session.begin_nested():
                db.session.add(InvoiceCounter(year=year, last_sequence=0))
        except sa.exc.IntegrityError:
            pass  # created at the same moment by another transaction
        counter = lock(InvoiceCounter, year)
    assert counter is not None
    return counter


def issue_invoice(payment: Payment, now: datetime | None = None) -> Invoice:
    """Issue the payment's invoice with the next number of the year (no gaps, under a lock)."""
    now = now or utcnow()
    if payment.invoice is not None:
        return payment.invoice
    year = now.astimezone(local_zone()).year
    counter = _lock_counter(year)
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
    db.session.add(invoice)
    db.session.flush()
    payment.invoice = invoice
    return invoice
