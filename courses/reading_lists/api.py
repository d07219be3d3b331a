"""The reading-list API: public for visible courses; changes by staff and its instructors."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from courses import access
from courses.blueprints import api as bp
from courses.reading_lists import services
from courses.reading_lists.schemas import (
    ReadingItemInSchema,
    ReadingItemOutSchema,
    ReadingItemPatchSchema,
)
from vhs.auth import current, require_user, user_required
from vhs.extensions import problems


@bp.route("/courses/<int:course_id>/reading-list")
class ReadingList(MethodView):
    @bp.response(200, ReadingItemOutSchema(many=True))
    @problems(bp, 404)
    def get(self, course_id: int) -> list[services.ReadingRow]:
        """The course's reading list in order, with the copies free for the caller (public
        for published courses; the course's own copies count for its confirmed participants)."""
        course = access.get_course(course_id, current())
        return services.reading_list(course, current())

    @user_required
    @bp.arguments(ReadingItemInSchema)
    @bp.response(201, ReadingItemOutSchema)
    @problems(bp, 401, 403, 404, 409, 422)
    def post(self, data: dict[str, Any], course_id: int) -> services.ReadingRow:
        """Put a catalogue medium on the list, with a note (staff, the course's instructors)."""
        actor = require_user()
        course = access.get_course(course_id, actor)
        return services.reading_row(course, actor, services.add_item(actor, course, data))


@bp.route("/courses/<int:course_id>/reading-list/<int:entry_id>")
class ReadingListEntry(MethodView):
    @user_required
    @bp.arguments(ReadingItemPatchSchema)
    @bp.response(200, ReadingItemOutSchema)
    @problems(bp, 401, 403, 404, 422)
    def patch(self, data: dict[str, Any], course_id: int, entry_id: int) -> services.ReadingRow:
        """Change an entry's note or place (staff, the course's instructors)."""
        actor = require_user()
        course = access.get_course(course_id, actor)
        entry = services.update_item(actor, course, entry_id, data)
        return services.reading_row(course, actor, entry)

    @user_required
    @bp.response(204)
    @problems(bp, 401, 403, 404)
    def delete(self, course_id: int, entry_id: int) -> None:
        """Take a medium off the list (staff, the course's instructors)."""
        actor = require_user()
        course = access.get_course(course_id, actor)
        services.remove_item(actor, course, entry_id)
