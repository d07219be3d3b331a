"""The staff lending API: licences per item, expiring licences, long queues, revoking loans."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from library.blueprints import staff_api as bp
from library.circulation.schemas import LoanOutSchema
from library.holds import reports
from library.licences import services as licences
from library.licences.schemas import (
    LicenceInSchema,
    LicenceOutSchema,
    LicencePatchSchema,
    QueueArgsSchema,
    QueueRowSchema,
)
from library.loans import services as loans
from library.models import Loan
from vhs.auth import require_user, staff_required
from vhs.db import utcnow
from vhs.extensions import problems


@bp.route("/staff/library/items/<int:item_id>/licences")
class ItemLicences(MethodView):
    @staff_required
    @bp.response(200, LicenceOutSchema(many=True))
    @problems(bp, 401, 403, 404)
    def get(self, item_id: int) -> list[reports.LicenceRow]:
        """An item's licences with bought, used and left checkouts, lent, reserved and free
        copies, and whether each expires within 30 days (staff)."""
        return reports.item_lending(require_user(), item_id).licences

    @staff_required
    @bp.arguments(LicenceInSchema)
    @bp.response(201, LicenceOutSchema)
    @problems(bp, 401, 403, 404, 409, 422, 503)
    def post(self, data: dict[str, Any], item_id: int) -> reports.LicenceRow:
        """Add a licence to an item (staff); patrons waiting get its copies at once."""
        actor = require_user()
        item = licences.get_stock_item(actor, item_id)
        return reports.licence_row(licences.add_licence(actor, item, data), utcnow())


@bp.route("/staff/library/licences/<int:licence_id>")
class LicenceItem(MethodView):
    @staff_required
    @bp.arguments(LicencePatchSchema)
    @bp.response(200, LicenceOutSchema)
    @problems(bp, 401, 403, 404, 409, 422, 503)
    def patch(self, data: dict[str, Any], licence_id: int) -> reports.LicenceRow:
        """Change copies at once (never below what is lent or reserved), longest loan,
        protection terms or note (staff); more copies go to waiting patrons at once."""
        actor = require_user()
        licence = licences.get_licence(actor, licence_id)
        return reports.licence_row(licences.update_licence(actor, licence, data), utcnow())


@bp.route("/staff/library/licences/expiring")
class ExpiringLicences(MethodView):
    @staff_required
    @bp.response(200, LicenceOutSchema(many=True))
    @problems(bp, 401, 403)
    def get(self) -> list[reports.LicenceRow]:
        """Licences that stop lending within 30 days, soonest first (staff)."""
        now = utcnow()
        return [
            reports.licence_row(lic, now) for lic in licences.expiring_licences(require_user(), now)
        ]


@bp.route("/staff/library/reports/holds")
class HoldQueues(MethodView):
    @staff_required
    @bp.arguments(QueueArgsSchema, location="query")
    @bp.response(200, QueueRowSchema(many=True))
    @problems(bp, 401, 403, 422)
    def get(self, args: dict[str, Any]) -> list[reports.QueueRow]:
        """Items with at least `min_holds` patrons waiting, the most per copy first; `buy_more`
        marks three or more per copy, or none to lend (staff)."""
        return reports.hold_queues(require_user(), min_holds=args["min_holds"])


@bp.route("/staff/library/loans/<int:loan_id>/revoke", methods=["POST"])
@staff_required
@bp.response(200, LoanOutSchema)
@problems(bp, 401, 403, 404, 409, 503)
def revoke(loan_id: int) -> Loan:
    """End a loan now (staff, audited); its copy goes to the first waiting patron."""
    return loans.revoke_loan(require_user(), loan_id)
