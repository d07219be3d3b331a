"""Bounded field types for dates, timestamps and whole numbers, for schemas and forms alike.

Each bound lives here once; a marshmallow schema or a WTForms form that uses these types
gets them without repeating them, with one translated message per kind of bound.

Dates are kept between 1900-01-01 and 2199-12-31. That holds every date the platform keeps
(people born since 1900, terms planned up to two centuries ahead) and stays far from the
edges of Python's dates (years 1 and 9999), where adding a few weeks of sessions or moving a
time to UTC raises ``OverflowError`` instead of giving a date; it also keeps PostgreSQL and
SQLite, which accept different ranges, in agreement. Whole numbers are bounded by what the
caller says is sane, and never beyond an ``INTEGER`` column (2**31 - 1).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import marshmallow
import marshmallow.validate
import wtforms
from flask_babel import LazyString, format_date, gettext
from marshmallow import fields as ma_fields
from wtforms.validators import ValidationError as FormValidationError

EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2199, 12, 31)
MAX_INTEGER = 2**31 - 1  # the largest value an INTEGER column holds (ids, counts, cents)

__all__ = [
    "EARLIEST_DATE",
    "LATEST_DATE",
    "MAX_INTEGER",
    "AwareDateTime",
    "Date",
    "DateField",
    "DateTime",
    "DateTimeLocalField",
    "Id",
    "Integer",
    "IntegerField",
    "date_in_range",
]


def date_in_range(value: date | datetime | None) -> bool:
    """Whether ``value`` (a date or a timestamp's own calendar day) lies within the bounds."""
    if value is None:
        return True
    day = value.date() if isinstance(value, datetime) else value
    return EARLIEST_DATE <= day <= LATEST_DATE


def date_message() -> str:
    """The refusal for a date out of bounds, in the request's language."""
    return gettext(
        "Please enter a date between %(earliest)s and %(latest)s.",
        earliest=format_date(EARLIEST_DATE, "medium"),
        latest=format_date(LATEST_DATE, "medium"),
    )


def integer_message(low: int, high: int) -> str:
    """The refusal for a whole number out of bounds, in the request's language."""
    return gettext("Please enter a whole number between %(low)s and %(high)s.", low=low, high=high)


def _check_bounds(low: int, high: int) -> None:
    """Refuse bounds beyond an INTEGER column: a programming error, found at import."""
    if not -MAX_INTEGER - 1 <= low <= high <= MAX_INTEGER:
        raise ValueError(f"bounds {low}..{high} do not fit an INTEGER column")


# --- marshmallow (API schemas) ---------------------------------------------------------------


def _ma_date_bounds(value: date | datetime) -> None:
    """marshmallow validator: the date (or timestamp's day) lies between the bounds."""
    if not date_in_range(value):
        # Lazy: the message is rendered in the language of the answer that carries it.
        raise marshmallow.ValidationError([LazyString(date_message)])


class Date(ma_fields.Date):
    """An ISO date between ``EARLIEST_DATE`` and ``LATEST_DATE``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators.insert(0, _ma_date_bounds)


class DateTime(ma_fields.DateTime):
    """An ISO timestamp whose calendar day lies between the bounds (as written, any offset)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators.insert(0, _ma_date_bounds)


class AwareDateTime(ma_fields.AwareDateTime):
    """An ISO timestamp with its UTC offset, whose calendar day lies between the bounds."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("format", "iso")
        super().__init__(**kwargs)
        self.validators.insert(0, _ma_date_bounds)


class _Range(marshmallow.validate.Range):
    """marshmallow's Range (so the OpenAPI document shows the bounds), with our message."""

    def _format_error(self, value: Any, message: str) -> Any:
        """Our message, translated when the answer is rendered."""
        return [LazyString(integer_message, self.min, self.max)]


class Integer(ma_fields.Integer):
    """A whole number from ``min`` to ``max``: JSON numbers or digits; 1.5 is refused.

    marshmallow's own Integer turns 1.5 into 1 unless strict, and strict refuses the digits
    a query string carries; this one takes integral values of either kind.
    """

    def __init__(self, *, min: int = 0, max: int = MAX_INTEGER, **kwargs: Any) -> None:
        _check_bounds(min, max)
        super().__init__(**kwargs)
        self.validators.insert(0, _Range(min=min, max=max))

    def _validated(self, value: Any) -> int:
        """Refuse numbers with a fraction instead of cutting it off."""
        if isinstance(value, float) and not value.is_integer():
            raise self.make_error("invalid")
        return super()._validated(value)


class Id(Integer):
    """The id of a row: 1 to ``MAX_INTEGER``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min=1, max=MAX_INTEGER, **kwargs)


# --- WTForms (HTML forms) --------------------------------------------------------------------


class DateBounds:
    """WTForms validator: the field's date (or timestamp) lies between the bounds."""

    def __call__(self, form: Any, field: wtforms.Field) -> None:
        """Refuse a date out of bounds (an empty field is left to Optional/InputRequired)."""
        if not date_in_range(field.data):
            raise FormValidationError(date_message())


class IntegerBounds:
    """WTForms validator: the field's whole number lies from ``low`` to ``high``."""

    def __init__(self, low: int, high: int) -> None:
        _check_bounds(low, high)
        self.low, self.high = low, high
        self.field_flags = {"min": low, "max": high}

    def __call__(self, form: Any, field: wtforms.Field) -> None:
        """Refuse a number out of bounds (an empty field is left to Optional/InputRequired)."""
        if field.data is not None and not self.low <= field.data <= self.high:
            raise FormValidationError(integer_message(self.low, self.high))


class DateField(wtforms.DateField):
    """A date field bounded like every date of the platform."""

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        super().__init__(label, [*(validators or []), DateBounds()], **kwargs)


class DateTimeLocalField(wtforms.DateTimeLocalField):
    """A date and time field (``<input type=datetime-local>``), its day bounded."""

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        super().__init__(label, [*(validators or []), DateBounds()], **kwargs)


class IntegerField(wtforms.IntegerField):
    """A whole-number field from ``min`` to ``max`` (at most an INTEGER column's maximum)."""

    def __init__(
        self,
        label: Any = None,
        validators: Any = None,
        *,
        min: int = 0,
        max: int = MAX_INTEGER,
        **kwargs: Any,
    ) -> None:
        super().__init__(label, [*(validators or []), IntegerBounds(min, max)], **kwargs)
