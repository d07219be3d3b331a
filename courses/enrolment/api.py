"""Enrolment API: book, cancel, pay, move (with a preview of its money), check reductions."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from courses import access
from courses.blueprints import api as bp
from courses.enrolment import charges, reductions
from courses.enrolment import services as enrolment_services
from courses.enrolment.payments import pay_enrolment
from courses.enrolment.schemas import (
    CancelArgsSchema,
    EnrolArgsSchema,
    MovePreviewArgsSchema,
    MoveSchema,
    MoveSettlementSchema,
    ReductionCheckOutSchema,
    ReductionDecisionSchema,
)
from courses.links import course_links, enrolment_links
from courses.models import Course, Enrolment
from courses.schemas import (
    EnrolmentOutSchema,
    MyEnrolmentSchema,
    ParticipantSchema,
)
from vhs.accounts.models import User
from vhs.auth import require_user, staff_required, user_required
from vhs.db import db
from vhs.errors import Forbidden, NotFound
from vhs.extensions import links, problems
from vhs.payments.api import payment_links
from vhs.payments.schemas import PayArgsSchema, PaymentOutSchema


@bp.route("/courses/<int:course_id>/enrolments")
class CourseEnrolments(MethodView):
    @user_required
    @bp.arguments(EnrolArgsSchema, required=False)
    @bp.response(201, EnrolmentOutSchema)
    @links(bp, 201, **enrolment_links("/id", "GetEnrolment", "CancelEnrolment", "Pay", "Move"))
    @problems(bp, 401, 403, 404, 409, 422, 503)
    def post(self, args: dict[str, Any], course_id: int) -> Enrolment:
        """Book the current user (staff: `user_id` books someone else, audited)."""
        actor = require_user()
        course = access.get_course(course_id, actor)
        person = actor
        if args.get("user_id"):
            access.require_manager(actor)
            person = db.session.get(User, args["user_id"])
            if person is None or not person.is_active:
                raise NotFound(code="user_not_found")
        return enrolment_services.enrol(
            course,
            person,
            reduction=args.get("reduction_reason"),
            actor=actor if person.id != actor.id else None,
        )

    @user_required
    @bp.response(200, ParticipantSchema(many=True))
    @links(bp, 200, **enrolment_links("/0/id", "GetEnrolment", "Move"))
    @problems(bp, 401, 403, 404)
    def get(self, course_id: int) -> list[Enrolment]:
        """Participants (staff and the course's instructors)."""
        actor = require_user()
        course = access.get_course(course_id, actor)
        if not access.can_see_participants(actor, course):
            raise Forbidden(code="not_instructor")
        return enrolment_services.participants(course)


@bp.route("/me/enrolments")
class MyEnrolments(MethodView):
    @user_required
    @bp.response(200, MyEnrolmentSchema(many=True))
    @links(
        bp,
        200,
        **enrolment_links("/0/id", "GetEnrolment", "CancelEnrolment", "Pay"),
        **course_links("/0/course_id", "GetCourse"),
    )
    @problems(bp, 401)
    def get(self) -> list[Enrolment]:
        """The current user's bookings with status, waiting-list position and next session."""
        return enrolment_services.my_enrolments(require_user())


@bp.route("/enrolments/<int:enrolment_id>")
class EnrolmentItem(MethodView):
    @user_required
    @bp.response(200, EnrolmentOutSchema)
    @links(
        bp,
        200,
        **enrolment_links("/id", "CancelEnrolment", "Pay", "Move"),
        **course_links("/course_id", "GetCourse"),
    )
    @problems(bp, 401, 404)
    def get(self, enrolment_id: int) -> Enrolment:
        """One of the user's bookings (staff: any)."""
        return enrolment_services.get_enrolment(enrolment_id, require_user())

    @user_required
    @bp.arguments(CancelArgsSchema, location="query")
    @bp.response(200, EnrolmentOutSchema)
    @problems(bp, 401, 403, 404, 409, 422, 503)
    def delete(self, args: dict[str, Any], enrolment_id: int) -> Enrolment:
        """Cancel a booking (until the deadline; staff may `override`)."""
        actor = require_user()
        enrolment = enrolment_services.get_enrolment(enrolment_id, actor)
        return enrolment_services.cancel_enrolment(
            enrolment, actor, override=args.get("override", False)
        )


@bp.route("/enrolments/<int:enrolment_id>/payment")
class EnrolmentPayment(MethodView):
    @user_required
    @bp.arguments(PayArgsSchema, required=False)
    @bp.response(201, PaymentOutSchema)
    @links(bp, 201, **payment_links("/id", "GetPayment", "MarkPaid", "Refund"))
    @problems(bp, 401, 404, 409, 422, 503)
    @problems(bp, 502)
    def post(self, args: dict[str, Any], enrolment_id: int) -> Any:
        """Pay a pending booking: the Stripe Checkout URL, or bank-transfer instructions."""

        actor = require_user()
        enrolment = enrolment_services.get_enrolment(enrolment_id, actor)
        return pay_enrolment(enrolment, actor, args.get("provider"))


@bp.route("/enrolments/<int:enrolment_id>/move")
class EnrolmentMove(MethodView):
    @staff_required
    @bp.arguments(MoveSchema)
    @bp.response(201, EnrolmentOutSchema)
    @links(bp, 201, **enrolment_links("/id", "GetEnrolment", "CancelEnrolment"))
    @problems(bp, 401, 403, 404, 409, 422)
    def post(self, data: dict[str, Any], enrolment_id: int) -> Enrolment:
        """Move a participant to another course (staff, audited)."""
        actor = require_user()
        enrolment = enrolment_services.get_enrolment(enrolment_id, actor)
        target = db.session.get(Course, data["course_id"])
        if target is None:
            raise NotFound(code="course_not_found")
        return enrolment_services.move_enrolment(actor, enrolment, target)


@bp.route("/enrolments/<int:enrolment_id>/move-preview")
@staff_required
@bp.arguments(MovePreviewArgsSchema, location="query")
@bp.response(200, MoveSettlementSchema)
@problems(bp, 401, 403, 404, 409, 422)
def move_preview(args: dict[str, Any], enrolment_id: int) -> charges.MoveSettlement:
    """What moving the booking to `course_id` would do to the money (staff; nothing changes).
    Refused as the move itself would be (409 `course_full`, ...)."""
    actor = require_user()
    access.require_manager(actor)
    enrolment = enrolment_services.get_enrolment(enrolment_id, actor)
    target = db.session.get(Course, args["course_id"])
    if target is None:
        raise NotFound(code="course_not_found")
    enrolment_services.check_can_move(enrolment, target)
    return charges.move_settlement(enrolment, target)


@bp.route("/enrolments/<int:enrolment_id>/reduction")
class EnrolmentReduction(MethodView):
    @staff_required
    @bp.response(200, ReductionCheckOutSchema)
    @problems(bp, 401, 403, 404, 409)
    def get(self, enrolment_id: int) -> Any:
        """The check of a booking's claimed reduction (staff)."""
        actor = require_user()
        access.require_manager(actor)
        enrolment = enrolment_services.get_enrolment(enrolment_id, actor)
        check = reductions.check_of(enrolment)
        if check is None:
            raise NotFound(code="no_reduction")
        return check

    @staff_required
    @bp.arguments(ReductionDecisionSchema)
    @bp.response(200, ReductionCheckOutSchema)
    @problems(bp, 401, 403, 404, 409, 422)
    def post(self, data: dict[str, Any], enrolment_id: int) -> Any:
        """Verify or reject a claimed reduction, once (staff, audited). A rejection makes the
        booking cost the full fee: the amount due changes, or a new payment is due."""
        actor = require_user()
        enrolment = enrolment_services.get_enrolment(enrolment_id, actor)
        return reductions.decide_reduction(actor, enrolment, data["decision"], data["note"])
