"""Instructors' API input: a message to participants."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from courses.schemas import StrictSchema

# --- output ---------------------------------------------------------------------------------


class MessageSchema(StrictSchema):
    subject = fields.String(required=True, validate=validate.Length(min=1, max=200))
    body = fields.String(required=True, validate=validate.Length(min=1, max=10000))


class MessageResultSchema(Schema):
    recipients = fields.Integer(required=True)
