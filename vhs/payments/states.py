"""The payment state machine's one move: ``transition`` (the legal moves are in ``models``).

It sits below the services, refunds and providers, which all move payments, so none of them
has to import another to do so.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from vhs.errors import Conflict
from vhs.payments.models import TRANSITIONS, Payment, PaymentStatus


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
