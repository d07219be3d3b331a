"""Translated labels for the courses' enums and choices, shared by every page."""

from __future__ import annotations

from typing import Any

from babel.numbers import format_decimal
from flask_babel import lazy_gettext as _l

from courses.models import (
    CEFR_LEVELS,
    CourseFormat,
    CourseStatus,
    EnrolmentStatus,
    ReductionReason,
    SessionStatus,
    TermStatus,
)
from vhs.accounts.models import Role
from vhs.i18n import page_locale


def format_units(value: int | float | None, locale: str | None = None) -> str:
    """Teaching units as people read them: "13,3" in German, "13.3" in English, "20" whole."""
    lang = locale or page_locale()
    return format_decimal(value or 0, "#,##0.#", locale="de_DE" if lang == "de" else "en_IE")


def units_plural(value: int | float | None) -> int:
    """The number that picks the plural form: 1 for exactly one unit, else 2 (1,5 Einheiten)."""
    return 1 if value == 1 else 2


REDUCTION_LABELS = {
    ReductionReason.STUDENT: _l("Pupils and students"),
    ReductionReason.JOBSEEKER: _l("Jobseekers"),
    ReductionReason.BUERGERGELD: _l("Recipients of Bürgergeld"),
    ReductionReason.DISABILITY: _l("Severely disabled persons"),
    ReductionReason.VOLUNTEER_CARD: _l("Holders of the Ehrenamtskarte"),
}
FORMAT_LABELS = {
    CourseFormat.ONLINE: _l("Online"),
    CourseFormat.HYBRID: _l("Hybrid"),
    CourseFormat.IN_PERSON: _l("In person"),
}
STATUS_LABELS = {
    EnrolmentStatus.PENDING_PAYMENT: _l("Awaiting payment"),
    EnrolmentStatus.CONFIRMED: _l("Confirmed"),
    EnrolmentStatus.WAITLISTED: _l("Waiting list"),
    EnrolmentStatus.CANCELLED: _l("Cancelled"),
    EnrolmentStatus.EXPIRED: _l("Expired"),
}
WEEKDAYS = {
    1: _l("Monday"),
    2: _l("Tuesday"),
    3: _l("Wednesday"),
    4: _l("Thursday"),
    5: _l("Friday"),
    6: _l("Saturday"),
    7: _l("Sunday"),
}
TIME_LABELS = {"morning": _l("Morning"), "afternoon": _l("Afternoon"), "evening": _l("Evening")}
SORT_LABELS = {"start": _l("Start date"), "title": _l("Title"), "price": _l("Price")}
LANGUAGES = {
    "de": _l("German"),
    "en": _l("English"),
    "fr": _l("French"),
    "es": _l("Spanish"),
    "it": _l("Italian"),
    "tr": _l("Turkish"),
    "pl": _l("Polish"),
    "ar": _l("Arabic"),
}


COURSE_STATUS_LABELS = {
    CourseStatus.DRAFT: _l("Draft"),
    CourseStatus.PUBLISHED: _l("Published"),
    CourseStatus.CANCELLED: _l("Cancelled"),
    CourseStatus.COMPLETED: _l("Completed"),
}
TERM_STATUS_LABELS = {
    TermStatus.DRAFT: _l("Draft"),
    TermStatus.PUBLISHED: _l("Published"),
    TermStatus.ARCHIVED: _l("Archived"),
}
SESSION_STATUS_LABELS = {
    SessionStatus.SCHEDULED: _l("scheduled"),
    SessionStatus.CANCELLED: _l("cancelled"),
}
# Shown after the names of staff who also teach (instructors are listed by name alone).
ROLE_LABELS = {
    Role.STAFF: _l("Staff"),
    Role.ADMIN: _l("Administrator"),
}


def page_labels() -> dict[str, Any]:
    """The labels the resident pages (catalogue, course page, Meine Kurse) show."""
    return {
        "format_labels": FORMAT_LABELS,
        "weekdays": WEEKDAYS,
        "time_labels": TIME_LABELS,
        "sort_labels": SORT_LABELS,
        "languages": LANGUAGES,
        "levels": CEFR_LEVELS,
        "status_labels": STATUS_LABELS,
        "reduction_labels": REDUCTION_LABELS,
    }
