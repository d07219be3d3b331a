"""Marshmallow schemas of the card API: limits from ``library.rules``, messages from ``labels``."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from library import rules
from library.models import CardState, LibraryCard
from library.patrons.eligibility import is_expired, refusal
from library.patrons.fees import fee_status
from library.patrons.labels import PIN_MESSAGES
from vhs.fields import Date, Id, Integer


class StrictSchema(Schema):
    """Unknown fields are refused rather than ignored."""

    class Meta:
        unknown = RAISE


def _pin(value: str) -> None:
    """Refuse what the rules do not accept as a PIN, with the pages' message."""
    problem = rules.pin_problem(value)
    if problem is not None:
        raise ValidationError(str(PIN_MESSAGES[problem]))


def pin_field(**kwargs: Any) -> fields.String:
    """A PIN: 4 to 8 digits, not too easy to guess."""
    return fields.String(
        validate=[validate.Length(max=rules.PIN_LENGTH.hi), _pin],
        metadata={"description": "4 to 8 digits; not one digit repeated, not a run like 1234."},
        **kwargs,
    )


class WithPin:
    """A card together with the PIN the desk has just made up (shown once, never stored)."""

    def __init__(self, card: LibraryCard, pin: str | None) -> None:
        self.card = card
        self.new_pin = pin

    def __getattr__(self, name: str) -> Any:
        return getattr(self.card, name)


def _card(obj: Any) -> LibraryCard:
    return obj.card if isinstance(obj, WithPin) else obj


# --- output ----------------------------------------------------------------------------------


class FeeSchema(Schema):
    """The annual fee as of today."""

    required = fields.Boolean(required=True, metadata={"description": "Whether a fee is set."})
    amount_cents = fields.Integer(required=True)
    currency = fields.String(required=True)
    paid_until = fields.Date(allow_none=True, required=True)
    paid = fields.Boolean(required=True, metadata={"description": "Borrowing is paid for today."})
    payable = fields.Boolean(
        required=True, metadata={"description": "The current validity can be paid now."}
    )
    open_payment_id = fields.Integer(allow_none=True, required=True)


def _fee(obj: Any) -> dict[str, Any]:
    status = fee_status(_card(obj))
    return {
        "required": status.required,
        "amount_cents": status.amount_cents,
        "currency": "EUR",
        "paid_until": status.paid_until,
        "paid": status.paid,
        "payable": status.payable,
        "open_payment_id": status.open_payment.id if status.open_payment else None,
    }


def _refusal(obj: Any) -> str | None:
    problem = refusal(_card(obj))
    return problem.code if problem is not None else None


class CardSchema(Schema):
    """A library card as its patron sees it (never the PIN or its hash)."""

    id = fields.Integer(required=True)
    number = fields.String(required=True)
    state = fields.Enum(CardState, by_value=True, required=True)
    expired = fields.Function(
        lambda obj: _card(obj).state is not CardState.APPLIED and is_expired(_card(obj)),
        required=True,
        metadata={"type": "boolean"},
    )
    valid_until = fields.Date(allow_none=True, required=True)
    issued_at = fields.DateTime(allow_none=True, required=True)
    fee = fields.Function(
        lambda obj: FeeSchema().dump(_fee(obj)), required=True, metadata={"type": "object"}
    )
    borrow_refusal = fields.Function(
        _refusal,
        allow_none=True,
        required=True,
        metadata={
            "type": "string",
            "description": "Why the card cannot borrow now (no_card, card_applied, card_blocked, "
            "card_expired, fee_unpaid), or null.",
        },
    )


class PatronSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = fields.String(allow_none=True, required=True)


class StaffCardSchema(CardSchema):
    """A card as the desk sees it, with its patron; ``new_pin`` once, when the desk made one up."""

    user = fields.Function(
        lambda obj: PatronSchema().dump(_card(obj).user), required=True, metadata={"type": "object"}
    )
    blocked_reason = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    new_pin = fields.Function(
        lambda obj: obj.new_pin if isinstance(obj, WithPin) else None,
        allow_none=True,
        metadata={
            "type": "string",
            "description": "The PIN the desk made up in this request: tell the patron now, "
            "it is never shown again.",
        },
    )


class StaffCardPageSchema(Schema):
    items = fields.List(fields.Nested(StaffCardSchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    pages = fields.Integer(required=True)


# --- input -----------------------------------------------------------------------------------


class ApplySchema(StrictSchema):
    """Apply for a card, choosing the PIN."""

    pin = pin_field(required=True)


class PinChangeSchema(StrictSchema):
    """A new PIN, proven by the current PIN or the account's password."""

    current = fields.String(required=True, validate=validate.Length(min=1, max=200))
    pin = pin_field(required=True)


class StaffCardQuerySchema(StrictSchema):
    q = fields.String(validate=validate.Length(max=200))
    state = fields.Enum(CardState, by_value=True)
    page = Integer(min=1, max=10_000, load_default=1)


class StaffIssueSchema(StrictSchema):
    """Issue a card: to an account (``user_id``), or to a new person without e-mail (name and
    postal address). Without ``pin`` one is made up and returned once as ``new_pin``."""

    user_id = Id()
    name = fields.String(validate=validate.Length(min=1, max=rules.NAME_MAX))
    street = fields.String(validate=validate.Length(min=1, max=rules.STREET_MAX))
    postal_code = fields.String(validate=validate.Length(min=1, max=rules.POSTAL_CODE_MAX))
    city = fields.String(validate=validate.Length(min=1, max=rules.CITY_MAX))
    locale = fields.String(validate=validate.OneOf(("de", "en")))
    pin = pin_field()

    @validates_schema
    def _one_person(self, data: dict[str, Any], **_kw: Any) -> None:
        person = {"name", "street", "postal_code", "city", "locale"} & set(data)
        if "user_id" in data and person:
            raise ValidationError(
                str(_l("Give user_id or a new person's details, not both.")), "user_id"
            )
        if "user_id" not in data:
            missing = [f for f in ("name", "street", "postal_code", "city") if f not in data]
            for name in missing:
                raise ValidationError(str(_l("Please fill in this field.")), name)


class StaffCardPatchSchema(StrictSchema):
    """One or more changes at the desk, applied together."""

    state = fields.Enum(
        CardState,
        by_value=True,
        validate=validate.OneOf((CardState.ACTIVE, CardState.BLOCKED)),
        metadata={"description": "active: confirm an application or lift a block; blocked."},
    )
    blocked_reason = fields.String(validate=validate.Length(min=1, max=rules.BLOCK_REASON_MAX))
    valid_until = Date()
    pin = pin_field()
    reset_pin = fields.Boolean(metadata={"description": "Make up a new PIN (returned once)."})
    fee_paid = fields.Boolean(
        validate=validate.Equal(True),
        metadata={"description": "The current period's fee was paid at the desk (recorded)."},
    )

    @validates_schema
    def _consistent(self, data: dict[str, Any], **_kw: Any) -> None:
        if not data:
            raise ValidationError(str(_l("Say what to change.")), "state")
        if "blocked_reason" in data and data.get("state") is not CardState.BLOCKED:
            raise ValidationError(str(_l("Only with the state “blocked”.")), "blocked_reason")
        if data.get("state") is CardState.BLOCKED and "blocked_reason" not in data:
            raise ValidationError(str(_l("Please fill in this field.")), "blocked_reason")
        if data.get("pin") and data.get("reset_pin"):
            raise ValidationError(
                str(_l("Give a PIN or ask for a new one, not both.")), "reset_pin"
            )
