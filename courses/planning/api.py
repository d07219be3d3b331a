"""Staff planning API: terms, categories, courses, sessions, reports."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask.views import MethodView

from courses import access
from courses.blueprints import staff_api as staff_bp
from courses.links import course_links, new_course_in, session_links
from courses.models import Category, Course, Session, Term
from courses.planning import services as planning_services
from courses.planning import sessions as session_services
from courses.planning.schemas import (
    BelowMinimumArgsSchema,
    CategoryInSchema,
    CategoryPatchSchema,
    CopySchema,
    CourseInSchema,
    CoursePatchSchema,
    GenerateSessionsSchema,
    ReasonSchema,
    SessionInSchema,
    SessionPatchSchema,
    TermInSchema,
    TermPatchSchema,
    UnitsOutSchema,
    UnitsOverrideSchema,
)
from courses.planning.units import set_units_override
from courses.schemas import (
    CategoryOutSchema,
    CourseDetailSchema,
    CourseSummarySchema,
    SessionOutSchema,
    TermOutSchema,
)
from vhs.auth import require_user, staff_required
from vhs.db import db
from vhs.errors import NotFound
from vhs.extensions import link, links, problems

# --- staff planning ------------------------------------------------------------------------

TERM = "/api/v1/terms/{term_id}"
# Where a newly planned (or copied) course leads: read, change, give it sessions, publish.
PLANNING = ("GetStaffCourse", "PatchCourse", "AddSession", "GenerateSessions", "Publish")


def _get(model: type, ident: int) -> Any:
    obj = db.session.get(model, ident)
    if obj is None:
        raise NotFound()
    return obj


@staff_bp.route("/terms")
class Terms(MethodView):
    @staff_bp.response(200, TermOutSchema(many=True))
    @links(
        staff_bp, 200, PatchTerm=link("PATCH", TERM, "Change it", term_id="$response.body#/0/id")
    )
    def get(self) -> list[Term]:
        """All terms, newest first."""
        return list(db.session.execute(sa.select(Term).order_by(Term.starts_on.desc())).scalars())

    @staff_required
    @staff_bp.arguments(TermInSchema)
    @staff_bp.response(201, TermOutSchema)
    @links(
        staff_bp,
        201,
        PatchTerm=link("PATCH", TERM, "Change it", term_id="$response.body#/id"),
        **new_course_in("term_id", "/id"),
    )
    @problems(staff_bp, 401, 403, 422)
    def post(self, data: dict[str, Any]) -> Term:
        """Create a term (staff)."""
        return planning_services.save_term(require_user(), data)


@staff_bp.route("/terms/<int:term_id>")
class TermItem(MethodView):
    @staff_required
    @staff_bp.arguments(TermPatchSchema)
    @staff_bp.response(200, TermOutSchema)
    @links(staff_bp, 200, **new_course_in("term_id", "/id"))
    @problems(staff_bp, 401, 403, 404, 422)
    def patch(self, data: dict[str, Any], term_id: int) -> Term:
        """Change a term (staff)."""
        return planning_services.save_term(require_user(), data, _get(Term, term_id))


@staff_bp.route("/categories")
class Categories(MethodView):
    @staff_bp.response(200, CategoryOutSchema(many=True))
    def get(self) -> list[Category]:
        """The category tree, flat (use `parent_id`)."""
        return list(
            db.session.execute(
                sa.select(Category).order_by(Category.position, Category.id)
            ).scalars()
        )

    @staff_required
    @staff_bp.arguments(CategoryInSchema)
    @staff_bp.response(201, CategoryOutSchema)
    @links(staff_bp, 201, **new_course_in("category_id", "/id"))
    @problems(staff_bp, 401, 403, 422)
    def post(self, data: dict[str, Any]) -> Category:
        """Create a category (staff)."""
        return planning_services.save_category(require_user(), data)


@staff_bp.route("/categories/<int:category_id>")
class CategoryItem(MethodView):
    @staff_required
    @staff_bp.arguments(CategoryPatchSchema)
    @staff_bp.response(200, CategoryOutSchema)
    @problems(staff_bp, 401, 403, 404, 422)
    def patch(self, data: dict[str, Any], category_id: int) -> Category:
        """Rename or move a category (staff); it cannot move inside itself."""
        return planning_services.save_category(require_user(), data, _get(Category, category_id))


@staff_bp.route("/staff/courses")
class StaffCourses(MethodView):
    @staff_required
    @staff_bp.arguments(CourseInSchema)
    @staff_bp.response(201, CourseDetailSchema)
    @links(staff_bp, 201, **course_links("/id", *PLANNING))
    @problems(staff_bp, 401, 403, 409, 422)
    def post(self, data: dict[str, Any]) -> Course:
        """Create a course as a draft (staff)."""
        return planning_services.save_course(require_user(), data)


@staff_bp.route("/staff/courses/<int:course_id>")
class StaffCourseItem(MethodView):
    @staff_required
    @staff_bp.response(200, CourseDetailSchema)
    @links(
        staff_bp,
        200,
        **course_links("/id", *PLANNING[1:], "Cancel", "Copy"),
        **session_links("/sessions/0/id", "PatchSession", "CancelSession"),
    )
    @problems(staff_bp, 401, 403, 404)
    def get(self, course_id: int) -> Course:
        """Any course, drafts included (staff)."""
        return _get(Course, course_id)

    @staff_required
    @staff_bp.arguments(CoursePatchSchema)
    @staff_bp.response(200, CourseDetailSchema)
    @links(staff_bp, 200, **course_links("/id", "GetStaffCourse", "Publish"))
    @problems(staff_bp, 401, 403, 404, 409, 422)
    def patch(self, data: dict[str, Any], course_id: int) -> Course:
        """Change a course (staff)."""
        actor = require_user()
        course = access.lock_course(_get(Course, course_id).id)
        return planning_services.save_course(actor, data, course)


@staff_bp.route("/staff/courses/<int:course_id>/publish", methods=["POST"])
@staff_required
@staff_bp.response(200, CourseDetailSchema)
@links(staff_bp, 200, **course_links("/id", "GetCourse", "Enrol", "Cancel"))
@problems(staff_bp, 401, 403, 404, 409)
def publish(course_id: int) -> Course:
    """Publish a draft course (it needs at least one session)."""
    return planning_services.publish_course(require_user(), _get(Course, course_id))


@staff_bp.route("/staff/courses/<int:course_id>/complete", methods=["POST"])
@staff_required
@staff_bp.response(200, CourseDetailSchema)
@links(staff_bp, 200, **course_links("/id", "GetStaffCourse"))
@problems(staff_bp, 401, 403, 404, 409)
def complete(course_id: int) -> Course:
    """Mark a published course as held; certificates become possible (409 otherwise)."""
    return planning_services.complete_course(require_user(), _get(Course, course_id))


@staff_bp.route("/staff/courses/<int:course_id>/cancel", methods=["POST"])
@staff_required
@staff_bp.arguments(ReasonSchema, required=False)
@staff_bp.response(200, CourseDetailSchema)
@links(staff_bp, 200, **course_links("/id", "GetStaffCourse"))
@problems(staff_bp, 401, 403, 404, 409)
def cancel(data: dict[str, Any], course_id: int) -> Course:
    """Cancel a whole course: bookings end, people are told, refunds follow."""
    course = _get(Course, course_id)
    planning_services.cancel_course(require_user(), course, data.get("reason", ""))
    return course


@staff_bp.route("/staff/courses/<int:course_id>/copy", methods=["POST"])
@staff_required
@staff_bp.arguments(CopySchema)
@staff_bp.response(201, CourseDetailSchema)
@links(staff_bp, 201, **course_links("/id", *PLANNING))
@problems(staff_bp, 401, 403, 404, 409)
def copy(data: dict[str, Any], course_id: int) -> Course:
    """Copy a course into another term as a draft (sessions moved by whole weeks)."""
    return planning_services.copy_course(
        require_user(), _get(Course, course_id), _get(Term, data["term_id"])
    )


@staff_bp.route("/staff/courses/<int:course_id>/sessions", methods=["POST"])
@staff_required
@staff_bp.arguments(SessionInSchema)
@staff_bp.response(201, SessionOutSchema)
@links(staff_bp, 201, **session_links("/id", "PatchSession", "CancelSession", "Join"))
@problems(staff_bp, 401, 403, 404, 422)
def add_session(data: dict[str, Any], course_id: int) -> Session:
    """Add one session."""
    return session_services.add_session(require_user(), _get(Course, course_id), data)


@staff_bp.route("/staff/courses/<int:course_id>/sessions/generate", methods=["POST"])
@staff_required
@staff_bp.arguments(GenerateSessionsSchema)
@staff_bp.response(201, SessionOutSchema(many=True))
@links(staff_bp, 201, **session_links("/0/id", "PatchSession", "CancelSession"))
@problems(staff_bp, 401, 403, 404, 422)
def generate(data: dict[str, Any], course_id: int) -> list[Session]:
    """Generate weekly sessions in local wall-clock time (VHS_TIMEZONE), skipping given dates."""
    plan = session_services.SessionPlan(
        first_date=data["first_date"],
        weekday=data["weekday"],
        start=data["start"],
        end=data["end"],
        count=data["count"],
        skip_dates=frozenset(data.get("skip_dates", [])),
        interval_weeks=data.get("interval_weeks", 1),
    )
    return session_services.generate_sessions(require_user(), _get(Course, course_id), plan)


@staff_bp.route("/staff/sessions/<int:session_id>", methods=["PATCH"])
@staff_required
@staff_bp.arguments(SessionPatchSchema)
@staff_bp.response(200, SessionOutSchema)
@links(staff_bp, 200, **session_links("/id", "CancelSession"))
@problems(staff_bp, 401, 403, 404, 409, 422)
def patch_session(data: dict[str, Any], session_id: int) -> Session:
    """Change a session's time or place (bumps its calendar sequence)."""
    return session_services.update_session(require_user(), _get(Session, session_id), data)


