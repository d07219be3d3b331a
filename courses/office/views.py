"""Office pages: instructor rates, fee statements (staff and instructors), term reports."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice

from courses.blueprints import staff as staff_bp
from courses.blueprints import teaching as teaching_bp
from courses.models import Course, Term
from courses.office import reports as report_services
from courses.office import statements as statement_services
from courses.office.exports import csv_response, statement_pdf, statement_rows
from courses.office.forms import (
    RATE_KIND_LABELS,
    IssueForm,
    RateForm,
    ReportFilterForm,
    TermChoiceForm,
)
from courses.office.models import FeeStatement
from courses.office.report_csv import report_rows
from courses.schemas import MAX_ID
from courses.staff import (
    Page,
    category_label,
    category_tree,
    get_or_404,
    show_refusal,
    staff_labels,
    terms_newest_first,
)
from vhs.accounts.models import Role
from vhs.auth import require_role, require_user, staff_required, user_required
from vhs.errors import Conflict, Invalid, NotFound
from vhs.forms import EmptyForm


def office_page(template: str, status: int = 200, **context: Any) -> Page:
    """A staff page of the office (templates/courses/office/)."""
    return render_template(f"courses/office/{template}", **staff_labels(), **context), status


# --- rates (per course) ----------------------------------------------------------------------


def _rate_forms(course: Course, refused: tuple[int, RateForm] | None = None) -> dict[int, Any]:
    rates = statement_services.rates_of(course)
    forms: dict[int, Any] = {}
    for person in course.instructors:
        if refused and refused[0] == person.id:
            forms[person.id] = refused[1]
            continue
        rate = rates.get(person.id)
        data = {"kind": rate.kind.value, "amount_cents": rate.amount_cents} if rate else None
        forms[person.id] = RateForm(prefix=f"rate-{person.id}", formdata=None, data=data)
    return forms


def _rates_page(course: Course, refused: tuple[int, RateForm] | None = None) -> Page:
    return office_page(
        "rates.html",
        422 if refused else 200,
        course=course,
        rates=statement_services.rates_of(course),
        forms=_rate_forms(course, refused),
        kind_labels=RATE_KIND_LABELS,
    )


@staff_bp.route("/courses/<int:course_id>/rates")
@staff_required
def rates(course_id: int) -> Page:
    """The fees agreed with the course's instructors, each with a form to change it."""
    return _rates_page(get_or_404(Course, course_id))


@staff_bp.route("/courses/<int:course_id>/rates/<int:instructor_id>", methods=["POST"])
@staff_required
def set_rate(course_id: int, instructor_id: int) -> Any:
    """Agree (or change) one instructor's fee for the course."""
    course = get_or_404(Course, course_id)
    form = RateForm(prefix=f"rate-{instructor_id}")
    if form.validate_on_submit():
        try:
            rate = statement_services.set_rate(
                require_user(), course, instructor_id, **form.to_data()
            )
        except Invalid as exc:
            show_refusal(form, exc)
        else:
            flash(
                _(
                    "The fee of %(name)s for %(code)s has been saved.",
                    name=rate.instructor.name,
                    code=course.code,
                ),
                "success",
            )
            return redirect(url_for("staff.rates", course_id=course.id))
    if not any(p.id == instructor_id for p in course.instructors):
        raise NotFound(
            _l("This person does not teach this course."), code="not_an_instructor_of_course"
        )
    return _rates_page(get_or_404(Course, course_id), (instructor_id, form))


# --- statements (staff) ----------------------------------------------------------------------


def _term_choice(term_id: Any) -> tuple[TermChoiceForm, Term | None]:
    form = TermChoiceForm(formdata=request.args)
    terms = terms_newest_first()
    form.term_id.choices = [SelectChoice(t.id, t.name) for t in terms]
    if "term_id" not in request.args:
        form.term_id.data = terms[0].id if terms else None
        return form, terms[0] if terms else None
    if not form.validate():
        return form, None
    return form, get_or_404(Term, form.term_id.data)


@staff_bp.route("/statements")
@staff_required
def statements() -> Page:
    """Everybody teaching in a term, with their fee statement or a link to preview it."""
    form, term = _term_choice(request.args.get("term_id"))
    rows = statement_services.term_overview(require_user(), term) if term else []
    return office_page(
        "statements.html",
        200 if term or not form.errors else 422,
        form=form,
        term=term,
        rows=rows,
    )


def _ids(source: Any) -> tuple[Term, Any]:
    try:
        term_id = int(source.get("term_id", ""))
        instructor_id = int(source.get("instructor_id", ""))
    except ValueError:
        raise NotFound() from None
    if not (0 < term_id <= MAX_ID and 0 < instructor_id <= MAX_ID):
        raise NotFound()
    return get_or_404(Term, term_id), statement_services.get_instructor(instructor_id)


