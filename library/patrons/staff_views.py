"""The library desk (/staff/library/cards): find cards, issue them (to an account, or to a person
without e-mail), confirm applications, extend, block and unblock, reset PINs, take the fee.

Each write is a POST that parses its form, calls ONE service and redirects with a message; a
PIN the desk made up is shown once on the answer itself (never in a redirect, a flash message
or the session cookie). Blocking asks first, on a page of its own (works without JavaScript).
"""

from __future__ import annotations

from math import ceil
from typing import Any

import sqlalchemy as sa
from flask import current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from library import rules
from library.blueprints import staff as bp
from library.models import CardState, LibraryCard
from library.patrons import fees, services
from library.patrons.eligibility import refusal, today
from library.patrons.forms import (
    BlockForm,
    CardFilterForm,
    IssueForm,
    PatronForm,
    PinResetForm,
    UserSearchForm,
    ValidityForm,
)
from library.patrons.labels import PIN_HINT, STATE_LABELS
from library.patrons.services import PER_PAGE, like_pattern, search_cards
from library.patrons.views import state_label
from vhs.accounts.models import User
from vhs.auth import require_user, staff_required
from vhs.db import db
from vhs.errors import Conflict, Invalid, NotFound
from vhs.forms import EmptyForm, apply_errors
from vhs.main import register_nav


def _page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    """Render a desk page with the card labels, and its status."""
    return (
        render_template(
            f"library/patrons/staff/{template}",
            state_labels=STATE_LABELS,
            state_label=state_label,
            pin_hint=PIN_HINT,
            **context,
        ),
        status,
    )


def _refused(form: Any, exc: Invalid | Conflict) -> None:
    """Undo the attempt and show the service's messages next to the form's fields."""
    db.session.rollback()
    apply_errors(form, Invalid(exc.detail, errors=exc.errors))
    if isinstance(exc, Conflict):
        form.form_errors.append(str(exc.detail))


def _page_number(total: int) -> tuple[int, int]:
    pages = max(ceil(total / PER_PAGE), 1)
    arg = request.args.get("page", "1")
    return (min(max(int(arg), 1), pages) if arg.isdigit() and len(arg) < 7 else 1), pages


def _query_text() -> str:
    return (request.args.get("q") or "").replace("\x00", "").strip()[:200]


@bp.route("/cards")
@staff_required
def cards() -> Any:
    """Every card: search by name, e-mail address or number; filter by state."""
    filters = CardFilterForm(formdata=request.args)
    q, state = _query_text(), request.args.get("state", "")
    query = search_cards(q, state)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    page, pages = _page_number(total)
    rows = list(
        db.session.execute(
            query.order_by(LibraryCard.created_at.desc(), LibraryCard.id.desc())
            .offset((page - 1) * PER_PAGE)
            .limit(PER_PAGE)
        ).scalars()
    )
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return _page(
        "cards.html", filters=filters, cards=rows, total=total, page=page, pages=pages, args=args
    )


@bp.route("/cards/new")
@staff_required
def new() -> Any:
    """Issue a card: find the account first, or register a person without e-mail."""
    form = UserSearchForm(formdata=request.args)
    q = _query_text()
    people: list[User] = []
    if q:
        pattern = like_pattern(q.lower())
        people = list(
            db.session.execute(
                sa.select(User)
                .where(
                    User.erased_at.is_(None),
                    sa.or_(
                        sa.func.lower(User.name).like(pattern, escape="\\"),
                        sa.func.lower(User.email).like(pattern, escape="\\"),
                    ),
                )
                .order_by(User.name, User.id)
                .limit(PER_PAGE)
            ).scalars()
        )
    with_card = {
        c.user_id: c
        for c in db.session.execute(
            sa.select(LibraryCard).where(LibraryCard.user_id.in_([u.id for u in people]))
        ).scalars()
    }
    return _page("new.html", form=form, q=q, people=people, with_card=with_card)


def _issued(issued: services.Issued, status: int = 201) -> Any:
    """The card just issued or changed, with the PIN to tell the patron (shown once, and kept
    in no cache: the browser's back button must not bring it back)."""
    body, status = _page("issued.html", status, card=issued.card, pin=issued.pin)
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/cards/new/<int:user_id>", methods=["GET", "POST"])
@staff_required
def issue(user_id: int) -> Any:
    """Issue a card to an existing account; the PIN typed by the patron, or made up."""
    user = db.session.get(User, user_id)
    if user is None or user.erased_at is not None:
        raise NotFound(_l("This account does not exist."), code="user_not_found")
    form = IssueForm()
    if form.validate_on_submit():
        try:
            issued = services.issue_card(require_user(), user, form.pin.data or None)
        except (Invalid, Conflict) as exc:
            _refused(form, exc)
        else:
            flash(_("The library card has been issued."), "success")
            return _issued(issued)
    return _page("issue.html", 422 if request.method == "POST" else 200, form=form, person=user)


