"""Webinar pages: join a session, attendance (per session, per course), certificates, webhook."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectChoice, StringField
from wtforms.validators import DataRequired, Length, NumberRange

from courses import services, webinars
from courses.certificate_pdf import certificate_pdf, verify_url
from courses.models import Course, CourseStatus, SessionStatus
from vhs.accounts.models import User
from vhs.auth import current, require_user, staff_required, user_required
from vhs.db import db
from vhs.errors import Invalid, NotFound
from vhs.extensions import csrf
from vhs.formats import spreadsheet_safe
from vhs.i18n import BERLIN

bp = Blueprint("webinars", __name__)
webhooks = Blueprint("jitsi_webhooks", __name__, url_prefix="/webhooks")

NO_STORE = "private, no-store"
MARK_CHOICES = {"": _l("not marked"), "present": _l("present"), "absent": _l("absent")}
MARK_VALUES = {"": None, "present": True, "absent": False}


class EmptyForm(FlaskForm):
    """CSRF only."""


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


# --- joining ---------------------------------------------------------------------------------


@bp.route("/sessions/<int:session_id>/join")
@user_required
def join(session_id: int) -> Any:
    """The meeting page: the embedded room in the window, else when it opens or why not."""
    user = require_user()
    session = webinars.get_webinar_session(session_id, user)
    decision = webinars.join_decision(user, session)
    details = None
    if decision.can_join_now:
        details = webinars.join_details(user, decision)
        # The page loads Jitsi's IFrame API and frames the meeting from the Jitsi host only.
        origin = f"https://{details.domain}"
        g.csp_extra = {"script-src": origin, "frame-src": origin}
    status = 200 if decision.allowed else 403
    html = render_template(
        "courses/webinar_join.html",
        session=session,
        course=session.course,
        decision=decision,
        details=details,
    )
    return _no_store(html, status)


@bp.app_template_global()
def webinar_panel(course: Course) -> dict[str, Any] | None:
    """What the course page offers about webinars and certificates (None: nothing)."""
    user = current()
    if user is None:
        return None
    teaches = services.can_see_participants(user, course)
    enrolment = services.active_enrolment(course.id, user.id)
    participant = enrolment is not None and enrolment.status.value == "confirmed"
    if not (teaches or participant):
        return None
    upcoming = webinars.next_online_session(course)
    decision = webinars.join_decision(user, upcoming) if upcoming else None
    certificate = None
    if participant and course.status is CourseStatus.COMPLETED:
        certificate = webinars.certificate_status(user, course)
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


# --- attendance ------------------------------------------------------------------------------


def _marks_form(sheet: webinars.SessionSheet) -> FlaskForm:
    """One radio group per confirmed participant: not marked / present / absent."""

    class MarksForm(FlaskForm):
        pass

    choices = [SelectChoice(value, str(label)) for value, label in MARK_CHOICES.items()]
    for user, row, _present in sheet.entries:
        current_value = ""
        if row is not None and row.manual_present is not None:
            current_value = "present" if row.manual_present else "absent"
        setattr(
            MarksForm,
            f"mark_{user.id}",
            RadioField(user.name, choices=choices, default=current_value, validate_choice=True),
        )
    return MarksForm()


def _attendance_page(session_id: int, status: int = 200, form: FlaskForm | None = None) -> Any:
    user = require_user()
    session = webinars.get_session(session_id, user)
    sheet = webinars.session_attendance(user, session)
    form = form or _marks_form(sheet)
    html = render_template(
        "courses/session_attendance.html",
        session=session,
        course=session.course,
        sheet=sheet,
        form=form,
        replace_form=EmptyForm(),
        can_replace=user.is_staff and session.online,
        min_minutes=current_app.config["VHS"].attendance_min_minutes,
    )
    return _no_store(html, status)


@bp.route("/teaching/sessions/<int:session_id>/attendance")
@user_required
def session_attendance(session_id: int) -> Any:
    """Who was at one session: minutes in Jitsi, and the instructor's marks."""
    return _attendance_page(session_id)


@bp.route("/teaching/sessions/<int:session_id>/attendance", methods=["POST"])
@user_required
def mark_attendance(session_id: int) -> Any:
    """Save the instructor's marks (present / absent / not marked)."""
    user = require_user()
    session = webinars.get_session(session_id, user)
    sheet = webinars.session_attendance(user, session)
    form = _marks_form(sheet)
    if not form.validate_on_submit():
        raise Invalid(errors=form.errors)
    marks = {u.id: MARK_VALUES[form[f"mark_{u.id}"].data or ""] for u, _r, _p in sheet.entries}
    changed = webinars.mark_attendance(user, session, marks)
    flash(_("Attendance has been saved (%(n)d changes).", n=changed), "success")
    return redirect(url_for("webinars.session_attendance", session_id=session.id))


@bp.route("/teaching/courses/<int:course_id>/attendance")
@user_required
def course_attendance(course_id: int) -> Any:
    """Participants x sessions for one course."""
    user = require_user()
    course = services.get_course(course_id, user)
    report = webinars.attendance_report(user, course)
    html = render_template(
        "courses/attendance_report.html",
        course=course,
        report=report,
        min_minutes=current_app.config["VHS"].attendance_min_minutes,
    )
    return _no_store(html)


