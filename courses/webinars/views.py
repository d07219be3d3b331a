"""Webinar pages: join a session, attendance (per session, per course), Jitsi's webhook."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from flask import (
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
from wtforms import RadioField, SelectChoice

from courses import access
from courses.blueprints import jitsi_webhooks as webhooks
from courses.blueprints import webinars as bp
from courses.webinars import attendance as attendance_services
from courses.webinars import event_sync
from courses.webinars import events as webinar_events
from courses.webinars import join as webinar_join
from courses.webinars import live as webinar_live
from vhs.auth import require_user, staff_required, user_required
from vhs.errors import Invalid
from vhs.extensions import csrf
from vhs.formats import spreadsheet_safe
from vhs.forms import EmptyForm
from vhs.i18n import local_zone

NO_STORE = "private, no-store"
MARK_CHOICES = {"": _l("not marked"), "present": _l("present"), "absent": _l("absent")}
MARK_VALUES = {"": None, "present": True, "absent": False}


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
    session = webinar_join.get_webinar_session(session_id, user)
    decision = webinar_join.join_decision(user, session)
    details = None
    if decision.can_join_now:
        details = webinar_join.join_details(user, decision)
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


# --- attendance ------------------------------------------------------------------------------


def _marks_form(sheet: attendance_services.SessionSheet) -> FlaskForm:
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
    session = webinar_join.get_session(session_id, user)
    sheet = attendance_services.session_attendance(user, session)
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
        live=webinar_live.live_room(user, session) if session.online else None,
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
    session = webinar_join.get_session(session_id, user)
    sheet = attendance_services.session_attendance(user, session)
    form = _marks_form(sheet)
    if not form.validate_on_submit():
        raise Invalid(errors=form.errors)
    marks = {u.id: MARK_VALUES[form[f"mark_{u.id}"].data or ""] for u, _r, _p in sheet.entries}
    changed = attendance_services.mark_attendance(user, session, marks)
    flash(_("Attendance has been saved (%(n)d changes).", n=changed), "success")
    return redirect(url_for("webinars.session_attendance", session_id=session.id))


@bp.route("/teaching/courses/<int:course_id>/attendance")
@user_required
def course_attendance(course_id: int) -> Any:
    """Participants x sessions for one course."""
    user = require_user()
    course = access.get_course(course_id, user)
    report = attendance_services.attendance_report(user, course)
    html = render_template(
        "courses/attendance_report.html",
        course=course,
        report=report,
        min_minutes=current_app.config["VHS"].attendance_min_minutes,
    )
    return _no_store(html)


def _cell_text(cell: attendance_services.Cell) -> str:
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
    course = access.get_course(course_id, user)
    report = attendance_services.attendance_report(user, course)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(
        [_("Name"), _("E-mail address")]
        + [s.starts_at.astimezone(local_zone()).strftime("%d.%m.%Y %H:%M") for s in report.sessions]
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
    session = webinar_join.get_session(session_id, user)
    webinar_join.replace_room(user, session)
    flash(
        _("The session has a new room. Everyone joins it through this platform as before."),
        "success",
    )
    return redirect(url_for("webinars.session_attendance", session_id=session.id))


# --- Jitsi webhook ---------------------------------------------------------------------------


@webhooks.route("/jitsi", methods=["POST"])
@csrf.exempt
def jitsi_webhook() -> Response:
    """Jitsi events (JaaS-signed or with the shared secret): recorded once, then counted."""
    status, outcome = webinar_events.process_webhook(request.get_data(cache=False), request.headers)
    current_app.logger.info("jitsi webhook: %s %s", status, outcome)
    return Response(outcome + "\n", status=status, mimetype="text/plain")


# --- Prosody's event_sync module ------------------------------------------------------------


def _event_sync(event: str) -> Response:
    status, outcome = event_sync.process(event, request.get_data(cache=False), request.headers)
    current_app.logger.info("jitsi event_sync %s: %s %s", event, status, outcome)
    return Response(outcome + "\n", status=status, mimetype="text/plain")


@webhooks.route("/jitsi/event-sync/events/room/created", methods=["POST"])
@csrf.exempt
def event_sync_room_created() -> Response:
    """A room was created (``muc-room-created``)."""
    return _event_sync("room/created")


@webhooks.route("/jitsi/event-sync/events/room/destroyed", methods=["POST"])
@csrf.exempt
def event_sync_room_destroyed() -> Response:
    """A room ended (``muc-room-destroyed``, with ``all_occupants``)."""
    return _event_sync("room/destroyed")


@webhooks.route("/jitsi/event-sync/events/occupant/joined", methods=["POST"])
@csrf.exempt
def event_sync_occupant_joined() -> Response:
    """Someone entered a room (``muc-occupant-joined``)."""
    return _event_sync("occupant/joined")


@webhooks.route("/jitsi/event-sync/events/occupant/left", methods=["POST"])
@csrf.exempt
def event_sync_occupant_left() -> Response:
    """Someone left a room (``muc-occupant-left``)."""
    return _event_sync("occupant/left")
