"""Staff pages for the bookings of a course: book on behalf, cancel, move, check reductions."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice

from courses.blueprints import staff as bp
from courses.enrolment import charges, reductions
from courses.enrolment import services as enrolment_services
from courses.enrolment.forms import BookForm, CancelEnrolmentForm, MoveForm, ReductionDecisionForm
from courses.enrolment.models import ReductionState
from courses.labels import REDUCTION_LABELS
from courses.models import (
    Course,
    Enrolment,
    EnrolmentStatus,
    ReductionReason,
)
from courses.staff import Page, form_status, get_or_404, show_refusal, staff_page
from vhs.accounts.services import find_user_by_email
from vhs.auth import require_user, staff_required
from vhs.db import db
from vhs.errors import Invalid
from vhs.i18n import money

# --- enrolments -------------------------------------------------------------------------------


def _book_form(course: Course) -> BookForm:
    form = BookForm(prefix="book")
    choices = [SelectChoice("", _("No reduction – full fee"))]
    if course.reduced_fee_cents is not None:
        choices += [SelectChoice(r.value, str(label)) for r, label in REDUCTION_LABELS.items()]
    form.reduction_reason.choices = choices
    return form


def _enrolments_page(course: Course, book: BookForm, status: int = 200) -> Page:
    active = enrolment_services.participants(course)
    return staff_page(
        "enrolments.html",
        status,
        course=course,
        seats=[e for e in active if e.holds_seat],
        waiting=[e for e in active if e.status is EnrolmentStatus.WAITLISTED],
        history=enrolment_services.participants(
            course, (EnrolmentStatus.CANCELLED, EnrolmentStatus.EXPIRED)
        ),
        book=book,
    )


@bp.route("/courses/<int:course_id>/enrolments")
@staff_required
def enrolments(course_id: int) -> Page:
    """Participants and waiting list, with the claimed reductions, and booking for someone."""
    course = get_or_404(Course, course_id)
    return _enrolments_page(course, _book_form(course))


@bp.route("/courses/<int:course_id>/enrolments", methods=["POST"])
@staff_required
def book(course_id: int) -> Any:
    """Book a person with an account on their behalf (at the counter or by phone; audited)."""
    course = get_or_404(Course, course_id)
    form = _book_form(course)
    if form.validate_on_submit():
        person = find_user_by_email(form.email.data)
        reason = form.reduction_reason.data
        try:
            if person is None or not person.is_active:
                raise Invalid(errors={"email": [_l("There is no account with this address.")]})
            enrolment = enrolment_services.enrol(
                course,
                person,
                reduction=ReductionReason(reason) if reason else None,
                actor=require_user(),
            )
        except Invalid as exc:
            show_refusal(form, exc)
        else:
            if enrolment.status is EnrolmentStatus.WAITLISTED:
                message = _(
                    "%(name)s is number %(n)d on the waiting list.",
                    name=person.name,
                    n=enrolment.waitlist_position or 0,
                )
            elif enrolment.status is EnrolmentStatus.PENDING_PAYMENT:
                message = _(
                    "%(name)s is booked; the seat is held until the fee is paid.", name=person.name
                )
            else:
                message = _("%(name)s is booked.", name=person.name)
            flash(message, "success")
            return redirect(url_for("staff.enrolments", course_id=course.id))
    return _enrolments_page(course, form, status=422)


@bp.route("/enrolments/<int:enrolment_id>/cancel", methods=["POST"])
@staff_required
def cancel_enrolment(enrolment_id: int) -> Any:
    """Cancel a booking on the participant's behalf, past the deadline if staff say so."""
    enrolment = get_or_404(Enrolment, enrolment_id)
    form = CancelEnrolmentForm()
    form.validate_on_submit()
    enrolment_services.cancel_enrolment(
        enrolment, require_user(), override=bool(form.override.data)
    )
    flash(_("The booking of %(name)s has been cancelled.", name=enrolment.user.name), "success")
    return redirect(url_for("staff.enrolments", course_id=enrolment.course_id))


