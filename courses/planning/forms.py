"""WTForms for the staff planning pages: euros with a decimal comma, local wall-clock times, date lists.

Field names follow the services' data keys (``fee_cents``, ``term_id``, ``instructor_ids``...)
so that a service's ``Invalid`` errors land next to the right field through ``apply_errors``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    Field,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

from courses import rules
from courses.labels import TERM_STATUS_LABELS
from courses.models import CEFR_LEVELS, CourseFormat, TermStatus
from vhs.formats import format_euros, parse_euros
from vhs.i18n import exists_locally, local_datetime

DATE_FORMATS = ["%Y-%m-%d", "%d.%m.%Y"]
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M"]


def parse_date_list(text: str) -> list[date]:
    """Dates separated by commas, semicolons or white space, as dd.mm.yyyy or yyyy-mm-dd."""
    found: list[date] = []
    bad: list[str] = []
    for token in re.split(r"[,;\s]+", text or ""):
        if not token:
            continue
        for fmt in DATE_FORMATS:
            try:
                day = datetime.strptime(token, fmt).date()
            except ValueError:
                continue
            if day not in found:
                found.append(day)
            break
        else:
            bad.append(token)
    if bad:
        raise ValueError(", ".join(bad))
    return found


SKIPPED_TIME = _l("This time does not exist on that day: the clocks go forward.")
DAY_OUT_OF_RANGE = _l(
    "Choose a date between %(first)d and %(last)d.",
    first=rules.EARLIEST_DAY.year,
    last=rules.LATEST_DAY.year,
)


def in_bounds(bounds: rules.Bounds) -> NumberRange:
    """A range check whose limits come from ``courses.rules`` (the schema and service read them too)."""
    return NumberRange(min=bounds.lo, max=bounds.hi)


def check_day(_form: Any, field: Field) -> None:
    """Validator: a date (or the date of a time) in the planning range of ``courses.rules``."""
    if field.data is not None and not rules.day_in_range(field.data):
        raise ValidationError(DAY_OUT_OF_RANGE)


def strip(value: Any) -> Any:
    """Filter: typed text without surrounding blanks (the services strip it too)."""
    return value.strip() if isinstance(value, str) else value


def check_wall_clock(day: date | None, field: Field) -> None:
    """Inline validator body: refuse a time that the change to summer time skips."""
    value = field.data
    if day is None or value is None or not rules.day_in_range(day):
        return  # no day, or one the range check refuses (year 1 overflows on its way to UTC)
    at = value.time() if isinstance(value, datetime) else value
    if not exists_locally(day, at):
        raise ValidationError(SKIPPED_TIME)


class EuroField(StringField):
    """An amount in euros typed with a decimal comma; ``data`` holds integer cents."""

    widget = TextInput()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        render_kw = {"inputmode": "decimal", "autocomplete": "off", **kwargs.pop("render_kw", {})}
        super().__init__(*args, render_kw=render_kw, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Parse the typed amount; an empty box is ``None`` (the validators decide)."""
        self.raw_data = valuelist
        text = (valuelist[0] if valuelist else "") or ""
        if not text.strip():
            self.data = None
            return
        try:
            self.data = parse_euros(text)
        except ValueError as exc:
            self.data = None
            raise ValueError(_l("Enter an amount in euros, for example 79,00.")) from exc

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return format_euros(self.data) if isinstance(self.data, int) else ""


def euro_bounds(_form: Any, field: Field) -> None:
    """Validator: an amount within the fee range of ``courses.rules``."""
    if field.data is not None and field.data not in rules.FEE_CENTS:
        raise ValidationError(
            _l(
                "Enter an amount between %(lo)s and %(hi)s euros.",
                lo=format_euros(rules.FEE_CENTS.lo),
                hi=format_euros(rules.FEE_CENTS.hi),
            )
        )


