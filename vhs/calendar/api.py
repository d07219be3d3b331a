"""Calendar API under /api/v1: the caller's feed address, and replacing or revoking it."""

from __future__ import annotations

from flask.views import MethodView

from vhs.auth import require_user
from vhs.calendar import services
from vhs.calendar.schemas import FeedAddressSchema
from vhs.extensions import Blueprint, problems

bp = Blueprint("calendar_api", __name__, url_prefix="/api/v1", description="Calendar feeds")


@bp.route("/me/calendar")
class MyCalendar(MethodView):
    @bp.response(200, FeedAddressSchema)
    @problems(bp, 401)
    def get(self) -> services.FeedAddress:
        """The caller's personal feed address (made on first use). Keep it secret."""
        return services.address_of(services.ensure_token(require_user()))


@bp.route("/me/calendar/token")
class MyCalendarToken(MethodView):
    @bp.response(201, FeedAddressSchema)
    @problems(bp, 401)
    def post(self) -> services.FeedAddress:
        """A new feed address; the old one answers 404 from now on."""
        return services.address_of(services.regenerate_token(require_user()))

    @bp.response(204)
    @problems(bp, 401)
    def delete(self) -> None:
        """Switch the feed off (a later GET of /me/calendar makes a new address)."""
        services.revoke_token(require_user())
