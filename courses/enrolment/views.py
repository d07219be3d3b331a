"""Resident pages for bookings: book, cancel, "Meine Kurse"."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from courses import access
from courses.blueprints import courses as bp
from courses.enrolment import charges
from courses.enrolment import services as enrolment_services
from courses.enrolment.forms import enrol_form
from courses.labels import page_labels
from courses.models import (
    EnrolmentStatus,
    ReductionReason,
)
from vhs.auth import require_user, user_required
from vhs.errors import Invalid
from vhs.forms import EmptyForm


@bp.route("/courses/<int:course_id>/enrol", methods=["POST"])
@user_required
def enrol(course_id: int) -> Any:
    """Book the course (form on the course page)."""
    user = require_user()
    course = access.get_course(course_id, user)
    form = enrol_form(course)
    if not form.validate_on_submit():
        raise Invalid(errors=form.errors)
    reason = form.reduction_reason.data or None
    enrolment = enrolment_services.enrol(
        course, user, reduction=ReductionReason(reason) if reason else None
    )
    if enrolment.status is EnrolmentStatus.WAITLISTED:
        flash(
            _(
                "The course is full. You are number %(n)d on the waiting list; we will write "
                "to you when a seat becomes free.",
                n=enrolment.waitlist_position or 0,
            ),
            "success",
        )
    elif enrolment.status is EnrolmentStatus.PENDING_PAYMENT:
        flash(_("Your seat is reserved. Please pay the fee to confirm it."), "success")
        return redirect(url_for("courses_pay.pay", enrolment_id=enrolment.id))
    else:
        flash(_("You are booked. We have sent you a confirmation."), "success")
    return redirect(url_for("courses.my_courses"))


@bp.route("/enrolments/<int:enrolment_id>/cancel", methods=["POST"])
@user_required
def cancel(enrolment_id: int) -> Any:
    """Cancel a booking (until the free cancellation deadline)."""
    user = require_user()
    EmptyForm().validate_on_submit()
    enrolment = enrolment_services.get_enrolment(enrolment_id, user)
    enrolment_services.cancel_enrolment(enrolment, user)
    flash(_("Your booking has been cancelled."), "success")
    return redirect(url_for("courses.my_courses"))


@bp.route("/me/courses")
@user_required
def my_courses() -> str:
    """ "Meine Kurse": bookings with status, waiting-list position and next session."""
    user = require_user()
    enrolments = enrolment_services.my_enrolments(user)
    due = charges.open_charge_payments(enrolments)
    rows = [
        {
            "enrolment": e,
            "course": e.course,
            "next_session": e.course.next_session(),
            "can_cancel": e.active and enrolment_services.can_cancel_free(e),
            "due": due.get(e.id, []),
        }
        for e in enrolments
    ]
    return render_template(
        "courses/my_courses.html",
        rows=rows,
        teaching=access.courses_taught_by(user) if (user.is_instructor or user.is_staff) else [],
        cancel_form=EmptyForm(),
        **page_labels(),
    )
