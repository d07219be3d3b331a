"""Calendar files of courses: per course, per session, "add to calendar" links, staff exports."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional

from courses import access
from courses.blueprints import calendar as bp
from courses.calendar import events as calendar_events
from courses.calendar import exports as calendar_exports
from courses.models import (
    Category,
    Course,
    CourseFormat,
    CourseStatus,
    Session,
    SessionStatus,
    Term,
    course_instructors,
)
from vhs.accounts.models import User
from vhs.auth import current, staff_required
from vhs.calendar import ics
from vhs.calendar.views import calendar_response, download_response
from vhs.db import db, utcnow
from vhs.errors import Invalid, NotFound
from vhs.forms import apply_errors
from vhs.i18n import page_locale

FORMAT_CHOICES = {
    CourseFormat.IN_PERSON: _l("In person"),
    CourseFormat.ONLINE: _l("Online"),
    CourseFormat.HYBRID: _l("Hybrid"),
}


# --- residents: a course, a session ----------------------------------------------------------


@bp.route("/courses/<int:course_id>.ics")
def course_ics(course_id: int) -> Any:
    """All sessions of a course as one calendar file (drafts only for staff and teachers)."""
    course = access.get_course(course_id, current())
    body = ics.calendar_bytes(
        f"{course.code} {course.title}", calendar_events.course_events(course)
    )
    return calendar_response(
        body,
        filename=calendar_events.ics_filename(course.code),
        last_modified=calendar_events.course_last_modified(course),
        private=course.status is CourseStatus.DRAFT,
    )


@bp.route("/sessions/<int:session_id>.ics")
def session_ics(session_id: int) -> Any:
    """One session as a calendar file."""
    session = db.session.get(Session, session_id)
    if session is None or not access.can_view_course(current(), session.course):
        raise NotFound(_l("This session does not exist."), code="session_not_found")
    course = session.course
    return calendar_response(
        ics.calendar_bytes(
            f"{course.code} {course.title}", calendar_events.session_events(session)
        ),
        filename=calendar_events.ics_filename(course.code, prefix="termin"),
        last_modified=max(session.updated_at, course.updated_at),
        private=course.status is CourseStatus.DRAFT,
    )


@bp.app_template_global()
def course_calendar_links(course: Course) -> dict[str, Any] | None:
    """What the course page offers under "Zum Kalender hinzufügen" (None: no dates yet)."""
    if not any(s.status is SessionStatus.SCHEDULED for s in course.sessions):
        return None
    upcoming = course.next_session(utcnow())
    links: dict[str, Any] = {
        "course_ics": url_for("course_calendar.course_ics", course_id=course.id),
        "next": None,
    }
    if upcoming is not None:
        event = calendar_events.session_events(upcoming)[0]
        links["next"] = {
            "session": upcoming,
            "ics": url_for("course_calendar.session_ics", session_id=upcoming.id),
            "google": calendar_events.google_calendar_link(event),
        }
    return links


# --- staff exports ---------------------------------------------------------------------------


class ExportForm(FlaskForm):
    """Filters of the session export (a GET form: no CSRF)."""

    class Meta:
        csrf = False

    term = SelectField(_l("Term"), choices=[], default="", validate_choice=True)
    category = SelectField(_l("Category"), choices=[], default="", validate_choice=True)
    instructor = SelectField(_l("Instructor"), choices=[], default="", validate_choice=True)
    room = StringField(_l("Room or venue"), validators=[Optional(), Length(max=100)])
    format = SelectField(_l("Format"), choices=[], default="", validate_choice=True)
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("Until"), validators=[Optional()])


def _export_form() -> ExportForm:
    form = ExportForm(formdata=request.args)
    terms = db.session.execute(sa.select(Term).order_by(Term.starts_on.desc())).scalars()
    form.term.choices = [SelectChoice("", _("All terms"))] + [
        SelectChoice(str(t.id), t.name) for t in terms
    ]
    categories = db.session.execute(
        sa.select(Category).order_by(Category.parent_id.is_not(None), Category.position)
    ).scalars()
    lang = page_locale()
    form.category.choices = [SelectChoice("", _("All categories"))] + [
        SelectChoice(str(c.id), c.name(lang)) for c in categories
    ]
    teachers = db.session.execute(
        sa.select(User.id, User.name)
        .where(User.id.in_(sa.select(course_instructors.c.user_id)))
        .order_by(User.name)
    )
    form.instructor.choices = [SelectChoice("", _("All instructors"))] + [
        SelectChoice(str(uid), name) for uid, name in teachers
    ]
    form.format.choices = [SelectChoice("", _("Any format"))] + [
        SelectChoice(f.value, str(label)) for f, label in FORMAT_CHOICES.items()
    ]
    return form


def _filters(form: ExportForm) -> calendar_exports.SessionFilter:
    """The filter a valid form describes, or a 422 naming the fields."""
    if not form.validate():
        raise Invalid(errors=form.errors)

    def number(value: str | None) -> int | None:
        return int(value) if value else None

    return calendar_exports.SessionFilter(
        term_id=number(form.term.data),
        category_id=number(form.category.data),
        instructor_id=number(form.instructor.data),
        room=(form.room.data or "").strip() or None,
        format=CourseFormat(form.format.data) if form.format.data else None,
        date_from=form.date_from.data,
        date_to=form.date_to.data,
    ).check()


def _export_filename(ext: str) -> str:
    return f"vhs-termine-{date.today().isoformat()}.{ext}"


@bp.route("/staff/exports")
@staff_required
def exports() -> Any:
    """The export page: choose term, category, instructor, room, format and dates."""
    form = _export_form()
    status = 200
    if request.args:
        try:
            _filters(form)
        except Invalid as exc:
            apply_errors(form, exc)
            status = 422
    args = {k: v for k, v in request.args.items() if v}
    return render_template("courses/exports.html", form=form, args=args), status


@bp.route("/staff/exports/sessions.ics")
@staff_required
def export_ics() -> Any:
    """Matching sessions as one calendar (room planning), streamed."""
    filters = _filters(_export_form())
    return download_response(
        calendar_exports.iter_export_ics(filters), filename=_export_filename("ics")
    )


@bp.route("/staff/exports/sessions.csv")
@staff_required
def export_csv() -> Any:
    """Matching sessions as a spreadsheet (printed programme), streamed."""
    filters = _filters(_export_form())
    return download_response(
        calendar_exports.iter_export_csv(filters),
        filename=_export_filename("csv"),
        content_type=calendar_exports.CSV_CONTENT_TYPE,
    )
