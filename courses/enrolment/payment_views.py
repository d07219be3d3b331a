"""Paying for a booking: choose how, go to Stripe Checkout or get bank-transfer details."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice

from courses.blueprints import pay as bp
from courses.enrolment import services as enrolment_services
from courses.enrolment.payments import PURPOSE, pay_enrolment
from courses.models import EnrolmentStatus
from vhs.auth import require_user, user_required
from vhs.errors import Invalid
from vhs.payments import services as payments
from vhs.payments.models import PAID_STATUSES, Provider


class PayForm(FlaskForm):
    """How the resident wants to pay."""

    provider = RadioField(_l("Payment method"), choices=[], default="manual")


def _form() -> PayForm:
    form = PayForm()
    offered = payments.offered_providers()  # the preferred first
    form.provider.choices = [SelectChoice(p.key.value, p.choice_label) for p in offered]
    if not form.is_submitted():
        form.provider.data = offered[0].key.value
    return form


@bp.route("/enrolments/<int:enrolment_id>/pay", methods=["GET", "POST"])
@user_required
def pay(enrolment_id: int) -> Any:
    """Choose a payment method; Stripe redirects to Checkout, manual shows the details."""
    user = require_user()
    enrolment = enrolment_services.get_enrolment(enrolment_id, user)
    form = _form()
    if form.validate_on_submit():
        payment = pay_enrolment(enrolment, user, Provider(form.provider.data))
        if payment.provider is Provider.STRIPE and payment.checkout_url:
            return redirect(payment.checkout_url, code=303)
        flash(_("Please transfer the fee with the reference shown below."), "success")
        return redirect(url_for("payments.detail", payment_id=payment.id))
    if form.errors:
        raise Invalid(errors=form.errors)
    existing = payments.payments_for(PURPOSE, enrolment.id)
    return render_template(
        "courses/pay.html",
        enrolment=enrolment,
        course=enrolment.course,
        form=form,
        payable=enrolment.status is EnrolmentStatus.PENDING_PAYMENT,
        payments=existing,
    )


@bp.route("/enrolments/<int:enrolment_id>/paid")
@user_required
def checkout_return(enrolment_id: int) -> Any:
    """Where Stripe sends the resident back; the webhook confirms the payment."""
    user = require_user()
    enrolment = enrolment_services.get_enrolment(enrolment_id, user)
    existing = payments.payments_for(PURPOSE, enrolment.id)
    paid = any(p.status in PAID_STATUSES for p in existing)
    return render_template(
        "courses/paid.html",
        enrolment=enrolment,
        course=enrolment.course,
        paid=paid,
        processing=any(p.status.value == "processing" for p in existing),
    )
