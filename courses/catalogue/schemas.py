"""Catalogue API arguments."""

from __future__ import annotations

from marshmallow import fields, validate

from courses.catalogue.search import SORTS, TIME_OF_DAY
from courses.models import (
    CEFR_LEVELS,
    CourseFormat,
)
from courses.schemas import MAX_ID, Int, StrictSchema

# --- output ---------------------------------------------------------------------------------


class CatalogueArgsSchema(StrictSchema):
    """Filters of the public catalogue."""

    q = fields.String(validate=validate.Length(max=200))
    term = Int(validate=validate.Range(min=1, max=MAX_ID))
    category = Int(validate=validate.Range(min=1, max=MAX_ID))
    format = fields.Enum(CourseFormat, by_value=True)
    weekday = Int(validate=validate.Range(min=1, max=7))
    time_of_day = fields.String(validate=validate.OneOf(list(TIME_OF_DAY)))
    language = fields.String(validate=validate.Length(min=2, max=5))
    level = fields.String(validate=validate.OneOf(CEFR_LEVELS))
    free_only = fields.Boolean()
    max_price = Int(validate=validate.Range(min=0, max=MAX_ID), metadata={"description": "cents"})
    instructor = Int(validate=validate.Range(min=1, max=MAX_ID))
    sort = fields.String(validate=validate.OneOf(SORTS), load_default="start")
    page = Int(load_default=1, validate=validate.Range(min=1, max=10000))
    per_page = Int(load_default=20, validate=validate.Range(min=1, max=100))
