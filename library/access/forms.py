"""The staff form of the watermark lookup: a code typed or pasted, or the EPUB itself."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import StringField
from wtforms.validators import Length, Optional

CODE_INPUT_MAX = 40  # a code is 11 characters; room for spaces and a pasted sentence's end


class WatermarkLookupForm(FlaskForm):
    """Either field: the code (``W-7K3M-Q9XD``) or the EPUB file that carries one."""

    code = StringField(_l("Watermark code"), validators=[Optional(), Length(max=CODE_INPUT_MAX)])
    file = FileField(_l("Or the EPUB file"))
