"""Courses and money: paying for an enrolment, and reacting to payment outcomes."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from courses import signals as course_signals
from courses.enrolment.services import (
    confirm_enrolment,
    end_refunded_enrolment,
    expire_enrolment,
)
from courses.enrolment.models import ChargeKind, EnrolmentCharge
from courses.models import Enrolment, EnrolmentStatus
from vhs import signals
from vhs.accounts.models import User
from vhs.db import db
from vhs.errors import Conflict, NotFound
from vhs.payments import services as payments
from vhs.payments.models import PAID_STATUSES, Payment, PaymentStatus, Provider, Refund
from vhs.payments.refunds import request_refund
from vhs.urls import external_url

PURPOSE = "enrolment"
CHARGE_PURPOSE = "enrolment_charge"


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


# --- settling a changed price (a move, a rejected reduction) ---------------------------------


def is_settled_by_payment(enrolment: Enrolment) -> bool:
    """Whether the booking's price is fixed by money paid or on its way (a change is settled by
    a refund or a charge), rather than still due (a change simply changes what is due)."""
    if enrolment.status is EnrolmentStatus.CONFIRMED:
        return True
    return any(
        p.status in (*PAID_STATUSES, PaymentStatus.PROCESSING)
        for p in payments.payments_for(PURPOSE, enrolment.id)
    )


def reprice_unpaid(enrolment: Enrolment, price_cents: int) -> None:
    """An unpaid booking's due amount changes: open payments (and their invoices) close, so the
    next payment asks for the new amount."""
    if any(p.status is PaymentStatus.PROCESSING for p in payments.payments_for(PURPOSE, enrolment.id)):
        raise Conflict(
            _l("A direct debit for this booking is being processed; please try again later."),
            code="payment_processing",
        )
    payments.settle_ended_purpose(PURPOSE, enrolment.id, refund=False)
    enrolment.price_cents = price_cents


def add_charge(
    enrolment: Enrolment, amount_cents: int, kind: ChargeKind, actor: User | None
) -> tuple[EnrolmentCharge, Payment]:
    """The booking owes ``amount_cents`` more: a charge with its own payment and invoice.

    The payment is a bank transfer (instructions and invoice go to the resident by mail); it
    shows in "My payments" and is marked paid at the payments desk like any other.
    """
    charge = EnrolmentCharge(
        enrolment_id=enrolment.id,
        kind=kind,
        amount_cents=amount_cents,
        currency=enrolment.currency,
        created_by_id=actor.id if actor else None,
    )
    db.session.add(charge)
    db.session.flush()
    course = enrolment.course
    label = {
        ChargeKind.REDUCTION_REJECTED: _l("reduction not granted"),
        ChargeKind.MOVED: _l("difference after a course change"),
    }[kind]
    payment = payments.start_payment(
        user=enrolment.user,
        purpose_type=CHARGE_PURPOSE,
        purpose_id=charge.id,
        amount_cents=amount_cents,
        currency=enrolment.currency,
        description=f"{course.code} {course.title} ({label})",
        hold_expires_at=None,
        provider=Provider.MANUAL,
        success_url=external_url("payments.mine"),
        cancel_url=external_url("payments.mine"),
    )
    return charge, payment


def refund_difference(enrolment: Enrolment, amount_cents: int, actor: User) -> list[Refund]:
    """Pay back ``amount_cents`` of what the booking paid (each refund issues a credit note)."""
    refunds = []
    left = amount_cents
    purposes = [(PURPOSE, enrolment.id)] + [
        (CHARGE_PURPOSE, charge.id) for charge in charges_of(enrolment)
    ]
    for purpose_type, purpose_id in purposes:
        for payment in payments.payments_for(purpose_type, purpose_id):
            amount = min(left, payment.refundable_cents)
            if amount > 0:
                refunds.append(
                    request_refund(payment, amount, "moved to a cheaper course", actor=actor)
                )
                left -= amount
    return refunds


def charges_of(enrolment: Enrolment) -> list[EnrolmentCharge]:
    """What the booking owes (or owed) on top of its first payment, oldest first."""
    return list(
        db.session.execute(
            sa.select(EnrolmentCharge)
            .where(EnrolmentCharge.enrolment_id == enrolment.id)
            .order_by(EnrolmentCharge.id)
        ).scalars()
    )


def _enrolment(purpose_type: str, purpose_id: int) -> Enrolment | None:
    if purpose_type != PURPOSE:
        return None
    return db.session.get(Enrolment, purpose_id)


@signals.payment_succeeded.connect
def _paid(_payment: Any, *, purpose_type: str, purpose_id: int, **_kw: Any) -> bool | None:
    """Confirm the seat; False when none can be had any more (payments then refunds)."""
    enrolment = _enrolment(purpose_type, purpose_id)
    if enrolment is None:
        return None
    return confirm_enrolment(enrolment)


@signals.refund_completed.connect
def _refunded(
    _payment: Any, *, purpose_type: str, purpose_id: int, in_full: bool, **_kw: Any
) -> None:
    """The whole fee came back (say, refunded in Stripe's dashboard): the booking ends.

    A partial refund is a discount and leaves the booking as it is.
    """
    enrolment = _enrolment(purpose_type, purpose_id)
    if enrolment is not None and in_full:
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
