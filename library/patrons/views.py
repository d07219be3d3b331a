"""The patron's pages: "My library card" (apply, see, change the PIN, pay the fee) and the login
with card number and PIN.

Each write is a POST that parses its form, calls one service and redirects with a message;
refused input shows the page again (422) with the messages next to the fields.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_user
from wtforms import SelectChoice

from library.blueprints import library as bp
from library.models import CardState, LibraryCard
from library.patrons import auth, fees, services
from library.patrons.eligibility import card_of, fee_cents, is_expired, refusal
from library.patrons.forms import ApplyForm, CardLoginForm, ChangePinForm, PayFeeForm
from library.patrons.labels import EXPIRED_LABEL, PIN_HINT, STATE_LABELS
from vhs.accounts.models import User
from vhs.accounts.views import register_login_option
from vhs.auth import require_user, user_required
from vhs.errors import Invalid, Unauthorized
from vhs.forms import apply_errors, safe_next
from vhs.main import register_nav
from vhs.payments import services as payments
from vhs.payments.models import Provider


def _pay_form() -> PayFeeForm:
    form = PayFeeForm()
    offered = payments.offered_providers()  # the preferred first
    form.provider.choices = [SelectChoice(p.key.value, p.choice_label) for p in offered]
    if not form.is_submitted():
        form.provider.data = offered[0].key.value
    return form


def state_label(card: LibraryCard) -> Any:
    """The card's state as the patron reads it (an active card past its validity: expired)."""
    if card.state is CardState.ACTIVE and is_expired(card):
        return EXPIRED_LABEL
    return STATE_LABELS[card.state]


def _page(user: User, status: int = 200, **forms: Any) -> tuple[str, int]:
    """ "My library card" with its decisions (what the patron can do now) and forms."""
    card = card_of(user)
    fee = fees.fee_status(card) if card is not None else None
    problem = refusal(card)
    context = {
        "card": card,
        "state_label": state_label(card) if card is not None else None,
        "fee": fee,
        "refusal": problem.detail if problem is not None and card is not None else None,
        "can_apply": card is None and user.email_verified,
        "needs_email": card is None and not user.email_verified,
        "apply_form": forms.get("apply_form") or ApplyForm(),
        "pin_form": forms.get("pin_form") or ChangePinForm(),
        "pay_form": forms.get("pay_form") or (_pay_form() if fee and fee.payable else None),
        "pin_hint": PIN_HINT,
        "apply_fee_cents": fee_cents(),
        "returned_from_payment": request.args.get("paid") == "1",
    }
    has_errors = any(getattr(f, "errors", None) for f in forms.values())
    status = 422 if has_errors and status == 200 else status
    return render_template("library/patrons/my_card.html", **context), status


@bp.route("/me/library")
@user_required
def my_card() -> Any:
    """The patron's card: number, validity, fee; apply, change the PIN, pay the fee."""
    return _page(require_user())


@bp.route("/me/library/apply", methods=["POST"])
@user_required
def apply() -> Any:
    """Apply for a card online, choosing the PIN; staff confirm it."""
    user = require_user()
    form = ApplyForm()
    if form.validate_on_submit():
        try:
            services.apply_for_card(user, form.pin.data)
        except Invalid as exc:
            apply_errors(form, exc)
        else:
            flash(
                _(
                    "Thank you: you have applied for a library card. We will send you an "
                    "e-mail when the library has confirmed it."
                ),
                "success",
            )
            return redirect(url_for("library.my_card"))
    return _page(user, apply_form=form)


@bp.route("/me/library/pin", methods=["POST"])
@user_required
def change_pin() -> Any:
    """Change the PIN; other sessions end, this one continues."""
    user = require_user()
    form = ChangePinForm()
    if form.validate_on_submit():
        try:
            services.change_pin(user, form.current.data, form.new_pin.data)
        except Invalid as exc:
            apply_errors(form, exc)
        else:
            login_user(user)
            flash(_("Your PIN has been changed."), "success")
            return redirect(url_for("library.my_card"))
    return _page(user, pin_form=form)


@bp.route("/me/library/fee", methods=["POST"])
@user_required
def pay_fee() -> Any:
    """Pay the annual fee: Stripe Checkout, or bank transfer details with an invoice."""
    user = require_user()
    card = services.own_card(user)
    form = _pay_form()
    if not form.validate_on_submit():
        raise Invalid(errors=form.errors)
    payment = fees.pay_fee(user, card, Provider(form.provider.data))
    if payment.provider is Provider.STRIPE and payment.checkout_url:
        return redirect(payment.checkout_url, code=303)
    flash(_("Please transfer the fee with the reference shown below."), "success")
    return redirect(url_for("payments.detail", payment_id=payment.id))


@bp.route("/login/card", methods=["GET", "POST"])
def card_login() -> Any:
    """Log in with card number and PIN (limited like the password login)."""
    form = CardLoginForm()
    if form.validate_on_submit():
        try:
            user = auth.session_user_for_card(form.number.data, form.pin.data)
        except Unauthorized as exc:
            form.pin.errors = [str(exc.detail)]
            return render_template("library/patrons/card_login.html", form=form), 401
        locale = session.get("locale")
        session.clear()
        if locale:
            session["locale"] = locale
        login_user(user, remember=bool(form.remember.data))
        flash(_("Welcome, %(name)s!", name=user.name), "success")
        return redirect(safe_next(request.args.get("next")) or url_for("library.my_card"))
    status = 422 if form.errors else 200
    return render_template("library/patrons/card_login.html", form=form), status


register_nav("library.my_card", _l("My library card"), who="user")
register_login_option("library.card_login", _l("Log in with your library card number"))
