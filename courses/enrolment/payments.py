"""Courses and money: paying for an enrolment, and reacting to payment outcomes."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l

from courses import signals as course_signals
from courses.enrolment.charges import (
    CHARGE_PURPOSE,
    PRICE_CHANGED,
    PRICE_REFUNDS,
    PURPOSE,
    booking_payment_cents,
    charge_paid,
    charges_of,
)
from courses.enrolment.models import EnrolmentCharge
from courses.enrolment.services import (
    confirm_enrolment,
    end_refunded_enrolment,
    expire_enrolment,
)
from courses.models import Enrolment, EnrolmentStatus
from vhs import signals
from vhs.accounts.models import User
from vhs.db import db, utcnow
from vhs.errors import Conflict, NotFound
from vhs.payments import services as payments
from vhs.payments.hooks import Decline
from vhs.payments.models import Payment, Provider, Refund
from vhs.urls import external_url


def pay_enrolment(enrolment: Enrolment, user: User, provider: Provider | None = None) -> Payment:
    """Open the payment for a pending enrolment (Stripe Checkout or bank transfer)."""
    if enrolment.user_id != user.id and not user.is_staff:
        raise NotFound(_l("This booking does not exist."), code="enrolment_not_found")
    if enrolment.status is not EnrolmentStatus.PENDING_PAYMENT:
        raise Conflict(_l("This booking has nothing to pay."), code="nothing_to_pay")
    course = enrolment.course
    return payments.start_payment(
        user=enrolment.user,
        purpose_type=PURPOSE,
        purpose_id=enrolment.id,
        amount_cents=enrolment.price_cents,
        currency=enrolment.currency,
        description=f"{course.code} {course.title}",
        hold_expires_at=enrolment.hold_expires_at,
        provider=provider,
        success_url=external_url("courses_pay.checkout_return", enrolment_id=enrolment.id)
        + "?session_id={CHECKOUT_SESSION_ID}",
        cancel_url=external_url("courses.detail", course_id=course.id),
    )


def _enrolment(purpose_type: str, purpose_id: int) -> Enrolment | None:
    if purpose_type != PURPOSE:
        return None
    return db.session.get(Enrolment, purpose_id)


@signals.payment_succeeded.connect
def _paid(
    payment: Payment, *, purpose_type: str, purpose_id: int, **_kw: Any
) -> bool | Decline | None:
    """Confirm the seat; False when none can be had any more (payments then refunds).

    Money for a price that no longer holds (a transfer for the old amount arriving after a move
    or a rejected reduction changed what is due) goes back; the booking waits for the right
    amount.
    """
    enrolment = _enrolment(purpose_type, purpose_id)
    if enrolment is None:
        return None
    if payment.amount_cents != booking_payment_cents(enrolment):
        return Decline(PRICE_CHANGED)
    return confirm_enrolment(enrolment)


@signals.payment_succeeded.connect
def _charge_paid(_payment: Any, *, purpose_type: str, purpose_id: int, **_kw: Any) -> bool | None:
    """Money for a charge no longer owed (its booking ended, a move settled it) goes back."""
    if purpose_type != CHARGE_PURPOSE:
        return None
    charge = db.session.get(EnrolmentCharge, purpose_id)
    return charge is not None and charge.cancelled_at is None and charge.enrolment.active


@signals.refund_completed.connect
def _refunded(
    _payment: Any,
    *,
    refund: Refund,
    purpose_type: str,
    purpose_id: int,
    in_full: bool,
    **_kw: Any,
) -> None:
    """The whole fee came back (say, refunded in Stripe's dashboard): the booking ends.

    A partial refund is a discount and leaves the booking as it is; so does one that follows
    from a changed price (a move to a cheaper or free course, money for an old amount).
    """
    enrolment = _enrolment(purpose_type, purpose_id)
    if enrolment is not None and in_full and refund.reason not in PRICE_REFUNDS:
        end_refunded_enrolment(enrolment)


@course_signals.enrolment_cancelled.connect
def _booking_cancelled(enrolment: Enrolment, *, in_time: bool, **_kw: Any) -> None:
    """A booking ended: paid money comes back less the cancellation fee if cancelled in time.

    Its charges end with it: open ones close, paid ones come back in full when in time (the fee
    is kept once, from the booking's own payment).
    """
    signals.purpose_cancelled.send(
        enrolment,
        purpose_type=PURPOSE,
        purpose_id=enrolment.id,
        refund=in_time,
        fee_cents=current_app.config["VHS"].cancellation_fee_cents,
        reason="cancelled in time",
    )
    _end_charges(enrolment, refund=in_time, reason="cancelled in time")


def _end_charges(enrolment: Enrolment, *, refund: bool, reason: str) -> None:
    for charge in charges_of(enrolment):
        if not charge_paid(charge):
            charge.cancelled_at = charge.cancelled_at or utcnow()
        signals.purpose_cancelled.send(
            charge,
            purpose_type=CHARGE_PURPOSE,
            purpose_id=charge.id,
            refund=refund,
            fee_cents=0,
            reason=reason,
        )


@course_signals.course_cancelled.connect
def _course_cancelled(_course: Any, *, enrolments: list[Enrolment], **_kw: Any) -> None:
    """The VHS called a course off: everyone gets their money back in full, automatically."""
    for enrolment in enrolments:
        signals.purpose_cancelled.send(
            enrolment,
            purpose_type=PURPOSE,
            purpose_id=enrolment.id,
            refund=True,
            fee_cents=0,
            reason="course cancelled",
        )
        _end_charges(enrolment, refund=True, reason="course cancelled")


@signals.payment_failed.connect
@signals.payment_expired.connect
def _not_paid(_payment: Any, *, purpose_type: str, purpose_id: int, **_kw: Any) -> None:
    """The money will not come: release the seat to the waiting list."""
    enrolment = _enrolment(purpose_type, purpose_id)
    if enrolment is not None and enrolment.status is EnrolmentStatus.PENDING_PAYMENT:
        expire_enrolment(enrolment)
