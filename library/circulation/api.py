"""The patrons' lending API: borrow, return, renew, hold, cancel; my loans and holds."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from library.blueprints import api as bp
from library.circulation import services
from library.circulation.schemas import (
    AvailabilitySchema,
    BorrowSchema,
    HistoryInSchema,
    HistoryOutSchema,
    HoldOutSchema,
    LoanHistoryArgsSchema,
    LoanOutSchema,
)
from library.holds.queue import place_in_queue
from library.models import Hold, Loan
from vhs.auth import require_user, user_required
from vhs.db import utcnow
from vhs.extensions import problems


def _with_place(hold: Hold) -> services.HoldView:
    return services.HoldView(hold=hold, place=place_in_queue(hold, utcnow()))


@bp.route("/media/<int:item_id>/availability")
class Availability(MethodView):
    @bp.response(200, AvailabilitySchema)
    @problems(bp, 404, 503)
    def get(self, item_id: int) -> services.Availability:
        """Copies of a published item (lendable, free, lent, reserved), its queue, and when a
        hold placed now can expect a copy."""
        return services.availability(item_id)


@bp.route("/media/<int:item_id>/loans")
class Borrow(MethodView):
    @user_required
    @bp.arguments(BorrowSchema, required=False)
    @bp.response(201, LoanOutSchema)
    @problems(bp, 401, 404, 409, 422, 503)
    def post(self, args: dict[str, Any], item_id: int) -> Loan:
        """Borrow an item (the copy a ready hold kept, else a free one). Refusals carry a
        `code`: `no_card`, `card_applied`, `card_blocked`, `card_expired`, `fee_unpaid`,
        `already_on_loan`, `loan_limit_reached`, `not_lendable`, `no_copies_available`."""
        return services.borrow(require_user(), item_id, days=(args or {}).get("days"))


@bp.route("/loans/<int:loan_id>")
class LoanItem(MethodView):
    @user_required
    @bp.response(200, LoanOutSchema)
    @problems(bp, 401, 404, 409, 503)
    def delete(self, loan_id: int) -> Loan:
        """Return one's loan early; the copy goes to the next patron at once."""
        return services.return_loan(require_user(), loan_id)


@bp.route("/loans/<int:loan_id>/renewals", methods=["POST"])
@user_required
@bp.response(201, LoanOutSchema)
@problems(bp, 401, 404, 409, 503)
def renew(loan_id: int) -> Loan:
    """Renew one's loan once, while nobody waits (`renewal_limit_reached`, `holds_waiting`,
    `renewal_not_possible`, `loan_not_open`)."""
    return services.renew(require_user(), loan_id)


@bp.route("/media/<int:item_id>/holds")
class PlaceHold(MethodView):
    @user_required
    @bp.response(201, HoldOutSchema)
    @problems(bp, 401, 404, 409, 503)
    def post(self, item_id: int) -> services.HoldView:
        """Reserve an item none of whose copies is free (`currently_available` otherwise;
        also `already_on_hold`, `already_on_loan`, `hold_limit_reached`, the card's codes)."""
        return _with_place(services.place_hold(require_user(), item_id))


@bp.route("/holds/<int:hold_id>")
class HoldItem(MethodView):
    @user_required
    @bp.response(200, HoldOutSchema)
    @problems(bp, 401, 404, 409, 503)
    def delete(self, hold_id: int) -> services.HoldView:
        """Cancel one's hold; a ready hold's copy goes to the next in line."""
        return _with_place(services.cancel_hold(require_user(), hold_id))


@bp.route("/me/loans")
class MyLoans(MethodView):
    @user_required
    @bp.arguments(LoanHistoryArgsSchema, location="query")
    @bp.response(200, LoanOutSchema(many=True))
    @problems(bp, 401, 422, 503)
    def get(self, args: dict[str, Any]) -> list[Loan]:
        """One's current loans, due soonest first; `ended=true`: the ended loans kept (only
        when the patron opted in to a "read before" list; none otherwise)."""
        patron = require_user()
        if args.get("ended"):
            return services.my_past_loans(patron)
        return services.my_loans(patron)


@bp.route("/me/holds")
class MyHolds(MethodView):
    @user_required
    @bp.response(200, HoldOutSchema(many=True))
    @problems(bp, 401, 503)
    def get(self) -> list[services.HoldView]:
        """One's waiting and ready holds with position, queue length and expected wait."""
        return services.my_holds(require_user())


@bp.route("/me/loans/history")
class MyHistory(MethodView):
    @user_required
    @bp.response(200, HistoryOutSchema)
    @problems(bp, 401, 503)
    def get(self) -> services.HistoryChoice:
        """Whether one's ended loans are kept as a "read before" list (off by default; only
        where the library offers it)."""
        return services.history_choice(require_user())

    @user_required
    @bp.arguments(HistoryInSchema)
    @bp.response(200, HistoryOutSchema)
    @problems(bp, 401, 409, 422, 503)
    def put(self, args: dict[str, Any]) -> services.HistoryChoice:
        """Opt in to the list (`history_not_offered`, `no_card`) or out; opting out deletes
        the list kept so far."""
        return services.set_keep_history(require_user(), args["keep"])
