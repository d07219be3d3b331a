"""Staff pages for the sessions of a course: add, generate, change, cancel."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from wtforms import SelectChoice

from courses.blueprints import staff as bp
from courses.labels import WEEKDAYS
from courses.models import (
    Course,
    Session,
)
from courses.planning import sessions as session_services
from courses.planning.forms import (
    GenerateForm,
    ReasonForm,
    SessionForm,
)
from courses.staff import Page, dt_local, form_status, get_or_404, show_refusal, staff_page
from vhs.auth import require_user, staff_required
from vhs.errors import Invalid
from vhs.i18n import fmt_date

# --- sessions ---------------------------------------------------------------------------------


def _generate_form(**kwargs: Any) -> GenerateForm:
    form = GenerateForm(prefix="gen", **kwargs)
    form.weekday.choices = [SelectChoice(n, str(label)) for n, label in WEEKDAYS.items()]
    return form


def _one_form(course: Course, **kwargs: Any) -> SessionForm:
    return SessionForm(prefix="one", data={"room": course.room}, **kwargs)


def _sessions_page(course: Course, one: SessionForm, gen: GenerateForm, status: int = 200) -> Page:
    return staff_page("sessions.html", status, course=course, one=one, gen=gen)


@bp.route("/courses/<int:course_id>/sessions")
@staff_required
def sessions(course_id: int) -> Page:
    """A course's sessions, a form for one more, and the weekly generator."""
    course = get_or_404(Course, course_id)
    return _sessions_page(course, _one_form(course), _generate_form())


@bp.route("/courses/<int:course_id>/sessions", methods=["POST"])
@staff_required
def add_session(course_id: int) -> Any:
    """Add one session (date and Berlin wall-clock times)."""
    course = get_or_404(Course, course_id)
    one = _one_form(course)
    if one.validate_on_submit():
        try:
            session = session_services.add_session(require_user(), course, one.to_data())
        except Invalid as exc:
            show_refusal(one, exc, {"starts_at": "start", "ends_at": "end"})
        else:
            flash(_("A session on %(day)s has been added.", day=_day(session.starts_at)), "success")
            return redirect(url_for("staff.sessions", course_id=course.id))
    return _sessions_page(course, one, _generate_form(formdata=None), status=422)


@bp.route("/courses/<int:course_id>/sessions/generate", methods=["POST"])
@staff_required
def generate_sessions(course_id: int) -> Any:
    """Create a series: weekly (or every n weeks) on one weekday, skipping given dates."""
    course = get_or_404(Course, course_id)
    gen = _generate_form()
    if gen.validate_on_submit():
        plan = session_services.SessionPlan(
            first_date=gen.first_date.data,
            weekday=gen.weekday.data,
            start=gen.start.data,
            end=gen.end.data,
            count=gen.count.data,
            skip_dates=frozenset(gen.skip_dates.data or []),
            interval_weeks=gen.interval_weeks.data,
        )
        try:
            created = session_services.generate_sessions(require_user(), course, plan)
        except Invalid as exc:
            show_refusal(gen, exc)
        else:
            flash(
                _("%(n)d sessions have been added.", n=len(created)),
                "success",
            )
            return redirect(url_for("staff.sessions", course_id=course.id))
    return _sessions_page(course, _one_form(course, formdata=None), gen, status=422)


def _day(dt: datetime) -> str:
    return fmt_date(dt, "short")


def _session_form(session: Session, **kwargs: Any) -> SessionForm:
    start, end = dt_local(session.starts_at), dt_local(session.ends_at)
    data = {
        "day": start.date(),
        "start": start.time(),
        "end": end.time(),
        "online": session.online,
        "room": session.room,
        "note": session.note,
    }
    return SessionForm(data=data, **kwargs)


def _session_edit_page(
    session: Session, form: SessionForm, cancel_form: ReasonForm, status: int = 200
) -> Page:
    return staff_page(
        "session_edit.html",
        status,
        session=session,
        course=session.course,
        form=form,
        cancel_form=cancel_form,
    )


@bp.route("/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@staff_required
def edit_session(session_id: int) -> Any:
    """Move a session or change its place (participants' calendars follow)."""
    session = get_or_404(Session, session_id)
    form = _session_form(session)
    if form.validate_on_submit():
        try:
            session_services.update_session(require_user(), session, form.to_data())
        except Invalid as exc:
            show_refusal(form, exc, {"starts_at": "start", "ends_at": "end"})
        else:
            flash(_("The session has been saved."), "success")
            return redirect(url_for("staff.sessions", course_id=session.course_id))
    return _session_edit_page(
        session, form, ReasonForm(prefix="cancel", formdata=None), form_status()
    )


@bp.route("/sessions/<int:session_id>/cancel", methods=["POST"])
@staff_required
def cancel_session(session_id: int) -> Any:
    """Cancel one session; participants and instructors are told."""
    session = get_or_404(Session, session_id)
    cancel_form = ReasonForm(prefix="cancel")
    if cancel_form.validate_on_submit():
        session_services.cancel_session(require_user(), session, cancel_form.reason.data.strip())
        flash(
            _(
                "The session on %(day)s has been cancelled and the participants informed.",
                day=_day(session.starts_at),
            ),
            "success",
        )
        return redirect(url_for("staff.sessions", course_id=session.course_id))
    return _session_edit_page(
        session, _session_form(session, formdata=None), cancel_form, status=422
    )
