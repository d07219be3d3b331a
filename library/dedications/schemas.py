"""Marshmallow schemas of the staff dedication API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from library import rules
from media.catalogue.schemas import StrictSchema
from vhs.fields import Integer


class DedicationInSchema(StrictSchema):
    """Copies of a licence to set aside for a course until its last session ends."""

    group_type = fields.String(
        load_default="course",
        validate=validate.Length(min=1, max=30),
        metadata={"description": "The kind of group (`course`)."},
    )
    group_id = Integer(min=1, max=2**31 - 1, required=True)
    copies = Integer(min=1, max=rules.CONCURRENCY.hi, required=True)


class DedicationOutSchema(Schema):
    """A dedication: the group, its copies, how many are lent, and until when."""

    id = fields.Integer()
    licence_id = fields.Integer()
    group_type = fields.String()
    group_id = fields.Integer()
    copies = fields.Integer()
    active_loans = fields.Integer(metadata={"description": "Copies lent to members now."})
    ends_at = fields.DateTime()
    running = fields.Boolean()
