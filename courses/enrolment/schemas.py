"""Enrolment API arguments."""

from __future__ import annotations

from marshmallow import fields, validate

from courses.models import (
    ReductionReason,
)
from courses.schemas import MAX_ID, Int, StrictSchema

# --- output ---------------------------------------------------------------------------------


class EnrolArgsSchema(StrictSchema):
    reduction_reason = fields.Enum(ReductionReason, by_value=True, allow_none=True)
    user_id = Int(
        strict=True,
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={"description": "staff only: book for this person"},
    )


class CancelArgsSchema(StrictSchema):
    override = fields.Boolean(load_default=False, metadata={"description": "staff only"})


class MoveSchema(StrictSchema):
    course_id = Int(strict=True, required=True, validate=validate.Range(min=1, max=MAX_ID))
