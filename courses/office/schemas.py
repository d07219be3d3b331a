"""API schemas of the office: rates, fee statements, the term report."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from courses import rules
from courses.labels import REDUCTION_LABELS
from courses.office.models import RateKind
from courses.schemas import MAX_ID, Int, StrictSchema, in_bounds

ID = {"strict": True, "validate": validate.Range(min=1, max=MAX_ID)}
QUERY_ID = {"validate": validate.Range(min=1, max=MAX_ID)}  # query strings carry text


class RateInSchema(StrictSchema):
    kind = fields.Enum(RateKind, by_value=True, required=True)
    amount_cents = Int(strict=True, required=True, validate=in_bounds(rules.FEE_CENTS))


class RateOutSchema(Schema):
    course_id = fields.Integer(required=True)
    instructor_id = fields.Integer(required=True)
    instructor_name = fields.Function(lambda r: r.instructor.name, required=True)
    kind = fields.Enum(RateKind, by_value=True, required=True)
    amount_cents = fields.Integer(required=True)
    currency = fields.String(required=True)
    updated_at = fields.DateTime(required=True)


class LineSchema(Schema):
    course_id = fields.Integer(allow_none=True)
    session_id = fields.Integer(allow_none=True)
    course_code = fields.String(required=True)
    course_title = fields.String(required=True)
    starts_at = fields.DateTime(allow_none=True)
    ends_at = fields.DateTime(allow_none=True)
    units = fields.Function(lambda line: rules.units_value(line.units_tenths), required=True)
    rate_kind = fields.Enum(RateKind, by_value=True, required=True)
    rate_cents = fields.Integer(required=True)
    amount_cents = fields.Integer(required=True)


class StatementSchema(Schema):
    id = fields.Integer(required=True)
    number = fields.String(required=True)
    instructor_id = fields.Integer(required=True)
    instructor_name = fields.String(required=True)
    term_id = fields.Integer(required=True)
    term_name = fields.String(required=True)
    issued_at = fields.DateTime(required=True)
    units = fields.Function(lambda s: rules.units_value(s.units_tenths), required=True)
    total_cents = fields.Integer(required=True)
    currency = fields.String(required=True)
    lines = fields.List(fields.Nested(LineSchema), required=True)


class StatementSummarySchema(Schema):
    id = fields.Integer(required=True)
    number = fields.String(required=True)
    term_id = fields.Integer(required=True)
    term_name = fields.String(required=True)
    issued_at = fields.DateTime(required=True)
    total_cents = fields.Integer(required=True)
    currency = fields.String(required=True)


class DraftSchema(Schema):
    instructor_id = fields.Function(lambda d: d.instructor.id, required=True)
    instructor_name = fields.Function(lambda d: d.instructor.name, required=True)
    term_id = fields.Function(lambda d: d.term.id, required=True)
    units = fields.Float(required=True)
    total_cents = fields.Integer(required=True)
    lines = fields.List(fields.Nested(LineSchema), required=True)
    missing_rates = fields.Function(
        lambda d: [c.id for c in d.missing_rates],
        required=True,
        metadata={"description": "Ids of courses without an agreed fee"},
    )
    issued_id = fields.Function(lambda d: d.issued.id if d.issued else None, allow_none=True)
    can_issue = fields.Boolean(required=True)


class DraftArgsSchema(StrictSchema):
    term_id = fields.Integer(required=True, **QUERY_ID)
    instructor_id = fields.Integer(required=True, **QUERY_ID)


class IssueSchema(StrictSchema):
    term_id = Int(required=True, **ID)
    instructor_id = Int(required=True, **ID)


class TermArgsSchema(StrictSchema):
    term_id = fields.Integer(required=True, **QUERY_ID)


class OverviewSchema(Schema):
    instructor_id = fields.Function(lambda r: r.instructor.id, required=True)
    instructor_name = fields.Function(lambda r: r.instructor.name, required=True)
    course_ids = fields.Function(lambda r: [c.id for c in r.courses], required=True)
    statement = fields.Nested(StatementSummarySchema, allow_none=True)


class ReportArgsSchema(StrictSchema):
    term_id = fields.Integer(required=True, **QUERY_ID)
    category_id = fields.Integer(**QUERY_ID)
    venue = fields.String(validate=validate.Length(max=rules.VENUE_MAX))


class FiguresSchema(Schema):
    courses = fields.Integer(required=True)
    cancelled_courses = fields.Integer(required=True)
    bookings = fields.Integer(required=True)
    cancellations = fields.Integer(required=True)
    waitlisted = fields.Integer(required=True)
    seats_taken = fields.Integer(required=True)
    capacity = fields.Integer(required=True)
    utilisation_percent = fields.Float(allow_none=True)
    teaching_units = fields.Float(required=True)
    revenue_cents = fields.Integer(required=True)
    refunds_cents = fields.Integer(required=True)
    net_cents = fields.Integer(required=True)


class GroupSchema(FiguresSchema):
    category_id = fields.Integer(required=True)
    category = fields.String(required=True)
    venue = fields.String(required=True)


class StatisticsSchema(Schema):
    category_id = fields.Integer(required=True)
    subject_area = fields.String(required=True)
    courses = fields.Integer(required=True)
    teaching_units = fields.Float(required=True)
    enrolments = fields.Integer(required=True)


class BelowMinimumSchema(Schema):
    course_id = fields.Integer(required=True)
    code = fields.String(required=True)
    title = fields.String(required=True)
    first_session_at = fields.DateTime(required=True)
    seats_taken = fields.Integer(required=True)
    min_participants = fields.Integer(required=True)


class ReportSchema(Schema):
    term_id = fields.Integer(required=True)
    category_id = fields.Integer(allow_none=True)
    venue = fields.String(allow_none=True)
    total = fields.Nested(FiguresSchema, required=True)
    groups = fields.List(fields.Nested(GroupSchema), required=True)
    reductions = fields.Dict(
        keys=fields.String(validate=validate.OneOf([r.value for r in REDUCTION_LABELS])),
        values=fields.Integer(),
        required=True,
    )
    below_minimum = fields.List(fields.Nested(BelowMinimumSchema), required=True)
    below_minimum_window_days = fields.Integer(required=True)
    statistics = fields.List(fields.Nested(StatisticsSchema), required=True)


def report_as_dict(report: Any, window: int) -> dict[str, Any]:
    """The report in the shape of ``ReportSchema``."""
    f = report.filters
    return {
        "term_id": f.term.id,
        "category_id": f.category.id if f.category else None,
        "venue": f.venue,
        "total": report.total.as_dict(),
        "groups": [
            {"category_id": c.id, "category": c.name_de, "venue": venue, **row.as_dict()}
            for c, venue, row in report.groups
        ],
        "reductions": {reason.value: n for reason, n in report.reductions.items()},
        "below_minimum": [
            {
                "course_id": c.id,
                "code": c.code,
                "title": c.title,
                "first_session_at": c.first_session_at,
                "seats_taken": c.seats_taken,
                "min_participants": c.min_participants,
            }
            for c in report.below_minimum
        ],
        "below_minimum_window_days": window,
        "statistics": [
            {
                "category_id": s.area.id,
                "subject_area": s.area.name_de,
                "courses": s.courses,
                "teaching_units": s.units,
                "enrolments": s.enrolments,
            }
            for s in report.statistics
        ],
    }