def _cell_text(cell: webinars.Cell) -> str:
    if not cell.held:
        return ""
    if not cell.present:
        return _("absent")
    row = cell.attendance
    if row is not None and row.manual_present is None and row.seconds_present:
        return _("present (%(minutes)d min in Jitsi)", minutes=row.seconds_present // 60)
    return _("present")


@bp.route("/teaching/courses/<int:course_id>/attendance.csv")
@user_required
def course_attendance_csv(course_id: int) -> Response:
    """The attendance report for German Excel: UTF-8 with BOM, semicolons."""
    user = require_user()
    course = services.get_course(course_id, user)
    report = webinars.attendance_report(user, course)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(
        [_("Name"), _("E-mail address")]
        + [s.starts_at.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M") for s in report.sessions]
        + [_("Sessions attended"), _("Attendance in %"), _("Certificate possible")]
    )
    for row in report.rows:
        writer.writerow(
            [spreadsheet_safe(row.user.name), spreadsheet_safe(row.user.email or "")]
            + [_cell_text(c) for c in row.cells]
            + [f"{row.present}/{row.total}", row.percent, _("yes") if row.eligible else _("no")]
        )
    resp = Response("\ufeff" + out.getvalue(), mimetype="text/csv")
    resp.charset = "utf-8"
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", _("attendance") + "-" + course.code).strip("._")
    resp.headers["Content-Disposition"] = f'attachment; filename="{stem}.csv"'
    resp.headers["Cache-Control"] = NO_STORE
    return resp


@bp.route("/staff/sessions/<int:session_id>/room/replace", methods=["POST"])
@staff_required
def replace_room(session_id: int) -> Any:
    """Give the session a new Jitsi room (the old link stops leading anywhere)."""
    user = require_user()
    EmptyForm().validate_on_submit()
    session = webinars.get_session(session_id, user)
    webinars.replace_room(user, session)
    flash(
        _("The session has a new room. Everyone joins it through this platform as before."),
        "success",
    )
    return redirect(url_for("webinars.session_attendance", session_id=session.id))


# --- certificates ----------------------------------------------------------------------------


def _pdf_response(certificate: Any, holder: User) -> Response:
    data = certificate_pdf(certificate, holder.locale)
    code = re.sub(r"[^A-Za-z0-9-]", "", certificate.details.get("course_code", "kurs"))
    resp = Response(data, mimetype="application/pdf")
    resp.headers["Content-Disposition"] = f'inline; filename="teilnahmebescheinigung-{code}.pdf"'
    resp.headers["Cache-Control"] = NO_STORE
    return resp


@bp.route("/courses/<int:course_id>/certificate.pdf")
@user_required
def certificate(course_id: int) -> Response:
    """The participant's own certificate (issued on first download once eligible)."""
    user = require_user()
    course = services.get_course(course_id, user)
    return _pdf_response(webinars.certificate_for(user, course), user)


@bp.route("/certificates/verify/<code>")
def verify_certificate(code: str) -> Any:
    """Public: confirm what a certificate says (or that it was revoked), nothing more."""
    try:
        found = webinars.find_certificate(code)
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
    course = services.get_course(course_id, user)
    report, issued = webinars.course_certificates(user, course)
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
    course = services.get_course(course_id, user)
    form = IssueForm()
    if not form.validate_on_submit():
        raise Invalid(errors=form.errors)
    person = db.session.get(User, form.user_id.data)
    if person is None:
        raise Invalid(
            errors={"user_id": [_l("Certificates are issued to confirmed participants.")]}
        )
    webinars.issue_certificate(user, course, person)
    flash(_("The certificate for %(name)s has been issued.", name=person.name), "success")
    return redirect(url_for("webinars.staff_certificates", course_id=course.id))


@bp.route("/staff/certificates/<int:certificate_id>/revoke", methods=["POST"])
@staff_required
def revoke_certificate(certificate_id: int) -> Any:
    """Withdraw a certificate (audited); its verification page then says so."""
    user = require_user()
    found = webinars.get_certificate(certificate_id)
    form = RevokeForm()
    if not form.validate_on_submit():
        raise Invalid(errors=form.errors)
    webinars.revoke_certificate(user, found, form.reason.data)
    flash(_("The certificate has been revoked."), "success")
    return redirect(url_for("webinars.staff_certificates", course_id=found.course_id))


@bp.route("/staff/certificates/<int:certificate_id>.pdf")
@staff_required
def staff_certificate_pdf(certificate_id: int) -> Response:
    """A certificate as its holder got it (e.g. to print it for them)."""
    found = webinars.get_certificate(certificate_id)
    return _pdf_response(found, found.user)


# --- Jitsi webhook ---------------------------------------------------------------------------


@webhooks.route("/jitsi", methods=["POST"])
@csrf.exempt
def jitsi_webhook() -> Response:
    """Jitsi events (JaaS-signed or with the shared secret): recorded once, then counted."""
    status, outcome = webinars.process_webhook(request.get_data(cache=False), request.headers)
    current_app.logger.info("jitsi webhook: %s %s", status, outcome)
    return Response(outcome + "\n", status=status, mimetype="text/plain")


def blueprints() -> list[Blueprint]:
    """HTML blueprints of the webinar part."""
    return [bp, webhooks]
