"""Resident pages: catalogue, course page, booking, cancelling, "Meine Kurse"."""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import SelectChoice, SelectField

from courses import cache as catalogue_cache
from courses import services
from courses.cache import cached, dates_change, render_block, request_key
from courses.markdown import render_markdown
from courses.models import (
    CEFR_LEVELS,
    Category,
    Course,
    CourseFormat,
    CourseStatus,
    EnrolmentStatus,
    ReductionReason,
    Term,
    TermStatus,
)
from courses.search import SORTS, TIME_OF_DAY, CatalogueQuery, search
from vhs.auth import current, require_user, user_required
from vhs.db import db
from vhs.errors import Conflict, Invalid
from vhs.i18n import page_locale
from vhs.main import register_home_section, register_nav

bp = Blueprint("courses", __name__)

REDUCTION_LABELS = {
    ReductionReason.STUDENT: _l("Pupils and students"),
    ReductionReason.JOBSEEKER: _l("Jobseekers"),
    ReductionReason.BUERGERGELD: _l("Recipients of Bürgergeld"),
    ReductionReason.DISABILITY: _l("Severely disabled persons"),
    ReductionReason.VOLUNTEER_CARD: _l("Holders of the Ehrenamtskarte"),
}
FORMAT_LABELS = {
    CourseFormat.ONLINE: _l("Online"),
    CourseFormat.HYBRID: _l("Hybrid"),
    CourseFormat.IN_PERSON: _l("In person"),
}
STATUS_LABELS = {
    EnrolmentStatus.PENDING_PAYMENT: _l("Awaiting payment"),
    EnrolmentStatus.CONFIRMED: _l("Confirmed"),
    EnrolmentStatus.WAITLISTED: _l("Waiting list"),
    EnrolmentStatus.CANCELLED: _l("Cancelled"),
    EnrolmentStatus.EXPIRED: _l("Expired"),
}
WEEKDAYS = {
    1: _l("Monday"),
    2: _l("Tuesday"),
    3: _l("Wednesday"),
    4: _l("Thursday"),
    5: _l("Friday"),
    6: _l("Saturday"),
    7: _l("Sunday"),
}
TIME_LABELS = {"morning": _l("Morning"), "afternoon": _l("Afternoon"), "evening": _l("Evening")}
SORT_LABELS = {"start": _l("Start date"), "title": _l("Title"), "price": _l("Price")}
LANGUAGES = {
    "de": _l("German"),
    "en": _l("English"),
    "fr": _l("French"),
    "es": _l("Spanish"),
    "it": _l("Italian"),
    "tr": _l("Turkish"),
    "pl": _l("Polish"),
    "ar": _l("Arabic"),
}


class EnrolForm(FlaskForm):
    """Booking, with an optional reduction reason."""

    # The select is shown only when a reduced fee exists; without it "" (full fee) is valid.
    reduction_reason = SelectField(_l("Reduced fee"), choices=[], validate_choice=True, default="")


class EmptyForm(FlaskForm):
    """CSRF only."""


def _int_arg(name: str, lo: int = 1, hi: int = 10**9) -> int | None:
    raw = request.args.get(name, "")
    if not raw.isdigit():
        return None
    value = int(raw)
    return value if lo <= value <= hi else None


def _price_arg() -> int | None:
    raw = (request.args.get("max_price") or "").replace(",", ".").strip()
    try:
        euros = float(raw)
    except ValueError:
        return None
    return round(euros * 100) if 0 <= euros < 100000 else None


def query_from_request() -> CatalogueQuery:
    """Read the filter form; unknown or malformed values are ignored, never a 500."""
    fmt = request.args.get("format")
    return CatalogueQuery(
        # PostgreSQL refuses NUL characters in text parameters (a 500 otherwise).
        q=(request.args.get("q") or "").replace("\x00", "")[:200],
        term_id=_int_arg("term"),
        category_id=_int_arg("category"),
        format=CourseFormat(fmt) if fmt in {f.value for f in CourseFormat} else None,
        weekday=_int_arg("weekday", 1, 7),
        time_of_day=request.args.get("time_of_day")
        if request.args.get("time_of_day") in TIME_OF_DAY
        else None,
        language=request.args.get("language")
        if request.args.get("language") in LANGUAGES
        else None,
        level=request.args.get("level") if request.args.get("level") in CEFR_LEVELS else None,
        free_only=request.args.get("free_only") == "1",
        max_price_cents=_price_arg(),
        instructor_id=_int_arg("instructor"),
        sort=request.args.get("sort") if request.args.get("sort") in SORTS else "start",
        page=_int_arg("page", 1, 10000) or 1,
        per_page=20,
    )


def _filter_options() -> dict[str, Any]:
    terms = (
        db.session.execute(
            sa.select(Term).where(Term.status == TermStatus.PUBLISHED).order_by(Term.starts_on)
        )
        .scalars()
        .all()
    )
    categories = (
        db.session.execute(
            sa.select(Category).order_by(Category.parent_id.is_not(None), Category.position)
        )
        .scalars()
        .all()
    )
    return {"terms": terms, "categories": categories}


@bp.route("/courses")
def catalogue() -> str:
    """The public course catalogue with filters and search."""

    # Cached per query string, language and catalogue version (courses/cache.py), so a hit
    # costs one SELECT and a booking or an edit shows in the very next response: the whole
    # page for visitors without an account, else the content block (the same for everyone).
    def page(**extra: Any) -> str:
        query = query_from_request()
        args = {k: v for k, v in request.args.items() if k != "page" and v}

        def content() -> Markup:
            return render_block(
                "courses/catalogue.html",
                "content",
                {
                    "page": search(query, instructors=False),  # the cards show no instructors
                    "query": query,
                    "args": args,
                    "options": _filter_options(),
                    **_labels(),
                },
            )

        html = catalogue_cache.html_fragments.get_or_set(request_key(page_locale()), content)
        return render_template("courses/catalogue.html", content_html=html, query=query, **extra)

    cached_page = catalogue_cache.anonymous_page(page)
    return cached_page if cached_page is not None else page()


