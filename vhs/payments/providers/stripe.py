"""Stripe: Checkout (card and SEPA Direct Debit), refunds, and webhooks that converge.

Calls to Stripe go through ``stripe_api``; those that move money carry idempotency keys and
run after the commit or from the ``process_refunds`` job. Webhook payloads are not trusted: a
verified event only names an object, which is re-read from Stripe before anything changes
(as pretix does).

Webhook answers follow Stripe's documentation: 400 for a bad signature or a malformed payload,
2xx for every event we accept, including ones deliberately ignored (unhandled types, objects
Stripe no longer knows), so Stripe does not retry them for days; 502/503 only while Stripe
itself is failing, when a retry is what we want. Nothing a sender controls leads to a 500.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import stripe
from flask import current_app
from flask_babel import lazy_gettext as _l

from vhs.audit import audit
from vhs.db import db, lock, utcnow
from vhs.errors import VhsError
from vhs.payments.models import (
    PAID_STATUSES,
    Payment,
    PaymentStatus,
    Provider,
    Refund,
    RefundStatus,
)
from vhs.payments.providers.base import Checkout, PaymentProvider, register
from vhs.payments.providers.stripe_api import (
    UnknownToStripe,
    create_checkout_session,
    create_refund,
    expire_checkout_session,
    list_refunds,
    retrieve_charge,
    retrieve_checkout_session,
    retrieve_payment_intent,
    retrieve_refund,
)
from vhs.payments.refunds import request_refund, settle_refund
from vhs.payments.services import (
    mark_expired,
    mark_failed,
    mark_processing,
    mark_succeeded,
    record_event,
)
from vhs.payments.states import transition
from vhs.uow import on_commit

log = logging.getLogger(__name__)
S = PaymentStatus

WEBHOOK_TOLERANCE = 300  # seconds, either side of now (Stripe's default, which only looks back)
CHECKOUT_MIN = timedelta(minutes=30)
CHECKOUT_MAX = timedelta(hours=23, minutes=50)
# Stripe ids are letters, digits and underscores; anything else (a NUL, a quote) is not one.
STRIPE_ID = re.compile(r"[A-Za-z0-9_]{1,255}")
EVENT_TYPE = re.compile(r"[a-z0-9_.]{1,100}")


class MalformedEvent(VhsError):
    """A correctly signed delivery that is not an event of the shape Stripe sends."""

    code = "malformed_event"


# --- the provider --------------------------------------------------------------------------


@register
class StripeProvider(PaymentProvider):
    """Stripe Checkout; offered, and preferred, once both keys are configured."""

    key = Provider.STRIPE
    choice_label = _l("Online: credit card or SEPA direct debit")
    preference = 10

    def configured(self) -> bool:
        """Offered when the secret key and the webhook secret are set."""
        settings = current_app.config["VHS"]
        return bool(settings.stripe_secret_key and settings.stripe_webhook_secret)

    def resumable(self, payment: Payment, now: datetime) -> bool:
        """A created payment retries its Checkout; a pending one keeps a session still good."""
        if payment.status is S.CREATED:
            return True
        return bool(
            payment.status is S.PENDING
            and payment.checkout_url
            and payment.checkout_expires_at
            and payment.checkout_expires_at > now + timedelta(minutes=2)
        )

    def start(self, payment: Payment, checkout: Checkout) -> Payment:
        """Open the Checkout Session for this attempt (a pending one is returned as it is)."""
        if payment.status is not S.CREATED:
            return payment  # its open Checkout Session is still good: no second one
        # The row must exist before Stripe hears of it: commit, then call with a key unique to
        # this attempt. A failed call leaves the row "created"; a retry reuses the same key.
        db.session.commit()
        now = checkout.now
        expires = max(checkout.hold_expires_at or now, now + CHECKOUT_MIN)
        expires = min(expires, now + CHECKOUT_MAX)
        session = create_checkout_session(payment, checkout, expires)
        payment.stripe_checkout_session_id = session.id
        payment.checkout_url = session.url
        payment.checkout_expires_at = expires
        transition(payment, S.PENDING)
        return payment

    def close(self, payment: Payment) -> None:
        """Expire the Checkout Session after the commit, so it can no longer be paid."""
        session_id = payment.stripe_checkout_session_id
        if session_id:
            on_commit(lambda: _expire_checkout_quietly(session_id))

    def refund(self, refund: Refund) -> None:
        """Sent to Stripe after the commit (and by the job, should Stripe be down)."""
        on_commit(process_requested_refunds)

    def handle_event(self, payload: bytes, headers: Mapping[str, str]) -> tuple[int, str]:
        """Verify, parse, record by event id, then act by re-reading the object from Stripe."""
        try:
            verify_signature(payload, headers.get("Stripe-Signature"))
        except (ValueError, stripe.SignatureVerificationError) as exc:
            return 400, f"invalid signature or payload: {exc}"[:200]
        try:
            event = parse_event(payload)
        except MalformedEvent as exc:
            return 400, f"malformed event: {exc.detail}"
        record = record_event("stripe", event.id, event.type)
        if record is None:
            return 200, "duplicate"
        try:
            # A savepoint: an object Stripe does not know leaves no half-done effect behind.
            with db.session.begin_nested():
                outcome = handle_stripe_event(event)
        except UnknownToStripe as exc:
            log.warning("stripe event %s (%s) unknown to Stripe: %s", event.id, event.type, exc)
            outcome = f"ignored, unknown to Stripe: {exc.detail}"
        record.processed_at = utcnow()
        record.outcome = outcome[:500]
        return 200, outcome


def _expire_checkout_quietly(session_id: str) -> None:
    """Expire a Checkout Session; failing is fine (the webhook says what really happened)."""
    try:
        expire_checkout_session(session_id)
    except Exception:  # already completed or expired: the webhook tells us what happened
        log.info("could not expire checkout session %s", session_id, exc_info=True)


# --- webhook deliveries --------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """A verified Stripe event, checked for the shape acting on it relies on."""

    id: str
    type: str
    object: dict[str, Any]

    @property
    def object_id(self) -> str:
        """The id of the object the event is about (checked by ``parse_event``)."""
        return str(self.object["id"])


CHECKOUT_EVENTS = frozenset(
    {
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
    }
)
INTENT_EVENTS = frozenset(
    {"payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.processing"}
)
REFUND_EVENTS = frozenset({"refund.updated", "refund.created", "charge.refund.updated"})
# The event types acted on; each names its object by a Stripe id, which must be one.
HANDLED = (
    CHECKOUT_EVENTS | INTENT_EVENTS | REFUND_EVENTS | {"charge.refunded", "charge.dispute.created"}
)


def verify_signature(payload: bytes, header: str | None) -> None:
    """Stripe's signature check, with the timestamp tolerance applied both ways.

    The SDK only refuses signatures older than the tolerance; one dated ahead would stay
    replayable until its time came, so a timestamp too far in the future is refused too.
    """
    secret = current_app.config["VHS"].stripe_webhook_secret
    stripe.WebhookSignature.verify_header(payload, header, secret, WEBHOOK_TOLERANCE)
    # verify_header read the first "t=" the same way; a header without one was refused there.
    items = (header or "").split(",")
    signed_at = next(int(item.split("=", 2)[1]) for item in items if item[:2] == "t=")
    if signed_at > time.time() + WEBHOOK_TOLERANCE:
        raise stripe.SignatureVerificationError(
            f"Timestamp outside the tolerance zone ({signed_at})", header
        )


def _stripe_id(value: Any, where: str) -> str:
    """``value`` if it is a Stripe id, else the event is malformed."""
    if not isinstance(value, str) or not STRIPE_ID.fullmatch(value):
        raise MalformedEvent(f"{where} is not a Stripe id")
    return value


def parse_event(payload: bytes) -> Event:
    """The event in a verified payload, or ``MalformedEvent`` naming what is wrong with it."""
    try:
        data = json.loads(payload.decode("utf-8"))
    except ValueError as exc:
        raise MalformedEvent("not JSON") from exc
    if not isinstance(data, dict):
        raise MalformedEvent("not a JSON object")
    event_id = _stripe_id(data.get("id"), "id")
    kind = data.get("type")
    if not isinstance(kind, str) or not EVENT_TYPE.fullmatch(kind):
        raise MalformedEvent("type is not an event type")
    body = data.get("data")
    if not isinstance(body, dict) or not isinstance(body.get("object"), dict):
        raise MalformedEvent("data.object is missing or not an object")
    obj = body["object"]
    if kind in HANDLED:
        _stripe_id(obj.get("id"), "data.object.id")
    if kind == "charge.dispute.created" and obj.get("charge") is not None:
        _stripe_id(obj["charge"], "data.object.charge")
    return Event(id=event_id, type=kind, object=obj)


def _meta(obj: Any, key: str) -> str | None:
    """A metadata value of a Stripe object (which is not a dict), if present."""
    metadata = getattr(obj, "metadata", None)
    try:
        return metadata[key] if metadata is not None and key in metadata else None
    except (KeyError, TypeError):
        return None


def _our_id(value: Any) -> int | None:
    """One of our row ids written into a Stripe object (reference, metadata), if it is one."""
    text = str(value) if value is not None else ""
    if not (text.isascii() and text.isdigit()) or int(text) >= 2**31:
        return None  # edited in Stripe's dashboard, say: no row of ours (ids are 32-bit)
    return int(text)


def _payment_by_reference(session: Any = None, intent: Any = None) -> Payment | None:
    """Our payment for a Checkout Session or PaymentIntent, locked; by Stripe id, then ours."""
    payment = None
    if session is not None:
        payment = db.session.execute(
            sa.select(Payment).where(Payment.stripe_checkout_session_id == session.id)
        ).scalar_one_or_none()
        ref = _our_id(getattr(session, "client_reference_id", None) or _meta(session, "payment_id"))
        if payment is None and ref is not None:
            payment = db.session.get(Payment, ref)
    if payment is None and intent is not None:
        payment = db.session.execute(
            sa.select(Payment).where(Payment.stripe_payment_intent_id == intent.id)
        ).scalar_one_or_none()
        ref = _our_id(_meta(intent, "payment_id"))
        if payment is None and ref is not None:
            payment = db.session.get(Payment, ref)
    return lock(Payment, payment.id) if payment is not None else None


def _intent_id(obj: Any) -> str | None:
    """The PaymentIntent id an object points at (expanded or not)."""
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
        # Completed unpaid: a debit was submitted, whatever has become of it since.
        mark_processing(payment)
        if intent_id:
            return converge_intent(retrieve_payment_intent(intent_id), payment)
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


def handle_stripe_event(event: Event) -> str:
    """Act on a verified event by re-reading the object it names from Stripe."""
    kind = event.type
    if kind in CHECKOUT_EVENTS:
        return converge_checkout(retrieve_checkout_session(event.object_id))
    if kind in INTENT_EVENTS:
        return converge_intent(retrieve_payment_intent(event.object_id))
    if kind == "charge.refunded":
        return _converge_refunds(_intent_id(retrieve_charge(event.object_id)))
    if kind in REFUND_EVENTS:
        return _converge_refunds(_intent_id(retrieve_refund(event.object_id)))
    if kind == "charge.dispute.created":
        return _flag_dispute(event)
    return "ignored"


def _flag_dispute(event: Event) -> str:
    """A payer disputes a charge: flag the payment for the office (audited)."""
    charge_id = event.object.get("charge")
    charge = retrieve_charge(charge_id) if charge_id else None
    intent_id = _intent_id(charge) if charge is not None else None
    payment = (
        _payment_by_reference(intent=retrieve_payment_intent(intent_id)) if intent_id else None
    )
    if payment is None:
        return "dispute for unknown payment"
    payment.disputed = True
    audit(None, "payment.disputed", payment, dispute=event.object_id)
    return "dispute flagged"


def _converge_refunds(intent_id: str | None) -> str:
    """Take over a payment's refunds as Stripe reports them (the payment first, if need be)."""
    if not intent_id:
        return "refund without payment intent"
    intent = retrieve_payment_intent(intent_id)
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


