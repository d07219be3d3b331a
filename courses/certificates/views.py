"""Certificate pages: the holder's PDF, public verification, staff issue and revoke."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import (
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, Length, NumberRange

from courses import access
from courses.blueprints import webinars as bp
from courses.certificates import services as certificate_services
from courses.certificates.pdf import certificate_response, verify_url
from courses.enrolment import services as enrolment_services
from courses.models import Course, CourseStatus, SessionStatus
from courses.webinars import join as webinar_join
from vhs.accounts.models import User
from vhs.auth import current, require_user, staff_required, user_required
from vhs.db import db
from vhs.errors import Invalid, NotFound
from vhs.forms import EmptyForm

NO_STORE = "private, no-store"


class RevokeForm(FlaskForm):
    """Staff withdraw a certificate, saying why."""

    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=300)])


class IssueForm(FlaskForm):
    """Staff issue a certificate to one participant."""

    user_id = IntegerField(validators=[DataRequired(), NumberRange(min=1, max=2**31 - 1)])


def _no_store(body: Any, status: int = 200) -> Response:
    resp = current_app.make_response((body, status))
    resp.headers["Cache-Control"] = NO_STORE
    return resp


@bp.app_template_global()
def webinar_panel(course: Course) -> dict[str, Any] | None:
    """What the course page offers about webinars and certificates (None: nothing)."""
    user = current()
    if user is None:
        return None
    teaches = access.can_see_participants(user, course)
    enrolment = enrolment_services.active_enrolment(course.id, user.id)
    participant = enrolment is not None and enrolment.status.value == "confirmed"
    if not (teaches or participant):
        return None
    upcoming = webinar_join.next_online_session(course)
    decision = webinar_join.join_decision(user, upcoming) if upcoming else None
    certificate = None
    if participant and course.status is CourseStatus.COMPLETED:
        certificate = certificate_services.certificate_status(user, course)
    if upcoming is None and certificate is None and not teaches:
        return None
    return {
        "teaches": teaches,
        "staff": user.is_staff,
        "session": upcoming,
        "decision": decision,
        "certificate": certificate,
        "has_sessions": any(s.status is SessionStatus.SCHEDULED for s in course.sessions),
    }


# --- certificates ----------------------------------------------------------------------------


@bp.route("/courses/<int:course_id>/certificate.pdf")
@user_required
def certificate(course_id: int) -> Response:
    """The participant's own certificate (issued on first download once eligible)."""
    user = require_user()
    course = access.get_course(course_id, user)
    return certificate_response(certificate_services.certificate_for(user, course), user)


@bp.route("/certificates/verify/<code>")
def verify_certificate(code: str) -> Any:
    """Public: confirm what a certificate says (or that it was revoked), nothing more."""
    try:
        found = certificate_services.find_certificate(code)
    except NotFound:
        return render_template("courses/certificate_verify.html", certificate=None, code=code), 404
    details = dict(found.details)
    for key in ("first_day", "last_day"):
        details[key] = date.fromisoformat(details[key]) if details.get(key) else None
    return render_template(
        "courses/certificate_verify.html", certificate=found, details=details, code=code
    )


@bp.route("/staff/courses/<int:course_id>/certificates")
@staff_required
def staff_certificates(course_id: int) -> Any:
    """Every participant's attendance and certificate; issue or revoke by hand."""
    user = require_user()
    course = access.get_course(course_id, user)
    report, issued = certificate_services.course_certificates(user, course)
    html = render_template(
        "courses/certificates_staff.html",
        course=course,
        report=report,
        issued=issued,
        issue_form=EmptyForm(),
        revoke_form=RevokeForm(),
        verify_url=verify_url,
    )
    return _no_store(html)


@bp.route("/staff/courses/<int:course_id>/certificates", methods=["POST"])
@staff_required
def issue_certificate(course_id: int) -> Any:
    """Issue a certificate to a participant by hand (audited)."""
    user = require_user()
    course = access.get_course(course_id, user)
    form = IssueForm()
    if not form.validate_on_submit():
        raise Invalid(errors=form.errors)
    person = db.session.get(User, form.user_id.data)
    if person is None:
        raise Invalid(
            errors={"user_id": [_l("Certificates are issued to confirmed participants.")]}
        )
    certificate_services.issue_certificate(user, course, person)
    flash(_("The certificate for %(name)s has been issued.", name=person.name), "success")
    return redirect(url_for("webinars.staff_certificates", course_id=course.id))


@bp.route("/staff/certificates/<int:certificate_id>/revoke", methods=["POST"])
@staff_required
def revoke_certificate(certificate_id: int) -> Any:
    """Withdraw a certificate (audited); its verification page then says so."""
    user = require_user()
    found = certificate_services.get_certificate(certificate_id)
    form = RevokeForm()
    if not form.validate_on_submit():
        raise Invalid(errors=form.errors)
    certificate_services.revoke_certificate(user, found, form.reason.data)
    flash(_("The certificate has been revoked."), "success")
    return redirect(url_for("webinars.staff_certificates", course_id=found.course_id))


@bp.route("/staff/certificates/<int:certificate_id>.pdf")
@staff_required
def staff_certificate_pdf(certificate_id: int) -> Response:
    """A certificate as its holder got it (e.g. to print it for them)."""
    found = certificate_services.get_certificate(certificate_id)
    return certificate_response(found, found.user)
