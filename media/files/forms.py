"""The staff forms of media files: upload a file, accept metadata, upload a cover."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectMultipleField, StringField
from wtforms.validators import Length, Optional

from media.files.services import LABEL_MAX


class UploadForm(FlaskForm):
    """A file for an item, and an optional label among its files ("Teil 2")."""

    file = FileField(_l("File"), validators=[FileRequired(_l("Please choose a file."))])
    label = StringField(_l("Label (optional)"), validators=[Optional(), Length(max=LABEL_MAX)])


class CoverForm(FlaskForm):
    """An image to make the item's cover from."""

    cover = FileField(_l("Cover image"), validators=[FileRequired(_l("Please choose an image."))])


class MetadataForm(FlaskForm):
    """Which of the file's values to take over (the choices are what the file offers)."""

    fields = SelectMultipleField(_l("Take over"), choices=[], validate_choice=True)
