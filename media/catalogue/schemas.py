"""Marshmallow schemas of the media API: every limit is read from ``media.rules``."""

from __future__ import annotations

import enum
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from media import rules
from media.catalogue.labels import IDENTIFIER_MESSAGES
from media.catalogue.search import PER_PAGE_MAX, QUERY_MAX, SORTS
from media.catalogue.services import cover_url
from media.catalogue.validation import clean_identifier
from media.models import ContributorRole, IdentifierScheme, MediaKind, PublicationState
from vhs.fields import Integer

PAGE_MAX = 10_000


class StrictSchema(Schema):
    """Unknown fields are refused rather than ignored."""

    class Meta:
        unknown = RAISE


def in_bounds(bounds: rules.Bounds, **kwargs: Any) -> Integer:
    """A whole-number field whose limits come from ``media.rules``."""
    return Integer(min=bounds.lo, max=bounds.hi, **kwargs)


def _check_language(value: str) -> None:
    """Refuse a code that is no ISO 639-1/-2 language."""
    if rules.normalise_language(value) is None:
        raise ValidationError(str(_l("Enter a language as an ISO 639 code, e.g. de or en.")))


def _cover_urls(obj: Any) -> dict[str, str] | None:
    """Where the cover thumbnails are served (small: 160 px wide, large: 480 px)."""
    small, large = (cover_url(obj, width) for width in sorted(rules.COVER_SIZES))
    if small is None or large is None:
        return None
    return {"small": small, "large": large}


# --- arguments -------------------------------------------------------------------------------


class MediaArgsSchema(StrictSchema):
    """Search and filters of the public catalogue (the same as the page's)."""

    q = fields.String(
        validate=validate.Length(max=QUERY_MAX),
        metadata={"description": "Words (German stemming, prefix match) or an ISBN."},
    )
    kind = fields.Enum(MediaKind, by_value=True)
    language = fields.String(
        validate=[validate.Length(min=2, max=3), _check_language],
        metadata={"description": "ISO 639-1 or -2 code."},
    )
    subject = fields.String(validate=validate.Length(min=1, max=rules.SUBJECT_MAX))
    audience = Integer(
        min=0,
        max=max(rules.AGE_RATINGS),
        validate=validate.OneOf(rules.AGE_RATINGS),
        metadata={"description": "A reader's age: items rated for it or younger."},
    )
    year_from = in_bounds(rules.YEAR)
    year_to = in_bounds(rules.YEAR)
    series = fields.String(validate=validate.Length(min=1, max=rules.SERIES_TITLE_MAX))
    contributor = fields.String(validate=validate.Length(min=1, max=rules.CONTRIBUTOR_NAME_MAX))
    available = fields.Boolean(
        metadata={"description": "Only items a patron can borrow right now (a copy is free)."}
    )
    sort = fields.String(
        validate=validate.OneOf(SORTS),
        metadata={
            "description": "Default: relevance with `q`, series order with `series`, "
            "else newest first."
        },
    )
    page = Integer(min=1, max=PAGE_MAX, load_default=1)
    per_page = Integer(min=1, max=PER_PAGE_MAX, load_default=20)


# --- output ----------------------------------------------------------------------------------


class ContributorOutSchema(Schema):
    name = fields.String(required=True)
    role = fields.Enum(ContributorRole, by_value=True, required=True)


class IdentifierOutSchema(Schema):
    scheme = fields.Enum(IdentifierScheme, by_value=True, required=True)
    value = fields.String(required=True)


class CoverSchema(Schema):
    small = fields.String(required=True)
    large = fields.String(required=True)


class MediaSummarySchema(Schema):
    """A catalogue entry."""

    id = fields.Integer(required=True)
    kind = fields.Enum(MediaKind, by_value=True, required=True)
    title = fields.String(required=True)
    subtitle = fields.String(required=True)
    contributors = fields.List(fields.Nested(ContributorOutSchema), required=True)
    year = fields.Integer(allow_none=True)
    language = fields.String(required=True)
    series_title = fields.String(required=True)
    series_number = fields.Integer(allow_none=True)
    min_age = fields.Integer(allow_none=True)
    cover = fields.Function(_cover_urls, allow_none=True, metadata={"type": "object"})


class MediaDetailSchema(MediaSummarySchema):
    """An item with everything the item page shows."""

    state = fields.Enum(PublicationState, by_value=True, required=True)
    publisher = fields.String(required=True)
    description = fields.String(required=True)
    classification = fields.String(required=True)
    subjects = fields.Function(lambda obj: [s.term for s in obj.subjects], required=True)
    identifiers = fields.List(fields.Nested(IdentifierOutSchema), required=True)
    pages = fields.Integer(allow_none=True)
    duration_seconds = fields.Integer(allow_none=True)
    published_at = fields.DateTime(allow_none=True)


