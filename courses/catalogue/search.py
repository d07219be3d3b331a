"""The public catalogue: filters, full-text search, sorting and pages in few SQL statements.

Full-text search uses a German ``tsvector`` with a GIN index on PostgreSQL (so "Kurse" finds
"Kurs") and FTS5 with prefix terms and light German suffix stripping on SQLite.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, lazyload, selectinload

from courses.models import Course, CourseFormat, CourseStatus, course_instructors
from courses.planning.services import category_ids_with_children
from vhs.db import db

TIME_OF_DAY = {
    "morning": (0, 12 * 60),
    "afternoon": (12 * 60, 17 * 60),
    "evening": (17 * 60, 24 * 60),
}
SORTS = ("start", "title", "price")
_SUFFIXES = ("ern", "en", "er", "es", "e", "n", "s")


@dataclass
class CatalogueQuery:
    """What a resident asks the catalogue for."""

    q: str = ""
    term_id: int | None = None
    category_id: int | None = None
    format: CourseFormat | None = None
    weekday: int | None = None
    time_of_day: str | None = None
    language: str | None = None
    level: str | None = None
    free_only: bool = False
    max_price_cents: int | None = None
    instructor_id: int | None = None
    sort: str = "start"
    page: int = 1
    per_page: int = 20
    statuses: tuple[CourseStatus, ...] = (CourseStatus.PUBLISHED,)


@dataclass
class Page:
    """One page of results."""

    items: list[Course]
    total: int
    page: int
    per_page: int
    query: CatalogueQuery = field(repr=False, default_factory=CatalogueQuery)

    @property
    def pages(self) -> int:
        """Number of pages (at least one)."""
        return max(1, math.ceil(self.total / self.per_page))


def _stems(q: str) -> list[str]:
    """Search words with common German endings taken off (a prefix search adds them back)."""
    stems = []
    for token in re.findall(r"\w+", q.lower())[:12]:
        stem = token
        for suffix in _SUFFIXES:
            if len(token) - len(suffix) >= 4 and token.endswith(suffix):
                stem = token[: -len(suffix)]
                break
        stems.append(stem)
    return stems


def _sqlite_match(q: str) -> str | None:
    return " ".join('"' + stem + '"*' for stem in _stems(q)) or None


def _text_condition(q: str) -> Any:
    q = q.replace("\x00", "").strip()[:200]
    if not q:
        return None
    if db.engine.dialect.name == "postgresql":
        # lower(code) LIKE 'q%' (not ILIKE): ix_courses_code_lower serves it, so PostgreSQL
        # ORs two index scans instead of reading every course.
        prefix = q.replace("%", "").replace("_", "").lower() + "%"
        code = sa.func.lower(Course.code).like(prefix)
        # German stemming alone misses forms ("Kurs" -> kur, "Kurse" -> kurs): prefix terms of
        # the stripped words match every form of a word in the German tsvector.
        stems = _stems(q)
        if not stems:
            return code
        vector = sa.literal_column("courses.search_vector")
        tsquery = sa.func.to_tsquery("german", " & ".join(f"{stem}:*" for stem in stems))
        return sa.or_(vector.op("@@")(tsquery), code)
    match = _sqlite_match(q)
    if match is None:
        return sa.false()
    fts = sa.text("SELECT rowid FROM courses_fts WHERE courses_fts MATCH :fts").bindparams(
        fts=match
    )
    return Course.id.in_(fts)


def _conditions(query: CatalogueQuery) -> list[Any]:
    conds: list[Any] = [Course.status.in_(query.statuses)]
    if query.term_id:
        conds.append(Course.term_id == query.term_id)
    if query.category_id:
        conds.append(Course.category_id.in_(category_ids_with_children(query.category_id)))
    if query.format:
        conds.append(Course.format == query.format)
    if query.weekday:
        conds.append(Course.weekday == query.weekday)
    if query.time_of_day in TIME_OF_DAY:
        lo, hi = TIME_OF_DAY[query.time_of_day]
        conds.append(sa.and_(Course.start_minute >= lo, Course.start_minute < hi))
    if query.language:
        conds.append(Course.language == query.language)
    if query.level:
        conds.append(Course.level == query.level)
    if query.free_only:
        conds.append(Course.seats_taken < Course.capacity)
    if query.max_price_cents is not None:
        conds.append(Course.fee_cents <= query.max_price_cents)
    if query.instructor_id:
        conds.append(
            Course.id.in_(
                sa.select(course_instructors.c.course_id).where(
                    course_instructors.c.user_id == query.instructor_id
                )
            )
        )
    text = _text_condition(query.q)
    if text is not None:
        conds.append(text)
    return conds


def _order(sort: str) -> list[Any]:
    if sort == "title":
        return [Course.title, Course.id]
    if sort == "price":
        return [Course.fee_cents, Course.first_session_at, Course.id]
    # Courses without dates last; as NULLS LAST (not "IS NULL" first) the order is exactly
    # ix_courses_status_first_id's, so a page is read from the index, never sorted.
    return [Course.first_session_at.asc().nulls_last(), Course.id]


def search(query: CatalogueQuery, *, instructors: bool = True) -> Page:
    """Run a catalogue query: one count, one page, one instructor load (unless not shown)."""
    conds = _conditions(query)
    total = db.session.execute(sa.select(sa.func.count(Course.id)).where(*conds)).scalar_one()
    per_page = min(max(query.per_page, 1), 100)
    page = max(query.page, 1)
    items = list(
        db.session.execute(
            sa.select(Course)
            .where(*conds)
            .options(
                joinedload(Course.category),
                joinedload(Course.term),
                selectinload(Course.instructors) if instructors else lazyload(Course.instructors),
            )
            .order_by(*_order(query.sort))
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
        .unique()
        .scalars()
    )
    return Page(items=items, total=total, page=page, per_page=per_page, query=query)
