"""Payment pages (instructions, receipt), staff payment desk, and the Stripe webhook."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from vhs.accounts.models import User
from vhs.auth import require_user, staff_required, user_required
from vhs.db import db
from vhs.errors import Invalid, NotFound
from vhs.extensions import csrf
from vhs.fields import date_in_range
from vhs.formats import parse_euros, spreadsheet_safe
from vhs.i18n import fmt_datetime, local_zone
from vhs.payments import hooks, refunds, services
from vhs.payments.labels import CREDIT_NOTE_KIND_LABELS, reason_label
from vhs.payments.models import Invoice, Payment, PaymentStatus, Provider
from vhs.payments.pdf import credit_note_pdf, invoice_pdf

bp = Blueprint("payments", __name__)
webhooks = Blueprint("webhooks", __name__, url_prefix="/webhooks")

VAT_NOTE = _l("Exempt from VAT under § 4 No. 22 a of the German VAT Act (UStG).")
STATUS_LABELS = {
    PaymentStatus.CREATED: _l("created"),
    PaymentStatus.PENDING: _l("awaiting payment"),
    PaymentStatus.PROCESSING: _l("being processed"),
    PaymentStatus.SUCCEEDED: _l("paid"),
    PaymentStatus.FAILED: _l("failed"),
    PaymentStatus.EXPIRED: _l("expired"),
    PaymentStatus.REFUNDED: _l("refunded"),
    PaymentStatus.PARTIALLY_REFUNDED: _l("partially refunded"),
}
PROVIDER_LABELS = {
    Provider.MANUAL: _l("Bank transfer / office"),
    Provider.STRIPE: _l("Online (Stripe)"),
}


class EmptyForm(FlaskForm):
    """CSRF only."""


class RefundForm(FlaskForm):
    """Staff refund: amount in euros and a reason."""

    amount = StringField(_l("Amount (€)"), validators=[DataRequired(), Length(max=12)])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=300)])


def parse_amount(text: str) -> int:
    """A refund amount typed in euros ("10,50") as cents, or a field error."""
    try:
        return parse_euros(text)
    except ValueError as exc:
        raise Invalid(errors={"amount": [_l("Enter an amount like 12,50.")]}) from exc


def _labels() -> dict[str, Any]:
    return {
        "status_labels": STATUS_LABELS,
        "provider_labels": PROVIDER_LABELS,
        "vat_note": VAT_NOTE,
        "credit_note_kinds": CREDIT_NOTE_KIND_LABELS,
        "reason_label": reason_label,
    }


@bp.route("/payments/<int:payment_id>")
@user_required
def detail(payment_id: int) -> str:
    """A payment: status, bank-transfer details for manual payments, receipt link."""
    user = require_user()
    payment = services.get_payment(payment_id, user)
    return render_template("payments/detail.html", payment=payment, **_labels())


@bp.route("/payments/<int:payment_id>/receipt")
@user_required
def receipt(payment_id: int) -> str:
    """The invoice/receipt as a page."""
    user = require_user()
    payment = services.get_payment(payment_id, user)
    if payment.invoice is None:
        raise NotFound(_l("There is no invoice for this payment yet."), code="no_invoice")
    return render_template(
        "payments/receipt.html", payment=payment, invoice=payment.invoice, **_labels()
    )


@bp.route("/payments/<int:payment_id>/receipt.pdf")
@user_required
def receipt_pdf(payment_id: int) -> Response:
    """The invoice/receipt as a PDF."""

    user = require_user()
    payment = services.get_payment(payment_id, user)
    if payment.invoice is None:
        raise NotFound(_l("There is no invoice for this payment yet."), code="no_invoice")
    data = invoice_pdf(payment.invoice)
    return Response(
        data,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="rechnung-{payment.invoice.number}.pdf"'
        },
    )


@bp.route("/credit-notes/<int:credit_note_id>.pdf")
@user_required
def credit_note_pdf_file(credit_note_id: int) -> Response:
    """A credit note or cancellation invoice as a PDF (one's own; staff any)."""
    note = services.get_credit_note(credit_note_id, require_user())
    return Response(
        credit_note_pdf(note),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="gutschrift-{note.number}.pdf"'},
    )


@bp.route("/me/payments")
@user_required
def mine() -> str:
    """The resident's payments and receipts, and their credit notes."""
    user = require_user()
    rows = (
        db.session.execute(
            sa.select(Payment).where(Payment.user_id == user.id).order_by(Payment.id.desc())
        )
        .scalars()
        .all()
    )
    return render_template(
        "payments/mine.html",
        payments=rows,
        credit_notes=services.credit_notes_for(user),
        **_labels(),
    )


# --- staff ---------------------------------------------------------------------------------


def _staff_query(args: Any) -> Any:
    query = sa.select(Payment).order_by(Payment.id.desc())
    status = args.get("status")
    if status in {s.value for s in PaymentStatus}:
        query = query.where(Payment.status == PaymentStatus(status))
    provider = args.get("provider")
    if provider in {p.value for p in Provider}:
        query = query.where(Payment.provider == Provider(provider))
    for key, op in (("from", "ge"), ("to", "lt")):
        raw = args.get(key)
        try:
            day = date.fromisoformat(raw) if raw else None
        except ValueError:
            day = None
        if day is not None and date_in_range(day):
            if op == "lt":
                day += timedelta(days=1)
            moment = datetime.combine(day, time(0), tzinfo=local_zone())
            query = query.where(
                Payment.created_at >= moment if op == "ge" else Payment.created_at < moment
            )
    text = (args.get("q") or "").strip()
    if text:
        query = query.where(Payment.description.ilike(f"%{text[:100]}%"))
    if args.get("disputed") == "1":
        query = query.where(Payment.disputed.is_(True))
    return query


@bp.route("/staff/payments")
@staff_required
def staff_list() -> str:
    """All payments with filters, for the VHS office."""
    rows = db.session.execute(_staff_query(request.args).limit(200)).scalars().all()
    return render_template(
        "payments/staff_list.html",
        payments=rows,
        purpose_notes=hooks.notes_for(rows),
        args=request.args,
        statuses=list(PaymentStatus),
        providers=list(Provider),
        form=EmptyForm(),
        **_labels(),
    )


@bp.route("/staff/payments.csv")
@staff_required
def staff_csv() -> Response:
    """The filtered payments as CSV for the accounting office (UTF-8 BOM, semicolons)."""
    get_locale()  # settle the language now: the rows are written after the request's commit

    def rows() -> Any:
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";")
        writer.writerow(
            [
                _("Payment"),
                _("Invoice"),
                _("Date"),
                _("Name"),
                _("Purpose"),
                _("Method"),
                _("Status"),
                _("Amount"),
                _("Refunded"),
                _("Disputed"),
            ]
        )
        yield "\ufeff" + out.getvalue()
        query = (
            _staff_query(request.args)
            .join(User, User.id == Payment.user_id)
            .outerjoin(
                Invoice,
                # the latest invoice only (a payment paid after its invoice was cancelled
                # has two): one row per payment
                Invoice.id
                == sa.select(sa.func.max(Invoice.id))
                .where(Invoice.payment_id == Payment.id)
                .correlate(Payment)
                .scalar_subquery(),
            )
            .with_only_columns(
                Payment.id,
                Invoice.number,
                Payment.created_at,
                User.name,
                Payment.description,
                Payment.provider,
                Payment.status,
                Payment.amount_cents,
                Payment.refunded_cents,
                Payment.disputed,
            )
        )
        # Plain rows in batches: memory stays flat and nothing is lazily loaded while streaming.
        for row in db.session.execute(query.execution_options(yield_per=500)):
            out.seek(0)
            out.truncate()
            writer.writerow(
                [
                    row.id,
                    row.number or "",
                    fmt_datetime(row.created_at, "dd.MM.yyyy HH:mm"),
                    spreadsheet_safe(row.name),
                    spreadsheet_safe(row.description),
                    row.provider.value,
                    row.status.value,
                    f"{row.amount_cents / 100:.2f}".replace(".", ","),
                    f"{row.refunded_cents / 100:.2f}".replace(".", ","),
                    "ja" if row.disputed else "",
                ]
            )
            yield out.getvalue()

    return Response(
        stream_with_context(rows()),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="zahlungen.csv"'},
    )


