"""Marshmallow schemas for the calendar API."""

from __future__ import annotations

from marshmallow import Schema, fields


class FeedAddressSchema(Schema):
    """A personal feed address: https for downloads, webcal:// for subscribing."""

    url = fields.String(required=True)
    webcal_url = fields.String(required=True)
    created_at = fields.DateTime(required=True)
