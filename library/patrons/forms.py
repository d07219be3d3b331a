"""WTForms of the card pages (CSRF-protected by Flask-WTF); every limit comes from ``rules``."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from library import rules
from library.models import CardState
from library.patrons.labels import PIN_MESSAGES, PINS_DIFFER, STATE_LABELS
from vhs.fields import DateField

LANGUAGE_CHOICES = [SelectChoice("de", "Deutsch"), SelectChoice("en", "English")]


class PinRule:
    """WTForms validator: the field holds a PIN the rules accept (empty is left to Optional)."""

    def __call__(self, form: Any, field: Any) -> None:
        """Refuse a PIN of the wrong shape or too easy to guess, with the service's message."""
        if field.data:
            problem = rules.pin_problem(field.data)
            if problem is not None:
                raise ValidationError(str(PIN_MESSAGES[problem]))


def pin_field(label: Any, *, required: bool = True) -> PasswordField:
    """A PIN typed (hidden) on a number pad."""
    first = DataRequired() if required else Optional()
    return PasswordField(
        label,
        validators=[first, Length(max=rules.PIN_LENGTH.hi), PinRule()],
        render_kw={"inputmode": "numeric", "maxlength": rules.PIN_LENGTH.hi},
    )


class SameAs:
    """WTForms validator: the field repeats ``other`` exactly (both empty is the same too)."""

    def __init__(self, other: str) -> None:
        self.other = other

    def __call__(self, form: Any, field: Any) -> None:
        """Refuse a repetition that differs, also an empty one after a typed PIN."""
        if (field.data or "") != (form[self.other].data or ""):
            raise ValidationError(str(PINS_DIFFER))


def repeat_field(other: str, *, required: bool = True) -> PasswordField:
    """The PIN once more, to catch a typo."""
    validators: list[Any] = [SameAs(other)]
    if required:
        validators.insert(0, DataRequired())
    return PasswordField(
        _l("Repeat the PIN"),
        validators=validators,
        render_kw={"inputmode": "numeric", "maxlength": rules.PIN_LENGTH.hi},
    )


# --- the patron ------------------------------------------------------------------------------


class ApplyForm(FlaskForm):
    """Apply for a card online, choosing the PIN."""

    pin = pin_field(_l("Choose a PIN"))
    pin_confirm = repeat_field("pin")


class ChangePinForm(FlaskForm):
    """A new PIN, proven by the current PIN or the account's password."""

    current = PasswordField(
        _l("Current PIN or password"), validators=[DataRequired(), Length(max=200)]
    )
    new_pin = pin_field(_l("New PIN"))
    new_pin_confirm = repeat_field("new_pin")


class PayFeeForm(FlaskForm):
    """How the patron pays the annual fee."""

    provider = RadioField(_l("Payment method"), choices=[], default="manual")


class CardLoginForm(FlaskForm):
    """Card number and PIN."""

    number = StringField(
        _l("Card number"),
        validators=[DataRequired(), Length(max=rules.CARD_NUMBER_INPUT_MAX)],
        render_kw={"inputmode": "numeric", "spellcheck": "false"},
    )
    pin = PasswordField(
        _l("PIN"),
        validators=[DataRequired(), Length(max=200)],
        render_kw={"inputmode": "numeric"},
    )
    remember = BooleanField(_l("Stay logged in on this device"))


# --- the desk --------------------------------------------------------------------------------


class CardFilterForm(FlaskForm):
    """Search cards by name, e-mail address or number; filter by state (GET, no CSRF)."""

    class Meta:
        csrf = False

    q = StringField(_l("Name, e-mail address or card number"), validators=[Length(max=200)])
    state = SelectField(
        _l("Status"),
        choices=[
            SelectChoice("", _l("All")),
            *[SelectChoice(s.value, STATE_LABELS[s]) for s in CardState],
        ],
        default="",
    )


class UserSearchForm(FlaskForm):
    """Find the account a card is issued to (GET, no CSRF)."""

    class Meta:
        csrf = False

    q = StringField(_l("Name or e-mail address"), validators=[Length(max=200)])


class IssueForm(FlaskForm):
    """Issue a card to an existing account: the PIN typed by the patron, or made up."""

    pin = pin_field(_l("PIN (leave empty to make one up)"), required=False)
    pin_confirm = repeat_field("pin", required=False)


class PatronForm(IssueForm):
    """A person without an e-mail address: name and postal address only (data minimisation)."""

    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=rules.NAME_MAX)])
    street = StringField(
        _l("Street and number"), validators=[DataRequired(), Length(max=rules.STREET_MAX)]
    )
    postal_code = StringField(
        _l("Postal code"), validators=[DataRequired(), Length(max=rules.POSTAL_CODE_MAX)]
    )
    city = StringField(_l("City"), validators=[DataRequired(), Length(max=rules.CITY_MAX)])
    locale = SelectField(_l("Language of the pages"), choices=LANGUAGE_CHOICES, default="de")

    def to_data(self) -> dict[str, Any]:
        """The person's details for the service."""
        return {
            "name": self.name.data,
            "street": self.street.data,
            "postal_code": self.postal_code.data,
            "city": self.city.data,
            "locale": self.locale.data,
        }


class ValidityForm(FlaskForm):
    """The card's new last valid day."""

    valid_until = DateField(_l("Valid until"), validators=[DataRequired()])


class BlockForm(FlaskForm):
    """Why the card is blocked (shown to staff, audited)."""

    reason = StringField(
        _l("Reason"), validators=[DataRequired(), Length(max=rules.BLOCK_REASON_MAX)]
    )


class PinResetForm(IssueForm):
    """A new PIN at the desk: typed by the patron, or made up and shown once."""
