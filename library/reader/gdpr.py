"""The reading positions' part of "download my data". Erasure needs no step of its own: it
returns the open loans (``library.circulation.gdpr``), and ending a loan deletes its position."""

from __future__ import annotations

from library.reader.services import export_positions
from vhs import gdpr

gdpr.register_exporter("library_reading_positions", export_positions)
