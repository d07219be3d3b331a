"""Staff pages for planning: dashboard, terms, categories, courses, reports."""

from __future__ import annotations

from math import ceil
from typing import Any

import sqlalchemy as sa
from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from courses import access
from courses.blueprints import staff as bp
from courses.labels import (
    COURSE_STATUS_LABELS,
    FORMAT_LABELS,
    LANGUAGES,
    ROLE_LABELS,
    format_units,
)
from courses.models import (
    ACTIVE_STATUSES,
    Category,
    Course,
    CourseStatus,
    Enrolment,
    EnrolmentStatus,
    Term,
)
from courses.planning import services as planning_services
from courses.planning.forms import (
    BelowMinimumForm,
    CategoryForm,
    CopyForm,
    CourseFilterForm,
    CourseForm,
    ReasonForm,
    TermForm,
    UnitsClearForm,
    UnitsOverrideForm,
)
from courses.planning.units import set_units_override
from courses.staff import (
    Page,
    category_label,
    category_tree,
    form_status,
    get_or_404,
    local_or_none,
    show_refusal,
    staff_page,
    terms_newest_first,
)
from vhs.accounts.models import Role, User
from vhs.auth import require_user, staff_required
from vhs.db import db
from vhs.errors import Invalid
from vhs.forms import EmptyForm
from vhs.main import register_nav

PER_PAGE = 25


# --- dashboard --------------------------------------------------------------------------------


@bp.route("")
@staff_required
def dashboard() -> Page:
    """Start page of the office: what needs attention, and where everything is."""
    by_status = dict(
        db.session.execute(sa.select(Course.status, sa.func.count()).group_by(Course.status)).all()
    )
    counts = {
        "terms": db.session.scalar(sa.select(sa.func.count()).select_from(Term)) or 0,
        "categories": db.session.scalar(sa.select(sa.func.count()).select_from(Category)) or 0,
        "courses": {s: by_status.get(s, 0) for s in CourseStatus},
        "waitlisted": db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Enrolment)
            .where(Enrolment.status == EnrolmentStatus.WAITLISTED)
        )
        or 0,
        "below_minimum": len(planning_services.below_minimum(14)),
    }
    return staff_page("dashboard.html", counts=counts)


# --- terms ------------------------------------------------------------------------------------


@bp.route("/terms", methods=["GET", "POST"])
@staff_required
def terms() -> Any:
    """All terms, and a form to create one."""
    form = TermForm()
    if form.validate_on_submit():
        try:
            term = planning_services.save_term(require_user(), form.to_data())
        except Invalid as exc:
            show_refusal(form, exc)
        else:
            flash(_("The term “%(name)s” has been created.", name=term.name), "success")
            return redirect(url_for("staff.terms"))
    return staff_page("terms.html", form_status(), terms=terms_newest_first(), form=form)


@bp.route("/terms/<int:term_id>/edit", methods=["GET", "POST"])
@staff_required
def edit_term(term_id: int) -> Any:
    """Change a term's name, dates, booking start or status."""
    term = get_or_404(Term, term_id)
    data = {
        "name": term.name,
        "starts_on": term.starts_on,
        "ends_on": term.ends_on,
        "enrolment_opens_at": local_or_none(term.enrolment_opens_at),
        "status": term.status.value,
    }
    form = TermForm(data=data)
    if form.validate_on_submit():
        try:
            planning_services.save_term(require_user(), form.to_data(), term)
        except Invalid as exc:
            show_refusal(form, exc)
        else:
            flash(_("The term “%(name)s” has been saved.", name=term.name), "success")
            return redirect(url_for("staff.terms"))
    return staff_page("term_edit.html", form_status(), term=term, form=form)


# --- categories -------------------------------------------------------------------------------


def _category_form(category: Category | None = None) -> CategoryForm:
    data = None
    if category is not None:
        data = {
            "parent_id": str(category.parent_id or ""),
            "slug": category.slug,
            "name_de": category.name_de,
            "name_en": category.name_en,
            "position": category.position,
        }
    form = CategoryForm(data=data)
    choices = [SelectChoice("", _("– none (top level) –"))]
    choices += [
        SelectChoice(str(cat.id), category_label(cat, depth))
        for cat, depth in category_tree()
        if category is None or cat.id != category.id
    ]
    form.parent_id.choices = choices
    return form


