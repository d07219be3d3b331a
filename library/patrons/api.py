"""The card API: the patron's own card (see, apply, change the PIN) and the desk's cards."""

from __future__ import annotations

from math import ceil
from typing import Any

import sqlalchemy as sa
from flask import Response, after_this_request
from flask.views import MethodView

from library.blueprints import api as bp
from library.blueprints import staff_api as staff_bp
from library.models import LibraryCard
from library.patrons import desk, fees, services
from library.patrons.schemas import (
    ApplySchema,
    CardSchema,
    PinChangeSchema,
    StaffCardPageSchema,
    StaffCardPatchSchema,
    StaffCardQuerySchema,
    StaffCardSchema,
    StaffIssueSchema,
    WithPin,
)
from library.patrons.services import PER_PAGE, search_cards
from vhs.accounts.models import User
from vhs.auth import require_user, staff_required, user_required
from vhs.db import db
from vhs.errors import NotFound
from vhs.extensions import link, links, problems
from vhs.payments.models import Payment
from vhs.payments.schemas import PayArgsSchema, PaymentOutSchema

CARD = "/api/v1/staff/library/cards/{card_id}"


def _no_store(result: WithPin) -> WithPin:
    """An answer that may carry a PIN the desk made up is kept in no cache."""

    @after_this_request
    def _header(response: Response) -> Response:
        response.headers["Cache-Control"] = "no-store"
        return response

    return result


@bp.route("/me/card")
class MyCard(MethodView):
    @user_required
    @bp.response(200, CardSchema)
    @problems(bp, 401, 404)
    def get(self) -> LibraryCard:
        """The caller's library card (404 `no_card` without one): validity, fee, and why it
        cannot borrow now, if it cannot (`borrow_refusal`)."""
        return services.own_card(require_user())

    @user_required
    @bp.arguments(ApplySchema)
    @bp.response(201, CardSchema)
    @problems(bp, 401, 403, 409, 422)
    def post(self, data: dict[str, Any]) -> LibraryCard:
        """Apply for a library card, choosing its PIN; the card is `applied` until the library
        confirms it (an e-mail follows). 403 `email_not_verified`, 409 `card_exists`."""
        return services.apply_for_card(require_user(), data["pin"])


@bp.route("/me/card/pin")
class MyPin(MethodView):
    @user_required
    @bp.arguments(PinChangeSchema)
    @bp.response(204)
    @problems(bp, 401, 404, 422, 429)
    def put(self, data: dict[str, Any]) -> None:
        """Change the PIN, proven by the current PIN or the account's password (`current`).
        Wrong proofs are limited like failed logins (429); other sessions end."""
        services.change_pin(require_user(), data["current"], data["pin"])


@bp.route("/me/card/fee/payment", methods=["POST"])
@user_required
@bp.arguments(PayArgsSchema, required=False)
@bp.response(201, PaymentOutSchema)
@links(
    bp,
    201,
    GetPayment=link(
        "GET", "/api/v1/payments/{payment_id}", "The payment", payment_id="$response.body#/id"
    ),
)
@problems(bp, 401, 404, 409, 422, 502, 503)
def pay_fee(args: dict[str, Any]) -> Payment:
    """Pay the card's annual fee: the Stripe Checkout URL, or bank-transfer details with an
    invoice (`provider`, default the preferred one). 404 `no_card`, 409 `nothing_to_pay`."""
    user = require_user()
    return fees.pay_fee(user, services.own_card(user), args.get("provider"))


# --- the desk (staff) ------------------------------------------------------------------------


@staff_bp.route("/staff/library/cards")
class StaffCards(MethodView):
    @staff_required
    @staff_bp.arguments(StaffCardQuerySchema, location="query")
    @staff_bp.response(200, StaffCardPageSchema)
    @problems(staff_bp, 401, 403, 422)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Cards, newest first: `q` finds a name, an e-mail address or a card number."""
        state = args["state"].value if "state" in args else ""
        query = search_cards(args.get("q", "").strip(), state)
        total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
        pages = max(ceil(total / PER_PAGE), 1)
        page = min(args["page"], pages)
        rows = db.session.execute(
            query.order_by(LibraryCard.created_at.desc(), LibraryCard.id.desc())
            .offset((page - 1) * PER_PAGE)
            .limit(PER_PAGE)
        ).scalars()
        return {"items": list(rows), "total": total, "page": page, "pages": pages}

    @staff_required
    @staff_bp.arguments(StaffIssueSchema)
    @staff_bp.response(201, StaffCardSchema)
    @links(
        staff_bp,
        201,
        GetCard=link("GET", CARD, "The card", card_id="$response.body#/id"),
        ChangeCard=link("PATCH", CARD, "Change it", card_id="$response.body#/id"),
    )
    @problems(staff_bp, 401, 403, 404, 409, 422)
    def post(self, data: dict[str, Any]) -> WithPin:
        """Issue an active card at the desk: to an account (`user_id`), or to a new person
        without e-mail (name and postal address). Without `pin` one is made up and returned
        once as `new_pin`. 409 `card_exists` / `card_applied` for a person with a card."""
        actor = require_user()
        pin = data.pop("pin", None)
        if "user_id" in data:
            user = db.session.get(User, data["user_id"])
            if user is None or user.erased_at is not None:
                raise NotFound(code="user_not_found")
            issued = services.issue_card(actor, user, pin)
        else:
            issued = services.register_patron(actor, data, pin)
        return _no_store(WithPin(issued.card, issued.pin))


@staff_bp.route("/staff/library/cards/<int:card_id>")
class StaffCard(MethodView):
    @staff_required
    @staff_bp.response(200, StaffCardSchema)
    @problems(staff_bp, 401, 403, 404)
    def get(self, card_id: int) -> LibraryCard:
        """One card with its patron."""
        return services.get_card(card_id)

    @staff_required
    @staff_bp.arguments(StaffCardPatchSchema)
    @staff_bp.response(200, StaffCardSchema)
    @problems(staff_bp, 401, 403, 404, 409, 422)
    def patch(self, data: dict[str, Any], card_id: int) -> WithPin:
        """Change a card at the desk, all at once: `state` `active` confirms an application or
        lifts a block, `blocked` blocks it (with `blocked_reason`); `valid_until`; `pin`, or
        `reset_pin` (the new PIN returned once as `new_pin`); `fee_paid` records the fee as
        paid at the desk. Illegal moves are 409 (`not_applied`, `card_blocked`, ...)."""
        actor = require_user()
        issued = desk.update_card(actor, services.lock_card(card_id), data)
        return _no_store(WithPin(issued.card, issued.pin))
