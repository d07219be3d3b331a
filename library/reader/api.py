"""The reading position API: where the patron is in a loan, read and saved by the reader."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from library.blueprints import api as bp
from library.models import ReadingPosition
from library.reader import services
from library.reader.schemas import PositionInSchema, PositionOutSchema
from vhs.auth import require_user, user_required
from vhs.extensions import problems

# What somebody reads, and where, is nobody's cache's business.
PRIVATE = {"Cache-Control": "private, no-store"}


@bp.route("/loans/<int:loan_id>/position")
class LoanPosition(MethodView):
    @user_required
    @bp.response(200, PositionOutSchema)
    @problems(bp, 401, 404, 410, 503)
    def get(self, loan_id: int) -> tuple[ReadingPosition, int, dict[str, str]]:
        """Where one stopped in one's open loan, saved from any device (`position_not_found`
        before the first save; `loan_not_found` 404, also for someone else's loan;
        `loan_ended` 410)."""
        return services.get_position(require_user(), loan_id), 200, PRIVATE

    @user_required
    @bp.arguments(PositionInSchema)
    @bp.response(200, PositionOutSchema)
    @problems(bp, 401, 404, 410, 422, 503)
    def put(
        self, args: dict[str, Any], loan_id: int
    ) -> tuple[ReadingPosition, int, dict[str, str]]:
        """Keep where one is in a file of one's open loan: `cfi` for an EPUB, `seconds` for
        audio and video, and `progress` (0..1); the last save wins. Deleted when the loan
        ends."""
        return services.save_position(require_user(), loan_id, args), 200, PRIVATE
