"""Marshmallow schemas for the account API."""

from __future__ import annotations

from typing import Any

from marshmallow import INCLUDE, RAISE, Schema, fields, post_dump, validate

from vhs import fields as bounded
from vhs.accounts.models import Role
from vhs.accounts.services import MIN_PASSWORD_LENGTH


class StrictSchema(Schema):
    """Unknown fields are an error, not silently dropped (a sent ``role`` is refused)."""

    class Meta:
        unknown = RAISE


class AddressSchema(Schema):
    street = fields.String()
    postal_code = fields.String()
    city = fields.String()


class MeSchema(Schema):
    """The current account as the API shows it."""

    id = fields.Integer(required=True)
    email = fields.String(allow_none=True)
    name = fields.String(required=True)
    role = fields.Enum(Role, by_value=True, required=True)
    locale = fields.String(required=True)
    email_verified = fields.Boolean(required=True)
    street = fields.String()
    postal_code = fields.String()
    city = fields.String()
    created_at = fields.DateTime(required=True)


class MeUpdateSchema(StrictSchema):
    """Fields a person may change about themselves."""

    name = fields.String(validate=validate.Length(min=1, max=120))
    locale = fields.String(validate=validate.OneOf(["de", "en"]))
    street = fields.String(validate=validate.Length(max=200))
    postal_code = fields.String(validate=validate.Length(max=10))
    city = fields.String(validate=validate.Length(max=100))


class PasswordChangeSchema(StrictSchema):
    """The current password proves it is the account holder; other sessions end."""

    current_password = fields.String(required=True, validate=validate.Length(min=1, max=200))
    new_password = fields.String(
        required=True, validate=validate.Length(min=MIN_PASSWORD_LENGTH, max=200)
    )


class EmailChangeSchema(StrictSchema):
    """Move the account to another address; it changes when the mailed link is opened."""

    new_email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class EraseSchema(StrictSchema):
    """The same confirmation the page asks for: the password, and a yes."""

    password = fields.String(required=True, validate=validate.Length(min=1, max=200))
    confirm = fields.Boolean(
        required=True,
        validate=validate.Equal(True, error="Please confirm the deletion."),
        metadata={"description": "must be true: yes, delete my account for good"},
    )


class TokenSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    prefix = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class TokenCreateSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))


class NewTokenSchema(TokenSchema):
    token = fields.String(required=True, metadata={"description": "Shown once; store it safely."})


class UserSchema(Schema):
    """An account as staff see it in lists."""

    id = fields.Integer(required=True)
    email = fields.String(allow_none=True)
    name = fields.String(required=True)
    role = fields.Enum(Role, by_value=True, required=True)
    email_verified = fields.Boolean(required=True)


class UserQuerySchema(StrictSchema):
    q = fields.String(validate=validate.Length(max=100))
    page = bounded.Integer(min=1, max=100_000, load_default=1)


class RoleGrantSchema(StrictSchema):
    role = fields.Enum(Role, by_value=True, required=True)


class ExportSchema(Schema):
    """The "download my data" document: a fixed header, then one section per domain.

    Domains register their sections with ``vhs.gdpr``, so they are passed through as built
    (and documented as additional properties) rather than declared here.
    """

    class Meta:
        unknown = INCLUDE

    generated_at = fields.String(required=True, metadata={"format": "date-time"})
    platform = fields.String(required=True)

    @post_dump(pass_original=True)
    def _keep_sections(self, data: dict[str, Any], original: Any, **_kw: Any) -> dict[str, Any]:
        return {**original, **data}