@staff_bp.route("/staff/sessions/<int:session_id>/cancel", methods=["POST"])
@staff_required
@staff_bp.arguments(ReasonSchema, required=False)
@staff_bp.response(200, SessionOutSchema)
@problems(staff_bp, 401, 403, 404, 409)
def cancel_session(data: dict[str, Any], session_id: int) -> Session:
    """Cancel one session; participants are told."""
    return session_services.cancel_session(
        require_user(), _get(Session, session_id), data.get("reason", "")
    )


@staff_bp.route("/staff/courses/<int:course_id>/teaching-units")
class TeachingUnits(MethodView):
    @staff_required
    @staff_bp.response(200, UnitsOutSchema)
    @problems(staff_bp, 401, 403, 404)
    def get(self, course_id: int) -> Course:
        """A course's teaching units: effective, derived from the held sessions, override."""
        return _get(Course, course_id)

    @staff_required
    @staff_bp.arguments(UnitsOverrideSchema)
    @staff_bp.response(200, UnitsOutSchema)
    @problems(staff_bp, 401, 403, 404, 422)
    def put(self, data: dict[str, Any], course_id: int) -> Course:
        """Set the override (a number and a reason) or clear it (`teaching_units: null`)."""
        return set_units_override(
            require_user(), _get(Course, course_id), data["teaching_units"], data["reason"]
        )


@staff_bp.route("/staff/reports/below-minimum", methods=["GET"])
@staff_required
@staff_bp.arguments(BelowMinimumArgsSchema, location="query")
@staff_bp.response(200, CourseSummarySchema(many=True))
@links(staff_bp, 200, **course_links("/0/id", "GetStaffCourse"))
@problems(staff_bp, 401, 403)
def below_minimum(args: dict[str, Any]) -> list[Course]:
    """Courses starting within `days` that have fewer bookings than their minimum."""
    return planning_services.below_minimum(args.get("days", 14))
