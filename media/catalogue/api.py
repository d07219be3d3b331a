"""The media API: the public catalogue (search, filters, facets, items) and staff stocking."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView

from media import rules
from media.blueprints import api as bp
from media.blueprints import staff_api as staff_bp
from media.catalogue import cache as media_cache
from media.catalogue import services
from media.catalogue.schemas import (
    MediaArgsSchema,
    MediaDetailSchema,
    MediaItemInSchema,
    MediaItemPatchSchema,
    MediaPageSchema,
)
from media.catalogue.search import MediaQuery, search
from media.models import MediaItem
from vhs.auth import current, require_user, staff_required
from vhs.extensions import problems


def media_query(args: dict[str, Any]) -> MediaQuery:
    """Turn validated arguments into a catalogue query."""
    return MediaQuery(
        q=args.get("q", ""),
        kind=args.get("kind"),
        # Validated already: "ger" (ISO 639-2/B) and "de" name the same language.
        language=rules.normalise_language(args["language"]) if "language" in args else None,
        subject=args.get("subject"),
        audience=args.get("audience"),
        year_from=args.get("year_from"),
        year_to=args.get("year_to"),
        series=args.get("series"),
        contributor=args.get("contributor"),
        available=bool(args.get("available")),
        sort=args.get("sort", ""),
        page=args.get("page", 1),
        per_page=args.get("per_page", 20),
    )


@bp.before_request
def _catalogue_from_cache() -> Any:
    """A catalogue query answered before (so known to be valid) comes straight from the cache,
    without parsing its arguments again; None lets the view run."""
    if request.method != "GET" or request.endpoint != "media_api.MediaList":
        return None
    return media_cache.cached_json_hit()


@bp.route("/media")
class MediaList(MethodView):
    # An instance, not the class: webargs would build (deep-copy) a new schema per request.
    @bp.arguments(MediaArgsSchema(), location="query")
    @bp.response(200, MediaPageSchema)
    @problems(bp, 422)
    def get(self, args: dict[str, Any]) -> Any:
        """The public catalogue: full-text search (`q`), filters, facets with counts, pages.

        Facets count the whole result (not just this page); `audience` counts items suitable
        for an age cumulatively. Answers carry an ETag and `Cache-Control: no-cache`:
        revalidate with `If-None-Match` (304 while nothing changed; any edit, publication or
        withdrawal changes the answer at once, and with `available`, any loan or return).
        """

        def dump() -> Any:
            """The page as JSON-ready data (run on a cache miss only)."""
            page = search(media_query(args))
            return MediaPageSchema().dump(
                {
                    "items": page.items,
                    "total": page.total,
                    "page": page.page,
                    "per_page": page.per_page,
                    "pages": page.pages,
                    "facets": page.facets,
                }
            )

        return media_cache.cached_json(dump)


@bp.route("/media/<int:item_id>")
class MediaDetail(MethodView):
    @bp.response(200, MediaDetailSchema)
    @problems(bp, 404)
    def get(self, item_id: int) -> MediaItem:
        """One item; drafts and withdrawn items are 404 except to staff."""
        return services.get_item(item_id, current())


# --- staff -----------------------------------------------------------------------------------


@staff_bp.route("/staff/media")
class StaffMedia(MethodView):
    @staff_required
    @staff_bp.arguments(MediaItemInSchema)
    @staff_bp.response(201, MediaDetailSchema)
    @problems(staff_bp, 401, 403, 409, 422)
    def post(self, data: dict[str, Any]) -> MediaItem:
        """Create an item as a draft (staff). An ISBN of another item is 409 `identifier_taken`."""
        return services.save_item(require_user(), data)


@staff_bp.route("/staff/media/<int:item_id>")
class StaffMediaItem(MethodView):
    @staff_required
    @staff_bp.arguments(MediaItemPatchSchema)
    @staff_bp.response(200, MediaDetailSchema)
    @problems(staff_bp, 401, 403, 404, 409, 422)
    def patch(self, data: dict[str, Any], item_id: int) -> MediaItem:
        """Change an item (staff); lists sent replace the item's whole list."""
        actor = require_user()
        return services.save_item(actor, data, services.lock_item(item_id))


@staff_bp.route("/staff/media/<int:item_id>/publish", methods=["POST"])
@staff_required
@staff_bp.response(200, MediaDetailSchema)
@problems(staff_bp, 401, 403, 404, 409)
def publish(item_id: int) -> MediaItem:
    """Put a draft or withdrawn item into the catalogue (409 if it is there already)."""
    return services.publish_item(require_user(), services.lock_item(item_id))


@staff_bp.route("/staff/media/<int:item_id>/withdraw", methods=["POST"])
@staff_required
@staff_bp.response(200, MediaDetailSchema)
@problems(staff_bp, 401, 403, 404, 409)
def withdraw(item_id: int) -> MediaItem:
    """Take an item out of the catalogue; the record and its history stay (409 unless published)."""
    return services.withdraw_item(require_user(), services.lock_item(item_id))
