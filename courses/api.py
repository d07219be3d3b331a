"""Course API under /api/v1: catalogue, enrolment, and the staff's planning endpoints."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from courses import cache as catalogue_cache
from courses import services
from courses.cache import cached_json
from courses.models import Category, Course, Enrolment, Session, Term
from courses.schemas import (
    BelowMinimumArgsSchema,
    CancelArgsSchema,
    CatalogueArgsSchema,
    CategoryInSchema,
    CategoryOutSchema,
    CopySchema,
    CourseDetailSchema,
    CourseInSchema,
    CoursePageSchema,
    CoursePatchSchema,
    CourseSummarySchema,
    EnrolArgsSchema,
    EnrolmentOutSchema,
    GenerateSessionsSchema,
    MessageResultSchema,
    MessageSchema,
    MoveSchema,
    MyEnrolmentSchema,
    ParticipantSchema,
    ReasonSchema,
    SessionInSchema,
    SessionOutSchema,
    SessionPatchSchema,
    TermInSchema,
    TermOutSchema,
    TermPatchSchema,
)
from courses.search import CatalogueQuery, search
from vhs.accounts.models import User
from vhs.auth import current, require_user, staff_required, user_required
from vhs.db import db
from vhs.errors import Forbidden, NotFound
from vhs.extensions import problems
from vhs.i18n import page_locale
from vhs.payments.schemas import PayArgsSchema, PaymentOutSchema

bp = Blueprint("courses_api", __name__, url_prefix="/api/v1", description="Courses and enrolment")
staff_bp = Blueprint(
    "courses_staff_api", __name__, url_prefix="/api/v1", description="Course planning (staff)"
)


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
    @problems(bp, 404)
    def get(self, course_id: int) -> Course:
        """A course with all its sessions (times in Europe/Berlin with offset)."""
        return services.get_course(course_id, current())


@bp.route("/courses/<int:course_id>/enrolments")
class CourseEnrolments(MethodView):
    @user_required
    @bp.arguments(EnrolArgsSchema)
    @bp.response(201, EnrolmentOutSchema)
    @problems(bp, 401, 403, 404, 409, 422, 503)
    def post(self, args: dict[str, Any], course_id: int) -> Enrolment:
        """Book the current user (staff: `user_id` books someone else, audited)."""
        actor = require_user()
        course = services.get_course(course_id, actor)
        person = actor
        if args.get("user_id"):
            services.require_manager(actor)
            person = db.session.get(User, args["user_id"])
            if person is None or not person.is_active:
                raise NotFound(code="user_not_found")
        return services.enrol(
            course,
            person,
            reduction=args.get("reduction_reason"),
            actor=actor if person.id != actor.id else None,
        )

    @user_required
    @bp.response(200, ParticipantSchema(many=True))
    @problems(bp, 401, 403, 404)
    def get(self, course_id: int) -> list[Enrolment]:
        """Participants (staff and the course's instructors)."""
        actor = require_user()
        course = services.get_course(course_id, actor)
        if not services.can_see_participants(actor, course):
            raise Forbidden(code="not_instructor")
        return services.participants(course)


@bp.route("/courses/<int:course_id>/messages")
class CourseMessages(MethodView):
    @user_required
    @bp.arguments(MessageSchema)
    @bp.response(201, MessageResultSchema)
    @problems(bp, 401, 403, 404, 422)
    def post(self, data: dict[str, Any], course_id: int) -> dict[str, int]:
        """Write to everyone holding a seat (instructors of the course, staff)."""
        actor = require_user()
        course = services.get_course(course_id, actor)
        count = services.message_participants(actor, course, data["subject"], data["body"])
        return {"recipients": count}


@bp.route("/me/enrolments")
class MyEnrolments(MethodView):
    @user_required
    @bp.response(200, MyEnrolmentSchema(many=True))
    @problems(bp, 401)
    def get(self) -> list[Enrolment]:
        """The current user's bookings with status, waiting-list position and next session."""
        return services.my_enrolments(require_user())


@bp.route("/enrolments/<int:enrolment_id>")
class EnrolmentItem(MethodView):
    @user_required
    @bp.response(200, EnrolmentOutSchema)
    @problems(bp, 401, 404)
    def get(self, enrolment_id: int) -> Enrolment:
        """One of the user's bookings (staff: any)."""
        return services.get_enrolment(enrolment_id, require_user())

    @user_required
    @bp.arguments(CancelArgsSchema, location="query")
    @bp.response(200, EnrolmentOutSchema)
    @problems(bp, 401, 403, 404, 409, 422, 503)
    def delete(self, args: dict[str, Any], enrolment_id: int) -> Enrolment:
        """Cancel a booking (until the deadline; staff may `override`)."""
        actor = require_user()
        enrolment = services.get_enrolment(enrolment_id, actor)
        return services.cancel_enrolment(enrolment, actor, override=args.get("override", False))


@bp.route("/enrolments/<int:enrolment_id>/payment")
class EnrolmentPayment(MethodView):
    @user_required
    @bp.arguments(PayArgsSchema)
    @bp.response(201, PaymentOutSchema)
    @problems(bp, 401, 404, 409, 422, 503)
    @problems(bp, 502)
    def post(self, args: dict[str, Any], enrolment_id: int) -> Any:
        """Pay a pending booking: the Stripe Checkout URL, or bank-transfer instructions."""
        from courses.payments import pay_enrolment

        actor = require_user()
        enrolment = services.get_enrolment(enrolment_id, actor)
        return pay_enrolment(enrolment, actor, args.get("provider"))


@bp.route("/enrolments/<int:enrolment_id>/move")
class EnrolmentMove(MethodView):
    @staff_required
    @bp.arguments(MoveSchema)
    @bp.response(201, EnrolmentOutSchema)
    @problems(bp, 401, 403, 404, 409, 422)
    def post(self, data: dict[str, Any], enrolment_id: int) -> Enrolment:
        """Move a participant to another course (staff, audited)."""
        actor = require_user()
        enrolment = services.get_enrolment(enrolment_id, actor)
        target = db.session.get(Course, data["course_id"])
        if target is None:
            raise NotFound(code="course_not_found")
        return services.move_enrolment(actor, enrolment, target)


# --- staff planning ------------------------------------------------------------------------


def _get(model: type, ident: int) -> Any:
    obj = db.session.get(model, ident)
    if obj is None:
        raise NotFound()
    return obj


@staff_bp.route("/terms")
class Terms(MethodView):
    @staff_bp.response(200, TermOutSchema(many=True))
    def get(self) -> list[Term]:
        """All terms, newest first."""
        return list(db.session.execute(sa.select(Term).order_by(Term.starts_on.desc())).scalars())

    @staff_required
    @staff_bp.arguments(TermInSchema)
    @staff_bp.response(201, TermOutSchema)
    @problems(staff_bp, 401, 403, 422)
    def post(self, data: dict[str, Any]) -> Term:
        """Create a term (staff)."""
        return services.save_term(require_user(), data)


@staff_bp.route("/terms/<int:term_id>")
class TermItem(MethodView):
    @staff_required
    @staff_bp.arguments(TermPatchSchema)
    @staff_bp.response(200, TermOutSchema)
    @problems(staff_bp, 401, 403, 404, 422)
    def patch(self, data: dict[str, Any], term_id: int) -> Term:
        """Change a term (staff)."""
        return services.save_term(require_user(), data, _get(Term, term_id))


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
    @problems(staff_bp, 401, 403, 422)
    def post(self, data: dict[str, Any]) -> Category:
        """Create a category (staff)."""
        return services.save_category(require_user(), data)


@staff_bp.route("/staff/courses")
class StaffCourses(MethodView):
    @staff_required
    @staff_bp.arguments(CourseInSchema)
    @staff_bp.response(201, CourseDetailSchema)
    @problems(staff_bp, 401, 403, 409, 422)
    def post(self, data: dict[str, Any]) -> Course:
        """Create a course as a draft (staff)."""
        return services.save_course(require_user(), data)


@staff_bp.route("/staff/courses/<int:course_id>")
class StaffCourseItem(MethodView):
    @staff_required
    @staff_bp.response(200, CourseDetailSchema)
    @problems(staff_bp, 401, 403, 404)
    def get(self, course_id: int) -> Course:
        """Any course, drafts included (staff)."""
        return _get(Course, course_id)

    @staff_required
    @staff_bp.arguments(CoursePatchSchema)
    @staff_bp.response(200, CourseDetailSchema)
    @problems(staff_bp, 401, 403, 404, 409, 422)
    def patch(self, data: dict[str, Any], course_id: int) -> Course:
        """Change a course (staff)."""
        actor = require_user()
        course = services.lock_course(_get(Course, course_id).id)
        return services.save_course(actor, data, course)


@staff_bp.route("/staff/courses/<int:course_id>/publish", methods=["POST"])
@staff_required
@staff_bp.response(200, CourseDetailSchema)
@problems(staff_bp, 401, 403, 404, 409)
def publish(course_id: int) -> Course:
    """Publish a draft course (it needs at least one session)."""
    return services.publish_course(require_user(), _get(Course, course_id))


@staff_bp.route("/staff/courses/<int:course_id>/cancel", methods=["POST"])
@staff_required
@staff_bp.arguments(ReasonSchema)
@staff_bp.response(200, CourseDetailSchema)
@problems(staff_bp, 401, 403, 404, 409)
def cancel(data: dict[str, Any], course_id: int) -> Course:
    """Cancel a whole course: bookings end, people are told, refunds follow."""
    course = _get(Course, course_id)
    services.cancel_course(require_user(), course, data.get("reason", ""))
    return course


@staff_bp.route("/staff/courses/<int:course_id>/copy", methods=["POST"])
@staff_required
@staff_bp.arguments(CopySchema)
@staff_bp.response(201, CourseDetailSchema)
@problems(staff_bp, 401, 403, 404, 409)
def copy(data: dict[str, Any], course_id: int) -> Course:
    """Copy a course into another term as a draft (sessions moved by whole weeks)."""
    return services.copy_course(
        require_user(), _get(Course, course_id), _get(Term, data["term_id"])
    )


@staff_bp.route("/staff/courses/<int:course_id>/sessions", methods=["POST"])
@staff_required
@staff_bp.arguments(SessionInSchema)
@staff_bp.response(201, SessionOutSchema)
@problems(staff_bp, 401, 403, 404, 422)
def add_session(data: dict[str, Any], course_id: int) -> Session:
    """Add one session."""
    return services.add_session(require_user(), _get(Course, course_id), data)


@staff_bp.route("/staff/courses/<int:course_id>/sessions/generate", methods=["POST"])
@staff_required
@staff_bp.arguments(GenerateSessionsSchema)
@staff_bp.response(201, SessionOutSchema(many=True))
@problems(staff_bp, 401, 403, 404, 422)
def generate(data: dict[str, Any], course_id: int) -> list[Session]:
    """Generate weekly sessions in Europe/Berlin wall-clock time, skipping given dates."""
    plan = services.SessionPlan(
        first_date=data["first_date"],
        weekday=data["weekday"],
        start=data["start"],
        end=data["end"],
        count=data["count"],
        skip_dates=frozenset(data.get("skip_dates", [])),
        interval_weeks=data.get("interval_weeks", 1),
    )
    return services.generate_sessions(require_user(), _get(Course, course_id), plan)


@staff_bp.route("/staff/sessions/<int:session_id>", methods=["PATCH"])
@staff_required
@staff_bp.arguments(SessionPatchSchema)
@staff_bp.response(200, SessionOutSchema)
@problems(staff_bp, 401, 403, 404, 409, 422)
def patch_session(data: dict[str, Any], session_id: int) -> Session:
    """Change a session's time or place (bumps its calendar sequence)."""
    return services.update_session(require_user(), _get(Session, session_id), data)


@staff_bp.route("/staff/sessions/<int:session_id>/cancel", methods=["POST"])
@staff_required
@staff_bp.arguments(ReasonSchema)
@staff_bp.response(200, SessionOutSchema)
@problems(staff_bp, 401, 403, 404, 409)
def cancel_session(data: dict[str, Any], session_id: int) -> Session:
    """Cancel one session; participants are told."""
    return services.cancel_session(
        require_user(), _get(Session, session_id), data.get("reason", "")
    )


@staff_bp.route("/staff/reports/below-minimum", methods=["GET"])
@staff_required
@staff_bp.arguments(BelowMinimumArgsSchema, location="query")
@staff_bp.response(200, CourseSummarySchema(many=True))
@problems(staff_bp, 401, 403)
def below_minimum(args: dict[str, Any]) -> list[Course]:
    """Courses starting within `days` that have fewer bookings than their minimum."""
    return services.below_minimum(args.get("days", 14))


def blueprints() -> list[Blueprint]:
    """The API blueprints of this package."""
    return [bp, staff_bp]