def find_target_course(text: str, source: Course) -> Course:
    """The course a member of staff means by a course number or an id.

    A course number is unique per term only: the source's term wins, else it must be unique.
    """
    text = text.strip()
    matches = list(db.session.execute(sa.select(Course).where(Course.code == text)).scalars())
    if len(matches) > 1:
        same_term = [c for c in matches if c.term_id == source.term_id]
        if len(same_term) == 1:
            return same_term[0]
        raise Invalid(
            errors={
                "course_id": [
                    _l("This course number exists in several terms; please enter the id.")
                ]
            }
        )
    if matches:
        return matches[0]
    if text.lstrip("#").isdigit() and len(text) < 10:
        course = db.session.get(Course, int(text.lstrip("#")))
        if course is not None:
            return course
    raise Invalid(errors={"course_id": [_l("There is no course with this number or id.")]})


@bp.route("/enrolments/<int:enrolment_id>/move", methods=["GET", "POST"])
@staff_required
def move_enrolment(enrolment_id: int) -> Any:
    """Move a participant to another course: first say what happens to the money, then move."""
    enrolment = get_or_404(Enrolment, enrolment_id)
    source = enrolment.course
    form = MoveForm()
    if form.validate_on_submit():
        try:
            target = find_target_course(form.course_id.data, source)
            if form.confirmed.data != "y":
                enrolment_services.check_can_move(enrolment, target)
                settlement = charges.move_settlement(enrolment, target)
                return staff_page(
                    "move_confirm.html",
                    enrolment=enrolment,
                    course=source,
                    target=target,
                    settlement=settlement,
                    form=form,
                )
            moved, settlement = enrolment_services.move_and_settle(
                require_user(), enrolment, target
            )
        except Invalid as exc:
            show_refusal(form, exc)
        else:
            flash(
                _(
                    "%(name)s has been moved to %(code)s %(title)s.",
                    name=moved.user.name,
                    code=target.code,
                    title=target.title,
                )
                + " "
                + settlement_message(settlement),
                "success",
            )
            return redirect(url_for("staff.enrolments", course_id=source.id))
    return staff_page("move.html", form_status(), enrolment=enrolment, course=source, form=form)


def settlement_message(settlement: charges.MoveSettlement) -> str:
    """What a move did to the money, for the flash after it."""
    if settlement.settle is charges.Settle.NOTHING:
        return _("The price stays the same.")
    amount = money(settlement.amount_cents)
    return {
        charges.Settle.REFUND: _(
            "%(amount)s is being refunded (credit note issued).", amount=amount
        ),
        charges.Settle.CHARGE: _(
            "A payment of %(amount)s is due; the invoice went to the participant.", amount=amount
        ),
        charges.Settle.REPRICE: _("The amount due is now %(amount)s.", amount=amount),
    }[settlement.settle]


# --- reductions -------------------------------------------------------------------------------


@bp.route("/enrolments/<int:enrolment_id>/reduction", methods=["GET", "POST"])
@staff_required
def reduction(enrolment_id: int) -> Any:
    """Verify or reject a claimed reduction: choose and give a note, confirm, done."""
    enrolment = get_or_404(Enrolment, enrolment_id)
    check = reductions.check_of(enrolment)
    form = ReductionDecisionForm()
    context = {
        "enrolment": enrolment,
        "course": enrolment.course,
        "check": check,
        "outcome": reductions.rejection_outcome(enrolment),
        "form": form,
    }
    if form.validate_on_submit():
        decision = ReductionState(form.decision.data)
        try:
            if form.confirmed.data != "y":
                reductions.validate_decision(decision, form.note.data or "")
                reductions.check_can_decide(enrolment, check)
                return staff_page("reduction_confirm.html", decision=decision, **context)
            reductions.decide_reduction(require_user(), enrolment, decision, form.note.data or "")
        except Invalid as exc:
            show_refusal(form, exc)
        else:
            if decision is ReductionState.VERIFIED:
                message = _("The reduction of %(name)s is verified.", name=enrolment.user.name)
            else:
                message = _(
                    "The reduction of %(name)s is rejected; they have been told by e-mail.",
                    name=enrolment.user.name,
                )
            flash(message, "success")
            return redirect(url_for("staff.enrolments", course_id=enrolment.course_id))
    return staff_page("reduction.html", form_status(), **context)
