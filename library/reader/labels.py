"""What a link to the reader is called: "Im Browser lesen", "Im Browser abspielen"."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from library.reader.services import Mode


def reader_label(mode: Mode) -> Any:
    """Books are read; audio and video are played (not "Anhören": that is the file's link)."""
    return _l("Read in the browser") if mode is Mode.EPUB else _l("Play in the browser")