@bp.route("/categories", methods=["GET", "POST"])
@staff_required
def categories() -> Any:
    """The category tree, and a form to add a category."""
    form = _category_form()
    if form.validate_on_submit():
        try:
            category = planning_services.save_category(require_user(), form.to_data())
        except Invalid as exc:
            show_refusal(form, exc)
        else:
            flash(_("The category “%(name)s” has been created.", name=category.name_de), "success")
            return redirect(url_for("staff.categories"))
    return staff_page("categories.html", form_status(), tree=category_tree(), form=form)


@bp.route("/categories/<int:category_id>/edit", methods=["GET", "POST"])
@staff_required
def edit_category(category_id: int) -> Any:
    """Rename or move a category."""
    category = get_or_404(Category, category_id)
    form = _category_form(category)
    if form.validate_on_submit():
        try:
            planning_services.save_category(require_user(), form.to_data(), category)
        except Invalid as exc:
            show_refusal(form, exc)
        else:
            flash(_("The category “%(name)s” has been saved.", name=category.name_de), "success")
            return redirect(url_for("staff.categories"))
    return staff_page("category_edit.html", form_status(), category=category, form=form)


# --- courses ----------------------------------------------------------------------------------


@bp.route("/courses")
@staff_required
def courses() -> Page:
    """All courses, drafts included: filter by term and status, search by number or title."""
    filters = CourseFilterForm(formdata=request.args)
    terms = terms_newest_first()
    filters.term.choices = [SelectChoice("", _("All terms"))] + [
        SelectChoice(str(t.id), t.name) for t in terms
    ]
    filters.status.choices = [SelectChoice("", _("Any status"))] + [
        SelectChoice(s.value, str(label)) for s, label in COURSE_STATUS_LABELS.items()
    ]
    query = sa.select(Course).join(Term, Course.term_id == Term.id)
    term_id = request.args.get("term", "")
    if term_id.isdigit():
        query = query.where(Course.term_id == int(term_id))
    status = request.args.get("status", "")
    if status in {s.value for s in CourseStatus}:
        query = query.where(Course.status == CourseStatus(status))
    q = (request.args.get("q") or "").strip()[:200]
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            sa.or_(
                Course.code.ilike(pattern, escape="\\"), Course.title.ilike(pattern, escape="\\")
            )
        )
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    pages = max(ceil(total / PER_PAGE), 1)
    page_arg = request.args.get("page", "1")
    page = min(max(int(page_arg), 1), pages) if page_arg.isdigit() else 1
    items = list(
        db.session.execute(
            query.options(selectinload(Course.term))
            .order_by(Term.starts_on.desc(), Course.code, Course.id)
            .offset((page - 1) * PER_PAGE)
            .limit(PER_PAGE)
        ).scalars()
    )
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return staff_page(
        "courses.html",
        filters=filters,
        items=items,
        total=total,
        page=page,
        pages=pages,
        args=args,
    )


