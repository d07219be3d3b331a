"""Plain builders for course data, used by the ``make_*`` fixtures and the authz matrix.

Each ``new_*`` function works in the caller's app context and session: it adds rows, flushes
and returns the attached object (no commit). The fixtures in ``tests/courses/conftest.py`` wrap
them in an app context, commit, and hand back a detached object with its data loaded; the
authorisation matrix (``tests/authz_expectations.py``) calls them from its builders.

Denormalised course fields (``seats_taken``, ``waitlist_count``, ``first_session_at``,
``weekday``, ``start_minute``, ``session_count``, ``search_document``) are always kept
consistent with the rows, exactly as the services keep them.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from courses.enrolment import services as enrolment_services
from courses.models import (
    SEAT_STATUSES,
    Category,
    Course,
    CourseFormat,
    CourseStatus,
    Enrolment,
    EnrolmentStatus,
    ReductionReason,
    Session,
    SessionStatus,
    Term,
    TermStatus,
)
from courses.planning import services as planning_services
from vhs.accounts.models import Role, User
from vhs.db import db, utcnow
from vhs.i18n import local_zone

_codes = itertools.count(100)


def _id(obj_or_id: Any) -> int | None:
    """An object's id, or the id itself (factories accept either)."""
    if obj_or_id is None:
        return None
    return obj_or_id if isinstance(obj_or_id, int) else obj_or_id.id


def new_term(
    *,
    name: str = "Frühjahr 2027",
    starts_on: date | None = None,
    ends_on: date | None = None,
    enrolment_opens_at: datetime | None = None,
    status: TermStatus = TermStatus.PUBLISHED,
    **kw: Any,
) -> Term:
    """A published term that started today, open for booking since ten days ago."""
    today = datetime.now(local_zone()).date()
    term = Term(
        name=name,
        starts_on=starts_on or today,
        ends_on=ends_on or (starts_on or today) + timedelta(days=180),
        enrolment_opens_at=enrolment_opens_at or utcnow() - timedelta(days=10),
        status=status,
        **kw,
    )
    db.session.add(term)
    db.session.flush()
    return term


def new_category(
    *,
    slug: str | None = None,
    name_de: str = "Sprachen",
    name_en: str = "Languages",
    parent: Category | int | None = None,
    **kw: Any,
) -> Category:
    """A category (``parent`` makes it a child: Sprachen > Englisch)."""
    category = Category(
        slug=slug or f"kat-{secrets.token_hex(4)}",
        name_de=name_de,
        name_en=name_en,
        parent_id=_id(parent),
        **kw,
    )
    db.session.add(category)
    db.session.flush()
    return category


def new_user(role: Role | str = Role.RESIDENT, *, verified: bool = True, **kw: Any) -> User:
    """An account without a password (for builders; tests log in with ``make_user``)."""
    user = User(
        email=kw.pop("email", None) or f"u-{secrets.token_hex(5)}@example.org",
        name=kw.pop("name", None) or "Karla Kursleiterin",
        role=Role(role),
        locale=kw.pop("locale", "de"),
        email_verified_at=utcnow() if verified else None,
        session_token=secrets.token_hex(16),
        **kw,
    )
    db.session.add(user)
    db.session.flush()
    return user


