"""The annual fee of a library card (``VHS_LIBRARY_CARD_FEE_CENTS``; 0: free), through the core's
payments: one payments page, one invoice series for courses and library.

Each validity period is a purpose of its own (``purpose_type`` ``library_card``, ``purpose_id``
the ``LibraryCardFee`` row), because a purpose is paid once. A payment that succeeds sets the
card's ``fee_paid_until`` to the period's last day; a refund of the whole fee takes it back.
Patrons pay online (Stripe when configured) or by bank transfer; staff record a payment at
the desk (cash or card terminal) with the date and amount.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l

from library.models import CardState, LibraryCard, LibraryCardFee
from library.patrons.eligibility import fee_cents, today
from library.patrons.services import require_staff
from vhs import signals
from vhs.accounts.models import User
from vhs.audit import audit
from vhs.db import db, lock, utcnow
from vhs.errors import Conflict, NotFound
from vhs.i18n import fmt_date
from vhs.payments import services as payments
from vhs.payments.models import OPEN_STATUSES, PAID_STATUSES, Payment, PaymentStatus, Provider
from vhs.urls import external_url

PURPOSE = "library_card"


@dataclass(frozen=True)
class FeeStatus:
    """What a page says about a card's fee (decisions, not rules, for the templates)."""

    required: bool  # a fee is configured
    amount_cents: int
    paid_until: date | None
    paid: bool  # the fee allows borrowing today
    payable: bool  # the current period can be paid now
    open_payment: Payment | None  # a payment on its way (bank transfer, SEPA, Checkout)


def fee_status(card: LibraryCard) -> FeeStatus:
    """The fee of ``card`` as of today."""
    amount = fee_cents()
    required = amount > 0
    on = today()
    paid = not required or (card.fee_paid_until is not None and card.fee_paid_until >= on)
    payable = required and _payable(card, on)
    open_payment = None
    if required:
        fee = _current_fee(card)
        if fee is not None:
            open_payment = next(
                (p for p in payments.payments_for(PURPOSE, fee.id) if p.status in OPEN_STATUSES),
                None,
            )
    return FeeStatus(required, amount, card.fee_paid_until, paid, payable, open_payment)


def _payable(card: LibraryCard, on: date) -> bool:
    """An active card, valid today, whose validity is not paid up to its end."""
    return (
        card.state is CardState.ACTIVE
        and card.valid_until is not None
        and card.valid_until >= on
        and (card.fee_paid_until is None or card.fee_paid_until < card.valid_until)
    )


def _current_fee(card: LibraryCard) -> LibraryCardFee | None:
    if card.valid_until is None:
        return None
    return db.session.execute(
        sa.select(LibraryCardFee).where(
            LibraryCardFee.card_id == card.id, LibraryCardFee.period_until == card.valid_until
        )
    ).scalar_one_or_none()


def fee_for_period(card: LibraryCard) -> LibraryCardFee:
    """The fee row of the card's current validity (made on first use), or a 409 if none is due."""
    amount = fee_cents()
    if amount <= 0:
        raise Conflict(
            _l("Library cards are free: there is nothing to pay."), code="nothing_to_pay"
        )
    if not _payable(card, today()):
        raise Conflict(_l("There is no fee to pay for this card now."), code="nothing_to_pay")
    fee = _current_fee(card)
    if fee is None:
        assert card.valid_until is not None
        fee = LibraryCardFee(card_id=card.id, period_until=card.valid_until, amount_cents=amount)
        db.session.add(fee)
        db.session.flush()
    return fee


def _description(card: LibraryCard, fee: LibraryCardFee) -> str:
    """The payment's text (on invoices and receipts), in the patron's language."""
    with force_locale(card.user.locale):
        return gettext(
            "Annual fee, library card %(number)s, valid until %(date)s",
            number=card.number,
            date=fmt_date(fee.period_until),
        )


def pay_fee(user: User, card: LibraryCard, provider: Provider | None = None) -> Payment:
    """The patron pays the current period's fee: Stripe Checkout or a bank transfer."""
    if card.user_id != user.id:
        raise NotFound(_l("This library card does not exist."), code="card_not_found")
    fee = fee_for_period(card)
    return payments.start_payment(
        user=user,
        purpose_type=PURPOSE,
        purpose_id=fee.id,
        amount_cents=fee.amount_cents,
        currency=fee.currency,
        description=_description(card, fee),
        hold_expires_at=None,
        provider=provider,
        success_url=external_url("library.my_card", paid=1),
        cancel_url=external_url("library.my_card"),
    )


def record_fee_at_desk(actor: User, card: LibraryCard) -> Payment:
    """Staff took the fee at the desk (cash, card terminal): recorded as paid, with an invoice."""
    require_staff(actor)
    fee = fee_for_period(card)
    payment = payments.record_office_payment(
        actor=actor,
        user=card.user,
        purpose_type=PURPOSE,
        purpose_id=fee.id,
        amount_cents=fee.amount_cents,
        currency=fee.currency,
        description=_description(card, fee),
    )
    audit(actor, "library.fee_paid_at_desk", card, payment_id=payment.id, amount=fee.amount_cents)
    return payment


def _fee(purpose_type: str, purpose_id: int) -> LibraryCardFee | None:
    if purpose_type != PURPOSE:
        return None
    return db.session.get(LibraryCardFee, purpose_id)


def _recompute_paid_until(card: LibraryCard) -> None:
    """``fee_paid_until``: the last day of the latest paid period (None if none is paid)."""
    paid = [f.period_until for f in card.fees if f.paid_at is not None]
    card.fee_paid_until = max(paid) if paid else None


@signals.payment_succeeded.connect
def _paid(_payment: Any, *, purpose_type: str, purpose_id: int, **_kw: Any) -> bool | None:
    """The fee arrived: the card is paid up to the period's end. False (refund) if it is gone."""
    if purpose_type != PURPOSE:
        return None
    fee = db.session.get(LibraryCardFee, purpose_id)
    if fee is None:
        return False  # the card was erased meanwhile: the money goes back
    card = lock(LibraryCard, fee.card_id)
    if card is None:
        return False
    fee.paid_at = fee.paid_at or utcnow()
    _recompute_paid_until(card)
    return True


@signals.refund_completed.connect
def _refunded(
    _payment: Any, *, purpose_type: str, purpose_id: int, in_full: bool, **_kw: Any
) -> None:
    """The whole fee came back: the period counts as unpaid again (a partial refund is a discount)."""
    fee = _fee(purpose_type, purpose_id)
    if fee is None or not in_full:
        return
    still_paid = any(
        p.status in PAID_STATUSES and p.status is not PaymentStatus.REFUNDED
        for p in payments.payments_for(PURPOSE, fee.id)
    )
    if still_paid:
        return  # paid twice, one refunded: the other payment still pays the period
    card = lock(LibraryCard, fee.card_id)
    if card is None:
        return
    fee.paid_at = None
    _recompute_paid_until(card)
