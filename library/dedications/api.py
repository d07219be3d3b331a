"""Staff API of dedications: set copies of a licence aside for a course, end it early."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from library.blueprints import staff_api as bp
from library.dedications import services as dedications
from library.dedications.schemas import DedicationInSchema, DedicationOutSchema
from library.licences import services as licences
from library.licences.availability import is_running
from library.models import LicenceDedication
from vhs.auth import require_user, staff_required
from vhs.db import utcnow
from vhs.extensions import problems


def _row(dedication: LicenceDedication) -> dict[str, Any]:
    return {
        "id": dedication.id,
        "licence_id": dedication.licence_id,
        "group_type": dedication.group_type,
        "group_id": dedication.group_id,
        "copies": dedication.copies,
        "active_loans": dedication.active_loans,
        "ends_at": dedication.ends_at,
        "running": is_running(dedication, utcnow()),
    }


@bp.route("/staff/library/licences/<int:licence_id>/dedications")
class LicenceDedications(MethodView):
    @staff_required
    @bp.response(200, DedicationOutSchema(many=True))
    @problems(bp, 401, 403, 404)
    def get(self, licence_id: int) -> list[dict[str, Any]]:
        """A licence's dedications to courses, running and ended, newest first (staff)."""
        licence = licences.get_licence(require_user(), licence_id)
        return [_row(d) for d in dedications.dedications_of(licence)]

    @staff_required
    @bp.arguments(DedicationInSchema)
    @bp.response(201, DedicationOutSchema)
    @problems(bp, 401, 403, 404, 409, 422, 503)
    def post(self, data: dict[str, Any], licence_id: int) -> dict[str, Any]:
        """Set `copies` free copies of the licence aside for a course until its last session
        ends (staff): only its confirmed participants borrow them meanwhile."""
        actor = require_user()
        licence = licences.get_licence(actor, licence_id)
        return _row(dedications.dedicate(actor, licence, data))


@bp.route("/staff/library/dedications/<int:dedication_id>/end", methods=["POST"])
@staff_required
@bp.response(200, DedicationOutSchema)
@problems(bp, 401, 403, 404, 409, 503)
def end(dedication_id: int) -> dict[str, Any]:
    """End a dedication now (staff): its free copies go to the general pool and waiting
    patrons; members' loans run until they are due."""
    return _row(dedications.end_dedication(require_user(), dedication_id))
