"""Fee statements as PDF (fpdf2, the invoices' fonts) and CSV for German Excel; report CSV."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import Any

from flask import Response
from flask_babel import force_locale
from flask_babel import gettext as _

from courses.labels import format_units
from courses.office.models import FeeStatement, FeeStatementLine, RateKind
from vhs.formats import spreadsheet_safe
from vhs.i18n import fmt_date, local, money
from vhs.payments.pdf import letter


def _when(line: FeeStatementLine) -> tuple[str, str]:
    """A line's day and time span in Berlin time (empty for a flat fee)."""
    if line.starts_at is None or line.ends_at is None:
        return "", ""
    start, end = local(line.starts_at), local(line.ends_at)
    return start.strftime("%d.%m.%Y"), f"{start:%H:%M}–{end:%H:%M}"


def _rate(line: FeeStatementLine) -> str:
    if line.rate_kind is RateKind.FLAT:
        return _("flat fee %(amount)s", amount=money(line.rate_cents, "de"))
    return _("%(amount)s per unit", amount=money(line.rate_cents, "de"))


def _description(line: FeeStatementLine) -> str:
    if line.session_id is None and line.starts_at is None:
        return f"{line.course_code} {line.course_title} – {_('flat fee')}"
    return f"{line.course_code} {line.course_title}"


def statement_pdf(statement: FeeStatement) -> bytes:
    """The statement as issued, in German (the office's language)."""
    with force_locale("de"):
        return _render(statement)


def _render(statement: FeeStatement) -> bytes:
    heading = f"{_('Fee statement')} {statement.number}"
    pdf = letter(heading, heading, [statement.instructor_name, statement.instructor_address])
    for text in (
        f"{_('Term')}: {statement.term_name}",
        f"{_('Date of issue')}: {fmt_date(statement.issued_at, 'dd.MM.yyyy')}",
    ):
        pdf.cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    widths = (62, 24, 26, 14, 34)
    pdf.set_font("DejaVu", "B", 9)
    for width, head in zip(
        widths, (_("Course"), _("Date"), _("Time"), _("Units"), _("Rate")), strict=True
    ):
        pdf.cell(width, 7, head, border="B")
    pdf.cell(0, 7, _("Amount"), border="B", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    for line in statement.lines:
        day, span = _when(line)
        units = format_units(line.units_tenths / 10, "de") if line.starts_at else ""
        cells = (_description(line)[:38], day, span, units, _rate(line))
        for width, text in zip(widths, cells, strict=True):
            pdf.cell(width, 6, text)
        pdf.cell(
            0,
            6,
            money(line.amount_cents, "de")
            if line.rate_kind is RateKind.PER_UNIT or not day
            else "",
            align="R",
            new_x="LMARGIN",
            new_y="NEXT",
        )
    pdf.set_font("DejaVu", "B", 10)
    pdf.cell(sum(widths[:3]), 8, _("Total"), border="T")
    pdf.cell(widths[3], 8, format_units(statement.units_tenths / 10, "de"), border="T")
    pdf.cell(widths[4], 8, "", border="T")
    pdf.cell(
        0,
        8,
        money(statement.total_cents, "de"),
        border="T",
        align="R",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(4)
    pdf.set_font("DejaVu", "", 9)
    pdf.multi_cell(
        0,
        5,
        _(
            "One teaching unit is 45 minutes; units are counted per held session to one "
            "decimal. This statement was issued on %(date)s and is not changed afterwards.",
            date=fmt_date(statement.issued_at, "dd.MM.yyyy"),
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    return bytes(pdf.output())


def csv_response(rows: Iterable[Iterable[Any]], filename: str) -> Response:
    """Rows as a CSV download for German Excel: UTF-8 with BOM, semicolons, CRLF."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    for row in rows:
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    resp = Response("\ufeff" + out.getvalue(), mimetype="text/csv")
    resp.charset = "utf-8"
    # ASCII only: the name goes into a header.
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", filename).strip("._") or "export"
    resp.headers["Content-Disposition"] = f'attachment; filename="{safe}.csv"'
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


def statement_rows(statement: FeeStatement) -> list[list[Any]]:
    """The statement's lines as CSV rows (German numbers: 1,5 and 37,50)."""
    rows: list[list[Any]] = [
        [_("Fee statement"), statement.number, _("Term"), statement.term_name],
        [
            _("Instructor"),
            statement.instructor_name,
            _("Date of issue"),
            fmt_date(statement.issued_at, "dd.MM.yyyy"),
        ],
        [],
        [
            _("Course number"),
            _("Course"),
            _("Date"),
            _("Time"),
            _("Units"),
            _("Rate type"),
            _("Rate in euros"),
            _("Amount in euros"),
        ],
    ]
    for line in statement.lines:
        day, span = _when(line)
        rows.append(
            [
                line.course_code,
                line.course_title,
                day,
                span,
                format_units(line.units_tenths / 10, "de") if day else "",
                _("per unit") if line.rate_kind is RateKind.PER_UNIT else _("flat fee"),
                _euros(line.rate_cents),
                _euros(line.amount_cents),
            ]
        )
    rows.append(
        [
            _("Total"),
            "",
            "",
            "",
            format_units(statement.units_tenths / 10, "de"),
            "",
            "",
            _euros(statement.total_cents),
        ]
    )
    return rows


def _euros(cents: int) -> str:
    euros, rest = divmod(cents, 100)
    return f"{euros},{rest:02d}"
