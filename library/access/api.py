"""The access API: a loan's signed links (patrons), a watermark code looked up (staff)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from library.access import services
from library.access.schemas import LoanLinksSchema, WatermarkOutSchema
from library.blueprints import api as bp
from library.blueprints import staff_api
from media.files.schemas import UploadSchema
from media.files.services import upload_body_limit
from vhs.auth import require_user, staff_required, user_required
from vhs.edge import large_uploads
from vhs.extensions import problems


@bp.route("/loans/<int:loan_id>/links")
class LoanLinks(MethodView):
    @user_required
    @bp.response(200, LoanLinksSchema)
    @problems(bp, 401, 404, 410, 503)
    def get(self, loan_id: int) -> services.LoanLinks:
        """Fresh signed links to the files of one's open loan, one per file and what the
        licence allows (`stream`, `download`; EPUB downloads carry a personal watermark),
        each working for VHS_LIBRARY_LINK_MINUTES without login. `loan_not_found` (404, also
        for someone else's loan), `loan_ended` (410)."""
        return services.links_for(require_user(), loan_id)


@staff_api.route("/staff/library/watermarks/<code>")
class WatermarkLookup(MethodView):
    @staff_required
    @staff_api.response(200, WatermarkOutSchema)
    @problems(staff_api, 401, 403, 404)
    def get(self, code: str) -> services.WatermarkInfo:
        """Which loan a downloaded EPUB's watermark code (`W-7K3M-Q9XD`) comes from: the
        item, the loan's dates, the downloads, and the patron while the loan still knows them
        (staff; `watermark_not_found` 404)."""
        return services.find_watermark(require_user(), code)


# The body is declared optional so that a request without one reaches the role check (401/403
# before 422); the `file` part itself is required.
@staff_api.route("/staff/library/watermarks", methods=["POST"])
@large_uploads(upload_body_limit)
@staff_required
@staff_api.arguments(UploadSchema, location="files", required=False)
@staff_api.response(200, WatermarkOutSchema)
@problems(staff_api, 401, 403, 404, 413, 422)
def watermark_in_file(data: dict[str, Any]) -> services.WatermarkInfo:
    """Which loan a downloaded EPUB comes from, read from the file itself (multipart part
    `file`): the same answer as the lookup by code. A lookup, nothing is stored (staff; 422
    when it is no EPUB or carries no watermark of ours, 404 `watermark_not_found`)."""
    actor = require_user()
    return services.find_watermark(actor, services.code_in_epub(data["file"].stream))
