"""Staff exports for other systems (room booking, print): /api/v1/exports/sessions.{ics,csv}."""

from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from courses.blueprints import calendar_api as bp
from courses.calendar import exports as calendar_exports
from courses.models import CourseFormat
from courses.schemas import Day
from vhs.accounts.models import Role
from vhs.auth import require_role
from vhs.calendar.views import download_response
from vhs.extensions import problems

_ID = {"strict": False, "validate": validate.Range(min=1, max=2**31 - 1)}


class ExportArgsSchema(Schema):
    """Which sessions to export; dates are Berlin calendar days, both ends included."""

    class Meta:
        unknown = RAISE

    term = fields.Integer(**_ID)
    category = fields.Integer(**_ID, metadata={"description": "includes its sub-categories"})
    instructor = fields.Integer(**_ID)
    room = fields.String(
        validate=validate.Length(max=100),
        metadata={"description": "part of the room or venue name"},
    )
    format = fields.Enum(CourseFormat, by_value=True)
    # Day declares its range in the OpenAPI schema (a description and a pattern on the year).
    date_from = Day(metadata={"description": "first day, included"})
    date_to = Day(metadata={"description": "last day, included"})


def _filters(args: dict[str, Any]) -> calendar_exports.SessionFilter:
    return calendar_exports.SessionFilter(
        term_id=args.get("term"),
        category_id=args.get("category"),
        instructor_id=args.get("instructor"),
        room=(args.get("room") or "").strip() or None,
        format=args.get("format"),
        date_from=args.get("date_from"),
        date_to=args.get("date_to"),
    ).check()


_TEXT = {"type": "string"}


@bp.route("/exports/sessions.ics")
@bp.arguments(ExportArgsSchema, location="query", as_kwargs=False)
@bp.response(200, _TEXT, content_type="text/calendar", description="An iCalendar file")
@problems(bp, 401, 403, 422)
def export_ics(args: dict[str, Any]) -> Any:
    """Sessions matching the filters as iCalendar (RFC 5545), streamed; staff only."""
    require_role(Role.STAFF)
    filters = _filters(args)
    return download_response(
        calendar_exports.iter_export_ics(filters), filename=f"vhs-termine-{date.today()}.ics"
    )


@bp.route("/exports/sessions.csv")
@bp.arguments(ExportArgsSchema, location="query", as_kwargs=False)
@bp.response(200, _TEXT, content_type="text/csv", description="UTF-8 with BOM, semicolon-separated")
@problems(bp, 401, 403, 422)
def export_csv(args: dict[str, Any]) -> Any:
    """Sessions matching the filters as CSV for spreadsheets, streamed; staff only."""
    require_role(Role.STAFF)
    filters = _filters(args)
    return download_response(
        calendar_exports.iter_export_csv(filters),
        filename=f"vhs-termine-{date.today()}.csv",
        content_type=calendar_exports.CSV_CONTENT_TYPE,
    )
