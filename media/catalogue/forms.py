"""WTForms for the staff pages of the media catalogue; limits read from ``media.rules``.

Field names follow the service's data keys, so a service's ``Invalid`` errors land next to the
right field. People and numbers are rows (a few blank ones to fill; saving adds more), so the
form works without JavaScript.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    FieldList,
    Form,
    FormField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional, Regexp

from media import rules
from media.catalogue.labels import (
    KIND_LABELS,
    ROLE_LABELS,
    SCHEME_LABELS,
    STATE_LABELS,
    age_label,
    language_choices,
)
from media.catalogue.validation import split_subjects
from media.models import MediaItem
from vhs.fields import IntegerField

DURATION_PATTERN = r"^\d{1,4}:[0-5]\d(:[0-5]\d)?$"
BLANK_ROWS = 2  # empty rows offered below the filled ones


def parse_duration(text: str | None) -> int | None:
    """A running time typed as "7:45" (hours:minutes) or "7:45:30", in seconds; None if empty."""
    if not text or not re.fullmatch(DURATION_PATTERN, text.strip()):
        return None
    parts = [int(p) for p in text.strip().split(":")]
    hours, minutes, seconds = [*parts, 0][:3]
    return hours * 3600 + minutes * 60 + seconds


def format_duration(seconds: int | None) -> str:
    """Seconds as "h:mm" (or "h:mm:ss" when not whole minutes), for the form field."""
    if not seconds:
        return ""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if secs else f"{hours}:{minutes:02d}"


class ContributorRow(Form):
    """One person: name and role."""

    name = StringField(_l("Name"), [Optional(), Length(max=rules.CONTRIBUTOR_NAME_MAX)])
    role = SelectField(
        _l("Role"), choices=[SelectChoice(r.value, label) for r, label in ROLE_LABELS.items()]
    )


class IdentifierRow(Form):
    """One number: ISBN, ISSN or other."""

    value = StringField(_l("Number"), [Optional(), Length(max=rules.IDENTIFIER_MAX)])
    scheme = SelectField(
        _l("Kind of number"),
        choices=[SelectChoice(s.value, label) for s, label in SCHEME_LABELS.items()],
    )


def _text(label: Any, limit: int) -> StringField:
    """An optional one-line text field of at most ``limit`` characters."""
    return StringField(label, [Optional(), Length(max=limit)])


class MediaItemForm(FlaskForm):
    """Every field of an item."""

    kind = SelectField(
        _l("Kind of medium"),
        [InputRequired()],
        choices=[SelectChoice(k.value, label) for k, label in KIND_LABELS.items()],
    )
    title = StringField(_l("Title"), [InputRequired(), Length(max=rules.TITLE_MAX)])
    subtitle = _text(_l("Subtitle"), rules.SUBTITLE_MAX)
    contributors = FieldList(
        FormField(ContributorRow), label=_l("People"), max_entries=rules.CONTRIBUTORS_MAX
    )
    publisher = _text(_l("Publisher"), rules.PUBLISHER_MAX)
    year = IntegerField(_l("Year"), [Optional()], min=rules.YEAR.lo, max=rules.YEAR.hi)
    language = SelectField(_l("Language"), [InputRequired()])
    series_title = _text(_l("Series"), rules.SERIES_TITLE_MAX)
    series_number = IntegerField(
        _l("Volume in the series"),
        [Optional()],
        min=rules.SERIES_NUMBER.lo,
        max=rules.SERIES_NUMBER.hi,
    )
    min_age = SelectField(
        _l("Age rating"),
        choices=[SelectChoice("", _l("Not rated"))]
        + [SelectChoice(str(age), age_label(age)) for age in rules.AGE_RATINGS],
    )
    pages = IntegerField(_l("Pages"), [Optional()], min=rules.PAGES.lo, max=rules.PAGES.hi)
    duration = StringField(
        _l("Running time (hours:minutes)"),
        [Optional(), Regexp(DURATION_PATTERN, message=_l("Enter hours and minutes, e.g. 7:45."))],
    )
    classification = _text(_l("Classification (ASB/SfB)"), rules.CLASSIFICATION_MAX)
    identifiers = FieldList(
        FormField(IdentifierRow),
        label=_l("ISBN and other numbers"),
        max_entries=rules.IDENTIFIERS_MAX,
    )
    subjects = StringField(
        _l("Subjects"),
        [Optional(), Length(max=rules.SUBJECTS_MAX * (rules.SUBJECT_MAX + 2))],
    )
    description = TextAreaField(_l("Description"), [Optional(), Length(max=rules.DESCRIPTION_MAX)])

    def to_data(self) -> dict[str, Any]:
        """The service's ``data`` (see ``services.save_item``); blank rows are left out."""
        return {
            "kind": self.kind.data,
            "title": self.title.data or "",
            "subtitle": self.subtitle.data or "",
            "contributors": [
                {"name": row.form.name.data, "role": row.form.role.data}
                for row in self.contributors
                if (row.form.name.data or "").strip()
            ],
            "publisher": self.publisher.data or "",
            "year": self.year.data,
            "language": self.language.data,
            "series_title": self.series_title.data or "",
            "series_number": self.series_number.data,
            "min_age": int(self.min_age.data) if self.min_age.data else None,
            "pages": self.pages.data,
            "duration_seconds": parse_duration(self.duration.data),
            "classification": self.classification.data or "",
            "identifiers": [
                {"scheme": row.form.scheme.data, "value": row.form.value.data}
                for row in self.identifiers
                if (row.form.value.data or "").strip()
            ],
            "subjects": split_subjects(self.subjects.data or ""),
            "description": self.description.data or "",
        }


def item_form(item: MediaItem | None = None, **kwargs: Any) -> MediaItemForm:
    """The form, filled from ``item`` (when not posted), with blank rows to add people."""
    data: dict[str, Any] | None = None
    if item is not None:
        data = {
            "kind": item.kind.value,
            "title": item.title,
            "subtitle": item.subtitle,
            "contributors": [{"name": c.name, "role": c.role.value} for c in item.contributors],
            "publisher": item.publisher,
            "year": item.year,
            "language": item.language,
            "series_title": item.series_title,
            "series_number": item.series_number,
            "min_age": "" if item.min_age is None else str(item.min_age),
            "pages": item.pages,
            "duration": format_duration(item.duration_seconds),
            "classification": item.classification,
            "identifiers": [{"scheme": i.scheme.value, "value": i.value} for i in item.identifiers],
            "subjects": ", ".join(s.term for s in item.subjects),
            "description": item.description,
        }
    form = MediaItemForm(data=data, **kwargs)
    form.language.choices = [
        SelectChoice(code, name) for code, name in language_choices(item.language if item else None)
    ]
    if item is None and not form.is_submitted():
        form.language.data = rules.LANGUAGE_DEFAULT
    if not form.is_submitted():
        for rows in (form.contributors, form.identifiers):
            for _blank in range(BLANK_ROWS):
                if len(rows) < rows.max_entries:
                    rows.append_entry()
    return form


class MediaFilterForm(FlaskForm):
    """Search and state filter of the staff list (GET, no CSRF token)."""

    class Meta:
        csrf = False

    q = StringField(_l("Title, person or ISBN"), [Optional(), Length(max=200)])
    state = SelectField(
        _l("State"),
        choices=[SelectChoice("", _l("Any state"))]
        + [SelectChoice(s.value, label) for s, label in STATE_LABELS.items()],
    )