@bp.route("/cards/new/person", methods=["GET", "POST"])
@staff_required
def register_person() -> Any:
    """A person without an e-mail address: name and postal address, then the card."""
    form = PatronForm()
    if form.validate_on_submit():
        try:
            issued = services.register_patron(require_user(), form.to_data(), form.pin.data or None)
        except (Invalid, Conflict) as exc:
            _refused(form, exc)
        else:
            flash(_("The library card has been issued."), "success")
            return _issued(issued)
    return _page("person.html", 422 if request.method == "POST" else 200, form=form)


def _detail(card: LibraryCard, status: int = 200, **forms: Any) -> Any:
    """The card's page: facts, decisions and every action the desk can take now."""
    problem = refusal(card)
    fee = fees.fee_status(card)
    suggested = rules.add_months(max(card.valid_until or today(), today()), card_settings_months())
    return _page(
        "card.html",
        status,
        card=card,
        fee=fee,
        refusal=problem.detail if problem is not None else None,
        validity_form=forms.get("validity_form") or ValidityForm(valid_until=suggested),
        pin_form=forms.get("pin_form") or PinResetForm(),
        action_form=EmptyForm(),
        can_confirm=card.state is CardState.APPLIED,
        can_block=card.state is not CardState.BLOCKED,
        can_unblock=card.state is CardState.BLOCKED,
        can_extend=card.state is not CardState.APPLIED,
        can_take_fee=fee.payable,
    )


def card_settings_months() -> int:
    """How long a card is valid from an extension (``VHS_LIBRARY_CARD_VALID_MONTHS``)."""
    return int(current_app.config["VHS"].library_card_valid_months)


@bp.route("/cards/<int:card_id>")
@staff_required
def card(card_id: int) -> Any:
    """One card and what can be done with it."""
    return _detail(services.get_card(card_id))


@bp.route("/cards/<int:card_id>/confirm", methods=["POST"])
@staff_required
def confirm(card_id: int) -> Any:
    """Confirm an online application (the patron gets an e-mail)."""
    services.confirm_application(require_user(), services.lock_card(card_id))
    flash(_("The application has been confirmed; the patron has been told by e-mail."), "success")
    return redirect(url_for("library_staff.card", card_id=card_id))


@bp.route("/cards/<int:card_id>/validity", methods=["POST"])
@staff_required
def validity(card_id: int) -> Any:
    """Set the card's last valid day."""
    form = ValidityForm()
    if form.validate_on_submit():
        try:
            services.set_validity(
                require_user(), services.lock_card(card_id), form.valid_until.data
            )
        except (Invalid, Conflict) as exc:
            _refused(form, exc)
        else:
            flash(_("The validity has been changed."), "success")
            return redirect(url_for("library_staff.card", card_id=card_id))
    return _detail(services.get_card(card_id), 422, validity_form=form)


@bp.route("/cards/<int:card_id>/block", methods=["GET", "POST"])
@staff_required
def block(card_id: int) -> Any:
    """Ask first (with the reason), then block the card."""
    card = services.get_card(card_id)
    form = BlockForm()
    if form.validate_on_submit():
        try:
            services.block_card(require_user(), services.lock_card(card_id), form.reason.data)
        except (Invalid, Conflict) as exc:
            _refused(form, exc)
            card = services.get_card(card_id)
        else:
            flash(_("The card has been blocked."), "success")
            return redirect(url_for("library_staff.card", card_id=card_id))
    return _page(
        "block.html",
        422 if request.method == "POST" else 200,
        card=card,
        form=form,
        can_block=card.state is not CardState.BLOCKED,
    )


@bp.route("/cards/<int:card_id>/unblock", methods=["POST"])
@staff_required
def unblock(card_id: int) -> Any:
    """Lift the block."""
    services.unblock_card(require_user(), services.lock_card(card_id))
    flash(_("The card is no longer blocked."), "success")
    return redirect(url_for("library_staff.card", card_id=card_id))


@bp.route("/cards/<int:card_id>/pin", methods=["POST"])
@staff_required
def reset_pin(card_id: int) -> Any:
    """A new PIN: typed by the patron, or made up and shown once."""
    form = PinResetForm()
    if form.validate_on_submit():
        try:
            issued = services.reset_pin(
                require_user(), services.lock_card(card_id), form.pin.data or None
            )
        except Invalid as exc:
            _refused(form, exc)
        else:
            flash(_("The PIN has been changed."), "success")
            return _issued(issued, 200)
    return _detail(services.get_card(card_id), 422, pin_form=form)


@bp.route("/cards/<int:card_id>/fee", methods=["POST"])
@staff_required
def take_fee(card_id: int) -> Any:
    """The fee was paid at the desk: recorded with date and amount, invoice issued."""
    payment = fees.record_fee_at_desk(require_user(), services.lock_card(card_id))
    flash(
        _("The fee has been recorded as paid (invoice %(number)s).", number=payment.invoice.number),
        "success",
    )
    return redirect(url_for("library_staff.card", card_id=card_id))


register_nav("library_staff.cards", _l("Library cards"), who="staff")
