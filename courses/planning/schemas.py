"""Staff planning API input: terms, categories, courses, sessions."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from courses.models import (
    CEFR_LEVELS,
    CourseFormat,
    TermStatus,
)
from courses.schemas import MAX_ID, AwareDateTime, Int, StrictSchema

# --- output ---------------------------------------------------------------------------------


class TermInSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    enrolment_opens_at = AwareDateTime(required=True)
    status = fields.Enum(TermStatus, by_value=True)


class TermPatchSchema(TermInSchema):
    """The same fields, all optional (PATCH)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("partial", True)
        super().__init__(**kwargs)


class CategoryInSchema(StrictSchema):
    slug = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]{0,79}$"))
    name_de = fields.String(required=True, validate=validate.Length(min=1, max=120))
    name_en = fields.String(required=True, validate=validate.Length(min=1, max=120))
    parent_id = Int(strict=True, allow_none=True, validate=validate.Range(min=1, max=MAX_ID))
    position = Int(strict=True, load_default=0, validate=validate.Range(min=0, max=10000))


class CourseInSchema(StrictSchema):
    term_id = Int(strict=True, required=True, validate=validate.Range(min=1, max=MAX_ID))
    category_id = Int(strict=True, required=True, validate=validate.Range(min=1, max=MAX_ID))
    code = fields.String(required=True, validate=validate.Length(min=2, max=20))
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    subtitle = fields.String(validate=validate.Length(max=300))
    description = fields.String(validate=validate.Length(max=20000))
    language = fields.String(validate=validate.Length(min=2, max=5))
    level = fields.String(allow_none=True, validate=validate.OneOf(CEFR_LEVELS))
    format = fields.Enum(CourseFormat, by_value=True)
    venue = fields.String(validate=validate.Length(max=200))
    room = fields.String(validate=validate.Length(max=100))
    fee_cents = Int(strict=True, validate=validate.Range(min=0, max=10_000_00))
    reduced_fee_cents = Int(
        strict=True, allow_none=True, validate=validate.Range(min=0, max=10_000_00)
    )
    capacity = Int(strict=True, validate=validate.Range(min=1, max=10000))
    min_participants = Int(strict=True, validate=validate.Range(min=0, max=10000))
    enrolment_closes_at = AwareDateTime(allow_none=True)
    cancellation_days = Int(strict=True, validate=validate.Range(min=0, max=365))
    teaching_units = Int(strict=True, validate=validate.Range(min=0, max=1000))
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
    room = fields.String(validate=validate.Length(max=100))
    note = fields.String(validate=validate.Length(max=2000))


class SessionPatchSchema(SessionInSchema):
    """The same fields, all optional (PATCH)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("partial", True)
        super().__init__(**kwargs)


class GenerateSessionsSchema(StrictSchema):
    """ "weekly on Tuesday 18:00-19:30, 10 times from 2027-02-02, skipping these dates"."""

    first_date = fields.Date(required=True)
    weekday = Int(strict=True, required=True, validate=validate.Range(min=1, max=7))
    start = fields.Time(required=True, metadata={"description": "Europe/Berlin wall-clock time"})
    end = fields.Time(required=True)
    count = Int(strict=True, required=True, validate=validate.Range(min=1, max=200))
    skip_dates = fields.List(fields.Date(), load_default=list)
    interval_weeks = Int(strict=True, load_default=1, validate=validate.Range(min=1, max=4))

    @validates_schema
    def _end_after_start(self, data: dict[str, Any], **_kw: Any) -> None:
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            raise ValidationError("must be after start", field_name="end")


class ReasonSchema(StrictSchema):
    reason = fields.String(load_default="", validate=validate.Length(max=2000))


class CopySchema(StrictSchema):
    term_id = Int(strict=True, required=True, validate=validate.Range(min=1, max=MAX_ID))


class BelowMinimumArgsSchema(StrictSchema):
    days = Int(load_default=14, validate=validate.Range(min=1, max=365))
