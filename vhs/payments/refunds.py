"""Refunds: requested here (at most what was paid), paid back by the payment's provider.

A refund counts against the payment from the moment it is requested; when it fails or is
cancelled at the provider, ``settle_refund`` makes its amount refundable again.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from vhs import signals
from vhs.accounts.models import User
from vhs.audit import audit
from vhs.db import db, lock
from vhs.errors import Invalid, NotFound
from vhs.mail import notify
from vhs.payments.invoices import credit_refund
from vhs.payments.models import PAID_STATUSES, Payment, PaymentStatus, Refund, RefundStatus
from vhs.payments.providers.base import provider_for
from vhs.payments.states import transition

S = PaymentStatus
R = RefundStatus


def request_refund(
    payment: Payment,
    amount_cents: int,
    reason: str,
    *,
    actor: User | None = None,
    automatic: bool = False,
) -> Refund:
    """Pay money back, at most what was paid; the provider pays it now or after the commit."""
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
        status=R.REQUESTED,
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
    provider_for(payment.provider).refund(refund)
    return refund


def refund_by_staff(payment: Payment, actor: User, amount_cents: int, reason: str) -> Refund:
    """Staff refund any amount up to what was paid (audited)."""
    if not actor.is_staff:
        raise NotFound(code="payment_not_found")
    if not reason.strip():
        raise Invalid(errors={"reason": [_l("Please give a reason.")]})
    return request_refund(payment, amount_cents, reason.strip(), actor=actor)


def refunded_in_full(payment: Payment) -> bool:
    """Whether refunds that succeeded have paid back all the money paid for the purpose.

    Counted over every paid payment of the purpose, not this one alone: when a purpose was paid
    twice and the second payment went back in full, the first still pays for it.
    """
    paid = (
        sa.select(Payment.id, Payment.amount_cents)
        .where(
            Payment.purpose_type == payment.purpose_type,
            Payment.purpose_id == payment.purpose_id,
            Payment.status.in_(PAID_STATUSES),
        )
        .subquery()
    )
    received = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(paid.c.amount_cents), 0)))
    returned = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Refund.amount_cents), 0)).where(
            Refund.payment_id.in_(sa.select(paid.c.id)), Refund.status == R.SUCCEEDED
        )
    )
    return received > 0 and returned >= received


def refund_completed(refund: Refund) -> None:
    """The money is on its way back: issue its credit note, tell the domains and the payer.

    The signal names the payment's purpose, as the other payment signals do, and says whether
    the whole amount has now come back (``in_full``): the owner of the purpose decides what that
    means (a course booking ends).
    """
    payment = refund.payment
    credit_note = credit_refund(refund)
    signals.refund_completed.send(
        payment,
        refund=refund,
        purpose_type=payment.purpose_type,
        purpose_id=payment.purpose_id,
        in_full=refunded_in_full(payment),
    )
    notify(
        refund.payment.user,
        "refund_issued",
        {"refund": refund, "payment": refund.payment, "credit_note": credit_note},
    )


def _release(refund: Refund, reason: str) -> None:
    """A refund failed or was cancelled: its amount is refundable again."""
    payment = lock(Payment, refund.payment_id)
    refund.failure_reason = reason[:500]
    payment.refunded_cents = max(payment.refunded_cents - refund.amount_cents, 0)
    if payment.refunded_cents == 0 and payment.status in (S.REFUNDED, S.PARTIALLY_REFUNDED):
        payment.status = S.SUCCEEDED  # back to paid: the money was not returned
    elif payment.status is S.REFUNDED:
        payment.status = S.PARTIALLY_REFUNDED


def settle_refund(refund: Refund, new: RefundStatus, failure_reason: str = "") -> None:
    """Bring a refund in line with what its provider reports (any order, any repetition)."""
    old = refund.status
    if new is old:
        return
    # A finished refund stays finished, except that one reported as succeeded can still fail.
    if old in (R.FAILED, R.CANCELED) or (old is R.SUCCEEDED and new not in (R.FAILED, R.CANCELED)):
        return
    refund.status = new
    if new is R.SUCCEEDED:
        refund_completed(refund)
    elif new in (R.FAILED, R.CANCELED):
        _release(refund, failure_reason or new.value)
