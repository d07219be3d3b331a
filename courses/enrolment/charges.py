"""What a booking owes when its price changes (a move, a rejected reduction).

A booking whose price is settled by money (paid, or confirmed free) gets a refund of the
difference (each refund issues a credit note) or a *charge*: a payment purpose of its own
(``enrolment_charge``) with its own payment and invoice. A booking not yet paid simply owes the
new amount: its open payment and invoice close, and the next payment asks for the new price.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from courses.enrolment.models import ChargeKind, EnrolmentCharge, ReductionCheck, ReductionState
from courses.models import Course, Enrolment, EnrolmentStatus
from vhs.accounts.models import User
from vhs.db import db, utcnow
from vhs.errors import Conflict
from vhs.payments import services as payments
from vhs.payments.models import PAID_STATUSES, Payment, PaymentStatus, Provider, Refund
from vhs.payments.refunds import request_refund
from vhs.urls import external_url

PURPOSE = "enrolment"
CHARGE_PURPOSE = "enrolment_charge"
# Refunds that follow from a changed price, not from the booking ending: even when they pay
# back everything, the booking stays.
MOVED_TO_CHEAPER = "moved to a cheaper course"
PRICE_CHANGED = "price changed"
PRICE_REFUNDS = frozenset({MOVED_TO_CHEAPER, PRICE_CHANGED})


class Settle(enum.StrEnum):
    """What a price change does to the money."""

    NOTHING = "nothing"  # same price
    REPRICE = "reprice"  # not paid yet: the amount due changes
    REFUND = "refund"  # paid: the difference comes back (credit note)
    CHARGE = "charge"  # paid: the rest is due (a new payment with its invoice)


@dataclass(frozen=True)
class MoveSettlement:
    """A move's price and what it does to the money, known before the move is confirmed."""

    old_price_cents: int
    new_price_cents: int
    settle: Settle
    amount_cents: int  # refunded, charged, or (reprice) the new amount due
    reduction_kept: bool
    cancelled_charges_cents: int = 0  # charges not yet paid that the move cancels


def move_settlement(enrolment: Enrolment, target: Course) -> MoveSettlement:
    """What moving ``enrolment`` to ``target`` costs: the target's fee, reduced when the
    booking's reduction is not rejected and the target offers a reduced fee."""
    check = db.session.execute(
        sa.select(ReductionCheck).where(ReductionCheck.enrolment_id == enrolment.id)
    ).scalar_one_or_none()
    reduction_kept = enrolment.reduction_reason is not None and target.reduced_fee_cents is not None
    rejected = check is not None and check.state is ReductionState.REJECTED
    if reduction_kept and not rejected:
        new_price = target.reduced_fee_cents or 0
    else:
        new_price = target.fee_cents
    old_price = enrolment.price_cents
    if new_price == old_price:
        return MoveSettlement(old_price, new_price, Settle.NOTHING, 0, reduction_kept)
    if not is_settled_by_payment(enrolment):
        return MoveSettlement(old_price, new_price, Settle.REPRICE, new_price, reduction_kept)
    # Charges still unpaid are cancelled and the new price settled against what was paid.
    unpaid = open_charges_cents(enrolment)
    balance = new_price - (old_price - unpaid)
    if balance > 0:
        settle, amount = Settle.CHARGE, balance
    else:
        settle, amount = Settle.REFUND, min(-balance, refundable_cents(enrolment))
        if amount == 0:
            settle = Settle.NOTHING  # nothing was paid that could come back (a free booking)
    return MoveSettlement(old_price, new_price, settle, amount, reduction_kept, unpaid)


def booking_payment_cents(enrolment: Enrolment) -> int:
    """What the booking's own payment pays: its price less what its charges (not cancelled)
    ask for on top. Money of another amount was meant for a price that no longer holds."""
    extra = sum(c.amount_cents for c in charges_of(enrolment) if c.cancelled_at is None)
    return enrolment.price_cents - extra