def _labels() -> dict[str, Any]:
    return {
        "format_labels": FORMAT_LABELS,
        "weekdays": WEEKDAYS,
        "time_labels": TIME_LABELS,
        "sort_labels": SORT_LABELS,
        "languages": LANGUAGES,
        "levels": CEFR_LEVELS,
        "status_labels": STATUS_LABELS,
        "reduction_labels": REDUCTION_LABELS,
    }


def _enrol_form(course: Course) -> EnrolForm:
    form = EnrolForm()
    choices = [SelectChoice("", _("No reduction – full fee"))]
    if course.reduced_fee_cents is not None:
        choices += [SelectChoice(r.value, str(label)) for r, label in REDUCTION_LABELS.items()]
    form.reduction_reason.choices = choices
    return form


def course_decision(course: Course) -> dict[str, Any]:
    """What the course page offers the visitor (templates receive decisions, not rules)."""
    user = current()
    enrolment = services.active_enrolment(course.id, user.id) if user else None
    reason = None
    if user is not None and enrolment is None:
        try:
            services.check_can_enrol(course, user)
        except Conflict as exc:
            reason = exc.detail
    elif user is None and course.status is not CourseStatus.PUBLISHED:
        reason = _l("This course is not open for booking.")
    return {
        "enrolment": enrolment,
        # Visitors who are not logged in get "Log in to book", not a form that answers 401.
        "can_enrol": user is not None and enrolment is None and reason is None,
        "refusal": reason,
        "button_label": _l("Join the waiting list") if course.is_full else _l("Book now"),
        "can_cancel_free": enrolment is not None and services.can_cancel_free(enrolment),
        "is_instructor": services.is_instructor_of(user, course),
        "can_manage": services.can_manage(user),
    }


# The course page's visitor-independent parts are `cached` blocks (courses/cache.py): while
# cached, their lazy loads (term, category, instructors, sessions, calendar) issue no SQL.
bp.add_app_template_global(cached)
bp.add_app_template_global(dates_change)

# Markdown to sanitised HTML is a pure function of the text: remember the recent ones.
_description_html = functools.lru_cache(maxsize=512)(render_markdown)


@bp.route("/courses/<int:course_id>")
def detail(course_id: int) -> str:
    """A course: description, all sessions, instructors, fee, seats, booking."""
    loaded: list[Course] = []

    def page(**extra: Any) -> str:
        course = services.get_course(course_id, current())
        loaded.append(course)
        decision = course_decision(course)
        return render_template(
            "courses/detail.html",
            course=course,
            description=_description_html(course.description),
            decision=decision,
            # Forms only where the page shows them (each costs a CSRF token and choices).
            form=_enrol_form(course) if decision["can_enrol"] else None,
            cancel_form=EmptyForm() if decision["enrolment"] is not None else None,
            **_labels(),
            **extra,
        )

    # Visitors without an account all see the same page: kept per course, language and
    # catalogue version, and until "the next session" moves on (courses/cache.py). A hit
    # costs one SELECT: a course that was unpublished or deleted changed the version.
    cached_page = catalogue_cache.anonymous_page(
        page, until=lambda: dates_change(loaded[0])() if loaded else None
    )
    return cached_page if cached_page is not None else page()


@bp.route("/courses/<int:course_id>/enrol", methods=["POST"])
@user_required
def enrol(course_id: int) -> Any:
    """Book the course (form on the course page)."""
    user = require_user()
    course = services.get_course(course_id, user)
    form = _enrol_form(course)
    if not form.validate_on_submit():
        raise Invalid(errors=form.errors)
    reason = form.reduction_reason.data or None
    enrolment = services.enrol(course, user, reduction=ReductionReason(reason) if reason else None)
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
    enrolment = services.get_enrolment(enrolment_id, user)
    services.cancel_enrolment(enrolment, user)
    flash(_("Your booking has been cancelled."), "success")
    return redirect(url_for("courses.my_courses"))


@bp.route("/me/courses")
@user_required
def my_courses() -> str:
    """ "Meine Kurse": bookings with status, waiting-list position and next session."""
    user = require_user()
    enrolments = services.my_enrolments(user)
    rows = [
        {
            "enrolment": e,
            "course": e.course,
            "next_session": services.next_session(e.course),
            "can_cancel": e.active and services.can_cancel_free(e),
        }
        for e in enrolments
    ]
    return render_template(
        "courses/my_courses.html",
        rows=rows,
        teaching=services.teaching(user) if (user.is_instructor or user.is_staff) else [],
        cancel_form=EmptyForm(),
        **_labels(),
    )


def _home_highlights() -> tuple[str, dict[str, Any]] | None:
    page = search(CatalogueQuery(per_page=6))
    if not page.items:
        return None
    return "courses/_home_highlights.html", {"courses": page.items, **_labels()}


register_nav("courses.catalogue", _l("Courses"))
register_nav("courses.my_courses", _l("My courses"), who="user")
register_home_section(_home_highlights)


def blueprints() -> list[Blueprint]:
    """HTML blueprints of the courses package (staff and teaching pages join when present)."""
    from courses import payment_views

    result = [bp, payment_views.bp]
    try:
        from courses import teaching_views

        result.append(teaching_views.bp)
    except ImportError:
        pass
    try:
        from courses import staff_views

        result.append(staff_views.bp)
    except ImportError:
        pass
    return result


__all__ = ["blueprints", "g"]