def _course_form(course: Course | None = None, **kwargs: Any) -> CourseForm:
    data: dict[str, Any] | None = None
    if course is not None:
        data = {
            "term_id": course.term_id,
            "category_id": course.category_id,
            "code": course.code,
            "title": course.title,
            "subtitle": course.subtitle,
            "description": course.description,
            "language": course.language,
            "level": course.level or "",
            "format": course.format.value,
            "venue": course.venue,
            "room": course.room,
            "fee_cents": course.fee_cents,
            "reduced_fee_cents": course.reduced_fee_cents,
            "capacity": course.capacity,
            "min_participants": course.min_participants,
            "enrolment_closes_at": local_or_none(course.enrolment_closes_at),
            "cancellation_days": course.cancellation_days,
            "instructor_ids": [i.id for i in course.instructors],
        }
    form = CourseForm(data=data, **kwargs)
    form.term_id.choices = [SelectChoice(t.id, t.name) for t in terms_newest_first()]
    form.category_id.choices = [
        SelectChoice(cat.id, category_label(cat, depth)) for cat, depth in category_tree()
    ]
    form.language.choices = [SelectChoice(k, str(label)) for k, label in LANGUAGES.items()]
    form.format.choices = [SelectChoice(f.value, str(label)) for f, label in FORMAT_LABELS.items()]
    teachers = list(
        db.session.execute(
            sa.select(User)
            .where(User.role.in_((Role.INSTRUCTOR, Role.STAFF, Role.ADMIN)))
            .where(User.erased_at.is_(None))
            .order_by(User.role != Role.INSTRUCTOR, User.name, User.id)
        ).scalars()
    )
    for person in course.instructors if course is not None else []:
        if person not in teachers:
            teachers.append(person)
    form.instructor_ids.choices = [
        SelectChoice(
            u.id,
            u.name if u.role is Role.INSTRUCTOR else f"{u.name} ({ROLE_LABELS.get(u.role, '')})",
        )
        for u in teachers
    ]
    return form


def _copy_form(course: Course, **kwargs: Any) -> CopyForm:
    form = CopyForm(prefix="copy", **kwargs)
    form.term_id.choices = [
        SelectChoice(t.id, t.name) for t in terms_newest_first() if t.id != course.term_id
    ]
    return form


def _edit_page(
    course: Course,
    form: CourseForm,
    copy_form: CopyForm | None = None,
    status: int = 200,
    units_form: UnitsOverrideForm | None = None,
) -> Page:
    return staff_page(
        "course_edit.html",
        status,
        course=course,
        form=form,
        copy_form=copy_form or _copy_form(course, formdata=None),
        units_form=units_form or UnitsOverrideForm(prefix="units", formdata=None),
        action_form=EmptyForm(),
        actions={
            "publish": course.status is CourseStatus.DRAFT,
            "complete": course.status is CourseStatus.PUBLISHED,
            "cancel": course.status in (CourseStatus.DRAFT, CourseStatus.PUBLISHED),
        },
    )


@bp.route("/courses/new", methods=["GET", "POST"])
@staff_required
def new_course() -> Any:
    """Create a course as a draft."""
    form = _course_form()
    if form.validate_on_submit():
        try:
            course = planning_services.save_course(require_user(), form.to_data())
        except Invalid as exc:
            show_refusal(form, exc)
        else:
            flash(
                _(
                    "The course %(code)s has been created as a draft. Now add its sessions.",
                    code=course.code,
                ),
                "success",
            )
            return redirect(url_for("staff.sessions", course_id=course.id))
    return staff_page("course_new.html", form_status(), form=form)


@bp.route("/courses/<int:course_id>/edit", methods=["GET", "POST"])
@staff_required
def edit_course(course_id: int) -> Any:
    """Every field of a course, plus its status actions and the copy form."""
    course = get_or_404(Course, course_id)
    form = _course_form(course)
    if form.validate_on_submit():
        try:
            planning_services.save_course(
                require_user(), form.to_data(), access.lock_course(course.id)
            )
        except Invalid as exc:
            show_refusal(form, exc)
        else:
            flash(_("The course %(code)s has been saved.", code=course.code), "success")
            return redirect(url_for("staff.edit_course", course_id=course.id))
    return _edit_page(course, form, status=form_status())


@bp.route("/courses/<int:course_id>/publish", methods=["POST"])
@staff_required
def publish_course(course_id: int) -> Any:
    """Show a draft in the catalogue (it needs at least one session)."""
    course = planning_services.publish_course(require_user(), get_or_404(Course, course_id))
    flash(_("The course %(code)s is now in the catalogue.", code=course.code), "success")
    return redirect(url_for("staff.edit_course", course_id=course.id))


@bp.route("/courses/<int:course_id>/complete", methods=["POST"])
@staff_required
def complete_course(course_id: int) -> Any:
    """Mark a published course as held."""
    course = planning_services.complete_course(require_user(), get_or_404(Course, course_id))
    flash(_("The course %(code)s is marked as completed.", code=course.code), "success")
    return redirect(url_for("staff.edit_course", course_id=course.id))


