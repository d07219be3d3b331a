"""Payment operations: start, succeed, fail, expire, settle; webhook deliveries; GDPR.

State changes go through ``transition`` (an illegal move is a ``Conflict``). How the money
travels is the provider's business (``vhs.payments.providers``): this module asks the
payment's provider to open, resume, close or refund and never asks which provider it is.
Refunds live in ``refunds``, invoices in ``invoices``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from vhs import signals
from vhs.accounts.models import User
from vhs.audit import audit
from vhs.db import db, utcnow
from vhs.errors import Conflict, NotFound
from vhs.mail import notify
from vhs.payments.hooks import Decline
from vhs.payments.invoices import cancel_invoice, issue_invoice
from vhs.payments.models import (
    OPEN_STATUSES,
    PAID_STATUSES,
    CreditNote,
    Payment,
    PaymentStatus,
    Provider,
    Refund,
    WebhookEvent,
)
from vhs.payments.providers.base import (
    Checkout,
    is_offered,
    offered_provider,
    offered_providers,
    provider_for,
)
from vhs.payments.refunds import request_refund
from vhs.payments.states import transition

S = PaymentStatus


def payments_for(purpose_type: str, purpose_id: int) -> list[Payment]:
    """Every payment for one purpose, oldest first."""
    return list(
        db.session.execute(
            sa.select(Payment)
            .where(Payment.purpose_type == purpose_type, Payment.purpose_id == purpose_id)
            .order_by(Payment.id)
        ).scalars()
    )


def get_payment(payment_id: int, user: User) -> Payment:
    """A payment the user may see (their own; staff all), else 404."""
    payment = db.session.get(Payment, payment_id)
    if payment is None or (payment.user_id != user.id and not user.is_staff):
        raise NotFound(_l("This payment does not exist."), code="payment_not_found")
    return payment


def get_credit_note(credit_note_id: int, user: User) -> CreditNote:
    """A credit note the user may see (for their own payment; staff all), else 404."""
    note = db.session.get(CreditNote, credit_note_id)
    if note is None or (note.payment.user_id != user.id and not user.is_staff):
        raise NotFound(_l("This credit note does not exist."), code="credit_note_not_found")
    return note


def credit_notes_for(user: User, *, everyone: bool = False, page: int = 1) -> list[CreditNote]:
    """Credit notes newest first: the user's own, or (staff asking for ``everyone``) all."""
    query = sa.select(CreditNote).order_by(CreditNote.id.desc())
    if not (everyone and user.is_staff):
        query = query.join(Payment, Payment.id == CreditNote.payment_id).where(
            Payment.user_id == user.id
        )
    return list(db.session.execute(query.limit(100).offset((page - 1) * 100)).scalars())


# --- starting a payment --------------------------------------------------------------------


def start_payment(
    *,
    user: User,
    purpose_type: str,
    purpose_id: int,
    amount_cents: int,
    description: str,
    hold_expires_at: datetime | None,
    provider: Provider | None,
    success_url: str,
    cancel_url: str,
    currency: str = "EUR",
    now: datetime | None = None,
) -> Payment:
    """Open (or resume) the payment for a purpose; ``provider=None`` takes the preferred one."""
    now = now or utcnow()
    if amount_cents <= 0:
        raise Conflict(_l("Nothing to pay."), code="nothing_to_pay")
    chosen = offered_provider(provider) if provider is not None else offered_providers()[0]
    existing = payments_for(purpose_type, purpose_id)
    if any(p.status in PAID_STATUSES for p in existing):
        raise Conflict(_l("This has already been paid."), code="already_paid")
    if any(p.status is S.PROCESSING for p in existing):
        raise Conflict(_l("A direct debit for this is being processed."), code="payment_processing")
    checkout = Checkout(
        user=user,
        hold_expires_at=hold_expires_at,
        success_url=success_url,
        cancel_url=cancel_url,
        now=now,
    )
    for p in existing:
        if not p.is_open:
            continue
        if p.provider is chosen.key and chosen.resumable(p, now):
            return chosen.start(p, checkout)
        _close_open_payment(p)
    payment = Payment(
        purpose_type=purpose_type,
        purpose_id=purpose_id,
        user_id=user.id,
        description=description[:300],
        amount_cents=amount_cents,
        currency=currency,
        provider=chosen.key,
        status=S.CREATED,
        attempt=1 + sum(1 for p in existing if p.provider is chosen.key),
    )
    db.session.add(payment)
    db.session.flush()
    return chosen.start(payment, checkout)


def _cancel_invoice(payment: Payment, reason: str) -> None:
    """The payment will not be paid: its standing invoice is cancelled (a cancellation invoice)."""
    if payment.invoice is not None:
        cancel_invoice(payment.invoice, reason)