class DateListField(StringField):
    """A list of dates typed as text ("06.04.2027, 2027-05-25"); ``data`` holds the dates."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Parse every date; name the ones that could not be read."""
        self.raw_data = valuelist
        try:
            self.data = parse_date_list(valuelist[0] if valuelist else "")
        except ValueError as exc:
            self.data = []
            raise ValueError(
                _l("Not a date (use dd.mm.yyyy or yyyy-mm-dd): %(bad)s", bad=str(exc))
            ) from exc

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return ", ".join(d.strftime("%d.%m.%Y") for d in self.data or [])


class CheckboxListField(SelectMultipleField):
    """A multiple choice as check boxes: usable on a phone and without JavaScript."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _date_field(label: Any, *validators: Any) -> DateField:
    return DateField(
        label,
        format=DATE_FORMATS,
        validators=[*validators, check_day],
        render_kw={"placeholder": "2027-02-02"},
    )


def _time_field(label: Any) -> TimeField:
    return TimeField(label, format=["%H:%M", "%H:%M:%S"], validators=[InputRequired()])


class TermForm(FlaskForm):
    """A programme period."""

    name = StringField(
        _l("Name"), validators=[DataRequired(), Length(max=rules.TERM_NAME_MAX)], filters=[strip]
    )
    starts_on = _date_field(_l("First day"), InputRequired())
    ends_on = _date_field(_l("Last day"), InputRequired())
    enrolment_opens_at = DateTimeLocalField(
        _l("Booking opens at"), format=DATETIME_FORMATS, validators=[InputRequired(), check_day]
    )
    status = SelectField(
        _l("Status"),
        choices=[SelectChoice(s.value, label) for s, label in TERM_STATUS_LABELS.items()],
        default=TermStatus.DRAFT.value,
    )

    def validate_enrolment_opens_at(self, field: Field) -> None:
        """The opening time must exist on the Berlin clock."""
        check_wall_clock(field.data.date() if field.data else None, field)

    def to_data(self) -> dict[str, Any]:
        """What ``save_term`` takes (the opening time is Berlin wall-clock time)."""
        opens = self.enrolment_opens_at.data
        return {
            "name": self.name.data,
            "starts_on": self.starts_on.data,
            "ends_on": self.ends_on.data,
            "enrolment_opens_at": local_datetime(opens.date(), opens.time()),
            "status": TermStatus(self.status.data),
        }


class CategoryForm(FlaskForm):
    """A subject area in the tree."""

    parent_id = SelectField(_l("Parent category"), choices=[], validate_choice=True)
    slug = StringField(
        _l("Short name (for addresses)"),
        validators=[DataRequired(), Length(max=rules.SLUG_MAX)],
        filters=[lambda s: s.strip().lower() if isinstance(s, str) else s],
    )
    name_de = StringField(
        _l("Name in German"),
        validators=[DataRequired(), Length(max=rules.CATEGORY_NAME_MAX)],
        filters=[strip],
    )
    name_en = StringField(
        _l("Name in English"),
        validators=[DataRequired(), Length(max=rules.CATEGORY_NAME_MAX)],
        filters=[strip],
    )
    position = IntegerField(
        _l("Position"), default=0, validators=[InputRequired(), in_bounds(rules.CATEGORY_POSITION)]
    )

    def validate_slug(self, field: Field) -> None:
        """Lower-case letters, digits and hyphens only: the slug is part of URLs."""
        if field.data and not re.match(rules.SLUG_PATTERN, field.data):
            raise ValidationError(_l("Use lower-case letters, digits and hyphens only."))

    def to_data(self) -> dict[str, Any]:
        """What ``save_category`` takes."""
        return {
            "parent_id": int(self.parent_id.data) if self.parent_id.data else None,
            "slug": self.slug.data,
            "name_de": self.name_de.data,
            "name_en": self.name_en.data,
            "position": self.position.data,
        }


class CourseForm(FlaskForm):
    """Every field of a course; the fee is typed in euros and kept in cents."""

    term_id = SelectField(_l("Term"), coerce=int, choices=[], validate_choice=True)
    category_id = SelectField(_l("Category"), coerce=int, choices=[], validate_choice=True)
    code = StringField(
        _l("Course number"),
        validators=[
            DataRequired(),
            Regexp(rules.CODE_PATTERN, message=_l("Use a course number like 271-105.")),
        ],
        filters=[strip],
    )
    title = StringField(
        _l("Title"), validators=[DataRequired(), Length(max=rules.TITLE_MAX)], filters=[strip]
    )
    subtitle = StringField(
        _l("Subtitle"), validators=[Optional(), Length(max=rules.SUBTITLE_MAX)], filters=[strip]
    )
    description = TextAreaField(
        _l("Description (Markdown)"), validators=[Optional(), Length(max=rules.DESCRIPTION_MAX)]
    )
    language = SelectField(_l("Language of instruction"), choices=[], validate_choice=True)
    level = SelectField(
        _l("Level (CEFR)"),
        choices=[SelectChoice("", _l("No level")), *[SelectChoice(lv, lv) for lv in CEFR_LEVELS]],
        default="",
    )
    format = SelectField(_l("Format"), choices=[], default=CourseFormat.IN_PERSON.value)
    venue = StringField(
        _l("Venue"), validators=[Optional(), Length(max=rules.VENUE_MAX)], filters=[strip]
    )
    room = StringField(
        _l("Room"), validators=[Optional(), Length(max=rules.ROOM_MAX)], filters=[strip]
    )
    fee_cents = EuroField(_l("Fee in euros"), validators=[InputRequired(), euro_bounds])
    reduced_fee_cents = EuroField(_l("Reduced fee in euros"), validators=[Optional(), euro_bounds])
    capacity = IntegerField(
        _l("Places"),
        default=rules.CAPACITY_DEFAULT,
        validators=[InputRequired(), in_bounds(rules.CAPACITY)],
    )
    min_participants = IntegerField(
        _l("Minimum number of participants"),
        default=rules.MIN_PARTICIPANTS_DEFAULT,
        validators=[InputRequired(), in_bounds(rules.MIN_PARTICIPANTS)],
    )
    enrolment_closes_at = DateTimeLocalField(
        _l("Booking closes at"), format=DATETIME_FORMATS, validators=[Optional(), check_day]
    )
    cancellation_days = IntegerField(
        _l("Free cancellation until … days before the first session"),
        default=rules.CANCELLATION_DAYS_DEFAULT,
        validators=[InputRequired(), in_bounds(rules.CANCELLATION_DAYS)],
    )
    instructor_ids = CheckboxListField(_l("Instructors"), coerce=int, choices=[])

    def validate_enrolment_closes_at(self, field: Field) -> None:
        """The closing time must exist on the Berlin clock."""
        check_wall_clock(field.data.date() if field.data else None, field)

    def to_data(self) -> dict[str, Any]:
        """What ``save_course`` takes."""
        closes = self.enrolment_closes_at.data
        return {
            "term_id": self.term_id.data,
            "category_id": self.category_id.data,
            "code": self.code.data,
            "title": self.title.data,
            "subtitle": self.subtitle.data or "",
            "description": self.description.data or "",
            "language": self.language.data,
            "level": self.level.data or None,
            "format": CourseFormat(self.format.data),
            "venue": self.venue.data or "",
            "room": self.room.data or "",
            "fee_cents": self.fee_cents.data,
            "reduced_fee_cents": self.reduced_fee_cents.data,
            "capacity": self.capacity.data,
            "min_participants": self.min_participants.data,
            "enrolment_closes_at": local_datetime(closes.date(), closes.time()) if closes else None,
            "cancellation_days": self.cancellation_days.data,
            "instructor_ids": list(self.instructor_ids.data or []),
        }


class ReasonForm(FlaskForm):
    """Why a course or a session does not take place (told to the participants)."""

    reason = TextAreaField(
        _l("Reason (sent to the participants)"),
        validators=[DataRequired(), Length(max=rules.REASON_MAX)],
    )


class CopyForm(FlaskForm):
    """Copy a course into another term."""

    term_id = SelectField(_l("Target term"), coerce=int, choices=[], validate_choice=True)


class SessionForm(FlaskForm):
    """One dated meeting, entered as day and Berlin wall-clock times."""

    day = _date_field(_l("Date"), InputRequired())
    start = _time_field(_l("Start time"))
    end = _time_field(_l("End time"))
    online = BooleanField(_l("Online (Jitsi)"))
    room = StringField(
        _l("Room"), validators=[Optional(), Length(max=rules.ROOM_MAX)], filters=[strip]
    )
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=rules.NOTE_MAX)])

    def validate_start(self, field: Field) -> None:
        """The start must exist on the Berlin clock that day."""
        check_wall_clock(self.day.data, field)

    def validate_end(self, field: Field) -> None:
        """The end must exist on the Berlin clock that day."""
        check_wall_clock(self.day.data, field)

    def to_data(self) -> dict[str, Any]:
        """What ``add_session`` / ``update_session`` take."""
        return {
            "starts_at": local_datetime(self.day.data, self.start.data),
            "ends_at": local_datetime(self.day.data, self.end.data),
            "online": bool(self.online.data),
            "room": self.room.data or "",
            "note": self.note.data or "",
        }


class GenerateForm(FlaskForm):
    """ "Weekly on Tuesday 18:00-19:30, 10 times from 2027-02-02, skipping these dates"."""

    weekday = SelectField(_l("Weekday"), coerce=int, choices=[], validate_choice=True)
    start = _time_field(_l("Start time"))
    end = _time_field(_l("End time"))
    count = IntegerField(
        _l("Number of sessions"), validators=[InputRequired(), in_bounds(rules.SERIES_COUNT)]
    )
    first_date = _date_field(_l("From (first possible date)"), InputRequired())
    interval_weeks = IntegerField(
        _l("Every … weeks"),
        default=1,
        validators=[InputRequired(), in_bounds(rules.SERIES_INTERVAL_WEEKS)],
    )
    skip_dates = DateListField(_l("Skip these dates"), validators=[Optional()])

    def validate_skip_dates(self, field: Field) -> None:
        """At most SKIP_DATES_MAX dates to skip."""
        if len(field.data or []) > rules.SKIP_DATES_MAX:
            raise ValidationError(_l("Skip at most %(n)d dates.", n=rules.SKIP_DATES_MAX))


class CourseFilterForm(FlaskForm):
    """Filters of the staff course list (a GET form: no CSRF)."""

    class Meta:
        csrf = False

    q = StringField(_l("Course number or title"), validators=[Optional(), Length(max=200)])
    term = SelectField(_l("Term"), choices=[], validate_choice=False)
    status = SelectField(_l("Status"), choices=[], validate_choice=False)


class BelowMinimumForm(FlaskForm):
    """The look-ahead of the below-minimum report (a GET form: no CSRF)."""

    class Meta:
        csrf = False

    days = IntegerField(
        _l("Courses starting within … days"),
        default=14,
        validators=[Optional(), in_bounds(rules.BELOW_MINIMUM_DAYS)],
    )


class UnitsOverrideForm(FlaskForm):
    """Replace the derived teaching units of a course, saying why."""

    teaching_units = StringField(
        _l("Teaching units (45 minutes each, e.g. 13,5)"),
        validators=[InputRequired(), Length(max=12)],
        filters=[strip],
    )
    reason = TextAreaField(
        _l("Reason for the override"),
        validators=[DataRequired(), Length(max=rules.REASON_MAX)],
    )

    def to_data(self) -> dict[str, Any]:
        """What ``set_units_override`` takes (the service parses the number)."""
        return {"units": self.teaching_units.data, "reason": self.reason.data or ""}


class UnitsClearForm(FlaskForm):
    """Go back to the derived teaching units (a note for the audit log is optional)."""

    reason = TextAreaField(_l("Note (optional)"), validators=[Length(max=rules.REASON_MAX)])
