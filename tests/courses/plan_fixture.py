"""A fixture that plans a published course quickly: ``plan(capacity=2, fee_cents=0, ...)``."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from courses.models import Category, Course, CourseFormat, CourseStatus, Session, Term, TermStatus
from courses.planning import services as planning_services
from vhs.accounts.models import User
from vhs.db import db, utcnow


@pytest.fixture
def plan(app):
    """Factory: a published course (with term, category, sessions) -> course id."""

    def _plan(
        *,
        capacity: int = 2,
        fee_cents: int = 0,
        reduced_fee_cents: int | None = None,
        status: CourseStatus = CourseStatus.PUBLISHED,
        starts_in_days: int = 30,
        sessions: int = 2,
        cancellation_days: int = 7,
        instructors: list[User] | None = None,
        opens_in_days: int = -10,
        closes_in_days: int | None = None,
        code: str | None = None,
    ) -> int:
        with app.app_context():
            now = utcnow()
            term = Term(
                name="Frühjahr 2027",
                starts_on=date(2027, 2, 1),
                ends_on=date(2027, 7, 1),
                enrolment_opens_at=now + timedelta(days=opens_in_days),
                status=TermStatus.PUBLISHED,
            )
            cat = db.session.execute(
                sa.select(Category).where(Category.slug == "t-sprachen")
            ).scalar()
            if cat is None:
                cat = Category(slug="t-sprachen", name_de="Sprachen", name_en="Languages")
            db.session.add_all([term, cat])
            db.session.flush()
            course = Course(
                term_id=term.id,
                category_id=cat.id,
                code=code or f"271-{db.session.scalar(sa.select(sa.func.count(Course.id))) + 100}",
                title="Englisch für Anfänger",
                subtitle="Erste Schritte",
                description="Mit *Spaß*",
                format=CourseFormat.IN_PERSON,
                fee_cents=fee_cents,
                reduced_fee_cents=reduced_fee_cents,
                capacity=capacity,
                min_participants=1,
                cancellation_days=cancellation_days,
                status=status,
                enrolment_closes_at=now + timedelta(days=closes_in_days)
                if closes_in_days is not None
                else None,
            )
            if instructors:
                course.instructors = [db.session.get(User, u.id) for u in instructors]
            db.session.add(course)
            db.session.flush()
            first = now + timedelta(days=starts_in_days)
            for n in range(sessions):
                st = first + timedelta(weeks=n)
                db.session.add(
                    Session(course_id=course.id, starts_at=st, ends_at=st + timedelta(hours=1))
                )
            planning_services.refresh_schedule(course)
            planning_services.refresh_search_document(course)
            db.session.commit()
            return course.id

    return _plan