def _close_open_payment(payment: Payment) -> None:
    """Stop an open payment: its provider closes it, its invoice is cancelled."""
    if payment.status in (S.CREATED, S.PENDING):
        transition(payment, S.EXPIRED)
        _cancel_invoice(payment, "payment closed")
        provider_for(payment.provider).close(payment)


# --- outcomes ------------------------------------------------------------------------------


def mark_succeeded(
    payment: Payment,
    *,
    actor: User | None = None,
    intent_id: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Money arrived. Confirm the purpose, or refund at once if it can no longer be had.

    A purpose is paid once: its other open payments close, and money for a purpose that another
    payment already paid goes back in full.
    """
    now = now or utcnow()
    if payment.status in PAID_STATUSES:
        return False
    transition(payment, S.SUCCEEDED)
    payment.succeeded_at = now
    if intent_id:
        payment.stripe_payment_intent_id = intent_id
    if actor is not None:
        payment.marked_paid_by_id = actor.id
        audit(actor, "payment.marked_paid", payment, amount_cents=payment.amount_cents)
    # Cancelled when the payment closed unpaid and the money came after all: a new invoice.
    invoice = issue_invoice(payment, now)
    others = [p for p in payments_for(payment.purpose_type, payment.purpose_id) if p is not payment]
    if any(p.status in (S.SUCCEEDED, S.PARTIALLY_REFUNDED) for p in others):
        request_refund(payment, payment.amount_cents, "paid twice", automatic=True)
        return True
    for other in others:
        if other.status in (S.CREATED, S.PENDING):
            _close_open_payment(other)
    results = signals.payment_succeeded.send(
        payment, purpose_type=payment.purpose_type, purpose_id=payment.purpose_id
    )
    declines = [r for _receiver, r in results if isinstance(r, Decline)]
    if declines:  # the refund's own mail says why
        request_refund(payment, payment.amount_cents, declines[0].reason, automatic=True)
    elif any(result is False for _receiver, result in results):
        request_refund(payment, payment.amount_cents, "no seat available", automatic=True)
        notify(payment.user, "payment_refunded_no_seat", {"payment": payment})
    else:
        notify(payment.user, "payment_received", {"payment": payment, "invoice": invoice})
    return True


def mark_processing(payment: Payment) -> None:
    """A direct debit was submitted: the money is on its way, the seat stays held."""
    if payment.status in (S.CREATED, S.PENDING):
        transition(payment, S.PROCESSING)


def mark_failed(payment: Payment, reason: str = "") -> None:
    """The payment failed (e.g. a returned direct debit): the purpose is released."""
    if payment.status not in (S.CREATED, S.PENDING, S.PROCESSING):
        return
    transition(payment, S.FAILED)
    payment.failure_reason = reason[:500]
    _cancel_invoice(payment, "payment failed")
    signals.payment_failed.send(
        payment, purpose_type=payment.purpose_type, purpose_id=payment.purpose_id
    )
    notify(payment.user, "payment_failed", {"payment": payment})


def mark_expired(payment: Payment) -> None:
    """The checkout ran out unpaid: the seat is released (the waiting list moves up)."""
    if payment.status not in (S.CREATED, S.PENDING):
        return
    transition(payment, S.EXPIRED)
    _cancel_invoice(payment, "payment expired")
    signals.payment_expired.send(
        payment, purpose_type=payment.purpose_type, purpose_id=payment.purpose_id
    )


def mark_paid_manually(payment: Payment, actor: User) -> Payment:
    """Staff record a bank transfer or cash payment at the office (audited)."""
    if not actor.is_staff:
        raise NotFound(code="payment_not_found")
    if payment.provider is not Provider.MANUAL:
        raise Conflict(_l("Only manual payments can be marked as paid."), code="not_manual")
    if payment.status in PAID_STATUSES:
        raise Conflict(_l("This payment has already been received."), code="already_paid")
    if payment.status not in (S.CREATED, S.PENDING, S.EXPIRED):
        raise Conflict(
            _l("This payment cannot be marked as paid."), code="illegal_payment_transition"
        )
    mark_succeeded(payment, actor=actor)
    return payment


def record_office_payment(
    *,
    actor: User,
    user: User,
    purpose_type: str,
    purpose_id: int,
    amount_cents: int,
    description: str,
    currency: str = "EUR",
    now: datetime | None = None,
) -> Payment:
    """Staff took the money at the office (cash, card terminal) for a purpose: record it paid.

    A manual payment that is paid at once: no transfer instructions, the invoice is issued with
    the payment, the date and amount are recorded and audited, and the purpose's owner hears
    ``payment_succeeded`` as for any other payment. Other open payments of the purpose close.
    """
    if not actor.is_staff:
        raise NotFound(code="payment_not_found")
    if amount_cents <= 0:
        raise Conflict(_l("Nothing to pay."), code="nothing_to_pay")
    existing = payments_for(purpose_type, purpose_id)
    if any(p.status in PAID_STATUSES for p in existing):
        raise Conflict(_l("This has already been paid."), code="already_paid")
    if any(p.status is S.PROCESSING for p in existing):
        raise Conflict(_l("A direct debit for this is being processed."), code="payment_processing")
    payment = Payment(
        purpose_type=purpose_type,
        purpose_id=purpose_id,
        user_id=user.id,
        description=description[:300],
        amount_cents=amount_cents,
        currency=currency,
        provider=Provider.MANUAL,
        status=S.CREATED,
        attempt=1 + sum(1 for p in existing if p.provider is Provider.MANUAL),
    )
    db.session.add(payment)
    db.session.flush()
    mark_succeeded(payment, actor=actor, now=now)
    return payment


def is_processing(purpose_type: str, purpose_id: int) -> bool:
    """Whether money for the purpose is on its way (SEPA): its seat must not lapse."""
    return any(p.status is S.PROCESSING for p in payments_for(purpose_type, purpose_id))


def settle_ended_purpose(
    purpose_type: str, purpose_id: int, *, refund: bool, fee_cents: int = 0, reason: str = ""
) -> list[Refund]:
    """A purpose ended (cancelled booking, cancelled course): close open payments, refund paid."""
    refunds = []
    for payment in payments_for(purpose_type, purpose_id):
        if payment.is_open and payment.status is not S.PROCESSING:
            _close_open_payment(payment)
        elif refund and payment.refundable_cents > 0:
            amount = max(payment.refundable_cents - fee_cents, 0)
            if amount > 0:
                refunds.append(request_refund(payment, amount, reason, automatic=True))
    return refunds


# --- webhook deliveries --------------------------------------------------------------------


def record_event(provider: str, event_id: str, event_type: str) -> WebhookEvent | None:
    """Record a delivery first; ``None`` when this event was already recorded (a duplicate)."""
    existing = db.session.execute(
        sa.select(WebhookEvent.id).where(
            WebhookEvent.provider == provider, WebhookEvent.event_id == event_id
        )
    ).first()
    if existing:
        return None
    event = WebhookEvent(provider=provider, event_id=event_id, type=event_type)
    try:
        with db.session.begin_nested():
            db.session.add(event)
    except sa.exc.IntegrityError:
        return None  # a concurrent delivery of the same event won the race
    return event


def process_webhook(
    provider: Provider, payload: bytes, headers: Mapping[str, str]
) -> tuple[int, str]:
    """Hand one delivery to its provider; (HTTP status, outcome). The request commits once."""
    if not is_offered(provider):
        return 404, f"{provider.value} disabled"
    return provider_for(provider).handle_event(payload, headers)


# --- the core's part of GDPR ---------------------------------------------------------------


def export_payments(user: User) -> list[dict[str, Any]]:
    """Payments, refunds, invoices and credit notes of a person."""
    rows = db.session.execute(
        sa.select(Payment).where(Payment.user_id == user.id).order_by(Payment.id)
    ).scalars()
    return [
        {
            "description": p.description,
            "amount_cents": p.amount_cents,
            "currency": p.currency,
            "provider": p.provider.value,
            "status": p.status.value,
            "created_at": p.created_at.isoformat(),
            "succeeded_at": p.succeeded_at.isoformat() if p.succeeded_at else None,
            "invoice_number": p.invoice.number if p.invoice else None,
            "invoices": [
                {
                    "number": i.number,
                    "issued_at": i.issued_at.isoformat(),
                    "status": i.status.value,
                    "amount_cents": i.amount_cents,
                }
                for i in p.invoices
            ],
            "refunds": [
                {"amount_cents": r.amount_cents, "status": r.status.value} for r in p.refunds
            ],
            "credit_notes": [
                {
                    "number": c.number,
                    "kind": c.kind.value,
                    "issued_at": c.issued_at.isoformat(),
                    "invoice_number": c.invoice_number,
                    "amount_cents": c.amount_cents,
                    "currency": c.currency,
                    "reason": c.reason,
                }
                for c in p.credit_notes
            ],
        }
        for p in rows
    ]


def erase_payments(user: User) -> None:
    """Open payments close; invoices and credit notes stay exactly as issued.

    They are accounting records that must be kept unchanged for ten years (§ 147 AO, GoBD);
    GDPR Art. 17(3)(b) lets that legal duty prevail over erasure, so they are neither deleted
    nor rewritten (the account itself is anonymised by the accounts package).
    """
    for payment in db.session.execute(
        sa.select(Payment).where(Payment.user_id == user.id, Payment.status.in_(OPEN_STATUSES))
    ).scalars():
        if payment.status is not S.PROCESSING:
            _close_open_payment(payment)
