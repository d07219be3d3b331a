"""The term report as CSV rows, German numbers (1.234 and 79,50), one section after another."""

from __future__ import annotations

from typing import Any

from babel.numbers import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from courses.labels import REDUCTION_LABELS, format_units
from courses.office.reports import Row, TermReport
from vhs.i18n import fmt_date


def _euros(cents: int) -> str:
    return format_decimal(cents / 100, "#,##0.00", locale="de_DE")


def _percent(value: float | None) -> str:
    return "" if value is None else format_decimal(value, "0.0", locale="de_DE")


ROW_HEADINGS = (
    _l("Courses held"),
    _l("Courses cancelled"),
    _l("Bookings"),
    _l("Cancellations"),
    _l("Waiting list"),
    _l("Places taken"),
    _l("Capacity"),
    _l("Utilisation (percent)"),
    _l("Teaching units"),
    _l("Revenue in euros"),
    _l("Refunds in euros"),
    _l("Net in euros"),
)


def _headings() -> list[str]:
    return [str(h) for h in ROW_HEADINGS]


def _figures(row: Row) -> list[Any]:
    return [
        row.courses,
        row.cancelled_courses,
        row.bookings,
        row.cancellations,
        row.waitlisted,
        row.seats_taken,
        row.capacity,
        _percent(row.utilisation_percent),
        format_units(row.units, "de"),
        _euros(row.revenue_cents),
        _euros(row.refunds_cents),
        _euros(row.net_cents),
    ]


def report_rows(report: TermReport) -> list[list[Any]]:
    """Every section of the report page, in its order."""
    f = report.filters
    rows: list[list[Any]] = [
        [_("Term report"), f.term.name],
        [_("Category"), f.category.name_de if f.category else _("All categories")],
        [_("Venue"), f.venue if f.venue is not None else _("All venues")],
        [_("As of"), fmt_date(report.made_at, "dd.MM.yyyy")],
        [],
        [_("Category"), _("Venue"), *_headings()],
    ]
    for category, venue, row in report.groups:
        rows.append([category.name_de, venue, *_figures(row)])
    rows.append([_("Total"), "", *_figures(report.total)])
    rows += [[], [_("Reductions by reason"), _("Bookings")]]
    for reason, count in report.reductions.items():
        rows.append([str(REDUCTION_LABELS[reason]), count])
    rows += [
        [],
        [_("Courses below their minimum"), _("First session"), _("Bookings"), _("Minimum")],
    ]
    for course in report.below_minimum:
        rows.append(
            [
                f"{course.code} {course.title}",
                fmt_date(course.first_session_at, "dd.MM.yyyy"),
                course.seats_taken,
                course.min_participants,
            ]
        )
    rows += [
        [],
        [
            _("Volkshochschul-Statistik: subject area"),
            _("Courses"),
            _("Teaching units"),
            _("Enrolments"),
        ],
    ]
    for stats in report.statistics:
        rows.append(
            [stats.area.name_de, stats.courses, format_units(stats.units, "de"), stats.enrolments]
        )
    return rows
