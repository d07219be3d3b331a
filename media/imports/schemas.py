"""API schemas of imports: the upload (multipart) and a run with its counts and refusals."""

from __future__ import annotations

from marshmallow import Schema, fields

from media.imports.models import ImportFormat, ImportState, RejectionKind


class ImportUploadSchema(Schema):
    """The file of records (part ``file``) and, optionally, a ZIP of media files (``files``)."""

    file = fields.Raw(
        required=True,
        metadata={
            "type": "string",
            "format": "binary",
            "description": "MARC 21, MARCXML, ONIX 3.0 or CSV",
        },
    )
    files = fields.Raw(
        metadata={
            "type": "string",
            "format": "binary",
            "description": "a ZIP of files named by ISBN",
        }
    )


class ImportOptionsSchema(Schema):
    """Query parameters of the upload."""

    publish = fields.Boolean(
        load_default=False, metadata={"description": "publish new items (else they are drafts)"}
    )


class RejectionSchema(Schema):
    """A record or file not imported, or a note about the file."""

    kind = fields.Enum(RejectionKind, by_value=True)
    position = fields.Integer(allow_none=True)
    identifier = fields.String()
    title = fields.String()
    reason = fields.String()


class CountsSchema(Schema):
    """What the run did so far."""

    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    withdrawn = fields.Integer()
    rejected = fields.Integer()
    files_attached = fields.Integer()


class ImportRunSchema(Schema):
    """An import run: state, progress, counts and (the first of) its refusals."""

    id = fields.Integer()
    state = fields.Enum(ImportState, by_value=True)
    format = fields.Enum(ImportFormat, by_value=True)
    filename = fields.String()
    publish = fields.Boolean()
    total = fields.Integer(
        allow_none=True, metadata={"description": "records in the file, when known"}
    )
    position = fields.Integer(metadata={"description": "records read and settled so far"})
    counts = fields.Nested(CountsSchema)
    error = fields.String(metadata={"description": "why a failed run stopped"})
    queued_at = fields.AwareDateTime()
    started_at = fields.AwareDateTime(allow_none=True)
    finished_at = fields.AwareDateTime(allow_none=True)
    rejections = fields.List(fields.Nested(RejectionSchema))
    rejections_total = fields.Integer()
    url = fields.String(metadata={"description": "this run in the API"})
    page_url = fields.String(metadata={"description": "the staff page of this run"})
