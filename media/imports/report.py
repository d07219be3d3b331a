"""An import's report as text (the CLI) and as CSV (download), safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from flask_babel import gettext as _

from media.imports.labels import COUNT_LABELS, KIND_LABELS
from media.imports.models import RejectionKind

# A cell starting with one of these is a formula to Excel and LibreOffice ("=HYPERLINK(…)").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value: Any) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (OWASP's advice)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


Row = tuple[RejectionKind, int | None, str, str, str]  # kind, position, identifier, title, reason


def csv_lines(counts: dict[str, int], rows: Iterable[Row]) -> Iterator[str]:
    """The report as CSV lines (``;``-separated with a BOM, as Excel in Germany reads it)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")

    def line(cells: list[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([safe_cell(c) for c in cells])
        return buffer.getvalue()

    yield "\ufeff" + line([_("What"), _("Position"), _("Number"), _("Title"), _("Reason")])
    for name, value in counts.items():
        yield line([str(COUNT_LABELS[name]), "", "", "", value])
    for kind, position, identifier, title, reason in rows:
        yield line([str(KIND_LABELS[kind]), position or "", identifier, title, reason])


def text_lines(counts: dict[str, int], rows: Iterable[Row]) -> Iterator[str]:
    """The report as lines of text for the console."""
    yield "  ".join(f"{COUNT_LABELS[name]}: {value}" for name, value in counts.items())
    for kind, position, identifier, title, reason in rows:
        where = f"#{position}" if position else str(KIND_LABELS[kind])
        about = " ".join(p for p in (identifier, f"„{title}“" if title else "") if p)
        yield f"  {where} {about}: {reason}" if about else f"  {where}: {reason}"
