"""Instructors' API: write to the participants of a course."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from courses import access
from courses.blueprints import api as bp
from courses.teaching import services as teaching_services
from courses.teaching.schemas import MessageResultSchema, MessageSchema
from vhs.auth import require_user, user_required
from vhs.extensions import problems


@bp.route("/courses/<int:course_id>/messages")
class CourseMessages(MethodView):
    @user_required
    @bp.arguments(MessageSchema)
    @bp.response(201, MessageResultSchema)
    @problems(bp, 401, 403, 404, 422)
    def post(self, data: dict[str, Any], course_id: int) -> dict[str, int]:
        """Write to everyone holding a seat (instructors of the course, staff)."""
        actor = require_user()
        course = access.get_course(course_id, actor)
        count = teaching_services.message_participants(actor, course, data["subject"], data["body"])
        return {"recipients": count}
