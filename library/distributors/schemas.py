"""Marshmallow schemas of the staff distributor API; limits read from the services."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from library.distributors import services
from media.catalogue.schemas import StrictSchema


class DistributorPatchSchema(StrictSchema):
    """What staff may change of a distributor (the password is write-only)."""

    name = fields.String(validate=validate.Length(min=1, max=services.NAME_MAX))
    feed_url = fields.String(
        validate=validate.Length(min=1, max=services.URL_MAX),
        metadata={"description": "The ODL feed (OPDS 2.0 with licenses), http(s)."},
    )
    username = fields.String(validate=validate.Length(max=services.USERNAME_MAX))
    password = fields.String(
        load_only=True,
        validate=validate.Length(max=services.PASSWORD_MAX),
        metadata={"description": "Write-only; empty or absent keeps the stored one."},
    )
    clear_password = fields.Boolean(load_only=True)


class DistributorInSchema(DistributorPatchSchema):
    """A distributor to add."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=services.NAME_MAX))
    feed_url = fields.String(required=True, validate=validate.Length(min=1, max=services.URL_MAX))


class DistributorOutSchema(Schema):
    """A distributor as staff see it: never its password, only whether one is stored."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    feed_url = fields.String(required=True)
    username = fields.String(required=True)
    has_password = fields.Boolean(attribute="has_secret", required=True)
    created_at = fields.DateTime(required=True)
    sync_requested_at = fields.DateTime(allow_none=True, required=True)
    last_synced_at = fields.DateTime(allow_none=True, required=True)
    last_sync_ok = fields.Boolean(allow_none=True, required=True)
    last_sync_summary = fields.String(required=True)
