"""Staff pages ("Verwaltung"): terms, categories, courses, sessions, bookings, reports.

Each write is a POST (the app checks the CSRF token of every POST; the page's Flask-WTF form
renders it) that parses the form, calls ONE service and redirects with a confirmation; refused
input re-renders the form with 422 and the messages next to the fields. Illegal transitions
(the services' ``Conflict``) become the shared 409 error page. The request commits once, in
``VhsFlask.dispatch_request``; these views never write themselves.
"""

from __future__ import annotations

from datetime import datetime
from math import ceil
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from courses import services
from courses.models import (
    ACTIVE_STATUSES,
    Category,
    Course,
    CourseStatus,
    Enrolment,
    EnrolmentStatus,
    ReductionReason,
    Session,
    SessionStatus,
    Term,
)
from courses.staff_forms import (
    COURSE_STATUS_LABELS,
    TERM_STATUS_LABELS,
    BelowMinimumForm,
    BookForm,
    CancelEnrolmentForm,
    CategoryForm,
    CopyForm,
    CourseFilterForm,
    CourseForm,
    EmptyForm,
    GenerateForm,
    MoveForm,
    ReasonForm,
    SessionForm,
    TermForm,
)
from courses.views import FORMAT_LABELS, LANGUAGES, REDUCTION_LABELS, STATUS_LABELS, WEEKDAYS
from vhs.accounts.models import Role, User
from vhs.accounts.services import find_user_by_email
from vhs.auth import require_user, staff_required
from vhs.db import db
from vhs.errors import Invalid, NotFound
from vhs.forms import apply_errors
from vhs.i18n import BERLIN, fmt_date, page_locale
from vhs.main import register_nav

bp = Blueprint("staff", __name__, url_prefix="/staff")

PER_PAGE = 25
SESSION_STATUS_LABELS = {
    SessionStatus.SCHEDULED: _l("scheduled"),
    SessionStatus.CANCELLED: _l("cancelled"),
}
# Shown after the names of staff who also teach (instructors are listed by name alone).
ROLE_LABELS = {
    Role.STAFF: _l("Staff"),
    Role.ADMIN: _l("Administrator"),
}

Page = tuple[str, int]


# --- helpers ----------------------------------------------------------------------------------


def _get(model: type, ident: int) -> Any:
    obj = db.session.get(model, ident)
    if obj is None:
        raise NotFound()
    return obj


def _discard() -> None:
    """Drop what a refused service call may have left in the session (a half-made object).

    The form is shown again and the request still commits at the end: it must write nothing.
    """
    db.session.rollback()


def _refused(form: Any, exc: Invalid, rename: dict[str, str] | None = None) -> None:
    """Undo the attempt and put the service's messages next to the form's fields."""
    _discard()
    if rename:
        exc = Invalid(
            exc.detail,
            code=exc.code,
            errors={rename.get(k, k): v for k, v in exc.errors.items()},
        )
    apply_errors(form, exc)


def _status() -> int:
    """A page shown again after a POST shows refused input."""
    return 422 if request.method == "POST" else 200


def _page(template: str, status: int = 200, **context: Any) -> Page:
    return render_template(f"courses/staff/{template}", **_labels(), **context), status


def _labels() -> dict[str, Any]:
    return {
        "course_status_labels": COURSE_STATUS_LABELS,
        "term_status_labels": TERM_STATUS_LABELS,
        "session_status_labels": SESSION_STATUS_LABELS,
        "status_labels": STATUS_LABELS,
        "reduction_labels": REDUCTION_LABELS,
        "format_labels": FORMAT_LABELS,
        "weekdays": WEEKDAYS,
    }


def dt_local(dt: datetime) -> datetime:
    """A stored UTC time as Berlin wall-clock time without zone, as the form fields show it."""
    return dt.astimezone(BERLIN).replace(tzinfo=None)


def _local(dt: datetime | None) -> datetime | None:
    return dt_local(dt) if dt else None


def _terms() -> list[Term]:
    return list(db.session.execute(sa.select(Term).order_by(Term.starts_on.desc())).scalars())


def _category_tree() -> list[tuple[Category, int]]:
    """Every category with its depth, parents before their children, in position order."""
    rows = db.session.execute(
        sa.select(Category).order_by(Category.position, Category.name_de, Category.id)
    ).scalars()
    children: dict[int | None, list[Category]] = {}
    for cat in rows:
        children.setdefault(cat.parent_id, []).append(cat)
    out: list[tuple[Category, int]] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for cat in children.get(parent_id, []):
            out.append((cat, depth))
            walk(cat.id, depth + 1)

    walk(None, 0)
    return out


