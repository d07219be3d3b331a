"""Payment operations: start, succeed, fail, expire, refund, invoice, and Stripe webhooks.

State changes go through ``transition`` (an illegal move is a ``Conflict``). Calls to Stripe
that move money run after the commit (``vhs.uow.on_commit``) or from the ``process_refunds``
job, each with an idempotency key, so a retry never pays out twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from vhs import signals
from vhs.accounts.models import User
from vhs.audit import audit
from vhs.db import db, lock, utcnow
from vhs.errors import Conflict, Invalid, NotFound
from vhs.i18n import BERLIN
from vhs.mail import queue_mail
from vhs.payments import stripe_provider
from vhs.payments.models import (
    OPEN_STATUSES,
    PAID_STATUSES,
    TRANSITIONS,
    Invoice,
    InvoiceCounter,
    InvoiceStatus,
    Payment,
    PaymentStatus,
    Provider,
    Refund,
    RefundStatus,
    WebhookEvent,
)
from vhs.uow import on_commit

log = logging.getLogger(__name__)
S = PaymentStatus
CHECKOUT_MIN = timedelta(minutes=30)
CHECKOUT_MAX = timedelta(hours=23, minutes=50)


def transition(payment: Payment, new: PaymentStatus) -> None:
    """Move a payment to ``new`` if the state machine allows it."""
    if new not in TRANSITIONS[payment.status]:
        raise Conflict(
            _l(
                "This payment cannot change from %(old)s to %(new)s.",
                old=payment.status.value,
                new=new.value,
            ),
            code="illegal_payment_transition",
        )
    payment.status = new


def stripe_enabled() -> bool:
    """Stripe is offered when its keys are configured."""
    settings = current_app.config["VHS"]
    return bool(settings.stripe_secret_key and settings.stripe_webhook_secret)


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


# --- starting a payment --------------------------------------------------------------------


def start_payment(
    *,
    user: User,
    purpose_type: str,
    purpose_id: int,
    amount_cents: int,
    description: str,
    hold_expires_at: datetime | None,
    provider: Provider,
    success_url: str,
    cancel_url: str,
    currency: str = "EUR",
    now: datetime | None = None,
) -> Payment:
    """Open (or reuse) the payment for a purpose with the chosen provider."""
    now = now or utcnow()
    if amount_cents <= 0:
        raise Conflict(_l("Nothing to pay."), code="nothing_to_pay")
    if provider is Provider.STRIPE and not stripe_enabled():
        raise Invalid(
            errors={"provider": [_l("Online payment is not available.")]},
            code="provider_unavailable",
        )
    existing = payments_for(purpose_type, purpose_id)
    if any(p.status in PAID_STATUSES for p in existing):
        raise Conflict(_l("This has already been paid."), code="already_paid")
    if any(p.status is S.PROCESSING for p in existing):
        raise Conflict(_l("A direct debit for this is being processed."), code="payment_processing")
    for p in existing:
        if not p.is_open:
            continue
        if p.provider is provider and provider is Provider.MANUAL:
            return p
        if (
            p.provider is provider
            and p.status is S.PENDING
            and p.checkout_url
            and p.checkout_expires_at
            and p.checkout_expires_at > now + timedelta(minutes=2)
        ):
            return p  # the open Checkout Session is still good: no second one
        if p.provider is provider and p.status is S.CREATED:
            return _open_checkout(p, user, hold_expires_at, success_url, cancel_url, now)
        _close_open_payment(p)
    attempt = 1 + sum(1 for p in existing if p.provider is provider)
    payment = Payment(
        purpose_type=purpose_type,
        purpose_id=purpose_id,
        user_id=user.id,
        description=description[:300],
        amount_cents=amount_cents,
        currency=currency,
        provider=provider,
        status=S.CREATED,
        attempt=attempt,
    )
    db.session.add(payment)
    db.session.flush()
    if provider is Provider.MANUAL:
        transition(payment, S.PENDING)
        invoice = issue_invoice(payment, now)
        queue_mail(
            user,
            "payment_instructions",
            {"payment": payment, "invoice": invoice, "due": hold_expires_at},
        )
        return payment
    return _open_checkout(payment, user, hold_expires_at, success_url, cancel_url, now)


def _open_checkout(
    payment: Payment,
    user: User,
    hold_expires_at: datetime | None,
    success_url: str,
    cancel_url: str,
    now: datetime,
) -> Payment:
    # The row must exist before Stripe hears of it: commit, then call with a key unique to
    # this attempt. A failed call leaves the row "created"; a retry reuses the same key.
    db.session.commit()
    expires = max(hold_expires_at or now, now + CHECKOUT_MIN)
    expires = min(expires, now + CHECKOUT_MAX)
    session = stripe_provider.create_checkout_session(
        payment_id=payment.id,
        attempt=payment.attempt,
        amount_cents=payment.amount_cents,
        currency=payment.currency,
        name=payment.description,
        email=user.email,
        expires_at=expires,
        success_url=success_url,
        cancel_url=cancel_url,
        locale=user.locale,
    )
    payment.stripe_checkout_session_id = session.id
    payment.checkout_url = session.url
    payment.checkout_expires_at = expires
    if payment.status is S.CREATED:
        transition(payment, S.PENDING)
    return payment


def _close_open_payment(payment: Payment) -> None:
    """Stop an open payment: its checkout can no longer be paid, its invoice is void."""
    if payment.status in (S.CREATED, S.PENDING):
        transition(payment, S.EXPIRED)
        if payment.invoice is not None:
            payment.invoice.status = InvoiceStatus.CANCELLED
        session_id = payment.stripe_checkout_session_id
        if session_id:
            on_commit(lambda: _expire_checkout_quietly(session_id))


def _expire_checkout_quietly(session_id: str) -> None:
    try:
        stripe_provider.expire_checkout_session(session_id)
    except Exception:  # already completed or expired: the webhook tells us what happened
        log.info("could not expire checkout session %s", session_id, exc_info=True)


# --- outcomes ------------------------------------------------------------------------------


def mark_succeeded(
    payment: Payment,
    *,
    actor: User | None = None,
    intent_id: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Money arrived. Confirm the purpose, or refund at once if it can no longer be had."""
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
    invoice = payment.invoice or issue_invoice(payment, now)
    results = signals.payment_succeeded.send(
        payment, purpose_type=payment.purpose_type, purpose_id=payment.purpose_id
    )
    if any(result is False for _receiver, result in results):
        request_refund(payment, payment.amount_cents, "no seat available", automatic=True)
        queue_mail(payment.user, "payment_refunded_no_seat", {"payment": payment})
    else:
        queue_mail(payment.user, "payment_received", {"payment": payment, "invoice": invoice})
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
    if payment.invoice is not None:
        payment.invoice.status = InvoiceStatus.CANCELLED
    signals.payment_failed.send(
        payment, purpose_type=payment.purpose_type, purpose_id=payment.purpose_id
    )
    queue_mail(payment.user, "payment_failed", {"payment": payment})


