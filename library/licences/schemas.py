"""Marshmallow schemas of the staff licence API; limits read from ``library.rules``."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from library import rules
from library.models import LicenceKind
from media.catalogue.schemas import StrictSchema
from media.models import MediaKind
from vhs.fields import AwareDateTime, Integer


def _bounded(bounds: rules.Bounds, **kwargs: object) -> Integer:
    return Integer(min=bounds.lo, max=bounds.hi, **kwargs)  # type: ignore[arg-type]


class LicencePatchSchema(StrictSchema):
    """What staff may change of a licence."""

    concurrency = _bounded(
        rules.CONCURRENCY,
        metadata={"description": "Copies at once; not fewer than are lent or reserved now."},
    )
    max_loan_days = _bounded(rules.MAX_LOAN_DAYS)
    download_allowed = fields.Boolean()
    streaming_allowed = fields.Boolean()
    print_allowed = fields.Boolean()
    copy_allowed = fields.Boolean()
    note = fields.String(validate=validate.Length(max=rules.NOTE_MAX))


class LicenceInSchema(LicencePatchSchema):
    """A licence the library bought (``local``: held here)."""

    concurrency = _bounded(rules.CONCURRENCY, required=True)
    checkouts_total = _bounded(
        rules.CHECKOUTS,
        allow_none=True,
        metadata={"description": "A cap of checkouts (metered licence); none: unlimited."},
    )
    expires_at = AwareDateTime(
        allow_none=True,
        metadata={"description": "When the licence stops lending; none: perpetual."},
    )


class LicenceOutSchema(Schema):
    """A licence with its counters (dumped from ``holds.reports.LicenceRow``)."""

    id = fields.Integer(attribute="licence.id", required=True)
    item_id = fields.Integer(attribute="licence.item_id", required=True)
    provider = fields.String(attribute="licence.provider", required=True)
    kind = fields.Enum(LicenceKind, by_value=True, attribute="licence.kind", required=True)
    concurrency = fields.Integer(attribute="licence.concurrency", required=True)
    checkouts_total = fields.Integer(
        attribute="licence.checkouts_total", allow_none=True, required=True
    )
    checkouts_left = fields.Integer(
        attribute="licence.checkouts_left", allow_none=True, required=True
    )
    checkouts_used = fields.Integer(attribute="used", allow_none=True, required=True)
    expires_at = fields.AwareDateTime(
        attribute="licence.expires_at", allow_none=True, required=True
    )
    expiring = fields.Boolean(
        required=True, metadata={"description": "Stops lending within the next 30 days."}
    )
    usable = fields.Boolean(required=True, metadata={"description": "Lends at all now."})
    max_loan_days = fields.Integer(attribute="licence.max_loan_days", required=True)
    download_allowed = fields.Boolean(attribute="licence.download_allowed", required=True)
    streaming_allowed = fields.Boolean(attribute="licence.streaming_allowed", required=True)
    print_allowed = fields.Boolean(attribute="licence.print_allowed", required=True)
    copy_allowed = fields.Boolean(attribute="licence.copy_allowed", required=True)
    active_loans = fields.Integer(attribute="licence.active_loans", required=True)
    reserved = fields.Integer(attribute="licence.reserved", required=True)
    free = fields.Integer(required=True)
    lendable = fields.Integer(required=True)
    note = fields.String(attribute="licence.note", required=True)
    created_at = fields.AwareDateTime(attribute="licence.created_at", required=True)


class QueueItemSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.Enum(MediaKind, by_value=True, required=True)
    title = fields.String(required=True)


class QueueRowSchema(Schema):
    """An item with patrons waiting."""

    item = fields.Nested(QueueItemSchema, required=True)
    holds = fields.Integer(required=True)
    copies = fields.Integer(required=True)
    per_copy = fields.Float(allow_none=True, required=True)
    buy_more = fields.Boolean(required=True)


class QueueArgsSchema(StrictSchema):
    """Which queues to list."""

    min_holds = Integer(min=1, max=10_000, load_default=1)
