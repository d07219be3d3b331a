"""Planning rules: terms, categories, courses (edit, publish, complete, cancel, copy), reports.

Every function that counts or takes seats locks the course row first (``lock_course``) and
does all its work in the caller's unit of work.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from courses import rules
from courses import signals as course_signals
from courses.access import lock_course, require_manager
from courses.enrolment.services import calendar_attachments, promote_waitlist
from courses.models import (
    ACTIVE_STATUSES,
    CEFR_LEVELS,
    Category,
    Course,
    CourseFormat,
    CourseStatus,
    Enrolment,
    EnrolmentStatus,
    Session,
    SessionStatus,
    Term,
    TermStatus,
)
from courses.planning.sessions import refresh_schedule
from vhs.accounts.models import Role, User
from vhs.audit import audit
from vhs.db import db, utcnow
from vhs.errors import Conflict, Invalid
from vhs.formats import format_euros
from vhs.i18n import local_datetime, local_zone
from vhs.mail import queue_mail

# --- limits (``courses.rules``), checked here too: forms and schemas are only the first look --


def _too_long(value: Any, limit: int) -> bool:
    """Whether ``value`` is a text longer than ``limit`` characters."""
    return isinstance(value, str) and len(value) > limit


def _length_errors(
    data: dict[str, Any], limits: dict[str, int], errors: dict[str, list[Any]]
) -> None:
    """Note every text in ``data`` longer than its limit."""
    for key, limit in limits.items():
        if _too_long(data.get(key), limit):
            errors.setdefault(key, []).append(_l("Use at most %(n)d characters.", n=limit))


def _day_errors(data: dict[str, Any], keys: Iterable[str], errors: dict[str, list[Any]]) -> None:
    """Note every date or time in ``data`` outside the planning range of ``courses.rules``."""
    for key in keys:
        if data.get(key) is not None and not rules.day_in_range(data[key]):
            errors.setdefault(key, []).append(
                _l(
                    "Choose a date between %(first)d and %(last)d.",
                    first=rules.EARLIEST_DAY.year,
                    last=rules.LATEST_DAY.year,
                )
            )


def check_reason(reason: str) -> None:
    """A cancellation reason goes to every participant: it has a length limit."""
    if _too_long(reason, rules.REASON_MAX):
        raise Invalid(errors={"reason": [_l("Use at most %(n)d characters.", n=rules.REASON_MAX)]})


# --- denormalised fields -------------------------------------------------------------------


def refresh_search_document(course: Course) -> None:
    """The text the full-text index reads: code, titles, description, instructor names."""
    names = " ".join(i.name for i in course.instructors)
    course.search_document = "\n".join(
        [course.code, course.title, course.subtitle or "", course.description or "", names]
    )


# --- terms and categories ------------------------------------------------------------------


def save_term(actor: User, data: dict[str, Any], term: Term | None = None) -> Term:
    """Create or update a term."""
    require_manager(actor)
    merged = {
        "name": term.name if term else None,
        "starts_on": term.starts_on if term else None,
        "ends_on": term.ends_on if term else None,
        "enrolment_opens_at": term.enrolment_opens_at if term else None,
        **data,
    }
    errors: dict[str, list[Any]] = {}
    if not (merged.get("name") or "").strip():
        errors["name"] = [_l("Please enter a name.")]
    _length_errors(data, {"name": rules.TERM_NAME_MAX}, errors)
    _day_errors(data, ("starts_on", "ends_on", "enrolment_opens_at"), errors)
    if errors:
        raise Invalid(errors=errors)
    if (
        merged.get("starts_on")
        and merged.get("ends_on")
        and merged["ends_on"] < merged["starts_on"]
    ):
        errors["ends_on"] = [_l("The end must not be before the start.")]
    for key in ("starts_on", "ends_on", "enrolment_opens_at"):
        if merged.get(key) is None:
            errors[key] = [_l("This field is required.")]
    if errors:
        raise Invalid(errors=errors)
    if term is None:
        term = Term(status=TermStatus.DRAFT)
        db.session.add(term)
    for key in ("name", "starts_on", "ends_on", "enrolment_opens_at", "status"):
        if key in data:
            value = data[key]
            setattr(term, key, value.strip() if key == "name" else value)
    db.session.flush()
    audit(actor, "term.saved", term, name=term.name)
    return term


def save_category(actor: User, data: dict[str, Any], category: Category | None = None) -> Category:
    """Create or update a category; a category cannot become its own ancestor."""
    require_manager(actor)
    errors: dict[str, list[Any]] = {}
    for key, message in (
        ("slug", _l("Please enter a short name.")),
        ("name_de", _l("Please enter a German name.")),
        ("name_en", _l("Please enter an English name.")),
    ):
        value = data.get(key, getattr(category, key, None) if category else None)
        if not (value or "").strip():
            errors[key] = [message]
    _length_errors(
        data,
        {
            "slug": rules.SLUG_MAX,
            "name_de": rules.CATEGORY_NAME_MAX,
            "name_en": rules.CATEGORY_NAME_MAX,
        },
        errors,
    )
    slug = data.get("slug")
    if slug and "slug" not in errors and not re.match(rules.SLUG_PATTERN, slug):
        errors["slug"] = [_l("Use lower-case letters, digits and hyphens only.")]
    if "position" in data and data["position"] not in rules.CATEGORY_POSITION:
        errors["position"] = [
            _l(
                "Use a position between %(lo)d and %(hi)d.",
                lo=rules.CATEGORY_POSITION.lo,
                hi=rules.CATEGORY_POSITION.hi,
            )
        ]
    if errors:
        raise Invalid(errors=errors)
    if category is None:
        category = Category()
    parent_id = data.get("parent_id", category.parent_id)
    if parent_id is not None:
        parent = db.session.get(Category, parent_id)
        if parent is None:
            raise Invalid(errors={"parent_id": [_l("This category does not exist.")]})
        node: Category | None = parent
        while node is not None:
            if category.id is not None and node.id == category.id:
                raise Invalid(errors={"parent_id": [_l("A category cannot be inside itself.")]})
            node = node.parent
    slug = data.get("slug", category.slug)
    if slug:
        clash = db.session.execute(
            sa.select(Category.id).where(Category.slug == slug, Category.id != (category.id or 0))
        ).first()
        if clash:
            raise Invalid(errors={"slug": [_l("This short name is already used.")]})
    for key in ("parent_id", "slug", "name_de", "name_en", "position"):
        if key in data:
            value = data[key]
            setattr(category, key, value.strip() if key in ("name_de", "name_en") else value)
    db.session.add(category)
    db.session.flush()
    audit(actor, "category.saved", category, slug=category.slug)
    return category


def category_ids_with_children(category_id: int) -> list[int]:
    """A category and all categories below it."""
    rows = db.session.execute(sa.select(Category.id, Category.parent_id)).all()
    children: dict[int | None, list[int]] = {}
    for cid, pid in rows:
        children.setdefault(pid, []).append(cid)
    out, stack = [], [category_id]
    while stack:
        cid = stack.pop()
        out.append(cid)
        stack.extend(children.get(cid, []))
    return out


# --- courses -------------------------------------------------------------------------------

COURSE_FIELDS = (
    "term_id",
    "category_id",
    "code",
    "title",
    "subtitle",
    "description",
    "language",
    "level",
    "format",
    "venue",
    "room",
    "fee_cents",
    "reduced_fee_cents",
    "capacity",
    "min_participants",
    "enrolment_closes_at",
    "cancellation_days",
)


# Texts of a course and their limits; all but the description are stored without blanks around.
COURSE_TEXTS = {
    "code": rules.CODE_MAX,
    "title": rules.TITLE_MAX,
    "subtitle": rules.SUBTITLE_MAX,
    "description": rules.DESCRIPTION_MAX,
    "venue": rules.VENUE_MAX,
    "room": rules.ROOM_MAX,
}
STRIPPED = frozenset(COURSE_TEXTS) - {"description"}


def _bounds_error(
    errors: dict[str, list[Any]], key: str, value: Any, bounds: rules.Bounds, message: Any
) -> None:
    """Note ``message`` for ``key`` unless ``value`` is a whole number within ``bounds``."""
    if value not in bounds:
        errors[key] = [message]


def _validate_course(merged: dict[str, Any], course: Course | None) -> None:
    """Every rule a course must keep, all refusals at once (by field)."""
    errors: dict[str, list[Any]] = {}
    code = (merged.get("code") or "").strip()
    if not rules.CODE_RE.match(code):
        errors["code"] = [_l("Use a course number like 271-105.")]
    if not (merged.get("title") or "").strip():
        errors["title"] = [_l("Please enter a title.")]
    _length_errors(
        {k: v.strip() if k in STRIPPED and isinstance(v, str) else v for k, v in merged.items()},
        {k: n for k, n in COURSE_TEXTS.items() if k not in errors},
        errors,
    )
    if merged.get("term_id") is None or db.session.get(Term, merged["term_id"]) is None:
        errors["term_id"] = [_l("Please choose a term.")]
    if merged.get("category_id") is None or db.session.get(Category, merged["category_id"]) is None:
        errors["category_id"] = [_l("Please choose a category.")]
    level = merged.get("level")
    if level not in (None, "") and level not in CEFR_LEVELS:
        errors["level"] = [_l("Use a CEFR level from A1 to C2.")]
    fee = merged.get("fee_cents") or 0
    reduced = merged.get("reduced_fee_cents")
    fee_range = {"lo": format_euros(rules.FEE_CENTS.lo), "hi": format_euros(rules.FEE_CENTS.hi)}
    _bounds_error(
        errors,
        "fee_cents",
        fee,
        rules.FEE_CENTS,
        _l("Enter an amount between %(lo)s and %(hi)s euros.", **fee_range),
    )
    if reduced is not None and (reduced not in rules.FEE_CENTS or reduced > fee):
        errors["reduced_fee_cents"] = [_l("The reduced fee must be between 0 and the full fee.")]
    capacity = merged.get("capacity")
    if capacity not in rules.CAPACITY:
        errors["capacity"] = [
            _l(
                "Allow between %(lo)d and %(hi)d participants.",
                lo=rules.CAPACITY.lo,
                hi=rules.CAPACITY.hi,
            )
        ]
    elif course is not None and capacity < course.seats_taken:
        errors["capacity"] = [
            _l(
                "%(n)d people already hold a seat; the capacity cannot be lower.",
                n=course.seats_taken,
            )
        ]
    minimum = merged.get("min_participants") or 0
    if minimum not in rules.MIN_PARTICIPANTS or (capacity in rules.CAPACITY and minimum > capacity):
        errors["min_participants"] = [_l("The minimum must be between 0 and the capacity.")]
    _bounds_error(
        errors,
        "cancellation_days",
        merged.get("cancellation_days") or 0,
        rules.CANCELLATION_DAYS,
        _l(
            "Use between %(lo)d and %(hi)d days.",
            lo=rules.CANCELLATION_DAYS.lo,
            hi=rules.CANCELLATION_DAYS.hi,
        ),
    )
    _day_errors(merged, ("enrolment_closes_at",), errors)
    if merged.get("term_id") and code and not errors.get("code"):
        clash = db.session.execute(
            sa.select(Course.id).where(
                Course.term_id == merged["term_id"],
                Course.code == code,
                Course.id != (course.id if course else 0),
            )
        ).first()
        if clash:
            errors["code"] = [_l("This course number is already used in this term.")]
    if errors:
        raise Invalid(errors=errors)


def _instructors(instructor_ids: Iterable[int]) -> list[User]:
    ids = list(dict.fromkeys(instructor_ids))
    users = (
        list(db.session.execute(sa.select(User).where(User.id.in_(ids))).scalars()) if ids else []
    )
    bad = [u for u in users if u.role not in (Role.INSTRUCTOR, Role.STAFF, Role.ADMIN)]
    if len(users) != len(ids) or bad:
        raise Invalid(errors={"instructor_ids": [_l("Choose instructors from the list.")]})
    return users


def save_course(actor: User, data: dict[str, Any], course: Course | None = None) -> Course:
    """Create (as draft) or update a course."""
    require_manager(actor)
    current = {f: getattr(course, f) for f in COURSE_FIELDS} if course else {}
    merged = {**current, **{k: v for k, v in data.items() if k in COURSE_FIELDS}}
    merged.setdefault("capacity", rules.CAPACITY_DEFAULT)
    _validate_course(merged, course)
    instructors = None
    if "instructor_ids" in data:
        with db.session.no_autoflush:
            instructors = _instructors(data["instructor_ids"])
    created = course is None
    if course is None:
        course = Course(status=CourseStatus.DRAFT)
    for key in COURSE_FIELDS:
        if key in data:
            value = data[key]
            if key == "level" and value == "":
                value = None
            if key in STRIPPED and isinstance(value, str):
                value = value.strip()
            # After the strip: str.strip() of a StrEnum member is a plain str (issue 10, item 3).
            if key == "format" and value is not None:
                value = CourseFormat(value)
            setattr(course, key, value)
    if instructors is not None:
        course.instructors = instructors
    db.session.add(course)
    db.session.flush()
    refresh_search_document(course)
    if not created and "capacity" in data and course.status is CourseStatus.PUBLISHED:
        promote_waitlist(course)
    audit(actor, "course.created" if created else "course.updated", course, code=course.code)
    return course


def publish_course(actor: User, course: Course) -> Course:
    """Make a draft visible in the catalogue (it needs at least one session)."""
    require_manager(actor)
    if course.status is not CourseStatus.DRAFT:
        raise Conflict(_l("Only draft courses can be published."), code="illegal_transition")
    if course.session_count == 0:
        raise Conflict(_l("Add at least one session before publishing."), code="no_sessions")
    course.status = CourseStatus.PUBLISHED
    audit(actor, "course.published", course, code=course.code)
    return course


def complete_course(actor: User, course: Course) -> Course:
    """Mark a published course as held (certificates become possible)."""
    require_manager(actor)
    if course.status is not CourseStatus.PUBLISHED:
        raise Conflict(_l("Only published courses can be completed."), code="illegal_transition")
    course.status = CourseStatus.COMPLETED
    audit(actor, "course.completed", course, code=course.code)
    return course


def cancel_course(actor: User, course: Course, reason: str = "") -> list[Enrolment]:
    """Cancel a whole course: every enrolment ends, participants are told, refunds follow."""
    require_manager(actor)
    check_reason(reason)
    course = lock_course(course.id)
    if course.status in (CourseStatus.CANCELLED, CourseStatus.COMPLETED):
        raise Conflict(_l("This course cannot be cancelled any more."), code="illegal_transition")
    now = utcnow()
    course.status = CourseStatus.CANCELLED
    course.cancelled_reason = reason
    for s in course.sessions:
        if s.status is SessionStatus.SCHEDULED:
            s.status = SessionStatus.CANCELLED
            s.sequence += 1
    enrolments = list(
        db.session.execute(
            sa.select(Enrolment).where(
                Enrolment.course_id == course.id, Enrolment.status.in_(ACTIVE_STATUSES)
            )
        ).scalars()
    )
    for e in enrolments:
        e.status = EnrolmentStatus.CANCELLED
        e.cancelled_at = now
        e.cancelled_by_id = actor.id
        e.waitlist_position = None
        e.hold_expires_at = None
        if e.user.email:
            queue_mail(
                e.user,
                "course_cancelled",
                {"course": course, "reason": reason},
                attachments=calendar_attachments(course, e.user, cancelled=True),
            )
    course.seats_taken = 0
    course.waitlist_count = 0
    db.session.flush()
    audit(actor, "course.cancelled", course, code=course.code, enrolments=len(enrolments))
    course_signals.course_cancelled.send(course, enrolments=enrolments, actor=actor)
    return enrolments


def copy_course(actor: User, course: Course, term: Term) -> Course:
    """Copy a course into another term as a draft, sessions moved by whole weeks."""
    require_manager(actor)
    if db.session.execute(
        sa.select(Course.id).where(Course.term_id == term.id, Course.code == course.code)
    ).first():
        raise Conflict(
            _l("This course number is already used in the target term."), code="code_taken"
        )
    weeks = round((term.starts_on - course.term.starts_on).days / 7)
    copy = Course(status=CourseStatus.DRAFT, term_id=term.id)
    for key in COURSE_FIELDS:
        if key not in ("term_id", "enrolment_closes_at"):
            setattr(copy, key, getattr(course, key))
    copy.instructors = list(course.instructors)
    db.session.add(copy)
    db.session.flush()
    for s in course.sessions:
        if s.status is not SessionStatus.SCHEDULED:
            continue
        start = s.starts_at.astimezone(local_zone())
        end = s.ends_at.astimezone(local_zone())
        new_day = start.date() + timedelta(weeks=weeks)
        db.session.add(
            Session(
                course_id=copy.id,
                starts_at=local_datetime(new_day, start.time()),
                ends_at=local_datetime(new_day + (end.date() - start.date()), end.time()),
                online=s.online,
                room=s.room,
            )
        )
    refresh_schedule(copy)
    refresh_search_document(copy)
    audit(actor, "course.copied", copy, source=course.id, term=term.id)
    return copy


def below_minimum(days: int, now: datetime | None = None) -> list[Course]:
    """Published courses starting within ``days`` that have fewer bookings than their minimum."""
    if days not in rules.BELOW_MINIMUM_DAYS:
        raise Invalid(
            errors={
                "days": [
                    _l(
                        "Use between %(lo)d and %(hi)d days.",
                        lo=rules.BELOW_MINIMUM_DAYS.lo,
                        hi=rules.BELOW_MINIMUM_DAYS.hi,
                    )
                ]
            }
        )
    now = now or utcnow()
    return list(
        db.session.execute(
            sa.select(Course)
            .where(
                Course.status == CourseStatus.PUBLISHED,
                Course.first_session_at >= now,
                Course.first_session_at <= now + timedelta(days=days),
                Course.seats_taken < Course.min_participants,
            )
            .order_by(Course.first_session_at)
        ).scalars()
    )
