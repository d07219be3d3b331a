"""Office API: instructor rates, fee statements (issue, read, PDF), the term report."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView

from courses.blueprints import api as api_bp
from courses.blueprints import staff_api as staff_bp
from courses.models import Course, Term
from courses.office import reports as report_services
from courses.office import statements as statement_services
from courses.office.exports import statement_pdf
from courses.office.models import FeeStatement, InstructorRate
from courses.office.schemas import (
    DraftArgsSchema,
    DraftSchema,
    IssueSchema,
    OverviewSchema,
    RateInSchema,
    RateOutSchema,
    ReportArgsSchema,
    ReportSchema,
    StatementSchema,
    StatementSummarySchema,
    TermArgsSchema,
    report_as_dict,
)
from vhs.accounts.models import Role
from vhs.auth import require_role, require_user, staff_required, user_required
from vhs.db import db
from vhs.errors import NotFound
from vhs.extensions import problems

PDF = {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}


def _get(model: type, ident: int) -> Any:
    obj = db.session.get(model, ident)
    if obj is None:
        raise NotFound()
    return obj


# --- rates ---------------------------------------------------------------------------------


@staff_bp.route("/staff/courses/<int:course_id>/rates")
class Rates(MethodView):
    @staff_required
    @staff_bp.response(200, RateOutSchema(many=True))
    @problems(staff_bp, 401, 403, 404)
    def get(self, course_id: int) -> list[InstructorRate]:
        """The fees agreed with the course's instructors (staff)."""
        course = _get(Course, course_id)
        return list(statement_services.rates_of(course).values())


@staff_bp.route("/staff/courses/<int:course_id>/rates/<int:instructor_id>", methods=["PUT"])
@staff_required
@staff_bp.arguments(RateInSchema)
@staff_bp.response(200, RateOutSchema)
@problems(staff_bp, 401, 403, 404, 422)
def put_rate(data: dict[str, Any], course_id: int, instructor_id: int) -> InstructorRate:
    """Agree one instructor's fee for the course: `per_unit` or `flat`, in cents (staff)."""
    return statement_services.set_rate(
        require_user(), _get(Course, course_id), instructor_id, data["kind"], data["amount_cents"]
    )


# --- statements (staff) --------------------------------------------------------------------


@staff_bp.route("/staff/statements")
class Statements(MethodView):
    @staff_required
    @staff_bp.arguments(TermArgsSchema, location="query")
    @staff_bp.response(200, OverviewSchema(many=True))
    @problems(staff_bp, 401, 403, 404, 422)
    def get(self, args: dict[str, Any]) -> list[Any]:
        """Everybody teaching in a term, with their statement if issued (staff)."""
        return statement_services.term_overview(require_user(), _get(Term, args["term_id"]))

    @staff_required
    @staff_bp.arguments(IssueSchema)
    @staff_bp.response(201, StatementSchema)
    @problems(staff_bp, 401, 403, 404, 409, 422)
    def post(self, data: dict[str, Any]) -> FeeStatement:
        """Issue an instructor's statement for a term: numbered, frozen (staff)."""
        return statement_services.issue_statement(
            require_user(),
            statement_services.get_instructor(data["instructor_id"]),
            _get(Term, data["term_id"]),
        )


@staff_bp.route("/staff/statements/preview")
@staff_required
@staff_bp.arguments(DraftArgsSchema, location="query")
@staff_bp.response(200, DraftSchema)
@problems(staff_bp, 401, 403, 404, 422)
def preview(args: dict[str, Any]) -> Any:
    """What the statement would say if issued now (staff)."""
    return statement_services.preview_statement(
        require_user(),
        statement_services.get_instructor(args["instructor_id"]),
        _get(Term, args["term_id"]),
    )


# --- statements (own, or staff) ------------------------------------------------------------


@api_bp.route("/statements")
class MyStatements(MethodView):
    @user_required
    @api_bp.response(200, StatementSummarySchema(many=True))
    @problems(api_bp, 401, 403)
    def get(self) -> list[FeeStatement]:
        """The caller's own fee statements (instructors)."""
        return statement_services.statements_of(require_role(Role.INSTRUCTOR, Role.STAFF))


@api_bp.route("/statements/<int:statement_id>")
class StatementItem(MethodView):
    @user_required
    @api_bp.response(200, StatementSchema)
    @problems(api_bp, 401, 403, 404)
    def get(self, statement_id: int) -> FeeStatement:
        """One fee statement as issued (its instructor and staff)."""
        return statement_services.get_statement(require_user(), statement_id)


@api_bp.route("/statements/<int:statement_id>/pdf")
@user_required
@api_bp.doc(responses={200: {"description": "The statement as PDF", "content": PDF}})
@problems(api_bp, 401, 403, 404)
def statement_pdf_api(statement_id: int) -> Response:
    """One fee statement as PDF (its instructor and staff)."""
    st = statement_services.get_statement(require_user(), statement_id)
    resp = Response(statement_pdf(st), mimetype="application/pdf")
    resp.headers["Content-Disposition"] = f'inline; filename="honorarabrechnung-{st.number}.pdf"'
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


# --- the term report -----------------------------------------------------------------------


@staff_bp.route("/staff/reports/term")
@staff_required
@staff_bp.arguments(ReportArgsSchema, location="query")
@staff_bp.response(200, ReportSchema)
@problems(staff_bp, 401, 403, 422)
def term_report(args: dict[str, Any]) -> dict[str, Any]:
    """Bookings, utilisation, money, reductions, below minimum, statistics of a term (staff)."""
    filters = report_services.parse_filters(
        args["term_id"], args.get("category_id"), args.get("venue")
    )
    report = report_services.term_report(require_user(), filters)
    return report_as_dict(report, report_services.DASHBOARD_WINDOW_DAYS)
