"""Staff form of a distributor; field names follow the service's data keys, so its
``Invalid`` errors land next to the right field. The password field is never filled in."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField, URLField
from wtforms.validators import InputRequired, Length, Optional

from library.distributors import services
from library.distributors.models import Distributor


class DistributorForm(FlaskForm):
    """Name, feed and the library's account at the distributor."""

    name = StringField(
        _l("Name"), [InputRequired(_l("Please enter a name.")), Length(max=services.NAME_MAX)]
    )
    feed_url = URLField(
        _l("Address of the ODL feed"),
        [
            InputRequired(_l("Enter the feed's address, starting with https://.")),
            Length(max=services.URL_MAX),
        ],
    )
    username = StringField(
        _l("User name (optional)"), [Optional(), Length(max=services.USERNAME_MAX)]
    )
    password = PasswordField(
        _l("Password (optional)"), [Optional(), Length(max=services.PASSWORD_MAX)]
    )
    clear_password = BooleanField(_l("Remove the stored password"))

    def to_data(self) -> dict[str, Any]:
        """The service's data."""
        return {
            "name": self.name.data or "",
            "feed_url": self.feed_url.data or "",
            "username": self.username.data or "",
            "password": self.password.data or "",
            "clear_password": bool(self.clear_password.data),
        }

    @classmethod
    def of(cls, distributor: Distributor) -> DistributorForm:
        """The form filled with a distributor's settings (never its password)."""
        return cls(
            formdata=None,
            name=distributor.name,
            feed_url=distributor.feed_url,
            username=distributor.username,
        )