def _category_label(cat: Category, depth: int) -> str:
    return "– " * depth + cat.name(page_locale())


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
        "below_minimum": len(services.below_minimum(14)),
    }
    return _page("dashboard.html", counts=counts)


# --- terms ------------------------------------------------------------------------------------


@bp.route("/terms", methods=["GET", "POST"])
@staff_required
def terms() -> Any:
    """All terms, and a form to create one."""
    form = TermForm()
    if form.validate_on_submit():
        try:
            term = services.save_term(require_user(), form.to_data())
        except Invalid as exc:
            _refused(form, exc)
        else:
            flash(_("The term “%(name)s” has been created.", name=term.name), "success")
            return redirect(url_for("staff.terms"))
    return _page("terms.html", _status(), terms=_terms(), form=form)


@bp.route("/terms/<int:term_id>/edit", methods=["GET", "POST"])
@staff_required
def edit_term(term_id: int) -> Any:
    """Change a term's name, dates, booking start or status."""
    term = _get(Term, term_id)
    data = {
        "name": term.name,
        "starts_on": term.starts_on,
        "ends_on": term.ends_on,
        "enrolment_opens_at": _local(term.enrolment_opens_at),
        "status": term.status.value,
    }
    form = TermForm(data=data)
    if form.validate_on_submit():
        try:
            services.save_term(require_user(), form.to_data(), term)
        except Invalid as exc:
            _refused(form, exc)
        else:
            flash(_("The term “%(name)s” has been saved.", name=term.name), "success")
            return redirect(url_for("staff.terms"))
    return _page("term_edit.html", _status(), term=term, form=form)


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
        SelectChoice(str(cat.id), _category_label(cat, depth))
        for cat, depth in _category_tree()
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
            category = services.save_category(require_user(), form.to_data())
        except Invalid as exc:
            _refused(form, exc)
        else:
            flash(_("The category “%(name)s” has been created.", name=category.name_de), "success")
            return redirect(url_for("staff.categories"))
    return _page("categories.html", _status(), tree=_category_tree(), form=form)


@bp.route("/categories/<int:category_id>/edit", methods=["GET", "POST"])
@staff_required
def edit_category(category_id: int) -> Any:
    """Rename or move a category."""
    category = _get(Category, category_id)
    form = _category_form(category)
    if form.validate_on_submit():
        try:
            services.save_category(require_user(), form.to_data(), category)
        except Invalid as exc:
            _refused(form, exc)
        else:
            flash(_("The category “%(name)s” has been saved.", name=category.name_de), "success")
            return redirect(url_for("staff.categories"))
    return _page("category_edit.html", _status(), category=category, form=form)


# --- courses ----------------------------------------------------------------------------------