@staff_bp.route("/statements/preview")
@staff_required
def preview_statement() -> Page:
    """What the statement would say if issued now; the confirmation step before issuing."""
    term, instructor = _ids(request.args)
    draft = statement_services.preview_statement(require_user(), instructor, term)
    form = IssueForm(formdata=None, data={"term_id": term.id, "instructor_id": instructor.id})
    return office_page("preview.html", draft=draft, form=form)


@staff_bp.route("/statements/issue", methods=["POST"])
@staff_required
def issue_statement() -> Any:
    """Issue the statement: numbered, and frozen from now on."""
    form = IssueForm()
    if not form.validate_on_submit():
        raise Invalid(errors=form.errors)
    term, instructor = _ids(request.form)
    try:
        statement = statement_services.issue_statement(require_user(), instructor, term)
    except Conflict as exc:
        flash(str(exc.detail), "error")
        return redirect(
            url_for("staff.preview_statement", term_id=term.id, instructor_id=instructor.id)
        )
    flash(
        _(
            "Fee statement %(number)s for %(name)s has been issued.",
            number=statement.number,
            name=statement.instructor_name,
        ),
        "success",
    )
    return redirect(url_for("teaching.statement", statement_id=statement.id))


# --- statements (the instructor's own, and staff) ------------------------------------------


@teaching_bp.route("/statements")
@user_required
def my_statements() -> str:
    """The instructor's own fee statements."""
    user = require_role(Role.INSTRUCTOR, Role.STAFF)
    return render_template(
        "courses/office/my_statements.html",
        statements=statement_services.statements_of(user),
    )


def _statement(statement_id: int) -> FeeStatement:
    return statement_services.get_statement(require_user(), statement_id)


@teaching_bp.route("/statements/<int:statement_id>")
@user_required
def statement(statement_id: int) -> str:
    """One statement as issued (its owner and staff)."""
    return render_template(
        "courses/office/statement.html",
        statement=_statement(statement_id),
        action_form=EmptyForm(),
    )


@teaching_bp.route("/statements/<int:statement_id>.pdf")
@user_required
def statement_pdf_download(statement_id: int) -> Response:
    """The statement as PDF (its owner and staff)."""
    st = _statement(statement_id)
    resp = Response(statement_pdf(st), mimetype="application/pdf")
    resp.headers["Content-Disposition"] = f'inline; filename="honorarabrechnung-{st.number}.pdf"'
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@teaching_bp.route("/statements/<int:statement_id>.csv")
@user_required
def statement_csv(statement_id: int) -> Response:
    """The statement for German Excel (its owner and staff)."""
    st = _statement(statement_id)
    return csv_response(statement_rows(st), f"honorarabrechnung-{st.number}")


# --- reports ---------------------------------------------------------------------------------


def _report_form() -> tuple[ReportFilterForm, report_services.TermReport | None]:
    form = ReportFilterForm(formdata=request.args)
    terms = terms_newest_first()
    form.term_id.choices = [SelectChoice(t.id, t.name) for t in terms]
    form.category_id.choices = [SelectChoice("", _("All categories"))] + [
        SelectChoice(cat.id, category_label(cat, depth)) for cat, depth in category_tree()
    ]
    if "term_id" not in request.args and terms:
        form.term_id.data = terms[0].id
    term = next((t for t in terms if t.id == form.term_id.data), None)
    form.venue.choices = [SelectChoice("", _("All venues"))] + [
        SelectChoice(v, v) for v in (report_services.venues(term) if term else []) if v
    ]
    if term is None or ("term_id" in request.args and not form.validate()):
        return form, None
    filters = report_services.parse_filters(term.id, form.category_id.data, form.venue.data or None)
    return form, report_services.term_report(require_user(), filters)


@staff_bp.route("/reports/term")
@staff_required
def term_report() -> Page:
    """The term report: bookings, utilisation, money, reductions, below minimum, statistics."""
    form, report = _report_form()
    return office_page(
        "report.html",
        422 if form.errors else 200,
        form=form,
        report=report,
        window=report_services.DASHBOARD_WINDOW_DAYS,
    )


@staff_bp.route("/reports/term.csv")
@staff_required
def term_report_csv() -> Response:
    """The term report for German Excel: UTF-8 with BOM, semicolons, decimal commas."""
    form, report = _report_form()
    if report is None:
        raise Invalid(errors=form.errors or {"term_id": [_l("Please choose a term.")]})
    return csv_response(report_rows(report), f"bericht-{report.filters.term.name}")
