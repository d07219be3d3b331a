"""API schemas of media files: uploads (multipart), files, proposals, covers."""

from __future__ import annotations

from typing import Any

from flask import url_for
from marshmallow import Schema, fields, validate

from media.ingest.proposal import FIELDS
from media.models import ContributorRole, FileFormat


class UploadSchema(Schema):
    """The file itself (``multipart/form-data``, part ``file``)."""

    file = fields.Raw(
        required=True, metadata={"type": "string", "format": "binary", "description": "the file"}
    )


class CoverUploadSchema(Schema):
    """An image (``multipart/form-data``, part ``cover``)."""

    cover = fields.Raw(
        required=True, metadata={"type": "string", "format": "binary", "description": "an image"}
    )


class FileOutSchema(Schema):
    """A stored file of an item."""

    id = fields.Integer()
    item_id = fields.Integer()
    format = fields.Enum(FileFormat, by_value=True)
    media_type = fields.String()
    size_bytes = fields.Integer()
    sha256 = fields.String()
    position = fields.Integer()
    label = fields.String()
    pages = fields.Integer(allow_none=True)
    duration_seconds = fields.Integer(allow_none=True)
    created_at = fields.AwareDateTime()
    download_url = fields.Method("_download_url", metadata={"description": "staff only"})

    def _download_url(self, obj: Any) -> str:
        return url_for("media_staff.file_download", file_id=obj.id)


class PersonSchema(Schema):
    """A contributor the file names."""

    name = fields.String()
    role = fields.Enum(ContributorRole, by_value=True)


class ChapterSchema(Schema):
    """A chapter mark (audiobooks)."""

    title = fields.String()
    start_seconds = fields.Float()


class ProposalSchema(Schema):
    """What the file says about its item; ``offered`` lists the fields it has values for."""

    offered = fields.Method("_offered", metadata={"description": f"some of {', '.join(FIELDS)}"})
    title = fields.String()
    subtitle = fields.String()
    contributors = fields.List(fields.Nested(PersonSchema))
    language = fields.String()
    publisher = fields.String()
    year = fields.Integer(allow_none=True)
    isbn = fields.String()
    description = fields.String()
    subjects = fields.List(fields.String())
    series_title = fields.String()
    series_number = fields.Integer(allow_none=True)
    pages = fields.Integer(allow_none=True)
    duration_seconds = fields.Integer(allow_none=True)
    chapters = fields.List(fields.Nested(ChapterSchema))
    has_cover = fields.Method("_has_cover")

    def _offered(self, obj: Any) -> list[str]:
        return obj.offered()

    def _has_cover(self, obj: Any) -> bool:
        return obj.cover is not None


class UploadOutSchema(Schema):
    """A stored upload: the file, its detected format, and the proposal."""

    file = fields.Nested(FileOutSchema)
    detected_format = fields.Function(lambda u: u.detected.format.value)
    media_type = fields.Function(lambda u: u.detected.media_type)
    misnamed_extension = fields.String(
        attribute="misnamed",
        allow_none=True,
        metadata={"description": "the uploaded name's extension, when it named another format"},
    )
    proposal = fields.Nested(ProposalSchema)


class AcceptSchema(Schema):
    """The fields to take over from a file into its item."""

    fields = fields.List(
        fields.String(validate=validate.OneOf(FIELDS)),
        required=True,
        validate=validate.Length(max=len(FIELDS)),
    )


class AcceptedSchema(Schema):
    """The fields that were taken over (those the file had values for)."""

    applied = fields.List(fields.String())


class CoverOutSchema(Schema):
    """The item's cover: its hash and the thumbnails' addresses by width."""

    cover_sha256 = fields.String()
    urls = fields.Dict(keys=fields.String(), values=fields.String())
