"""Enrolment API arguments."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from courses.enrolment.charges import Settle
from courses.enrolment.models import ReductionState
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


class ReductionDecisionSchema(StrictSchema):
    decision = fields.Enum(
        ReductionState,
        by_value=True,
        required=True,
        validate=validate.OneOf([ReductionState.VERIFIED, ReductionState.REJECTED]),
        metadata={"description": "verified or rejected (once; rejected needs a note)"},
    )
    note = fields.String(load_default="", validate=validate.Length(max=1000))


class ReductionCheckOutSchema(Schema):
    enrolment_id = Int(required=True)
    reduction_reason = fields.Function(
        lambda c: c.enrolment.reduction_reason.value if c.enrolment.reduction_reason else None,
        allow_none=True,
    )
    state = fields.Enum(ReductionState, by_value=True, required=True)
    note = fields.String(required=True)
    decided_by_id = Int(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    price_cents = fields.Function(lambda c: c.enrolment.price_cents, required=True)


class MovePreviewArgsSchema(StrictSchema):
    # A query string: digits, not a JSON integer.
    course_id = Int(required=True, validate=validate.Range(min=1, max=MAX_ID))


class MoveSettlementSchema(Schema):
    old_price_cents = Int(required=True)
    new_price_cents = Int(required=True)
    settle = fields.Enum(
        Settle,
        by_value=True,
        required=True,
        metadata={
            "description": "nothing; reprice: the unpaid amount due changes; refund: the "
            "difference is refunded (credit note); charge: a new payment is due"
        },
    )
    amount_cents = Int(required=True)
    reduction_kept = fields.Boolean(required=True)
    cancelled_charges_cents = Int(
        required=True, metadata={"description": "unpaid charges the move cancels"}
    )
