"""Marshmallow schemas of the patrons' lending API; limits read from ``library.rules``."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from library import rules
from library.circulation.labels import availability_words
from library.models import HoldEnd, HoldState, LoanEnd
from media.catalogue.schemas import StrictSchema
from media.models import MediaKind
from vhs.fields import Integer


class BorrowSchema(StrictSchema):
    """How long to borrow (default: the period of the medium's kind)."""

    days = Integer(
        min=min(rules.LOAN_PERIODS),
        max=max(rules.LOAN_PERIODS),
        validate=validate.OneOf(rules.LOAN_PERIODS),
        metadata={"description": "Loan period in days; the licence's longest loan caps it."},
    )


class LoanItemSchema(Schema):
    """The medium a loan or hold is of."""

    id = fields.Integer(required=True)
    kind = fields.Enum(MediaKind, by_value=True, required=True)
    title = fields.String(required=True)


class LoanOutSchema(Schema):
    """A loan."""

    id = fields.Integer(required=True)
    item = fields.Nested(LoanItemSchema, required=True)
    started_at = fields.AwareDateTime(required=True)
    due_at = fields.AwareDateTime(required=True)
    renewals = fields.Integer(required=True)
    ended_at = fields.AwareDateTime(allow_none=True, required=True)
    end_reason = fields.Enum(LoanEnd, by_value=True, allow_none=True, required=True)


class HoldOutSchema(Schema):
    """A hold with its place in the queue (dumped from ``HoldView``)."""

    id = fields.Integer(attribute="hold.id", required=True)
    item = fields.Nested(LoanItemSchema, attribute="hold.item", required=True)
    state = fields.Enum(HoldState, by_value=True, attribute="hold.state", required=True)
    placed_at = fields.AwareDateTime(attribute="hold.placed_at", required=True)
    ready_until = fields.AwareDateTime(
        attribute="hold.ready_until",
        allow_none=True,
        required=True,
        metadata={"description": "A ready hold's copy is kept until then."},
    )
    ended_at = fields.AwareDateTime(attribute="hold.ended_at", allow_none=True, required=True)
    end_reason = fields.Enum(
        HoldEnd, by_value=True, attribute="hold.end_reason", allow_none=True, required=True
    )
    position = fields.Integer(
        attribute="place.position",
        allow_none=True,
        required=True,
        metadata={"description": "1 = next in line; null once ready or ended."},
    )
    queue_length = fields.Integer(attribute="place.length", required=True)
    expected_at = fields.AwareDateTime(
        attribute="place.expected_at",
        allow_none=True,
        required=True,
        metadata={"description": "A copy is expected by then at the latest (an estimate)."},
    )


class AvailabilitySchema(Schema):
    """An item's copies and queue now."""

    copies = fields.Integer(attribute="copies.copies", required=True)
    available = fields.Integer(attribute="copies.available", required=True)
    on_loan = fields.Integer(attribute="copies.on_loan", required=True)
    reserved = fields.Integer(attribute="copies.reserved", required=True)
    holds = fields.Integer(required=True)
    expected_at = fields.AwareDateTime(
        allow_none=True,
        required=True,
        metadata={"description": "When a hold placed now can expect a copy (an estimate)."},
    )
    wait_days = fields.Integer(
        allow_none=True,
        required=True,
        metadata={"description": "The expected wait of a hold placed now, in whole days."},
    )
    summary = fields.Function(
        lambda offer: availability_words(offer).copies,
        required=True,
        metadata={"description": 'In words, in the asked language: "2 von 3 verfügbar".'},
    )
    queue_summary = fields.Function(
        lambda offer: availability_words(offer).queue,
        allow_none=True,
        required=True,
        metadata={
            "description": 'The queue and wait in words ("3 Vormerkungen, ca. 4 Wochen '
            'Wartezeit"); null while a copy is free.'
        },
    )


class LoanHistoryArgsSchema(StrictSchema):
    """Which loans to list."""

    ended = fields.Boolean(
        load_default=False,
        metadata={"description": 'The ended loans kept for a "read before" list instead.'},
    )


class HistoryInSchema(StrictSchema):
    """The patron's choice about a "read before" list."""

    keep = fields.Boolean(
        required=True,
        metadata={"description": "Keep ended loans as a list; false also deletes the list."},
    )


class HistoryOutSchema(Schema):
    """Whether a "read before" list can be kept, and whether it is."""

    offered = fields.Boolean(
        required=True, metadata={"description": "The library offers the list to this patron."}
    )
    keep = fields.Boolean(required=True)
