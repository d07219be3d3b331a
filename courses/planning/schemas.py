"""Staff planning API input: terms, categories, courses, sessions."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from courses import rules
from courses.models import (
    CEFR_LEVELS,
    CourseFormat,
    TermStatus,
)
from courses.schemas import MAX_ID, AwareDateTime, Day, Int, StrictSchema, in_bounds

# --- input: every limit is read from courses.rules ------------------------------------------


class TermInSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=rules.TERM_NAME_MAX))
    starts_on = Day(required=True)
    ends_on = Day(required=True)
    enrolment_opens_at = AwareDateTime(required=True)
    status = fields.Enum(TermStatus, by_value=True)


class TermPatchSchema(TermInSchema):
    """The same fields, all optional (PATCH)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("partial", True)
        super().__init__(**kwargs)


class CategoryInSchema(StrictSchema):
    slug = fields.String(
        required=True,
        validate=[
            validate.Length(min=1, max=rules.SLUG_MAX),
            validate.Regexp(rules.SLUG_PATTERN),
        ],
    )
    name_de = fields.String(
        required=True, validate=validate.Length(min=1, max=rules.CATEGORY_NAME_MAX)
    )
    name_en = fields.String(
        required=True, validate=validate.Length(min=1, max=rules.CATEGORY_NAME_MAX)
    )
    parent_id = Int(strict=True, allow_none=True, validate=validate.Range(min=1, max=MAX_ID))
    position = Int(strict=True, load_default=0, validate=in_bounds(rules.CATEGORY_POSITION))


class CategoryPatchSchema(CategoryInSchema):
    """The same fields, all optional (PATCH); `parent_id` null moves it to the top level."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("partial", True)
        super().__init__(**kwargs)


class CourseInSchema(StrictSchema):
    term_id = Int(strict=True, required=True, validate=validate.Range(min=1, max=MAX_ID))
    category_id = Int(strict=True, required=True, validate=validate.Range(min=1, max=MAX_ID))
    code = fields.String(
        required=True,
        validate=validate.Regexp(rules.CODE_PATTERN),
        metadata={"maxLength": rules.CODE_MAX},
    )
    title = fields.String(required=True, validate=validate.Length(min=1, max=rules.TITLE_MAX))
    subtitle = fields.String(validate=validate.Length(max=rules.SUBTITLE_MAX))
    description = fields.String(validate=validate.Length(max=rules.DESCRIPTION_MAX))
    language = fields.String(validate=validate.Length(min=2, max=5))
    level = fields.String(allow_none=True, validate=validate.OneOf(CEFR_LEVELS))
    format = fields.Enum(CourseFormat, by_value=True)
    venue = fields.String(validate=validate.Length(max=rules.VENUE_MAX))
    room = fields.String(validate=validate.Length(max=rules.ROOM_MAX))
    fee_cents = Int(strict=True, validate=in_bounds(rules.FEE_CENTS))
    reduced_fee_cents = Int(strict=True, allow_none=True, validate=in_bounds(rules.FEE_CENTS))
    capacity = Int(strict=True, validate=in_bounds(rules.CAPACITY))
    min_participants = Int(strict=True, validate=in_bounds(rules.MIN_PARTICIPANTS))
    enrolment_closes_at = AwareDateTime(allow_none=True)
    cancellation_days = Int(strict=True, validate=in_bounds(rules.CANCELLATION_DAYS))
    instructor_ids = fields.List(Int(strict=True, validate=validate.Range(min=1, max=MAX_ID)))


class CoursePatchSchema(CourseInSchema):
    """The same fields, all optional (PATCH)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("partial", True)
        super().__init__(**kwargs)


class SessionInSchema(StrictSchema):
    starts_at = AwareDateTime(required=True)
    ends_at = AwareDateTime(required=True)
    online = fields.Boolean()
    room = fields.String(validate=validate.Length(max=rules.ROOM_MAX))
    note = fields.String(validate=validate.Length(max=rules.NOTE_MAX))


class SessionPatchSchema(SessionInSchema):
    """The same fields, all optional (PATCH)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("partial", True)
        super().__init__(**kwargs)


class GenerateSessionsSchema(StrictSchema):
    """ "weekly on Tuesday 18:00-19:30, 10 times from 2027-02-02, skipping these dates"."""

    first_date = Day(required=True)
    weekday = Int(
        strict=True,
        required=True,
        validate=in_bounds(rules.WEEKDAY),
        metadata={"description": "ISO weekday: 1 = Monday"},
    )
    start = fields.Time(
        required=True, metadata={"description": "wall-clock time in the VHS's time zone"}
    )
    end = fields.Time(required=True)
    count = Int(strict=True, required=True, validate=in_bounds(rules.SERIES_COUNT))
    skip_dates = fields.List(
        fields.Date(), load_default=list, validate=validate.Length(max=rules.SKIP_DATES_MAX)
    )
    interval_weeks = Int(
        strict=True, load_default=1, validate=in_bounds(rules.SERIES_INTERVAL_WEEKS)
    )

    @validates_schema
    def _end_after_start(self, data: dict[str, Any], **_kw: Any) -> None:
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            raise ValidationError("must be after start", field_name="end")


class ReasonSchema(StrictSchema):
    reason = fields.String(load_default="", validate=validate.Length(max=rules.REASON_MAX))


class CopySchema(StrictSchema):
    term_id = Int(strict=True, required=True, validate=validate.Range(min=1, max=MAX_ID))


class BelowMinimumArgsSchema(StrictSchema):
    days = Int(load_default=14, validate=in_bounds(rules.BELOW_MINIMUM_DAYS))


class UnitsOverrideSchema(StrictSchema):
    """A teaching-units override: a number with at most one decimal, or null to clear it."""

    teaching_units = fields.Raw(
        required=True,
        allow_none=True,
        metadata={
            "type": ["number", "null"],
            "minimum": rules.TEACHING_UNITS.lo,
            "maximum": rules.TEACHING_UNITS.hi,
            "multipleOf": 0.1,
            "description": "Units of 45 minutes (one decimal); null returns to the derived figure",
        },
    )
    reason = fields.String(
        load_default="",
        validate=validate.Length(max=rules.REASON_MAX),
        metadata={"description": "Required when setting a value"},
    )

    @validates_schema
    def _number(self, data: dict[str, Any], **_kw: Any) -> None:
        value = data.get("teaching_units")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValidationError("Give a number or null.", "teaching_units")


class UnitsOutSchema(Schema):
    """A course's teaching units: effective, derived from its sessions, and the override."""

    course_id = fields.Integer(required=True, attribute="id")
    teaching_units = fields.Float(required=True)
    teaching_units_derived = fields.Float(required=True)
    teaching_units_override = fields.Float(allow_none=True)
    override_reason = fields.String(required=True, attribute="units_override_reason")
    override_at = fields.DateTime(allow_none=True, attribute="units_override_at")
    override_by = fields.Function(lambda c: c.units_override_by_name or None, allow_none=True)
