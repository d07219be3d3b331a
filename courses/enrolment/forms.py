"""WTForms for the staff booking pages: book on behalf, cancel, move."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    Length,
)

from courses.labels import REDUCTION_LABELS
from courses.models import Course

# Amounts a VHS form accepts: up to 99.999,99 € (the column is a 32-bit integer of cents).


class BookForm(FlaskForm):
    """Book a person who has an account, found by their e-mail address."""

    email = EmailField(
        _l("E-mail address of the participant"),
        validators=[DataRequired(), Email(), Length(max=254)],
        filters=[lambda s: s.strip() if isinstance(s, str) else s],
    )
    reduction_reason = SelectField(_l("Reduced fee"), choices=[], validate_choice=True)


class CancelEnrolmentForm(FlaskForm):
    """Cancel a booking on someone's behalf."""

    override = BooleanField(_l("Override the cancellation deadline"))


class MoveForm(FlaskForm):
    """Move a participant to another course, named by course number or id; the second submit
    (``confirmed``) moves, after the page has said what happens to the money."""

    course_id = StringField(
        _l("Target course (course number or id)"), validators=[DataRequired(), Length(max=20)]
    )
    confirmed = HiddenField()


class ReductionDecisionForm(FlaskForm):
    """Verify or reject a claimed reduction, with a note; confirmed on a second page."""

    decision = RadioField(
        _l("Decision"),
        choices=[
            SelectChoice("verified", _l("Verified: the proof is valid, the reduced fee stands")),
            SelectChoice("rejected", _l("Rejected: the full fee applies")),
        ],
        validators=[DataRequired()],
    )
    note = TextAreaField(
        _l("Note (required when rejecting; the participant reads it)"),
        validators=[Length(max=1000)],
    )
    confirmed = HiddenField()


class EnrolForm(FlaskForm):
    """Booking, with an optional reduction reason."""

    # The select is shown only when a reduced fee exists; without it "" (full fee) is valid.
    reduction_reason = SelectField(_l("Reduced fee"), choices=[], validate_choice=True, default="")


def enrol_form(course: Course) -> EnrolForm:
    """The booking form of a course page, offering reductions only where a reduced fee exists."""
    form = EnrolForm()
    choices = [SelectChoice("", _("No reduction – full fee"))]
    if course.reduced_fee_cents is not None:
        choices += [SelectChoice(r.value, str(label)) for r, label in REDUCTION_LABELS.items()]
    form.reduction_reason.choices = choices
    return form