@bp.route("/courses")
@staff_required
def courses() -> Page:
    """All courses, drafts included: filter by term and status, search by number or title."""
    filters = CourseFilterForm(formdata=request.args)
    terms = _terms()
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
    return _page(
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
            "enrolment_closes_at": _local(course.enrolment_closes_at),
            "cancellation_days": course.cancellation_days,
            "teaching_units": course.teaching_units,
            "instructor_ids": [i.id for i in course.instructors],
        }
    form = CourseForm(data=data, **kwargs)
    form.term_id.choices = [SelectChoice(t.id, t.name) for t in _terms()]
    form.category_id.choices = [
        SelectChoice(cat.id, _category_label(cat, depth)) for cat, depth in _category_tree()
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
    form.term_id.choices = [SelectChoice(t.id, t.name) for t in _terms() if t.id != course.term_id]
    return form


def _edit_page(
    course: Course, form: CourseForm, copy_form: CopyForm | None = None, status: int = 200
) -> Page:
    return _page(
        "course_edit.html",
        status,
        course=course,
        form=form,
        copy_form=copy_form or _copy_form(course, formdata=None),
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
            course = services.save_course(require_user(), form.to_data())
        except Invalid as exc:
            _refused(form, exc)
        else:
            flash(
                _(
                    "The course %(code)s has been created as a draft. Now add its sessions.",
                    code=course.code,
                ),
                "success",
            )
            return redirect(url_for("staff.sessions", course_id=course.id))
    return _page("course_new.html", _status(), form=form)


@bp.route("/courses/<int:course_id>/edit", methods=["GET", "POST"])
@staff_required
def edit_course(course_id: int) -> Any:
    """Every field of a course, plus its status actions and the copy form."""
    course = _get(Course, course_id)
    form = _course_form(course)
    if form.validate_on_submit():
        try:
            services.save_course(require_user(), form.to_data(), services.lock_course(course.id))
        except Invalid as exc:
            _refused(form, exc)
        else:
            flash(_("The course %(code)s has been saved.", code=course.code), "success")
            return redirect(url_for("staff.edit_course", course_id=course.id))
    return _edit_page(course, form, status=_status())


@bp.route("/courses/<int:course_id>/publish", methods=["POST"])
@staff_required
def publish_course(course_id: int) -> Any:
    """Show a draft in the catalogue (it needs at least one session)."""
    course = services.publish_course(require_user(), _get(Course, course_id))
    flash(_("The course %(code)s is now in the catalogue.", code=course.code), "success")
    return redirect(url_for("staff.edit_course", course_id=course.id))


@bp.route("/courses/<int:course_id>/complete", methods=["POST"])
@staff_required
def complete_course(course_id: int) -> Any:
    """Mark a published course as held."""
    course = services.complete_course(require_user(), _get(Course, course_id))
    flash(_("The course %(code)s is marked as completed.", code=course.code), "success")
    return redirect(url_for("staff.edit_course", course_id=course.id))


@bp.route("/courses/<int:course_id>/cancel", methods=["GET", "POST"])
@staff_required
def cancel_course(course_id: int) -> Any:
    """Ask first, then cancel the whole course: bookings end and participants are told."""
    course = _get(Course, course_id)
    form = ReasonForm()
    if form.validate_on_submit():
        cancelled = services.cancel_course(require_user(), course, form.reason.data.strip())
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
    return _page("course_cancel.html", _status(), course=course, form=form, active=active or 0)


@bp.route("/courses/<int:course_id>/copy", methods=["POST"])
@staff_required
def copy_course(course_id: int) -> Any:
    """Copy a course into another term as a draft, its sessions moved by whole weeks."""
    course = _get(Course, course_id)
    copy_form = _copy_form(course)
    if copy_form.validate_on_submit():
        copy = services.copy_course(require_user(), course, _get(Term, copy_form.term_id.data))
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


# --- sessions ---------------------------------------------------------------------------------


def _generate_form(**kwargs: Any) -> GenerateForm:
    form = GenerateForm(prefix="gen", **kwargs)
    form.weekday.choices = [SelectChoice(n, str(label)) for n, label in WEEKDAYS.items()]
    return form


def _one_form(course: Course, **kwargs: Any) -> SessionForm:
    return SessionForm(prefix="one", data={"room": course.room}, **kwargs)


def _sessions_page(course: Course, one: SessionForm, gen: GenerateForm, status: int = 200) -> Page:
    return _page("sessions.html", status, course=course, one=one, gen=gen)


@bp.route("/courses/<int:course_id>/sessions")
@staff_required
def sessions(course_id: int) -> Page:
    """A course's sessions, a form for one more, and the weekly generator."""
    course = _get(Course, course_id)
    return _sessions_page(course, _one_form(course), _generate_form())


@bp.route("/courses/<int:course_id>/sessions", methods=["POST"])
@staff_required
def add_session(course_id: int) -> Any:
    """Add one session (date and Berlin wall-clock times)."""
    course = _get(Course, course_id)
    one = _one_form(course)
    if one.validate_on_submit():
        try:
            session = services.add_session(require_user(), course, one.to_data())
        except Invalid as exc:
            _refused(one, exc, {"starts_at": "start", "ends_at": "end"})
        else:
            flash(_("A session on %(day)s has been added.", day=_day(session.starts_at)), "success")
            return redirect(url_for("staff.sessions", course_id=course.id))
    return _sessions_page(course, one, _generate_form(formdata=None), status=422)


@bp.route("/courses/<int:course_id>/sessions/generate", methods=["POST"])
@staff_required
def generate_sessions(course_id: int) -> Any:
    """Create a series: weekly (or every n weeks) on one weekday, skipping given dates."""
    course = _get(Course, course_id)
    gen = _generate_form()
    if gen.validate_on_submit():
        plan = services.SessionPlan(
            first_date=gen.first_date.data,
            weekday=gen.weekday.data,
            start=gen.start.data,
            end=gen.end.data,
            count=gen.count.data,
            skip_dates=frozenset(gen.skip_dates.data or []),
            interval_weeks=gen.interval_weeks.data,
        )
        try:
            created = services.generate_sessions(require_user(), course, plan)
        except Invalid as exc:
            _refused(gen, exc)
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
    return _page(
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
    session = _get(Session, session_id)
    form = _session_form(session)
    if form.validate_on_submit():
        try:
            services.update_session(require_user(), session, form.to_data())
        except Invalid as exc:
            _refused(form, exc, {"starts_at": "start", "ends_at": "end"})
        else:
            flash(_("The session has been saved."), "success")
            return redirect(url_for("staff.sessions", course_id=session.course_id))
    return _session_edit_page(session, form, ReasonForm(prefix="cancel", formdata=None), _status())


@bp.route("/sessions/<int:session_id>/cancel", methods=["POST"])
@staff_required
def cancel_session(session_id: int) -> Any:
    """Cancel one session; participants and instructors are told."""
    session = _get(Session, session_id)
    cancel_form = ReasonForm(prefix="cancel")
    if cancel_form.validate_on_submit():
        services.cancel_session(require_user(), session, cancel_form.reason.data.strip())
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


# --- enrolments -------------------------------------------------------------------------------


def _book_form(course: Course) -> BookForm:
    form = BookForm(prefix="book")
    choices = [SelectChoice("", _("No reduction – full fee"))]
    if course.reduced_fee_cents is not None:
        choices += [SelectChoice(r.value, str(label)) for r, label in REDUCTION_LABELS.items()]
    form.reduction_reason.choices = choices
    return form


def _enrolments_page(course: Course, book: BookForm, status: int = 200) -> Page:
    active = services.participants(course)
    return _page(
        "enrolments.html",
        status,
        course=course,
        seats=[e for e in active if e.holds_seat],
        waiting=[e for e in active if e.status is EnrolmentStatus.WAITLISTED],
        history=services.participants(course, (EnrolmentStatus.CANCELLED, EnrolmentStatus.EXPIRED)),
        book=book,
    )


@bp.route("/courses/<int:course_id>/enrolments")
@staff_required
def enrolments(course_id: int) -> Page:
    """Participants and waiting list, with the claimed reductions, and booking for someone."""
    course = _get(Course, course_id)
    return _enrolments_page(course, _book_form(course))


@bp.route("/courses/<int:course_id>/enrolments", methods=["POST"])
@staff_required
def book(course_id: int) -> Any:
    """Book a person with an account on their behalf (at the counter or by phone; audited)."""
    course = _get(Course, course_id)
    form = _book_form(course)
    if form.validate_on_submit():
        person = find_user_by_email(form.email.data)
        reason = form.reduction_reason.data
        try:
            if person is None or not person.is_active:
                raise Invalid(errors={"email": [_l("There is no account with this address.")]})
            enrolment = services.enrol(
                course,
                person,
                reduction=ReductionReason(reason) if reason else None,
                actor=require_user(),
            )
        except Invalid as exc:
            _refused(form, exc)
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
    enrolment = _get(Enrolment, enrolment_id)
    form = CancelEnrolmentForm()
    form.validate_on_submit()
    services.cancel_enrolment(enrolment, require_user(), override=bool(form.override.data))
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
    """Move a participant to another course (same price and status; audited)."""
    enrolment = _get(Enrolment, enrolment_id)
    source = enrolment.course
    form = MoveForm()
    if form.validate_on_submit():
        try:
            target = find_target_course(form.course_id.data, source)
            moved = services.move_enrolment(require_user(), enrolment, target)
        except Invalid as exc:
            _refused(form, exc)
        else:
            flash(
                _(
                    "%(name)s has been moved to %(code)s %(title)s.",
                    name=moved.user.name,
                    code=target.code,
                    title=target.title,
                ),
                "success",
            )
            return redirect(url_for("staff.enrolments", course_id=source.id))
    return _page("move.html", _status(), enrolment=enrolment, course=source, form=form)


# --- reports ----------------------------------------------------------------------------------


@bp.route("/reports/below-minimum")
@staff_required
def below_minimum() -> Page:
    """Published courses starting soon with fewer bookings than their minimum."""
    form = BelowMinimumForm(formdata=request.args)
    if not form.validate():
        return _page("below_minimum.html", 422, form=form, courses=[], days=None)
    days = form.days.data or 14
    return _page("below_minimum.html", form=form, courses=services.below_minimum(days), days=days)


register_nav("staff.dashboard", _l("Staff"), who="staff")
