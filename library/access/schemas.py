"""Marshmallow schemas of the access API: a loan's signed links, a watermark looked up."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from library.access.links import Action
from media.models import FileFormat, MediaKind


class LinkedItemSchema(Schema):
    """The medium a loan's links or a watermark are of."""

    id = fields.Integer(required=True)
    kind = fields.Enum(MediaKind, by_value=True, required=True)
    title = fields.String(required=True)


class FileLinkSchema(Schema):
    """One signed link to one file of a loan."""

    file_id = fields.Integer(attribute="file.id", required=True)
    format = fields.Enum(FileFormat, by_value=True, attribute="file.format", required=True)
    media_type = fields.String(attribute="file.media_type", required=True)
    size_bytes = fields.Integer(attribute="file.size_bytes", required=True)
    label = fields.String(attribute="file.label", required=True)
    action = fields.Enum(
        Action,
        by_value=True,
        required=True,
        metadata={"description": "`download` (saved, attachment) or `stream` (shown inline)."},
    )
    url = fields.String(required=True, metadata={"description": "Signed; works without login."})
    expires_at = fields.AwareDateTime(required=True)
    watermarked = fields.Boolean(
        required=True, metadata={"description": "The download carries a personal watermark."}
    )


class ExternalLinkSchema(Schema):
    """A link a distributor gave for the loan (its Loan Status Document's)."""

    rel = fields.String(
        required=True,
        validate=validate.OneOf(("license", "publication")),
        metadata={
            "description": "`license`: the LCP licence file a reading app opens (it fetches "
            "the book itself); `publication`: the publication."
        },
    )
    url = fields.String(
        attribute="href",
        required=True,
        metadata={"description": "The distributor's; it does not run out with `expires_at`."},
    )
    media_type = fields.String(
        required=True,
        metadata={"description": "e.g. `application/vnd.readium.lcp.license.v1.0+json`."},
    )


class LoanLinksSchema(Schema):
    """A loan's links, made fresh for this answer."""

    loan_id = fields.Integer(attribute="loan.id", required=True)
    item = fields.Nested(LinkedItemSchema, attribute="loan.item", required=True)
    due_at = fields.AwareDateTime(attribute="loan.due_at", required=True)
    expires_at = fields.AwareDateTime(
        required=True, metadata={"description": "The links stop working then; ask again."}
    )
    links = fields.List(fields.Nested(FileLinkSchema), required=True)
    external_links = fields.List(
        fields.Nested(ExternalLinkSchema),
        attribute="external",
        required=True,
        metadata={"description": "A distributor's links (ODL loans); empty for our own files."},
    )


class WatermarkPatronSchema(Schema):
    """The patron of the loan, while the loan still knows them."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = fields.String(allow_none=True, required=True)


class WatermarkOutSchema(Schema):
    """Which loan a watermark code comes from."""

    code = fields.String(attribute="watermark.code", required=True)
    loan_id = fields.Integer(attribute="loan.id", required=True)
    item = fields.Nested(LinkedItemSchema, attribute="loan.item", required=True)
    file_id = fields.Integer(attribute="watermark.file_id", allow_none=True, required=True)
    started_at = fields.AwareDateTime(attribute="loan.started_at", required=True)
    due_at = fields.AwareDateTime(attribute="loan.due_at", required=True)
    ended_at = fields.AwareDateTime(attribute="loan.ended_at", allow_none=True, required=True)
    first_downloaded_at = fields.AwareDateTime(
        attribute="watermark.first_downloaded_at", required=True
    )
    last_downloaded_at = fields.AwareDateTime(
        attribute="watermark.last_downloaded_at", required=True
    )
    downloads = fields.Integer(attribute="watermark.downloads", required=True)
    patron = fields.Nested(
        WatermarkPatronSchema,
        allow_none=True,
        required=True,
        metadata={
            "description": "Null once the loan has ended and forgotten its patron "
            "(unless VHS_LIBRARY_KEEP_HISTORY keeps it)."
        },
    )
