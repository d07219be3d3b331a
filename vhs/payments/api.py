"""Payment API under /api/v1: own payments, and the staff desk (mark paid, refunds)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Response
from flask.views import MethodView
from flask_babel import lazy_gettext as _l

from vhs.auth import require_user, staff_required, user_required
from vhs.db import db
from vhs.errors import NotFound
from vhs.extensions import Blueprint, link, links, problems
from vhs.payments import refunds, services
from vhs.payments.models import Payment
from vhs.payments.pdf import credit_note_pdf, invoice_pdf
from vhs.payments.schemas import (
    CreditNoteOutSchema,
    CreditNoteQuerySchema,
    PaymentOutSchema,
    PaymentQuerySchema,
    RefundInSchema,
    RefundOutSchema,
)

bp = Blueprint("payments_api", __name__, url_prefix="/api/v1", description="Payments")

PAYMENT = "/api/v1/payments/{payment_id}"
MARK_PAID = "/api/v1/staff/payments/{payment_id}/mark-paid"
REFUNDS = "/api/v1/staff/payments/{payment_id}/refunds"
CREDIT_NOTE_PDF = "/api/v1/credit-notes/{credit_note_id}/pdf"


def payment_links(pointer: str, *names: str) -> dict[str, dict[str, Any]]:
    """OpenAPI links from a payment in a response (its id at ``pointer``) to ``names``."""
    expression = f"$response.body#{pointer}"
    every = {
        "GetPayment": link("GET", PAYMENT, "The payment", payment_id=expression),
        "MarkPaid": link("POST", MARK_PAID, "Record it as received", payment_id=expression),
        "Refund": link("POST", REFUNDS, "Refund (part of) it", payment_id=expression),
    }
    return {name: every[name] for name in names}


@bp.route("/me/payments")
class MyPayments(MethodView):
    @user_required
    @bp.response(200, PaymentOutSchema(many=True))
    @links(bp, 200, **payment_links("/0/id", "GetPayment"))
    @problems(bp, 401)
    def get(self) -> list[Payment]:
        """The current user's payments with refunds and invoice numbers."""
        user = require_user()
        return list(
            db.session.execute(
                sa.select(Payment).where(Payment.user_id == user.id).order_by(Payment.id.desc())
            ).scalars()
        )


@bp.route("/payments/<int:payment_id>")
class PaymentItem(MethodView):
    @user_required
    @bp.response(200, PaymentOutSchema)
    @links(bp, 200, **payment_links("/id", "MarkPaid", "Refund"))
    @problems(bp, 401, 404)
    def get(self, payment_id: int) -> Payment:
        """One payment (own; staff: any)."""
        return services.get_payment(payment_id, require_user())


@bp.route("/payments/<int:payment_id>/invoice.pdf")
@user_required
@bp.response(
    200, {"type": "string", "format": "binary"}, content_type="application/pdf", description="PDF"
)
@problems(bp, 401, 404)
def invoice(payment_id: int) -> Response:
    """The payment's invoice as PDF, titled a receipt once paid (own; staff: any).

    404 `no_invoice` while the payment has none yet (a card payment before it succeeds).
    """
    payment = services.get_payment(payment_id, require_user())
    if payment.invoice is None:
        raise NotFound(_l("There is no invoice for this payment yet."), code="no_invoice")
    return Response(
        invoice_pdf(payment.invoice),
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="rechnung-{payment.invoice.number}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


@bp.route("/staff/payments")
class StaffPayments(MethodView):
    @staff_required
    @bp.arguments(PaymentQuerySchema, location="query")
    @bp.response(200, PaymentOutSchema(many=True))
    @links(bp, 200, **payment_links("/0/id", "GetPayment", "MarkPaid", "Refund"))
    @problems(bp, 401, 403)
    def get(self, args: dict[str, Any]) -> list[Payment]:
        """All payments (filter by status, provider), 100 per page."""
        query = sa.select(Payment).order_by(Payment.id.desc())
        if args.get("status"):
            query = query.where(Payment.status == args["status"])
        if args.get("provider"):
            query = query.where(Payment.provider == args["provider"])
        page = args.get("page", 1)
        return list(db.session.execute(query.limit(100).offset((page - 1) * 100)).scalars())


@bp.route("/staff/payments/<int:payment_id>/mark-paid", methods=["POST"])
@staff_required
@bp.response(200, PaymentOutSchema)
@links(bp, 200, **payment_links("/id", "Refund"))
@problems(bp, 401, 403, 404, 409)
def mark_paid(payment_id: int) -> Payment:
    """Record a manual payment as received (audited); the booking is confirmed."""
    user = require_user()
    return services.mark_paid_manually(services.get_payment(payment_id, user), user)


@bp.route("/staff/payments/<int:payment_id>/refunds", methods=["POST"])
@staff_required
@bp.arguments(RefundInSchema)
@bp.response(201, RefundOutSchema)
@problems(bp, 401, 403, 404, 409, 422)
def refund(data: dict[str, Any], payment_id: int) -> Any:
    """Refund up to what was paid (audited); Stripe refunds go out after the commit."""
    user = require_user()
    payment = services.get_payment(payment_id, user)
    return refunds.refund_by_staff(payment, user, data["amount_cents"], data["reason"])


@bp.route("/credit-notes")
@user_required
@bp.arguments(CreditNoteQuerySchema, location="query")
@bp.response(200, CreditNoteOutSchema(many=True))
@links(
    bp,
    200,
    GetCreditNotePdf=link(
        "GET", CREDIT_NOTE_PDF, "The credit note as PDF", credit_note_id="$response.body#/0/id"
    ),
)
@problems(bp, 401, 422)
def credit_notes(args: dict[str, Any]) -> list[Any]:
    """Credit notes and cancellation invoices, newest first: one's own (staff: `everyone`)."""
    return services.credit_notes_for(require_user(), everyone=args["everyone"], page=args["page"])


@bp.route("/credit-notes/<int:credit_note_id>/pdf")
@user_required
@bp.response(200, {"type": "string", "format": "binary"}, content_type="application/pdf")
@problems(bp, 401, 404)
def credit_note_pdf_file(credit_note_id: int) -> Response:
    """A credit note or cancellation invoice as PDF (one's own; staff: any)."""
    note = services.get_credit_note(credit_note_id, require_user())
    return Response(
        credit_note_pdf(note),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="gutschrift-{note.number}.pdf"'},
    )