class FacetValueSchema(Schema):
    value = fields.Function(
        lambda f: f.value.value if isinstance(f.value, enum.Enum) else f.value,
        required=True,
        metadata={"description": "kind, language code, keyword, age or first year of a decade"},
    )
    count = fields.Integer(required=True)


class FacetsSchema(Schema):
    kind = fields.List(fields.Nested(FacetValueSchema), required=True)
    language = fields.List(fields.Nested(FacetValueSchema), required=True)
    subject = fields.List(fields.Nested(FacetValueSchema), required=True)
    audience = fields.List(
        fields.Nested(FacetValueSchema),
        required=True,
        metadata={"description": "Items suitable for this age (counted cumulatively)."},
    )
    decade = fields.List(fields.Nested(FacetValueSchema), required=True)


class MediaPageSchema(Schema):
    items = fields.List(fields.Nested(MediaSummarySchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    pages = fields.Integer(required=True)
    facets = fields.Nested(FacetsSchema, required=True)


# --- staff input -----------------------------------------------------------------------------


def _text(limit: int, **kwargs: Any) -> fields.String:
    """An optional text of at most ``limit`` characters."""
    return fields.String(validate=validate.Length(max=limit), **kwargs)


class ContributorInSchema(StrictSchema):
    name = fields.String(
        required=True, validate=validate.Length(min=1, max=rules.CONTRIBUTOR_NAME_MAX)
    )
    role = fields.Enum(ContributorRole, by_value=True, load_default=ContributorRole.AUTHOR)


class IdentifierInSchema(StrictSchema):
    scheme = fields.Enum(IdentifierScheme, by_value=True, load_default=IdentifierScheme.ISBN)
    value = fields.String(
        required=True,
        validate=validate.Length(min=1, max=rules.IDENTIFIER_MAX),
        metadata={"description": "ISBN-10 or -13 (check digit verified), ISSN, or any number"},
    )

    @validates_schema
    def _check_number(self, data: dict[str, Any], **_kwargs: Any) -> None:
        """ISBNs and ISSNs must carry the right check digit."""
        if "value" not in data:  # refused already, or left out of a partial load
            return
        try:
            clean_identifier(data.get("scheme", IdentifierScheme.ISBN), data["value"])
        except rules.IdentifierError as exc:
            raise ValidationError(str(IDENTIFIER_MESSAGES[exc.reason]), "value") from exc


class MediaItemInSchema(StrictSchema):
    """A new item (a draft); lists are in display order."""

    kind = fields.Enum(MediaKind, by_value=True, required=True)
    title = fields.String(required=True, validate=validate.Length(min=1, max=rules.TITLE_MAX))
    subtitle = _text(rules.SUBTITLE_MAX)
    publisher = _text(rules.PUBLISHER_MAX)
    year = in_bounds(rules.YEAR, allow_none=True)
    language = fields.String(validate=[validate.Length(min=2, max=3), _check_language])
    description = _text(rules.DESCRIPTION_MAX)
    classification = _text(rules.CLASSIFICATION_MAX)
    series_title = _text(rules.SERIES_TITLE_MAX)
    series_number = in_bounds(rules.SERIES_NUMBER, allow_none=True)
    min_age = Integer(
        min=0,
        max=max(rules.AGE_RATINGS),
        allow_none=True,
        validate=validate.OneOf(rules.AGE_RATINGS),
    )
    pages = in_bounds(rules.PAGES, allow_none=True)
    duration_seconds = in_bounds(rules.DURATION_SECONDS, allow_none=True)
    contributors = fields.List(
        fields.Nested(ContributorInSchema), validate=validate.Length(max=rules.CONTRIBUTORS_MAX)
    )
    identifiers = fields.List(
        fields.Nested(IdentifierInSchema), validate=validate.Length(max=rules.IDENTIFIERS_MAX)
    )
    subjects = fields.List(
        fields.String(validate=validate.Length(min=1, max=rules.SUBJECT_MAX)),
        validate=validate.Length(max=rules.SUBJECTS_MAX),
    )


class MediaItemPatchSchema(MediaItemInSchema):
    """The same fields, all optional (PATCH); lists given replace the item's list."""

    def __init__(self, **kwargs: Any) -> None:
        """Load partially unless told otherwise."""
        kwargs.setdefault("partial", True)
        super().__init__(**kwargs)
