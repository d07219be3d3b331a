"""WTForms for the account pages (CSRF-protected by Flask-WTF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from vhs.accounts.models import Role
from vhs.accounts.services import MIN_PASSWORD_LENGTH

LANGUAGE_CHOICES = [SelectChoice("de", "Deutsch"), SelectChoice("en", "English")]


class RegisterForm(FlaskForm):
    """New resident account."""

    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=120)])
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)]
    )
    password_confirm = PasswordField(
        _l("Repeat password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
    accept_privacy = BooleanField(
        _l("I have read the privacy notice."),
        validators=[DataRequired(message=_l("Please confirm the privacy notice."))],
    )


class LoginForm(FlaskForm):
    """E-mail and password."""

    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Stay logged in on this device"))


class ForgotForm(FlaskForm):
    """Ask for a password reset link."""

    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Email(), Length(max=254)])


class ResetForm(FlaskForm):
    """Choose a new password from a reset link."""

    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)],
    )
    password_confirm = PasswordField(
        _l("Repeat new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class ProfileForm(FlaskForm):
    """Name, language and postal address for invoices; deliberately no role field."""

    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=120)])
    locale = SelectField(_l("Preferred language"), choices=LANGUAGE_CHOICES)
    street = StringField(_l("Street and number"), validators=[Optional(), Length(max=200)])
    postal_code = StringField(_l("Postal code"), validators=[Optional(), Length(max=10)])
    city = StringField(_l("City"), validators=[Optional(), Length(max=100)])


class PasswordForm(FlaskForm):
    """Change the password."""

    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)],
    )


class EmailChangeForm(FlaskForm):
    """Move the account to another address (confirmed by a link)."""

    new_email = EmailField(
        _l("New e-mail address"), validators=[DataRequired(), Email(), Length(max=254)]
    )
    password = PasswordField(_l("Password"), validators=[DataRequired()])


class TokenForm(FlaskForm):
    """Create a personal API token."""

    token_name = StringField(_l("Name of the token"), validators=[DataRequired(), Length(max=80)])


class DeleteAccountForm(FlaskForm):
    """Confirm erasure with the password."""

    password = PasswordField(_l("Password"), validators=[DataRequired()])
    confirm = BooleanField(
        _l("Yes, delete my account for good."),
        validators=[DataRequired(message=_l("Please confirm the deletion."))],
    )


class RoleForm(FlaskForm):
    """An administrator grants a role."""

    role = SelectField(
        _l("Role"),
        choices=[
            SelectChoice(Role.RESIDENT.value, _l("Resident")),
            SelectChoice(Role.INSTRUCTOR.value, _l("Instructor")),
            SelectChoice(Role.STAFF.value, _l("Staff")),
            SelectChoice(Role.ADMIN.value, _l("Administrator")),
        ],
    )


class EmptyForm(FlaskForm):
    """A form with only the CSRF token (logout, revoke, resend)."""
