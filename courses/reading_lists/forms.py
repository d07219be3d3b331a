"""Forms of the reading-list editing page."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired, Length

from courses.reading_lists.models import NOTE_MAX
from vhs.fields import IntegerField


class AddReadingItemForm(FlaskForm):
    """A medium by its number (from the search below the form), with a note."""

    item_id = IntegerField(
        _l("Medium number"), [InputRequired(_l("Choose a medium."))], min=1, max=2**31 - 1
    )
    note = StringField(_l("Note for participants"), [Length(max=NOTE_MAX)])

    def to_data(self) -> dict[str, Any]:
        """The service's data keys."""
        return {"item_id": self.item_id.data, "note": self.note.data or ""}


class EditReadingItemForm(FlaskForm):
    """An entry's note and place in the list."""

    note = StringField(_l("Note for participants"), [Length(max=NOTE_MAX)])
    position = IntegerField(
        _l("Position"), [InputRequired(_l("Enter a position."))], min=1, max=10_000
    )

    def to_data(self) -> dict[str, Any]:
        """The service's data keys."""
        return {"note": self.note.data or "", "position": self.position.data}