def mark_expired(payment: Payment) -> None:
    """The checkout ran out unpaid: the seat is released (the waiting list moves up)."""
    if payment.status not in (S.CREATED, S.PENDING):
        return
    transition(payment, S.EXPIRED)
    if payment.invoice is not None:
        payment.invoice.status = InvoiceStatus.CANCELLED
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


# --- refunds -------------------------------------------------------------------------------


def request_refund(
    payment: Payment,
    amount_cents: int,
    reason: str,
    *,
    actor: User | None = None,
    automatic: bool = False,
) -> Refund:
    """Pay money back, at most what was paid. Stripe refunds run after the commit."""
    payment = lock(Payment, payment.id)
    if actor is not None and not actor.is_staff:
        raise NotFound(code="payment_not_found")
    if amount_cents <= 0:
        raise Invalid(errors={"amount_cents": [_l("Enter an amount above zero.")]})
    if amount_cents > payment.refundable_cents:
        raise Invalid(
            errors={
                "amount_cents": [
                    _l(
                        "At most %(n)s can be refunded.",
                        n=f"{payment.refundable_cents / 100:.2f} €",
                    )
                ]
            },
            code="refund_too_large",
        )
    refund = Refund(
        payment_id=payment.id,
        amount_cents=amount_cents,
        reason=(reason or "")[:300],
        created_by_id=actor.id if actor else None,
        status=RefundStatus.REQUESTED,
    )
    db.session.add(refund)
    payment.refunded_cents += amount_cents
    transition(
        payment,
        S.REFUNDED if payment.refunded_cents >= payment.amount_cents else S.PARTIALLY_REFUNDED,
    )
    db.session.flush()
    if actor is not None:
        audit(actor, "payment.refunded", payment, amount_cents=amount_cents, reason=reason)
    elif automatic:
        audit(
            None,
            "payment.refunded_automatically",
            payment,
            amount_cents=amount_cents,
            reason=reason,
        )
    if payment.provider is Provider.MANUAL:
        # Recorded for the accounting office, which transfers the money back.
        refund.status = RefundStatus.SUCCEEDED
        _refund_done(refund)
    else:
        on_commit(process_requested_refunds)
    return refund


