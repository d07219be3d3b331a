"""Public catalogue API: course list with filters and facets, one course."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView

from courses import access
from courses.blueprints import api as bp
from courses.catalogue import cache as catalogue_cache
from courses.catalogue.cache import cached_json
from courses.catalogue.schemas import CatalogueArgsSchema
from courses.catalogue.search import CatalogueQuery, search
from courses.links import course_links, session_links
from courses.models import Course
from courses.schemas import (
    CourseDetailSchema,
    CoursePageSchema,
)
from vhs.auth import current
from vhs.extensions import links, problems
from vhs.i18n import page_locale


def catalogue_query(args: dict[str, Any]) -> CatalogueQuery:
    """Turn validated arguments into a catalogue query."""
    return CatalogueQuery(
        q=args.get("q", ""),
        term_id=args.get("term"),
        category_id=args.get("category"),
        format=args.get("format"),
        weekday=args.get("weekday"),
        time_of_day=args.get("time_of_day"),
        language=args.get("language"),
        level=args.get("level"),
        free_only=bool(args.get("free_only")),
        max_price_cents=args.get("max_price"),
        instructor_id=args.get("instructor"),
        sort=args.get("sort", "start"),
        page=args.get("page", 1),
        per_page=args.get("per_page", 20),
    )


def _catalogue_key() -> tuple[str, str, str]:
    """The catalogue answer's cache key: the query string as sent, and the language."""
    return ("api", request.full_path, page_locale())  # page_locale: what CategoryOutSchema reads


@bp.before_request
def _catalogue_from_cache() -> Any:
    """A catalogue query answered before (so known to be valid) comes straight from the cache,
    without parsing and validating its arguments again; None lets the view run."""
    if request.method != "GET" or request.endpoint != "courses_api.Courses":
        return None
    return catalogue_cache.cached_json_hit(catalogue_cache.api_pages, _catalogue_key())


@bp.route("/courses")
class Courses(MethodView):
    # An instance, not the class: webargs would build (deep-copy) a new schema per request.
    @bp.arguments(CatalogueArgsSchema(), location="query")
    @bp.response(200, CoursePageSchema)
    @links(bp, 200, **course_links("/items/0/id", "GetCourse", "Enrol", "GetStaffCourse"))
    @problems(bp, 422)
    def get(self, args: dict[str, Any]) -> Any:
        """The public catalogue: filters, full-text search (`q`), sorting, pages.

        Answers carry an ETag and `Cache-Control: no-cache`: revalidate with `If-None-Match`
        (304 while nothing changed; any booking or edit changes the answer at once).
        """
        # Same body for everyone: cached per query string and category-name language until the
        # catalogue's data version changes (courses/cache.py); a miss costs 3 statements.
        # Repeated queries are answered by _catalogue_from_cache before parsing them again.
        key = _catalogue_key()

        def dump() -> Any:
            page = search(catalogue_query(args))
            return CoursePageSchema().dump(
                {
                    "items": page.items,
                    "total": page.total,
                    "page": page.page,
                    "per_page": page.per_page,
                    "pages": page.pages,
                }
            )

        return cached_json(catalogue_cache.api_pages, key, dump)


@bp.route("/courses/<int:course_id>")
class CourseItem(MethodView):
    @bp.response(200, CourseDetailSchema)
    @links(
        bp,
        200,
        **course_links("/id", "Enrol", "Participants", "Message", "Attendance"),
        **session_links("/sessions/0/id", "Join"),
    )
    @problems(bp, 404)
    def get(self, course_id: int) -> Course:
        """A course with all its sessions (local times, VHS_TIMEZONE, with offset)."""
        return access.get_course(course_id, current())