@bp.route("/staff/payments/<int:payment_id>")
@staff_required
def staff_detail(payment_id: int) -> str:
    """One payment with its refunds; mark paid or refund from here."""
    user = require_user()
    payment = services.get_payment(payment_id, user)
    return render_template(
        "payments/staff_detail.html",
        payment=payment,
        purpose_notes=hooks.notes_for([payment]).get(payment.id, []),
        form=EmptyForm(),
        refund_form=RefundForm(),
        **_labels(),
    )


@bp.route("/staff/payments/<int:payment_id>/mark-paid", methods=["POST"])
@staff_required
def mark_paid(payment_id: int) -> Any:
    """Record a bank transfer or cash payment (audited)."""
    user = require_user()
    EmptyForm().validate_on_submit()
    payment = services.get_payment(payment_id, user)
    services.mark_paid_manually(payment, user)
    flash(_("The payment has been recorded as received."), "success")
    return redirect(url_for("payments.staff_detail", payment_id=payment.id))


@bp.route("/staff/payments/<int:payment_id>/refund", methods=["POST"])
@staff_required
def refund(payment_id: int) -> Any:
    """Refund up to what was paid (audited)."""
    user = require_user()
    payment = services.get_payment(payment_id, user)
    form = RefundForm()
    if not form.validate_on_submit():
        raise Invalid(errors=form.errors)
    refunds.refund_by_staff(payment, user, parse_amount(form.amount.data), form.reason.data)
    flash(_("The refund has been recorded."), "success")
    return redirect(url_for("payments.staff_detail", payment_id=payment.id))


# --- webhook -------------------------------------------------------------------------------


@webhooks.route("/stripe", methods=["POST"])
@csrf.exempt
def stripe_webhook() -> Response:
    """Stripe events: verified, recorded by id, then acted on by re-reading from Stripe."""
    status, outcome = services.process_webhook(
        Provider.STRIPE, request.get_data(cache=False), request.headers
    )
    # A refused delivery is worth a look (a wrong secret, a bad sender); accepted ones are not.
    log = current_app.logger.warning if status >= 400 else current_app.logger.info
    log("stripe webhook: %s %s", status, outcome)
    return Response(outcome + "\n", status=status, mimetype="text/plain")