def _refund_done(refund: Refund) -> None:
    signals.refund_completed.send(refund.payment, refund=refund)
    queue_mail(refund.payment.user, "refund_issued", {"refund": refund, "payment": refund.payment})


def _release(refund: Refund, reason: str) -> None:
    """A refund failed or was cancelled: its amount is refundable again."""
    payment = lock(Payment, refund.payment_id)
    refund.failure_reason = reason[:500]
    payment.refunded_cents = max(payment.refunded_cents - refund.amount_cents, 0)
    if payment.refunded_cents == 0 and payment.status in (S.REFUNDED, S.PARTIALLY_REFUNDED):
        payment.status = S.SUCCEEDED  # back to paid: the money was not returned
    elif payment.status is S.REFUNDED:
        payment.status = S.PARTIALLY_REFUNDED


def process_requested_refunds(limit: int = 100) -> int:
    """Send requested Stripe refunds to Stripe, each in its own transaction (a job too)."""
    done = 0
    ids = (
        db.session.execute(
            sa.select(Refund.id)
            .where(Refund.status == RefundStatus.REQUESTED)
            .order_by(Refund.id)
            .limit(limit)
        )
        .scalars()
        .all()
    )
    for refund_id in ids:
        refund = lock(Refund, refund_id)
        if refund is None or refund.status is not RefundStatus.REQUESTED:
            db.session.rollback()
            continue
        payment = refund.payment
        intent = payment.stripe_payment_intent_id
        if not intent:
            log.warning("refund %s: payment %s has no PaymentIntent yet", refund.id, payment.id)
            db.session.rollback()
            continue
        try:
            result = stripe_provider.create_refund(
                refund_id=refund.id, intent_id=intent, amount_cents=refund.amount_cents
            )
        except Exception:
            db.session.rollback()
            log.warning("refund %s not sent to Stripe; will retry", refund_id, exc_info=True)
            continue
        _apply_stripe_refund(refund, result)
        db.session.commit()
        done += 1
    return done


_REFUND_STATUS = {
    "succeeded": RefundStatus.SUCCEEDED,
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.CANCELED,
}


def _apply_stripe_refund(refund: Refund, data: Any) -> None:
    """Bring a Refund row in line with what Stripe says about it."""
    if refund.provider_refund_id is None:
        refund.provider_refund_id = data.id
    new = _REFUND_STATUS.get(data.status, RefundStatus.PENDING)
    old = refund.status
    if new is old:
        return
    if (
        old in (RefundStatus.FAILED, RefundStatus.CANCELED, RefundStatus.SUCCEEDED)
        and new is not old
    ):
        if old is RefundStatus.SUCCEEDED and new in (RefundStatus.FAILED, RefundStatus.CANCELED):
            pass  # a refund can still fail after it was reported as succeeded
        else:
            return
    refund.status = new
    if new is RefundStatus.SUCCEEDED:
        _refund_done(refund)
    elif new in (RefundStatus.FAILED, RefundStatus.CANCELED):
        _release(refund, getattr(data, "failure_reason", None) or new.value)


