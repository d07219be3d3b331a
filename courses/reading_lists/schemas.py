"""Marshmallow schemas of the reading-list API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from courses.reading_lists.models import NOTE_MAX
from media.catalogue.schemas import StrictSchema
from vhs.fields import Integer


class ReadingItemInSchema(StrictSchema):
    """A catalogue medium to put on the list, with a note ("bis zum 3. Termin lesen")."""

    item_id = Integer(min=1, max=2**31 - 1, required=True)
    note = fields.String(load_default="", validate=validate.Length(max=NOTE_MAX))


class ReadingItemPatchSchema(StrictSchema):
    """Change the note, or move the entry to another place in the list (1..n)."""

    note = fields.String(validate=validate.Length(max=NOTE_MAX))
    position = Integer(min=1, max=10_000)


class ReadingItemOutSchema(Schema):
    """An entry of the list with the medium's copies free for the caller."""

    id = fields.Integer(attribute="entry.id")
    item_id = fields.Integer(attribute="item.id")
    title = fields.String(attribute="item.title")
    kind = fields.String(attribute="item.kind.value")
    note = fields.String(attribute="entry.note")
    position = fields.Integer(attribute="entry.position")
    available = fields.Integer(
        metadata={
            "description": "Copies free for the caller now (with the course's own for "
            "its confirmed participants)."
        }
    )
    copies = fields.Integer(metadata={"description": "Copies lent at once, all in all."})
    course_copies = fields.Integer(metadata={"description": "Copies dedicated to the course."})
    can_borrow = fields.Boolean()