def open_charges_cents(enrolment: Enrolment) -> int:
    """What the booking's charges still ask for (their payments awaiting money)."""
    return sum(p.amount_cents for p in open_charge_payments([enrolment]).get(enrolment.id, []))


def cancel_open_charges(enrolment: Enrolment) -> None:
    """Cancel the charges not yet paid: their payments close (their invoices get cancellation
    invoices), and money that still arrives for them goes back."""
    for charge in charges_of(enrolment):
        if not charge_paid(charge):
            charge.cancelled_at = charge.cancelled_at or utcnow()
        payments.settle_ended_purpose(CHARGE_PURPOSE, charge.id, refund=False)


def charge_paid(charge: EnrolmentCharge) -> bool:
    """Whether money for the charge arrived (or is on its way)."""
    return any(
        p.status in (*PAID_STATUSES, PaymentStatus.PROCESSING)
        for p in payments.payments_for(CHARGE_PURPOSE, charge.id)
    )


def refundable_cents(enrolment: Enrolment) -> int:
    """What the booking paid (itself and its charges) that could still come back."""
    purposes = [(PURPOSE, enrolment.id)] + [(CHARGE_PURPOSE, c.id) for c in charges_of(enrolment)]
    return sum(
        p.refundable_cents for kind, pid in purposes for p in payments.payments_for(kind, pid)
    )


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
    close_open_payments(enrolment)
    enrolment.price_cents = price_cents


def close_open_payments(enrolment: Enrolment) -> None:
    """Close the booking's open payments, cancelling their invoices (with cancellation
    invoices); refused while a direct debit is under way (its amount is on its way)."""
    refuse_while_processing(enrolment)
    payments.settle_ended_purpose(PURPOSE, enrolment.id, refund=False)


def refuse_while_processing(enrolment: Enrolment) -> None:
    """A price cannot change while a direct debit for the old one is under way."""
    if payments.is_processing(PURPOSE, enrolment.id):
        raise Conflict(
            _l("A direct debit for this booking is being processed; please try again later."),
            code="payment_processing",
        )


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


def refund_difference(enrolment: Enrolment, amount_cents: int) -> list[Refund]:
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
                # Not a refund at staff's discretion but the price's: the move is audited
                # with its actor and amount.
                refunds.append(request_refund(payment, amount, MOVED_TO_CHEAPER, automatic=True))
                left -= amount
    return refunds


def carry_charges(old: Enrolment, new: Enrolment) -> None:
    """A moved booking takes what it owes along (its charges' payments follow their charge)."""
    for charge in charges_of(old):
        charge.enrolment_id = new.id


def charges_of(enrolment: Enrolment) -> list[EnrolmentCharge]:
    """What the booking owes (or owed) on top of its first payment, oldest first."""
    return list(
        db.session.execute(
            sa.select(EnrolmentCharge)
            .where(EnrolmentCharge.enrolment_id == enrolment.id)
            .order_by(EnrolmentCharge.id)
        ).scalars()
    )


def open_charge_payments(enrolments: list[Enrolment]) -> dict[int, list[Payment]]:
    """The charges' payments still awaiting money, by booking (for "Meine Kurse")."""
    ids = [e.id for e in enrolments]
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(EnrolmentCharge.enrolment_id, Payment)
        .join(
            Payment,
            sa.and_(
                Payment.purpose_type == CHARGE_PURPOSE, Payment.purpose_id == EnrolmentCharge.id
            ),
        )
        .where(
            EnrolmentCharge.enrolment_id.in_(ids),
            Payment.status.in_((PaymentStatus.CREATED, PaymentStatus.PENDING)),
        )
        .order_by(Payment.id)
    )
    due: dict[int, list[Payment]] = {}
    for enrolment_id, payment in rows:
        due.setdefault(enrolment_id, []).append(payment)
    return due
