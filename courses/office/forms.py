"""Forms of the office pages: an instructor's rate, issuing a statement, the report filter."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectChoice, SelectField
from wtforms.validators import InputRequired

from courses.office.models import RateKind
from courses.planning.forms import EuroField, euro_bounds

RATE_KIND_LABELS = {
    RateKind.PER_UNIT: _l("Per teaching unit"),
    RateKind.FLAT: _l("Flat fee for the course"),
}


class RateForm(FlaskForm):
    """The fee agreed with one instructor for one course."""

    kind = SelectField(
        _l("Kind of fee"),
        choices=[SelectChoice(k.value, label) for k, label in RATE_KIND_LABELS.items()],
        validators=[InputRequired()],
    )
    amount_cents = EuroField(_l("Amount in euros"), validators=[InputRequired(), euro_bounds])

    def to_data(self) -> dict[str, Any]:
        """What ``set_rate`` takes."""
        return {"kind": self.kind.data, "amount_cents": self.amount_cents.data}


class IssueForm(FlaskForm):
    """Issue the previewed statement (the preview page is the confirmation step)."""

    term_id = HiddenField(validators=[InputRequired()])
    instructor_id = HiddenField(validators=[InputRequired()])


class TermChoiceForm(FlaskForm):
    """Pick a term (GET form, no CSRF)."""

    class Meta:
        csrf = False

    term_id = SelectField(_l("Term"), coerce=int, choices=[], validate_choice=True)


class ReportFilterForm(FlaskForm):
    """Term, and optionally a category and a venue (GET form, no CSRF)."""

    class Meta:
        csrf = False

    term_id = SelectField(_l("Term"), coerce=int, choices=[], validate_choice=True)
    category_id = SelectField(
        _l("Category (with its sub-categories)"),
        coerce=lambda v: int(v) if v not in (None, "") else None,
        choices=[],
        validate_choice=True,
    )
    venue = SelectField(_l("Venue"), choices=[], default="", validate_choice=True)
