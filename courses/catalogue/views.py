"""Resident pages: the catalogue with filters, the course page, the home-page highlights."""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa
from flask import render_template, request
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from courses import access
from courses.blueprints import courses as bp
from courses.catalogue import cache as catalogue_cache
from courses.catalogue.cache import cached, dates_change, render_block, request_key
from courses.catalogue.search import SORTS, TIME_OF_DAY, CatalogueQuery, search
from courses.enrolment import services as enrolment_services
from courses.enrolment.forms import enrol_form
from courses.labels import LANGUAGES, page_labels
from courses.markdown import render_markdown
from courses.models import (
    CEFR_LEVELS,
    Category,
    Course,
    CourseFormat,
    CourseStatus,
    Term,
    TermStatus,
)
from vhs.auth import current
from vhs.db import db
from vhs.errors import Conflict
from vhs.forms import EmptyForm
from vhs.i18n import page_locale
from vhs.main import register_home_section, register_nav


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
                    **page_labels(),
                },
            )

        html = catalogue_cache.html_fragments.get_or_set(request_key(page_locale()), content)
        return render_template("courses/catalogue.html", content_html=html, query=query, **extra)

    cached_page = catalogue_cache.anonymous_page(page)
    return cached_page if cached_page is not None else page()


def course_decision(course: Course) -> dict[str, Any]:
    """What the course page offers the visitor (templates receive decisions, not rules)."""
    user = current()
    enrolment = enrolment_services.active_enrolment(course.id, user.id) if user else None
    reason = None
    if user is not None and enrolment is None:
        try:
            enrolment_services.check_can_enrol(course, user)
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
        "can_cancel_free": enrolment is not None and enrolment_services.can_cancel_free(enrolment),
        "is_instructor": access.is_instructor_of(user, course),
        "can_manage": access.can_manage(user),
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
        course = access.get_course(course_id, current())
        loaded.append(course)
        decision = course_decision(course)
        return render_template(
            "courses/detail.html",
            course=course,
            description=_description_html(course.description),
            decision=decision,
            # Forms only where the page shows them (each costs a CSRF token and choices).
            form=enrol_form(course) if decision["can_enrol"] else None,
            cancel_form=EmptyForm() if decision["enrolment"] is not None else None,
            **page_labels(),
            **extra,
        )

    # Visitors without an account all see the same page: kept per course, language and
    # catalogue version, and until "the next session" moves on (courses/cache.py). A hit
    # costs one SELECT: a course that was unpublished or deleted changed the version.
    cached_page = catalogue_cache.anonymous_page(
        page, until=lambda: dates_change(loaded[0])() if loaded else None
    )
    return cached_page if cached_page is not None else page()


def _home_highlights() -> tuple[str, dict[str, Any]] | None:
    page = search(CatalogueQuery(per_page=6))
    if not page.items:
        return None
    return "courses/_home_highlights.html", {"courses": page.items, **page_labels()}


register_nav("courses.catalogue", _l("Courses"))
register_nav("courses.my_courses", _l("My courses"), who="user")
register_home_section(_home_highlights)
