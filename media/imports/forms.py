"""The staff form that starts an import: the file of records, a ZIP of files, publish or not."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField


class ImportForm(FlaskForm):
    """A file of records (MARC 21, MARCXML, ONIX 3.0, CSV) and what comes with it."""

    file = FileField(_l("File of records"), validators=[FileRequired(_l("Please choose a file."))])
    files = FileField(_l("Media files as a ZIP archive (optional)"))
    publish = BooleanField(_l("Publish new media right away (otherwise they are drafts)"))
