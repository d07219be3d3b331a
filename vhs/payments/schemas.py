"""Marshmallow schemas of the payment API."""

from __future__ import annotations

from typing import Any

from flask import current_app
from marshmallow import RAISE, Schema, fields, validate

from vhs.payments.models import CreditNoteKind, PaymentStatus, Provider, RefundStatus


class RefundOutSchema(Schema):
    id = fields.Integer(required=True)
    amount_cents = fields.Integer(required=True)
    reason = fields.String(required=True)
    status = fields.Enum(RefundStatus, by_value=True, required=True)
    created_at = fields.DateTime(required=True)


class PaymentOutSchema(Schema):
    id = fields.Integer(required=True)
    purpose_type = fields.String(required=True)
    purpose_id = fields.Integer(required=True)
    description = fields.String(required=True)
    amount_cents = fields.Integer(required=True)
    currency = fields.String(required=True)
    provider = fields.Enum(Provider, by_value=True, required=True)
    status = fields.Enum(PaymentStatus, by_value=True, required=True)
    checkout_url = fields.String(allow_none=True)
    refunded_cents = fields.Integer(required=True)
    disputed = fields.Boolean(required=True)
    invoice_number = fields.Function(
        lambda p: p.invoice.number if p.invoice else None, allow_none=True
    )
    instructions = fields.Method("get_instructions", allow_none=True)
    created_at = fields.DateTime(required=True)
    succeeded_at = fields.DateTime(allow_none=True)
    refunds = fields.List(fields.Nested(RefundOutSchema), required=True)
    credit_note_numbers = fields.Function(
        lambda p: [c.number for c in p.credit_notes], required=True
    )

    def get_instructions(self, payment: Any) -> dict[str, Any] | None:
        if payment.provider is not Provider.MANUAL or payment.invoice is None:
            return None
        settings = current_app.config["VHS"]
        return {
            "account_holder": settings.org_name,
            "iban": settings.org_iban,
            "bic": settings.org_bic,
            "reference": payment.invoice.number,
            "amount_cents": payment.amount_cents,
        }


class PayArgsSchema(Schema):
    class Meta:
        unknown = RAISE

    provider = fields.Enum(Provider, by_value=True, allow_none=True)


class RefundInSchema(Schema):
    class Meta:
        unknown = RAISE

    amount_cents = fields.Integer(
        strict=True, required=True, validate=validate.Range(min=1, max=10_000_000)
    )
    reason = fields.String(required=True, validate=validate.Length(min=1, max=300))


class PaymentQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    status = fields.Enum(PaymentStatus, by_value=True)
    provider = fields.Enum(Provider, by_value=True)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))


class CreditNoteOutSchema(Schema):
    id = fields.Integer(required=True)
    number = fields.String(required=True)
    kind = fields.Enum(
        CreditNoteKind,
        by_value=True,
        required=True,
        metadata={"description": "refund: Gutschrift; cancellation: Stornorechnung"},
    )
    issued_at = fields.DateTime(required=True)
    invoice_number = fields.String(required=True)
    invoice_issued_at = fields.DateTime(required=True)
    payment_id = fields.Integer(required=True)
    refund_id = fields.Integer(allow_none=True)
    description = fields.String(required=True)
    reason = fields.String(required=True)
    amount_cents = fields.Integer(required=True)
    currency = fields.String(required=True)


class CreditNoteQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    everyone = fields.Boolean(
        load_default=False, metadata={"description": "staff only: every person's credit notes"}
    )
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