def sync_stripe_refunds(payment: Payment) -> int:
    """Take over every refund Stripe knows for a payment (also ones made in its dashboard)."""
    if not payment.stripe_payment_intent_id:
        return 0
    created = 0
    for data in stripe_provider.list_refunds(payment.stripe_payment_intent_id):
        refund = db.session.execute(
            sa.select(Refund).where(Refund.provider_refund_id == data.id)
        ).scalar_one_or_none()
        if refund is None:
            ours = _meta(data, "refund_id")
            if ours and str(ours).isdigit():
                refund = db.session.get(Refund, int(ours))
        if refund is None:
            if data.status in ("failed", "canceled"):
                continue
            if data.amount > payment.refundable_cents:
                log.warning("Stripe refund %s exceeds what is refundable", data.id)
                continue
            refund = request_refund(payment, data.amount, "refunded at Stripe", automatic=True)
            refund.provider_refund_id = data.id
            created += 1
        _apply_stripe_refund(refund, data)
    return created


def refund_by_staff(payment: Payment, actor: User, amount_cents: int, reason: str) -> Refund:
    """Staff refund any amount up to what was paid (audited)."""
    if not actor.is_staff:
        raise NotFound(code="payment_not_found")
    if not reason.strip():
        raise Invalid(errors={"reason": [_l("Please give a reason.")]})
    return request_refund(payment, amount_cents, reason.strip(), actor=actor)


# --- invoices ------------------------------------------------------------------------------


def _lock_counter(year: int) -> InvoiceCounter:
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
    year = now.astimezone(BERLIN).year
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


# --- Stripe webhooks -------------------------------------------------------------------------


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


def _meta(obj: Any, key: str) -> str | None:
    """A metadata value of a Stripe object (which is not a dict), if present."""
    metadata = getattr(obj, "metadata", None)
    try:
        return metadata[key] if metadata is not None and key in metadata else None
    except (KeyError, TypeError):
        return None


def _payment_by_reference(session: Any = None, intent: Any = None) -> Payment | None:
    payment = None
    if session is not None:
        payment = db.session.execute(
            sa.select(Payment).where(Payment.stripe_checkout_session_id == session.id)
        ).scalar_one_or_none()
        ref = getattr(session, "client_reference_id", None) or _meta(session, "payment_id")
        if payment is None and ref and str(ref).isdigit():
            payment = db.session.get(Payment, int(ref))
    if payment is None and intent is not None:
        payment = db.session.execute(
            sa.select(Payment).where(Payment.stripe_payment_intent_id == intent.id)
        ).scalar_one_or_none()
        ref = _meta(intent, "payment_id")
        if payment is None and ref and str(ref).isdigit():
            payment = db.session.get(Payment, int(ref))
    return lock(Payment, payment.id) if payment is not None else None


def _intent_id(obj: Any) -> str | None:
    value = getattr(obj, "payment_intent", None)
    if value is None:
        return None
    return value if isinstance(value, str) else value.id


def converge_checkout(session: Any) -> str:
    """Bring our payment in line with a freshly read Checkout Session."""
    payment = _payment_by_reference(session=session)
    if payment is None:
        return "unknown payment"
    intent_id = _intent_id(session)
    if intent_id and not payment.stripe_payment_intent_id:
        payment.stripe_payment_intent_id = intent_id
    if session.status == "complete":
        if session.payment_status in ("paid", "no_payment_required"):
            changed = mark_succeeded(payment, intent_id=intent_id)
            sync_stripe_refunds(payment)
            return "succeeded" if changed else "already succeeded"
        if intent_id:
            return converge_intent(stripe_provider.retrieve_payment_intent(intent_id), payment)
        mark_processing(payment)
        return "processing"
    if session.status == "expired":
        if payment.status in (S.CREATED, S.PENDING):
            mark_expired(payment)
            return "expired"
        return f"expired session ignored ({payment.status.value})"
    return f"open session ({payment.status.value})"


