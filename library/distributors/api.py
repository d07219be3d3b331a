"""Staff API of distributors: list, add, read, change, delete, sync now."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from library.blueprints import staff_api as bp
from library.distributors import services
from library.distributors.models import Distributor
from library.distributors.schemas import (
    DistributorInSchema,
    DistributorOutSchema,
    DistributorPatchSchema,
)
from vhs.auth import require_user, staff_required
from vhs.extensions import problems


@bp.route("/staff/library/distributors")
class Distributors(MethodView):
    @staff_required
    @bp.response(200, DistributorOutSchema(many=True))
    @problems(bp, 401, 403)
    def get(self) -> list[Distributor]:
        """The ODL distributors the library buys from, with their last sync (staff)."""
        return services.list_distributors(require_user())

    @staff_required
    @bp.arguments(DistributorInSchema)
    @bp.response(201, DistributorOutSchema)
    @problems(bp, 401, 403, 422, 503)
    def post(self, data: dict[str, Any]) -> Distributor:
        """Add a distributor by its ODL feed and the library's account there (staff); its
        feed is synced with the next sync job, or at once with `sync`."""
        return services.add_distributor(require_user(), data)


@bp.route("/staff/library/distributors/<int:distributor_id>")
class DistributorItem(MethodView):
    @staff_required
    @bp.response(200, DistributorOutSchema)
    @problems(bp, 401, 403, 404)
    def get(self, distributor_id: int) -> Distributor:
        """One distributor (staff); the password is never shown."""
        return services.get_distributor(require_user(), distributor_id)

    @staff_required
    @bp.arguments(DistributorPatchSchema)
    @bp.response(200, DistributorOutSchema)
    @problems(bp, 401, 403, 404, 422, 503)
    def patch(self, data: dict[str, Any], distributor_id: int) -> Distributor:
        """Change name, feed or account (staff); an empty password keeps the stored one."""
        actor = require_user()
        return services.update_distributor(
            actor, services.get_distributor(actor, distributor_id), data
        )

    @staff_required
    @bp.response(204)
    @problems(bp, 401, 403, 404, 409, 503)
    def delete(self, distributor_id: int) -> None:
        """Delete a distributor (staff): its licences stop lending; refused
        (`distributor_in_use`) while its loans run or returns are owed."""
        actor = require_user()
        services.delete_distributor(actor, services.get_distributor(actor, distributor_id))


@bp.route("/staff/library/distributors/<int:distributor_id>/sync", methods=["POST"])
@staff_required
@bp.response(202, DistributorOutSchema)
@problems(bp, 401, 403, 404, 503)
def sync(distributor_id: int) -> Distributor:
    """Sync the distributor's feed now (staff): new publications become media, their
    licences licences of provider `odl`; the outcome shows in `last_sync_summary`."""
    actor = require_user()
    return services.request_sync(actor, services.get_distributor(actor, distributor_id))
