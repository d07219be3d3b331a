"""Marshmallow schemas of the reading position; the bounds come from ``library.rules``."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from library import rules
from library.reader.services import CFI_PATTERN
from media.catalogue.schemas import StrictSchema
from vhs.fields import Id


class PositionInSchema(StrictSchema):
    """Where the patron is: an EPUB's CFI or seconds into audio or video, and the progress."""

    file_id = Id(required=True, metadata={"description": "The loan's file the position is in."})
    cfi = fields.String(
        allow_none=True,
        validate=[
            validate.Length(max=rules.POSITION_CFI_MAX),
            validate.Regexp(CFI_PATTERN, error=_l("A position in an e-book is an EPUB CFI.")),
        ],
        metadata={"description": "EPUB files: `epubcfi(...)`, as epub.js reports it."},
    )
    seconds = fields.Float(
        allow_none=True,
        allow_nan=False,
        validate=validate.Range(min=0, max=rules.POSITION_SECONDS_MAX),
        metadata={"description": "Audio and video files: seconds from the start."},
    )
    progress = fields.Float(
        required=True,
        allow_nan=False,
        validate=validate.Range(min=0, max=1),
        metadata={"description": "How far through the file, 0 to 1."},
    )

    @validates_schema
    def _one_kind(self, data: dict[str, Any], **_: Any) -> None:
        """A position is either a CFI or a time, never both or neither."""
        if (data.get("cfi") is None) == (data.get("seconds") is None):
            raise ValidationError(
                str(_l("Give either a CFI (e-books) or seconds (audio, video).")),
                field_name="cfi",
            )


class PositionOutSchema(Schema):
    """The position kept for a loan."""

    loan_id = fields.Integer(required=True)
    file_id = fields.Integer(required=True)
    cfi = fields.String(allow_none=True, required=True)
    seconds = fields.Float(allow_none=True, required=True)
    progress = fields.Float(required=True)
    updated_at = fields.AwareDateTime(required=True)
