"""Translated labels of imports: formats, states, counts and the item fields reasons name."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from media.imports.models import ImportFormat, ImportState, RejectionKind

FORMAT_LABELS = {
    ImportFormat.MARC: _l("MARC 21 (binary)"),
    ImportFormat.MARCXML: _l("MARCXML"),
    ImportFormat.ONIX: _l("ONIX 3.0"),
    ImportFormat.CSV: _l("CSV"),
}
STATE_LABELS = {
    ImportState.QUEUED: lazy_pgettext("import run", "Waiting"),
    ImportState.RUNNING: _l("Running"),
    ImportState.DONE: _l("Done"),
    ImportState.FAILED: _l("Failed"),
}
KIND_LABELS = {
    RejectionKind.RECORD: _l("Record"),
    RejectionKind.FILE: _l("File"),
    RejectionKind.NOTICE: _l("Note"),
}
COUNT_LABELS = {
    "created": _l("Created"),
    "updated": _l("Updated"),
    "unchanged": _l("Unchanged"),
    "withdrawn": _l("Withdrawn"),
    "rejected": _l("Rejected"),
    "files_attached": _l("Files attached"),
}
# The fields of an item that a refusal may name (the keys of save_item's data).
FIELD_LABELS = {
    "kind": _l("Kind of medium"),
    "title": _l("Title"),
    "subtitle": _l("Subtitle"),
    "publisher": _l("Publisher"),
    "year": _l("Year"),
    "language": _l("Language"),
    "description": _l("Description"),
    "classification": _l("Classification"),
    "series_title": _l("Series"),
    "series_number": _l("Volume"),
    "min_age": _l("Age rating"),
    "pages": _l("Pages"),
    "duration_seconds": _l("Duration"),
    "contributors": _l("People"),
    "identifiers": _l("Numbers (ISBN, ISSN)"),
    "subjects": _l("Keywords"),
    "cover_sha256": _l("Cover"),
}
