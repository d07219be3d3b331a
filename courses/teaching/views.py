"""Instructors' pages: the courses they teach, who is coming, a CSV list, a message to all."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import sqlalchemy as sa
from flask import Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext, ngettext
from flask_wtf import FlaskForm
from sqlalchemy.orm import selectinload
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from courses import access
from courses.blueprints import teaching as bp
from courses.enrolment import services as enrolment_services
from courses.labels import (
    COURSE_STATUS_LABELS,
    FORMAT_LABELS,
    REDUCTION_LABELS,
    STATUS_LABELS,
    WEEKDAYS,
)
from courses.models import Course, Enrolment, EnrolmentStatus
from courses.teaching import services as teaching_services
from vhs.accounts.models import Role, User
from vhs.auth import require_role, require_user, user_required
from vhs.db import db
from vhs.errors import Forbidden, Invalid
from vhs.extensions import limiter
from vhs.formats import spreadsheet_safe
from vhs.forms import apply_errors
from vhs.i18n import local_zone
from vhs.main import register_nav


def _labels() -> dict[str, Any]:
    return {
        "status_labels": STATUS_LABELS,
        "reduction_labels": REDUCTION_LABELS,
        "format_labels": FORMAT_LABELS,
        "weekdays": WEEKDAYS,
        "course_status_labels": COURSE_STATUS_LABELS,
    }


class MessageForm(FlaskForm):
    """A message to everyone holding a seat."""

    subject = StringField(
        lazy_pgettext("e-mail", "Subject"), validators=[DataRequired(), Length(max=200)]
    )
    body = TextAreaField(_l("Message"), validators=[DataRequired(), Length(max=10000)])


def _course_for(user: User, course_id: int) -> Course:
    """A course whose participants ``user`` may see: its own instructors and staff only."""
    course = access.get_course(course_id, user)
    if not access.can_see_participants(user, course):
        raise Forbidden(_l("You do not teach this course."), code="not_instructor")
    return course


def _with_sessions(courses: list[Course]) -> None:
    """Load the sessions and terms of all listed courses at once (no queries per row)."""
    if courses:
        db.session.execute(
            sa.select(Course)
            .where(Course.id.in_([c.id for c in courses]))
            .options(selectinload(Course.sessions), selectinload(Course.term))
        ).scalars().all()


@bp.route("")
@user_required
def index() -> str:
    """ "Meine Kurse" for instructors: the courses they teach, seats, waiting list, next date."""
    user = require_role(Role.INSTRUCTOR, Role.STAFF)
    courses = access.courses_taught_by(user)
    _with_sessions(courses)
    rows = [{"course": c, "next_session": c.next_session()} for c in courses]
    return render_template("courses/teaching.html", rows=rows, **_labels())


def _render_course(course: Course, form: MessageForm, status: int = 200) -> Any:
    enrolments = enrolment_services.participants(course)
    counts = dict.fromkeys((s.value for s in EnrolmentStatus), 0)
    for e in enrolments:
        counts[e.status.value] += 1
    return render_template(
        "courses/teaching_course.html",
        course=course,
        enrolments=enrolments,
        counts=counts,
        next_session=course.next_session(),
        form=form,
        **_labels(),
    ), status


@bp.route("/courses/<int:course_id>")
@user_required
def course(course_id: int) -> Any:
    """Participants of one course with their status, and the message form."""
    taught = _course_for(require_user(), course_id)
    return _render_course(taught, MessageForm(formdata=None))


@bp.route("/courses/<int:course_id>/message", methods=["POST"])
@limiter.limit("30 per hour", methods=["POST"])
@user_required
def message(course_id: int) -> Any:
    """Write to everyone holding a seat; the mails go out through the outbox."""
    user = require_user()
    taught = _course_for(user, course_id)
    form = MessageForm()
    if form.validate_on_submit():
        try:
            count = teaching_services.message_participants(
                user, taught, form.subject.data, form.body.data
            )
        except Invalid as exc:
            apply_errors(form, exc)
        else:
            flash(
                ngettext(
                    "Your message was sent to %(num)d participant.",
                    "Your message was sent to %(num)d participants.",
                    count,
                ),
                "success",
            )
            return redirect(url_for("teaching.course", course_id=taught.id))
    return _render_course(taught, form, 422)


def _csv_row(e: Enrolment) -> list[str]:
    booked = e.created_at.astimezone(local_zone()).strftime("%d.%m.%Y %H:%M")
    reduction = REDUCTION_LABELS[e.reduction_reason] if e.reduction_reason else ""
    cells = [
        e.user.name,
        e.user.email or "",
        STATUS_LABELS[e.status],
        e.waitlist_position or "",
        booked,
        reduction,
    ]
    return [spreadsheet_safe(c) for c in cells]


def _filename(course: Course) -> str:
    # ASCII only: the name goes into a header (German: "teilnehmende-271-105.csv").
    stem = _("participants") + "-" + course.code
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._") + ".csv"


@bp.route("/courses/<int:course_id>/participants.csv")
@user_required
def participants_csv(course_id: int) -> Response:
    """The participant list for German Excel: UTF-8 with BOM, semicolons, Berlin time."""
    taught = _course_for(require_user(), course_id)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(
        [
            _("Name"),
            _("E-mail address"),
            _("Status"),
            _("Waiting-list position"),
            _("Booked at"),
            _("Reduction"),
        ]
    )
    writer.writerows(_csv_row(e) for e in enrolment_services.participants(taught))
    resp = Response("\ufeff" + out.getvalue(), mimetype="text/csv")
    resp.charset = "utf-8"
    resp.headers["Content-Disposition"] = f'attachment; filename="{_filename(taught)}"'
    # A list of names and addresses: no shared or browser caches.
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


register_nav("teaching.index", _l("Teaching"), who="instructor")
