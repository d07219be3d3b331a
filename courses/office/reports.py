"""Staff reports per term: bookings, utilisation, money, reductions, below minimum, statistics.

What each figure counts (the README's "Staff reports" section says the same):

- courses: the term's courses except drafts; "held" courses are published or completed
  (cancelled ones are listed in their own column and count for nothing else);
- bookings: enrolments holding a place now (confirmed or awaiting payment) in held courses;
  cancellations: bookings cancelled by the person or the office (expired holds are not
  bookings); waiting list: people waiting;
- utilisation: places taken / capacity of the held courses, per category and venue;
- revenue: payments for bookings of these courses that were received (also when refunded
  later), refunds: what was paid back of them, net: the difference;
- reductions: bookings holding a place with a reduced fee, by reason (Ermäßigung);
- below minimum: published courses whose first session lies within the next 14 days with
  fewer places taken than their minimum, the same window as the staff dashboard;
- Volkshochschul-Statistik: per subject area (the top-level category, e.g. "Sprachen"),
  held courses, their teaching units (effective: override or derived) and Belegungen
  (confirmed bookings).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from courses import rules
from courses.access import require_manager
from courses.enrolment.payments import PURPOSE
from courses.models import (
    SEAT_STATUSES,
    Category,
    Course,
    CourseStatus,
    Enrolment,
    EnrolmentStatus,
    ReductionReason,
    Term,
)
from courses.planning import services as planning_services
from vhs.accounts.models import User
from vhs.db import db, utcnow
from vhs.errors import Invalid
from vhs.payments.models import PAID_STATUSES, Payment

DASHBOARD_WINDOW_DAYS = 14  # the staff dashboard's "below minimum" look-ahead
HELD = (CourseStatus.PUBLISHED, CourseStatus.COMPLETED)


@dataclass
class Filters:
    """Which part of the term a report covers."""

    term: Term
    category: Category | None = None
    venue: str | None = None


@dataclass
class Row:
    """Figures for one group of courses (a category and venue, or the whole term)."""

    courses: int = 0
    cancelled_courses: int = 0
    bookings: int = 0
    cancellations: int = 0
    waitlisted: int = 0
    seats_taken: int = 0
    capacity: int = 0
    units_tenths: int = 0
    revenue_cents: int = 0
    refunds_cents: int = 0

    @property
    def utilisation_percent(self) -> float | None:
        """Places taken / capacity in percent, one decimal (None without capacity)."""
        if not self.capacity:
            return None
        return round(self.seats_taken * 100 / self.capacity, 1)

    @property
    def net_cents(self) -> int:
        """Revenue less refunds."""
        return self.revenue_cents - self.refunds_cents

    @property
    def units(self) -> int | float:
        """Teaching units as a number."""
        return rules.units_value(self.units_tenths)

    def as_dict(self) -> dict[str, Any]:
        """The figures for the API and the CSV."""
        return {
            "courses": self.courses,
            "cancelled_courses": self.cancelled_courses,
            "bookings": self.bookings,
            "cancellations": self.cancellations,
            "waitlisted": self.waitlisted,
            "seats_taken": self.seats_taken,
            "capacity": self.capacity,
            "utilisation_percent": self.utilisation_percent,
            "teaching_units": self.units,
            "revenue_cents": self.revenue_cents,
            "refunds_cents": self.refunds_cents,
            "net_cents": self.net_cents,
        }


@dataclass
class StatisticsRow:
    """Volkshochschul-Statistik figures of one subject area."""

    area: Category
    courses: int = 0
    units_tenths: int = 0
    enrolments: int = 0

    @property
    def units(self) -> int | float:
        """Teaching units as a number."""
        return rules.units_value(self.units_tenths)


@dataclass
class TermReport:
    """Everything the report page, its CSV and the API show."""

    filters: Filters
    total: Row
    groups: list[tuple[Category, str, Row]]
    reductions: dict[ReductionReason, int]
    below_minimum: list[Course]
    statistics: list[StatisticsRow]
    made_at: datetime = field(default_factory=utcnow)


def _root_of(category_id: int, parents: dict[int, int | None]) -> int:
    seen = set()
    while parents.get(category_id) is not None and category_id not in seen:
        seen.add(category_id)
        category_id = parents[category_id]  # type: ignore[assignment]
    return category_id


def _courses(filters: Filters) -> list[Course]:
    query = sa.select(Course).where(
        Course.term_id == filters.term.id, Course.status != CourseStatus.DRAFT
    )
    if filters.category is not None:
        ids = planning_services.category_ids_with_children(filters.category.id)
        query = query.where(Course.category_id.in_(ids))
    if filters.venue is not None:
        query = query.where(Course.venue == filters.venue)
    return list(db.session.execute(query.order_by(Course.code, Course.id)).scalars())


def venues(term: Term) -> list[str]:
    """The venues of a term's courses, for the filter's choices."""
    return list(
        db.session.execute(
            sa.select(Course.venue)
            .where(Course.term_id == term.id, Course.status != CourseStatus.DRAFT)
            .distinct()
            .order_by(Course.venue)
        ).scalars()
    )


def term_report(actor: User, filters: Filters, now: datetime | None = None) -> TermReport:
    """The report for a term, category and venue (staff)."""
    require_manager(actor)
    courses = _courses(filters)
    ids = [c.id for c in courses]
    held_ids = {c.id for c in courses if c.status in HELD}
    by_status: dict[int, Counter[EnrolmentStatus]] = defaultdict(Counter)
    reductions: Counter[ReductionReason] = Counter()
    enrolment_course: dict[int, int] = {}
    if ids:
        for enrolment_id, course_id, status, reason in db.session.execute(
            sa.select(
                Enrolment.id, Enrolment.course_id, Enrolment.status, Enrolment.reduction_reason
            ).where(Enrolment.course_id.in_(ids))
        ):
            by_status[course_id][status] += 1
            enrolment_course[enrolment_id] = course_id
            if reason is not None and status in SEAT_STATUSES and course_id in held_ids:
                reductions[reason] += 1
    money: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    if enrolment_course:
        for purpose_id, amount, refunded in db.session.execute(
            sa.select(Payment.purpose_id, Payment.amount_cents, Payment.refunded_cents).where(
                Payment.purpose_type == PURPOSE,
                Payment.purpose_id.in_(list(enrolment_course)),
                Payment.status.in_(PAID_STATUSES),
            )
        ):
            course_money = money[enrolment_course[purpose_id]]
            course_money[0] += amount
            course_money[1] += refunded

    parents = dict(db.session.execute(sa.select(Category.id, Category.parent_id)).all())
    categories = {c.id: c for c in db.session.execute(sa.select(Category)).scalars()}
    total = Row()
    groups: dict[tuple[int, str], Row] = {}
    statistics: dict[int, StatisticsRow] = {}
    for course in courses:
        counts = by_status[course.id]
        row = groups.setdefault((course.category_id, course.venue), Row())
        for target in (row, total):
            _add(target, course, counts, money.get(course.id, [0, 0]))
        if course.status in HELD:
            root = _root_of(course.category_id, parents)
            stats = statistics.setdefault(root, StatisticsRow(area=categories[root]))
            stats.courses += 1
            stats.units_tenths += course.teaching_units_tenths
            stats.enrolments += counts[EnrolmentStatus.CONFIRMED]

    below = [
        c for c in planning_services.below_minimum(DASHBOARD_WINDOW_DAYS, now) if c.id in held_ids
    ]
    return TermReport(
        filters=filters,
        total=total,
        groups=sorted(
            ((categories[cid], venue, row) for (cid, venue), row in groups.items()),
            key=lambda g: (g[0].name_de, g[1]),
        ),
        reductions={reason: reductions[reason] for reason in ReductionReason},
        below_minimum=below,
        statistics=sorted(statistics.values(), key=lambda s: (s.area.position, s.area.name_de)),
    )


def _add(row: Row, course: Course, counts: Counter[EnrolmentStatus], money: list[int]) -> None:
    row.revenue_cents += money[0]
    row.refunds_cents += money[1]
    row.cancellations += counts[EnrolmentStatus.CANCELLED]
    if course.status not in HELD:
        row.cancelled_courses += 1
        return
    row.courses += 1
    row.bookings += counts[EnrolmentStatus.CONFIRMED] + counts[EnrolmentStatus.PENDING_PAYMENT]
    row.waitlisted += counts[EnrolmentStatus.WAITLISTED]
    row.seats_taken += course.seats_taken
    row.capacity += course.capacity
    row.units_tenths += course.teaching_units_tenths


def parse_filters(term_id: Any, category_id: Any = None, venue: Any = None) -> Filters:
    """Filters from ids as given (page or API); unknown ids are refused by field."""
    errors: dict[str, list[Any]] = {}
    term = db.session.get(Term, term_id) if isinstance(term_id, int) else None
    if term is None:
        errors["term_id"] = [_l("Please choose a term.")]
    category = None
    if category_id not in (None, ""):
        category = db.session.get(Category, category_id) if isinstance(category_id, int) else None
        if category is None:
            errors["category_id"] = [_l("Please choose a category.")]
    if venue is not None and len(venue) > rules.VENUE_MAX:
        errors["venue"] = [_l("Use at most %(n)d characters.", n=rules.VENUE_MAX)]
    if errors:
        raise Invalid(errors=errors)
    assert term is not None
    return Filters(term=term, category=category, venue=venue)