# --- refunds -------------------------------------------------------------------------------

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
    settle_refund(
        refund,
        _REFUND_STATUS.get(data.status, RefundStatus.PENDING),
        getattr(data, "failure_reason", None) or "",
    )


def process_requested_refunds(limit: int = 100) -> int:
    """Send requested Stripe refunds to Stripe, each in its own transaction (a job too)."""
    done = 0
    ids = (
        db.session.execute(
            sa.select(Refund.id)
            .join(Payment, Payment.id == Refund.payment_id)
            .where(Refund.status == RefundStatus.REQUESTED, Payment.provider == Provider.STRIPE)
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
            result = create_refund(
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


def sync_stripe_refunds(payment: Payment) -> int:
    """Take over every refund Stripe knows for a payment (also ones made in its dashboard)."""
    if not payment.stripe_payment_intent_id:
        return 0
    created = 0
    stripe_refunds = list_refunds(payment.stripe_payment_intent_id)
    at_stripe = {_our_id(_meta(data, "refund_id")) for data in stripe_refunds}
    for data in stripe_refunds:
        refund = db.session.execute(
            sa.select(Refund).where(Refund.provider_refund_id == data.id)
        ).scalar_one_or_none()
        if refund is None:
            ours = _our_id(_meta(data, "refund_id"))
            if ours is not None:
                refund = db.session.get(Refund, ours)
        if refund is None:
            if data.status in ("failed", "canceled"):
                continue
            waiting = _make_room(payment, data.amount, at_stripe)
            if data.amount > payment.refundable_cents:
                log.warning("Stripe refund %s exceeds what is refundable", data.id)
                continue
            refund = request_refund(payment, data.amount, "refunded at Stripe", automatic=True)
            refund.provider_refund_id = data.id
            created += 1
            _apply_stripe_refund(refund, data)
            for old in waiting:  # what Stripe's refund left of them is still owed
                amount = min(old.amount_cents, payment.refundable_cents)
                if amount > 0:
                    again = request_refund(payment, amount, old.reason, automatic=True)
                    again.created_by_id = old.created_by_id
            continue
        _apply_stripe_refund(refund, data)
    return created


def _make_room(payment: Payment, cents: int, at_stripe: set[int | None]) -> list[Refund]:
    """Stripe refunded money that refunds of ours, not yet at Stripe, still claim: they step back.

    Stripe would refuse them now (there is not enough left), so they are cancelled, newest
    first, until Stripe's refund fits; the caller asks again for what is left of each.
    """
    waiting = []
    for refund in sorted(payment.refunds, key=lambda r: r.id, reverse=True):
        if payment.refundable_cents >= cents:
            break
        unsent = refund.status is RefundStatus.REQUESTED and refund.provider_refund_id is None
        if unsent and refund.id not in at_stripe:
            settle_refund(refund, RefundStatus.CANCELED, "Stripe refunded the money otherwise")
            waiting.append(refund)
    return waiting
