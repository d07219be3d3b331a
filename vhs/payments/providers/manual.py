"""Manual payment: bank transfer or cash at the office; staff mark it paid. Always offered."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from vhs.mail import notify
from vhs.payments.invoices import issue_invoice
from vhs.payments.models import Payment, PaymentStatus, Provider, Refund, RefundStatus
from vhs.payments.providers.base import Checkout, PaymentProvider, register
from vhs.payments.refunds import refund_completed
from vhs.payments.states import transition


@register
class ManualProvider(PaymentProvider):
    """The payer gets an invoice with bank details at once; the money comes later, by hand."""

    key = Provider.MANUAL
    choice_label = _l("Bank transfer or payment at the VHS office")
    preference = 0

    def start(self, payment: Payment, checkout: Checkout) -> Payment:
        """Issue the invoice and mail the transfer instructions (once per payment)."""
        if payment.status is not PaymentStatus.CREATED:
            return payment  # already pending: the instructions went out with it
        transition(payment, PaymentStatus.PENDING)
        invoice = issue_invoice(payment, checkout.now)
        notify(
            checkout.user,
            "payment_instructions",
            {"payment": payment, "invoice": invoice, "due": checkout.hold_expires_at},
        )
        return payment

    def refund(self, refund: Refund) -> None:
        """Recorded as done for the accounting office, which transfers the money back."""
        refund.status = RefundStatus.SUCCEEDED
        refund_completed(refund)