def new_course(
    *,
    capacity: int = 20,
    fee_cents: int = 0,
    sessions: int = 3,
    status: CourseStatus | str = CourseStatus.PUBLISHED,
    instructors: Iterable[User | int] = (),
    starts_in_days: float = 30,
    term: Term | int | None = None,
    category: Category | int | None = None,
    code: str | None = None,
    title: str = "Englisch für Anfänger",
    start_time: time = time(18, 0),
    duration_minutes: int = 90,
    interval_days: int = 7,
    session_kw: dict[str, Any] | None = None,
    **kw: Any,
) -> Course:
    """A course with ``sessions`` weekly meetings, the first ``starts_in_days`` from today.

    Sessions start at ``start_time`` Berlin wall-clock time; ``term`` and ``category`` are
    made when not given. Any other ``Course`` column can be passed (``reduced_fee_cents``,
    ``language``, ``level``, ``format``, ``enrolment_closes_at``, ``cancellation_days``...).
    """
    term_id = _id(term) or new_term().id
    category_id = _id(category) or new_category().id
    course = Course(
        term_id=term_id,
        category_id=category_id,
        code=code or f"990-{next(_codes):04d}",  # explicit codes in tests never clash
        title=title,
        capacity=capacity,
        fee_cents=fee_cents,
        min_participants=kw.pop("min_participants", min(1, capacity)),
        status=CourseStatus(status),
        format=CourseFormat(kw.pop("format", CourseFormat.IN_PERSON)),
        **kw,
    )
    ids = [_id(i) for i in instructors]
    if ids:
        course.instructors = list(
            db.session.execute(sa.select(User).where(User.id.in_(ids))).scalars()
        )
    db.session.add(course)
    db.session.flush()
    first_day = (datetime.now(local_zone()) + timedelta(days=starts_in_days)).date()
    for n in range(sessions):
        starts = datetime.combine(
            first_day + timedelta(days=n * interval_days), start_time, local_zone()
        )
        db.session.add(
            Session(
                course_id=course.id,
                starts_at=starts,
                ends_at=starts + timedelta(minutes=duration_minutes),
                online=course.format is CourseFormat.ONLINE,
                room=course.room,
                status=SessionStatus.SCHEDULED,
                **(session_kw or {}),
            )
        )
    planning_services.refresh_schedule(course)
    planning_services.refresh_search_document(course)
    db.session.flush()
    return course


def new_enrolment(
    course: Course | int,
    user: User | int | None = None,
    *,
    status: EnrolmentStatus | str | None = None,
    reduction: ReductionReason | str | None = None,
    created_at: datetime | None = None,
    **kw: Any,
) -> Enrolment:
    """Book ``user`` (a fresh resident if None) on ``course``.

    Without ``status`` the booking goes through ``services.enrol`` (all checks, the course
    lock, mails): confirmed, pending_payment or waitlisted as the course decides. With
    ``status`` the row is written directly (for states the rules would refuse, e.g. on a
    cancelled course), and the course's seat and waiting-list counters are kept in step.
    """
    course_obj = db.session.get(Course, _id(course))
    assert course_obj is not None, "no such course"
    user_obj = db.session.get(User, _id(user)) if user is not None else new_user()
    assert user_obj is not None, "no such user"
    reason = ReductionReason(reduction) if reduction else None
    if status is None:
        enrolment = enrolment_services.enrol(course_obj, user_obj, reduction=reason)
        if created_at is not None:
            enrolment.created_at = created_at
        for key, value in kw.items():
            setattr(enrolment, key, value)
        db.session.flush()
        return enrolment
    status = EnrolmentStatus(status)
    now = utcnow()
    price = course_obj.reduced_fee_cents if reason else course_obj.fee_cents
    enrolment = Enrolment(
        course_id=course_obj.id,
        user_id=user_obj.id,
        status=status,
        price_cents=price or 0,
        currency=course_obj.currency,
        reduction_reason=reason,
        created_at=created_at or now,
        created_by_id=user_obj.id,
    )
    if status in SEAT_STATUSES:
        course_obj.seats_taken += 1
    if status is EnrolmentStatus.CONFIRMED:
        enrolment.confirmed_at = now
    elif status is EnrolmentStatus.PENDING_PAYMENT:
        enrolment.hold_expires_at = now + timedelta(days=7)
    elif status is EnrolmentStatus.WAITLISTED:
        course_obj.waitlist_count += 1
        enrolment.waitlist_position = course_obj.waitlist_count
    elif status is EnrolmentStatus.CANCELLED:
        enrolment.cancelled_at = now
    for key, value in kw.items():
        setattr(enrolment, key, value)
    db.session.add(enrolment)
    db.session.flush()
    return enrolment