@bp.route("/courses/<int:course_id>/cancel", methods=["GET", "POST"])
@staff_required
def cancel_course(course_id: int) -> Any:
    """Ask first, then cancel the whole course: bookings end and participants are told."""
    course = get_or_404(Course, course_id)
    form = ReasonForm()
    if form.validate_on_submit():
        cancelled = planning_services.cancel_course(
            require_user(), course, form.reason.data.strip()
        )
        flash(
            _(
                "The course %(code)s has been cancelled. %(n)d bookings were cancelled and "
                "the participants informed.",
                code=course.code,
                n=len(cancelled),
            ),
            "success",
        )
        return redirect(url_for("staff.edit_course", course_id=course.id))
    active = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Enrolment)
        .where(Enrolment.course_id == course.id, Enrolment.status.in_(ACTIVE_STATUSES))
    )
    return staff_page(
        "course_cancel.html", form_status(), course=course, form=form, active=active or 0
    )


@bp.route("/courses/<int:course_id>/copy", methods=["POST"])
@staff_required
def copy_course(course_id: int) -> Any:
    """Copy a course into another term as a draft, its sessions moved by whole weeks."""
    course = get_or_404(Course, course_id)
    copy_form = _copy_form(course)
    if copy_form.validate_on_submit():
        copy = planning_services.copy_course(
            require_user(), course, get_or_404(Term, copy_form.term_id.data)
        )
        flash(
            _(
                "A draft copy of %(code)s is now in the term “%(term)s”.",
                code=copy.code,
                term=copy.term.name,
            ),
            "success",
        )
        return redirect(url_for("staff.edit_course", course_id=copy.id))
    return _edit_page(course, _course_form(course, formdata=None), copy_form, status=422)


@bp.route("/courses/<int:course_id>/teaching-units", methods=["POST"])
@staff_required
def override_units(course_id: int) -> Any:
    """Replace the derived teaching units by a figure of the office's own, with a reason."""
    course = get_or_404(Course, course_id)
    units_form = UnitsOverrideForm(prefix="units")
    if units_form.validate_on_submit():
        data = units_form.to_data()
        try:
            set_units_override(require_user(), course, data["units"], data["reason"])
        except Invalid as exc:
            show_refusal(units_form, exc)
        else:
            flash(
                _(
                    "The teaching units of %(code)s are now set to %(units)s.",
                    code=course.code,
                    units=format_units(course.teaching_units),
                ),
                "success",
            )
            return redirect(url_for("staff.edit_course", course_id=course.id) + "#units-h")
    course = get_or_404(Course, course_id)
    return _edit_page(
        course, _course_form(course, formdata=None), status=422, units_form=units_form
    )


@bp.route("/courses/<int:course_id>/teaching-units/clear", methods=["GET", "POST"])
@staff_required
def clear_units_override(course_id: int) -> Any:
    """Ask first, then go back to the teaching units derived from the sessions."""
    course = get_or_404(Course, course_id)
    form = UnitsClearForm()
    if form.validate_on_submit():
        set_units_override(require_user(), course, None, form.reason.data or "")
        flash(
            _(
                "The override has been removed: %(code)s counts %(units)s teaching units "
                "from its sessions.",
                code=course.code,
                units=format_units(course.teaching_units),
            ),
            "success",
        )
        return redirect(url_for("staff.edit_course", course_id=course.id) + "#units-h")
    return staff_page("units_clear.html", form_status(), course=course, form=form)


# --- reports ----------------------------------------------------------------------------------


@bp.route("/reports/below-minimum")
@staff_required
def below_minimum() -> Page:
    """Published courses starting soon with fewer bookings than their minimum."""
    form = BelowMinimumForm(formdata=request.args)
    if not form.validate():
        return staff_page("below_minimum.html", 422, form=form, courses=[], days=None)
    days = form.days.data or 14
    return staff_page(
        "below_minimum.html", form=form, courses=planning_services.below_minimum(days), days=days
    )


register_nav("staff.dashboard", _l("Staff"), who="staff")
