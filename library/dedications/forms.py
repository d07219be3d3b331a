"""The staff form to dedicate copies of a licence to a course."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms.validators import InputRequired

from library import rules
from vhs.fields import IntegerField


class DedicationForm(FlaskForm):
    """Which course, how many copies (the end comes from the course's last session)."""

    group_id = IntegerField(
        _l("Course number (id)"),
        [InputRequired(_l("Enter the course's id."))],
        min=1,
        max=2**31 - 1,
    )
    copies = IntegerField(
        _l("Copies"),
        [InputRequired(_l("Enter how many copies to set aside."))],
        min=1,
        max=rules.CONCURRENCY.hi,
        default=1,
    )

    def to_data(self) -> dict[str, Any]:
        """The service's data keys."""
        return {"group_type": "course", "group_id": self.group_id.data, "copies": self.copies.data}