def converge_intent(intent: Any, payment: Payment | None = None) -> str:
    """Bring our payment in line with a freshly read PaymentIntent."""
    payment = payment or _payment_by_reference(intent=intent)
    if payment is None:
        return "unknown payment"
    if not payment.stripe_payment_intent_id:
        payment.stripe_payment_intent_id = intent.id
    if intent.status == "succeeded":
        changed = mark_succeeded(payment, intent_id=intent.id)
        sync_stripe_refunds(payment)
        return "succeeded" if changed else "already succeeded"
    if intent.status == "processing":
        mark_processing(payment)
        return "processing"
    if intent.status in ("requires_payment_method", "canceled") and payment.status is S.PROCESSING:
        error = getattr(intent, "last_payment_error", None)
        mark_failed(payment, getattr(error, "message", "") if error else intent.status)
        return "failed"
    return f"intent {intent.status} ({payment.status.value})"


def handle_stripe_event(event: Any) -> str:
    """Act on a verified event by re-reading the object it names from Stripe."""
    kind = event.type
    obj = event.data.object
    if kind in (
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
    ):
        return converge_checkout(stripe_provider.retrieve_checkout_session(obj.id))
    if kind in (
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.processing",
    ):
        return converge_intent(stripe_provider.retrieve_payment_intent(obj.id))
    if kind == "charge.refunded":
        charge = stripe_provider.retrieve_charge(obj.id)
        return _converge_refunds(_intent_id(charge))
    if kind in ("refund.updated", "refund.created", "charge.refund.updated"):
        refund = stripe_provider.retrieve_refund(obj.id)
        return _converge_refunds(_intent_id(refund))
    if kind == "charge.dispute.created":
        charge_id = getattr(obj, "charge", None)
        charge = stripe_provider.retrieve_charge(charge_id) if charge_id else None
        payment = (
            _payment_by_reference(
                intent=stripe_provider.retrieve_payment_intent(_intent_id(charge))
            )
            if charge is not None and _intent_id(charge)
            else None
        )
        if payment is None:
            return "dispute for unknown payment"
        payment.disputed = True
        audit(None, "payment.disputed", payment, dispute=obj.id)
        return "dispute flagged"
    return "ignored"


def _converge_refunds(intent_id: str | None) -> str:
    if not intent_id:
        return "refund without payment intent"
    intent = stripe_provider.retrieve_payment_intent(intent_id)
    payment = _payment_by_reference(intent=intent)
    if payment is None:
        return "unknown payment"
    if payment.status not in PAID_STATUSES:
        converge_intent(intent, payment)  # the refund came before the success event
    if payment.status not in PAID_STATUSES:
        return f"refund before payment ({payment.status.value})"
    if not payment.stripe_payment_intent_id:
        payment.stripe_payment_intent_id = intent.id
    created = sync_stripe_refunds(payment)
    return f"refunds synced ({created} new)"


def process_webhook(payload: bytes, signature: str | None) -> tuple[int, str]:
    """Verify, record, act, and say how it went; the caller's request commits once."""
    import stripe

    if not stripe_enabled():
        return 404, "stripe disabled"
    try:
        event = stripe_provider.construct_event(payload, signature)
    except (ValueError, stripe.SignatureVerificationError):
        return 400, "invalid signature or payload"
    record = record_event("stripe", event.id, event.type)
    if record is None:
        return 200, "duplicate"
    outcome = handle_stripe_event(event)
    record.processed_at = utcnow()
    record.outcome = outcome[:500]
    return 200, outcome


# --- the core's part of GDPR ---------------------------------------------------------------


def export_payments(user: User) -> list[dict[str, Any]]:
    """Payments, refunds and invoice numbers of a person."""
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
            "refunds": [
                {"amount_cents": r.amount_cents, "status": r.status.value} for r in p.refunds
            ],
        }
        for p in rows
    ]


def erase_payments(user: User) -> None:
    """Invoices stay for accounting, without the person's name and address."""
    db.session.execute(
        sa.update(Invoice)
        .where(Invoice.payment_id.in_(sa.select(Payment.id).where(Payment.user_id == user.id)))
        .values(recipient_name=f"Gelöschtes Konto #{user.id}", recipient_address="")
    )
    for payment in db.session.execute(
        sa.select(Payment).where(Payment.user_id == user.id, Payment.status.in_(OPEN_STATUSES))
    ).scalars():
        if payment.status is not S.PROCESSING:
            _close_open_payment(payment)
