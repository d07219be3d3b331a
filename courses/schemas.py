"""Marshmallow schemas of the course API (load = validation, dump = representation)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from courses.markdown import render_markdown
from courses.models import (
    CourseFormat,
    CourseStatus,
    EnrolmentStatus,
    ReductionReason,
    SessionStatus,
    TermStatus,
)
from courses.rules import DAY_PATTERN, EARLIEST_DAY, LATEST_DAY, Bounds, day_in_range
from vhs.i18n import local, page_locale


class StrictSchema(Schema):
    """Unknown fields are refused rather than ignored."""

    class Meta:
        unknown = RAISE


Int = fields.Integer  # always used with strict=True: floats are not integers
MAX_ID = 2**31 - 1  # the largest value an INTEGER column holds


def in_bounds(bounds: Bounds) -> validate.Range:
    """A range check whose limits come from ``courses.rules`` (the form and service read them too)."""
    return validate.Range(min=bounds.lo, max=bounds.hi)


DAY_RANGE = f"between {EARLIEST_DAY.isoformat()} and {LATEST_DAY.isoformat()}"


def _check_day(value: date | datetime) -> None:
    """Refuse a day outside the planning range (year 0001 or 9999 overflows date arithmetic)."""
    if not day_in_range(value):
        raise ValidationError(f"Must be a day {DAY_RANGE}.")


def _day_doc(kwargs: dict[str, Any], pattern: str) -> dict[str, Any]:
    """OpenAPI metadata saying which days are accepted (as a pattern clients can check)."""
    metadata = dict(kwargs.pop("metadata", {}))
    text = metadata.get("description")
    metadata["description"] = f"{text} ({DAY_RANGE})" if text else f"A day {DAY_RANGE}."
    metadata.setdefault("pattern", pattern)
    return metadata


class Day(fields.Date):
    """An ISO 8601 calendar day (YYYY-MM-DD) in the planning range of ``courses.rules``."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = _day_doc(kwargs, DAY_PATTERN)
        super().__init__(validate=_check_day, metadata=metadata, **kwargs)


class AwareDateTime(fields.AwareDateTime):
    """An ISO 8601 timestamp that must carry its UTC offset, on a day in the planning range."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = _day_doc(kwargs, DAY_PATTERN.removesuffix("$") + "T")
        super().__init__(format="iso", validate=_check_day, metadata=metadata, **kwargs)


# --- output ---------------------------------------------------------------------------------


class InstructorSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class CategoryOutSchema(Schema):
    id = fields.Integer(required=True)
    slug = fields.String(required=True)
    name = fields.Method("get_name", required=True)
    name_de = fields.String(required=True)
    name_en = fields.String(required=True)
    parent_id = fields.Integer(allow_none=True)

    def get_name(self, obj: Any) -> str:
        return obj.name(page_locale())


class TermOutSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    enrolment_opens_at = fields.DateTime(required=True)
    status = fields.Enum(TermStatus, by_value=True, required=True)


class SessionOutSchema(Schema):
    id = fields.Integer(required=True)
    uuid = fields.String(required=True)
    starts_at = fields.Method("get_starts_at", required=True)
    ends_at = fields.Method("get_ends_at", required=True)
    status = fields.Enum(SessionStatus, by_value=True, required=True)
    online = fields.Boolean(required=True)
    room = fields.String(required=True)
    sequence = fields.Integer(required=True)

    def get_starts_at(self, obj: Any) -> str:
        return local(obj.starts_at).isoformat()

    def get_ends_at(self, obj: Any) -> str:
        return local(obj.ends_at).isoformat()


class CourseSummarySchema(Schema):
    """A catalogue entry."""

    id = fields.Integer(required=True)
    code = fields.String(required=True)
    title = fields.String(required=True)
    subtitle = fields.String(required=True)
    status = fields.Enum(CourseStatus, by_value=True, required=True)
    format = fields.Enum(CourseFormat, by_value=True, required=True)
    language = fields.String(required=True)
    level = fields.String(allow_none=True)
    term_id = fields.Integer(required=True)
    category = fields.Nested(CategoryOutSchema, required=True)
    instructors = fields.List(fields.Nested(InstructorSchema), required=True)
    fee_cents = fields.Integer(required=True)
    reduced_fee_cents = fields.Integer(allow_none=True)
    currency = fields.String(required=True)
    capacity = fields.Integer(required=True)
    seats_left = fields.Integer(required=True)
    waitlist = fields.Method("get_waitlist", required=True)
    first_session_at = fields.Method("get_first", allow_none=True)
    weekday = fields.Integer(allow_none=True)
    start_time = fields.Method("get_start_time", allow_none=True)
    session_count = fields.Integer(required=True)
    venue = fields.String(required=True)
    room = fields.String(required=True)

    def get_waitlist(self, obj: Any) -> bool:
        return bool(obj.is_full)

    def get_first(self, obj: Any) -> str | None:
        return local(obj.first_session_at).isoformat() if obj.first_session_at else None

    def get_start_time(self, obj: Any) -> str | None:
        if obj.start_minute is None:
            return None
        return f"{obj.start_minute // 60:02d}:{obj.start_minute % 60:02d}"


class CourseDetailSchema(CourseSummarySchema):
    """A course with its sessions."""

    description = fields.String(required=True)
    description_html = fields.Method("get_html", required=True)
    min_participants = fields.Integer(required=True)
    teaching_units = fields.Float(
        required=True,
        metadata={"description": "Effective teaching units (45 min): override or derived"},
    )
    teaching_units_derived = fields.Float(
        required=True, metadata={"description": "Units of the held (not cancelled) sessions"}
    )
    teaching_units_override = fields.Float(
        allow_none=True, metadata={"description": "Set by staff, replaces the derived figure"}
    )
    cancellation_days = fields.Integer(required=True)
    cancellation_deadline = fields.Method("get_deadline", allow_none=True)
    enrolment_closes_at = fields.DateTime(allow_none=True)
    sessions = fields.List(fields.Nested(SessionOutSchema), required=True)

    def get_html(self, obj: Any) -> str:
        return str(render_markdown(obj.description))

    def get_deadline(self, obj: Any) -> str | None:
        deadline = obj.cancellation_deadline
        return local(deadline).isoformat() if deadline else None


class CoursePageSchema(Schema):
    items = fields.List(fields.Nested(CourseSummarySchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    pages = fields.Integer(required=True)


class EnrolmentOutSchema(Schema):
    id = fields.Integer(required=True)
    course_id = fields.Integer(required=True)
    user_id = fields.Integer(required=True)
    status = fields.Enum(EnrolmentStatus, by_value=True, required=True)
    waitlist_position = fields.Integer(allow_none=True)
    hold_expires_at = fields.DateTime(allow_none=True)
    price_cents = fields.Integer(required=True)
    currency = fields.String(required=True)
    reduction_reason = fields.Enum(ReductionReason, by_value=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    confirmed_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)


class MyEnrolmentSchema(EnrolmentOutSchema):
    course = fields.Nested(CourseSummarySchema, required=True)
    next_session = fields.Method("get_next", allow_none=True)

    def get_next(self, obj: Any) -> dict[str, Any] | None:
        s = obj.course.next_session()
        return SessionOutSchema().dump(s) if s else None


class ParticipantSchema(EnrolmentOutSchema):
    name = fields.Function(lambda e: e.user.name, required=True)
    email = fields.Function(lambda e: e.user.email, allow_none=True)
