"""Course rules as plain functions: planning, enrolment, waiting list, cancellation.

Every function that counts or takes seats locks the course row first (``lock_course``) and
does all its work in the caller's transaction; the request commits once at the end.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from courses.models import (
    ACTIVE_STATUSES,
    CEFR_LEVELS,
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
    course_instructors,
)
from vhs import signals
from vhs.accounts.models import Role, User
from vhs.audit import audit
from vhs.db import db, lock, utcnow
from vhs.errors import Conflict, Forbidden, Invalid, NotFound
from vhs.i18n import BERLIN
from vhs.mail import queue_mail

CODE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z./-]{1,19}$")


# --- permissions --------------------------------------------------------------------------


def is_instructor_of(user: User | None, course: Course) -> bool:
    """Whether ``user`` teaches ``course``."""
    return user is not None and any(i.id == user.id for i in course.instructors)


def can_manage(user: User | None) -> bool:
    """Staff plan terms, courses and sessions."""
    return user is not None and user.is_staff


def can_see_participants(user: User | None, course: Course) -> bool:
    """Staff and the course's own instructors see who is coming."""
    return can_manage(user) or is_instructor_of(user, course)


def can_view_course(user: User | None, course: Course) -> bool:
    """Published, cancelled and completed courses are public; drafts only for staff/teachers."""
    if course.status is not CourseStatus.DRAFT:
        return True
    return can_see_participants(user, course)


def require_manager(user: User | None) -> User:
    """The acting staff member, or a refusal."""
    if user is None or not user.is_staff:
        raise Forbidden(_l("This area is for VHS staff only."), code="forbidden_role")
    return user


# --- loading ------------------------------------------------------------------------------


def get_course(course_id: int, user: User | None = None) -> Course:
    """A course the user may see, or 404 (drafts are invisible to the public)."""
    course = db.session.get(Course, course_id)
    if course is None or not can_view_course(user, course):
        raise NotFound(
            _l("This course does not exist or is not published."), code="course_not_found"
        )
    return course


def lock_course(course_id: int) -> Course:
    """Load a course under a row lock: seats are counted and taken only while holding it."""
    course = lock(Course, course_id)
    if course is None:
        raise NotFound(_l("This course does not exist."), code="course_not_found")
    return course


def get_enrolment(enrolment_id: int, user: User) -> Enrolment:
    """An enrolment the user may act on (their own, or any for staff), else 404."""
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None or (enrolment.user_id != user.id and not user.is_staff):
        raise NotFound(_l("This booking does not exist."), code="enrolment_not_found")
    return enrolment


# --- denormalised fields -------------------------------------------------------------------


def refresh_schedule(course: Course) -> None:
    """Recompute the first/last date, weekday and start time kept on the course row."""
    db.session.flush()
    rows = (
        db.session.execute(
            sa.select(Session.starts_at)
            .where(Session.course_id == course.id, Session.status == SessionStatus.SCHEDULED)
            .order_by(Session.starts_at)
        )
        .scalars()
        .all()
    )
    course.session_count = len(rows)
    if rows:
        first = rows[0].astimezone(BERLIN)
        course.first_session_at = rows[0]
        course.last_session_at = rows[-1]
        course.weekday = first.isoweekday()
        course.start_minute = first.hour * 60 + first.minute
    else:
        course.first_session_at = course.last_session_at = None
        course.weekday = course.start_minute = None


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
            setattr(term, key, data[key])
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
            setattr(category, key, data[key])
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
    "teaching_units",
)


def _validate_course(merged: dict[str, Any], course: Course | None) -> None:
    errors: dict[str, list[Any]] = {}
    code = (merged.get("code") or "").strip()
    if not CODE_RE.match(code):
        errors["code"] = [_l("Use a course number like 271-105.")]
    if not (merged.get("title") or "").strip():
        errors["title"] = [_l("Please enter a title.")]
    if merged.get("term_id") is None or db.session.get(Term, merged["term_id"]) is None:
        errors["term_id"] = [_l("Please choose a term.")]
    if merged.get("category_id") is None or db.session.get(Category, merged["category_id"]) is None:
        errors["category_id"] = [_l("Please choose a category.")]
    level = merged.get("level")
    if level not in (None, "") and level not in CEFR_LEVELS:
        errors["level"] = [_l("Use a CEFR level from A1 to C2.")]
    fee = merged.get("fee_cents") or 0
    reduced = merged.get("reduced_fee_cents")
    if fee < 0:
        errors["fee_cents"] = [_l("The fee cannot be negative.")]
    if reduced is not None and (reduced < 0 or reduced > fee):
        errors["reduced_fee_cents"] = [_l("The reduced fee must be between 0 and the full fee.")]
    capacity = merged.get("capacity")
    if capacity is None or capacity < 1 or capacity > 10000:
        errors["capacity"] = [_l("Allow between 1 and 10,000 participants.")]
    elif course is not None and capacity < course.seats_taken:
        errors["capacity"] = [
            _l(
                "%(n)d people already hold a seat; the capacity cannot be lower.",
                n=course.seats_taken,
            )
        ]
    minimum = merged.get("min_participants") or 0
    if capacity is not None and (minimum < 0 or minimum > capacity):
        errors["min_participants"] = [_l("The minimum must be between 0 and the capacity.")]
    if (merged.get("cancellation_days") or 0) < 0:
        errors["cancellation_days"] = [_l("Use zero or more days.")]
    if (merged.get("teaching_units") or 0) < 0:
        errors["teaching_units"] = [_l("Use zero or more teaching units.")]
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
    merged.setdefault("capacity", 12)
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
            if key == "format" and value is not None:
                value = CourseFormat(value)
            if isinstance(value, str) and key not in ("description",):
                value = value.strip()
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
                attachments=_calendar_attachments(course, e.user, cancelled=True),
            )
    course.seats_taken = 0
    course.waitlist_count = 0
    db.session.flush()
    audit(actor, "course.cancelled", course, code=course.code, enrolments=len(enrolments))
    signals.course_cancelled.send(
        course,
        enrolments=enrolments,
        actor=actor,
        purposes=[("enrolment", e.id) for e in enrolments],
    )
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
        start = s.starts_at.astimezone(BERLIN)
        end = s.ends_at.astimezone(BERLIN)
        new_day = start.date() + timedelta(weeks=weeks)
        db.session.add(
            Session(
                course_id=copy.id,
                starts_at=_berlin(new_day, start.time()),
                ends_at=_berlin(new_day + (end.date() - start.date()), end.time()),
                online=s.online,
                room=s.room,
            )
        )
    refresh_schedule(copy)
    refresh_search_document(copy)
    audit(actor, "course.copied", copy, source=course.id, term=term.id)
    return copy


# --- sessions ------------------------------------------------------------------------------


def _berlin(day: date, at: time) -> datetime:
    """A wall-clock time in Iserlohn as an aware datetime (converted to UTC on storage)."""
    return datetime.combine(day, at, tzinfo=BERLIN)


def _check_times(starts_at: datetime, ends_at: datetime) -> None:
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise Invalid(errors={"starts_at": [_l("Give times with a time zone.")]})
    if ends_at <= starts_at:
        raise Invalid(errors={"ends_at": [_l("The end must be after the start.")]})
    if ends_at - starts_at > timedelta(hours=12):
        raise Invalid(errors={"ends_at": [_l("A session can last at most 12 hours.")]})


def add_session(actor: User, course: Course, data: dict[str, Any]) -> Session:
    """Add one dated meeting to a course."""
    require_manager(actor)
    _check_times(data["starts_at"], data["ends_at"])
    session = Session(
        course_id=course.id,
        starts_at=data["starts_at"],
        ends_at=data["ends_at"],
        online=data.get("online", course.format is CourseFormat.ONLINE),
        room=data.get("room", course.room) or "",
        note=data.get("note", ""),
    )
    db.session.add(session)
    refresh_schedule(course)
    audit(actor, "session.added", session, course=course.id)
    return session


def update_session(actor: User, session: Session, data: dict[str, Any]) -> Session:
    """Change a session; a change of time or place bumps its sequence (calendar updates)."""
    require_manager(actor)
    if session.status is SessionStatus.CANCELLED:
        raise Conflict(_l("A cancelled session cannot be changed."), code="session_cancelled")
    starts = data.get("starts_at", session.starts_at)
    ends = data.get("ends_at", session.ends_at)
    _check_times(starts, ends)
    changed = []
    for key in ("starts_at", "ends_at", "online", "room"):
        if key in data and data[key] != getattr(session, key):
            setattr(session, key, data[key])
            changed.append(key)
    if "note" in data:
        session.note = data["note"]
    if changed:
        session.sequence += 1
        session.updated_at = utcnow()
        refresh_schedule(session.course)
        _tell_about_change(session, changed)
    audit(actor, "session.updated", session, changed=changed)
    return session


def _session_attachments(session: Session, user: User, cancelled: bool = False) -> list[Any]:
    from vhs.calendar import attachments_for

    return attachments_for("session", session=session, user=user, cancelled=cancelled)


def _tell_about_change(session: Session, changed: list[str]) -> None:
    """Participants and instructors of a published course get the new time or place."""
    course = session.course
    if course.status is not CourseStatus.PUBLISHED or not (
        {"starts_at", "ends_at", "room", "online"} & set(changed)
    ):
        return
    recipients = {e.user.id: e.user for e in participants(course, SEAT_STATUSES)}
    recipients.update({i.id: i for i in course.instructors})
    for user in recipients.values():
        if user.email:
            queue_mail(
                user,
                "session_changed",
                {"course": course, "session": session},
                attachments=_session_attachments(session, user),
            )


def cancel_session(actor: User, session: Session, reason: str = "") -> Session:
    """Cancel one meeting; participants and instructors are told."""
    require_manager(actor)
    if session.status is SessionStatus.CANCELLED:
        raise Conflict(_l("This session is already cancelled."), code="illegal_transition")
    session.status = SessionStatus.CANCELLED
    session.sequence += 1
    session.updated_at = utcnow()
    course = session.course
    refresh_schedule(course)
    recipients = {e.user.id: e.user for e in participants(course, SEAT_STATUSES)}
    recipients.update({i.id: i for i in course.instructors})
    for user in recipients.values():
        if user.email:
            queue_mail(
                user,
                "session_cancelled",
                {"course": course, "session": session, "reason": reason},
                attachments=_session_attachments(session, user, cancelled=True),
            )
    audit(actor, "session.cancelled", session, course=course.id)
    return session


@dataclass(frozen=True)
class SessionPlan:
    """A rule like "weekly on Tuesday 18:00-19:30, 10 times from 2027-02-02"."""

    first_date: date
    weekday: int  # ISO: 1 = Monday
    start: time
    end: time
    count: int
    skip_dates: frozenset[date] = frozenset()
    interval_weeks: int = 1


def plan_dates(plan: SessionPlan) -> list[date]:
    """The dates a plan gives: ``count`` meetings on the weekday, skipping the listed dates."""
    if not 1 <= plan.weekday <= 7:
        raise Invalid(errors={"weekday": [_l("Choose a weekday.")]})
    if not 1 <= plan.count <= 200:
        raise Invalid(errors={"count": [_l("Between 1 and 200 sessions.")]})
    if plan.end <= plan.start:
        raise Invalid(errors={"end": [_l("The end must be after the start.")]})
    day = plan.first_date + timedelta(days=(plan.weekday - plan.first_date.isoweekday()) % 7)
    dates: list[date] = []
    guard = 0
    while len(dates) < plan.count and guard < 1000:
        if day not in plan.skip_dates:
            dates.append(day)
        day += timedelta(weeks=plan.interval_weeks)
        guard += 1
    return dates


def generate_sessions(actor: User, course: Course, plan: SessionPlan) -> list[Session]:
    """Create the sessions of a plan, in Iserlohn wall-clock time across DST changes."""
    require_manager(actor)
    created = []
    for day in plan_dates(plan):
        s = Session(
            course_id=course.id,
            starts_at=_berlin(day, plan.start),
            ends_at=_berlin(day, plan.end),
            online=course.format is CourseFormat.ONLINE,
            room=course.room,
        )
        db.session.add(s)
        created.append(s)
    refresh_schedule(course)
    audit(actor, "session.generated", course, count=len(created))
    return created


# --- enrolment -----------------------------------------------------------------------------


def _hold_period() -> timedelta:
    settings = current_app.config["VHS"]
    if settings.stripe_enabled:
        return timedelta(minutes=max(settings.payment_hold_minutes, 30))
    return timedelta(days=settings.manual_payment_hold_days)


def enrolment_closes_at(course: Course) -> datetime | None:
    """When booking ends: the configured date, else when the last session starts."""
    return course.enrolment_closes_at or course.last_session_at


def check_can_enrol(
    course: Course, user: User, now: datetime | None = None, *, require_verified: bool = True
) -> None:
    """Raise the reason why ``user`` cannot book ``course`` now (shared by page and API).

    Staff booking at the counter vouch for the person, so only the e-mail check is waived.
    """
    now = now or utcnow()
    if require_verified and not user.email_verified:
        raise Conflict(
            _l("Please confirm your e-mail address before booking."), code="email_not_verified"
        )
    if course.status is CourseStatus.CANCELLED:
        raise Conflict(_l("This course has been cancelled."), code="course_cancelled")
    if course.status is not CourseStatus.PUBLISHED:
        raise Conflict(_l("This course is not open for booking."), code="not_published")
    if course.term.enrolment_opens_at > now:
        raise Conflict(_l("Booking for this term has not started yet."), code="enrolment_not_open")
    closes = enrolment_closes_at(course)
    if closes is not None and closes <= now:
        raise Conflict(_l("Booking for this course has closed."), code="enrolment_closed")
    if is_instructor_of(user, course):
        raise Conflict(_l("You teach this course."), code="own_course")


def active_enrolment(course_id: int, user_id: int) -> Enrolment | None:
    """The user's pending, confirmed or waiting enrolment in a course, if any."""
    return db.session.execute(
        sa.select(Enrolment).where(
            Enrolment.course_id == course_id,
            Enrolment.user_id == user_id,
            Enrolment.status.in_(ACTIVE_STATUSES),
        )
    ).scalar_one_or_none()


def enrol(
    course: Course,
    user: User,
    *,
    reduction: ReductionReason | None = None,
    actor: User | None = None,
    now: datetime | None = None,
) -> Enrolment:
    """Book a seat (or a waiting-list place) for ``user``; ``actor`` is staff acting for them."""
    now = now or utcnow()
    on_behalf = actor is not None and actor.id != user.id
    if on_behalf:
        require_manager(actor)
    course = lock_course(course.id)
    check_can_enrol(course, user, now, require_verified=not on_behalf)
    if active_enrolment(course.id, user.id) is not None:
        raise Conflict(_l("You are already booked on this course."), code="already_enrolled")
    if reduction is not None and course.reduced_fee_cents is None:
        raise Invalid(
            _l("This course has no reduced fee."),
            code="reduction_not_offered",
            errors={"reduction_reason": [_l("This course has no reduced fee.")]},
        )
    price = course.reduced_fee_cents if reduction is not None else course.fee_cents
    enrolment = Enrolment(
        course_id=course.id,
        user_id=user.id,
        price_cents=price or 0,
        currency=course.currency,
        reduction_reason=reduction,
        created_by_id=actor.id if actor else user.id,
        created_at=now,
    )
    if course.seats_taken < course.capacity:
        _take_seat(course, enrolment, now)
    else:
        course.waitlist_count += 1
        enrolment.status = EnrolmentStatus.WAITLISTED
        enrolment.waitlist_position = course.waitlist_count
    db.session.add(enrolment)
    db.session.flush()
    if on_behalf:
        audit(actor, "enrolment.created_on_behalf", enrolment, user=user.id, course=course.id)
    _mail_enrolment(enrolment, course, user)
    return enrolment


def _take_seat(course: Course, enrolment: Enrolment, now: datetime) -> None:
    course.seats_taken += 1
    enrolment.waitlist_position = None
    if enrolment.price_cents == 0:
        enrolment.status = EnrolmentStatus.CONFIRMED
        enrolment.confirmed_at = now
        enrolment.hold_expires_at = None
    else:
        enrolment.status = EnrolmentStatus.PENDING_PAYMENT
        enrolment.hold_expires_at = now + _hold_period()


def _calendar_attachments(course: Course, user: User, cancelled: bool = False) -> list[Any]:
    """Calendar files for mails, provided by the calendar issue's builder when present."""
    from vhs.calendar import attachments_for

    return attachments_for("course", course=course, user=user, cancelled=cancelled)


def _mail_enrolment(enrolment: Enrolment, course: Course, user: User) -> None:
    if not user.email:
        return
    template = {
        EnrolmentStatus.CONFIRMED: "enrolment_confirmed",
        EnrolmentStatus.PENDING_PAYMENT: "enrolment_pending_payment",
        EnrolmentStatus.WAITLISTED: "enrolment_waitlisted",
    }[enrolment.status]
    attachments = (
        _calendar_attachments(course, user) if enrolment.status is EnrolmentStatus.CONFIRMED else []
    )
    queue_mail(user, template, {"course": course, "enrolment": enrolment}, attachments=attachments)


def confirm_enrolment(enrolment: Enrolment, now: datetime | None = None) -> bool:
    """Confirm a paid enrolment. If its hold lapsed, retake a seat when one is free.

    Returns False when no seat could be had (the caller refunds); never overbooks.
    """
    now = now or utcnow()
    course = lock_course(enrolment.course_id)
    db.session.refresh(enrolment)
    if enrolment.status is EnrolmentStatus.CONFIRMED:
        return True
    if enrolment.status is EnrolmentStatus.PENDING_PAYMENT:
        enrolment.status = EnrolmentStatus.CONFIRMED
        enrolment.confirmed_at = now
        enrolment.hold_expires_at = None
        _mail_enrolment(enrolment, course, enrolment.user)
        signals.enrolment_confirmed.send(enrolment)
        return True
    if enrolment.status is EnrolmentStatus.WAITLISTED:
        _leave_waitlist(course, enrolment)
    if course.status is not CourseStatus.PUBLISHED or course.seats_taken >= course.capacity:
        return False
    if active_enrolment(course.id, enrolment.user_id) not in (None, enrolment):
        return False
    course.seats_taken += 1
    enrolment.status = EnrolmentStatus.CONFIRMED
    enrolment.confirmed_at = now
    enrolment.hold_expires_at = None
    enrolment.cancelled_at = None
    _mail_enrolment(enrolment, course, enrolment.user)
    signals.enrolment_confirmed.send(enrolment)
    return True


def _leave_waitlist(course: Course, enrolment: Enrolment) -> None:
    position = enrolment.waitlist_position
    enrolment.waitlist_position = None
    course.waitlist_count = max(course.waitlist_count - 1, 0)
    if position is not None:
        db.session.flush()
        db.session.execute(
            sa.update(Enrolment)
            .where(
                Enrolment.course_id == course.id,
                Enrolment.status == EnrolmentStatus.WAITLISTED,
                Enrolment.waitlist_position > position,
            )
            .values(waitlist_position=Enrolment.waitlist_position - 1)
            .execution_options(synchronize_session="fetch")
        )


def promote_waitlist(course: Course, now: datetime | None = None) -> list[Enrolment]:
    """Give free seats to the first people on the waiting list (caller holds the lock)."""
    now = now or utcnow()
    promoted = []
    if course.status is not CourseStatus.PUBLISHED:
        return promoted
    while course.seats_taken < course.capacity and course.waitlist_count > 0:
        db.session.flush()
        nxt = db.session.execute(
            sa.select(Enrolment)
            .where(Enrolment.course_id == course.id, Enrolment.status == EnrolmentStatus.WAITLISTED)
            .order_by(Enrolment.waitlist_position, Enrolment.id)
            .limit(1)
        ).scalar_one_or_none()
        if nxt is None:
            course.waitlist_count = 0
            break
        _leave_waitlist(course, nxt)
        _take_seat(course, nxt, now)
        promoted.append(nxt)
        if nxt.user.email:
            queue_mail(
                nxt.user,
                "enrolment_promoted",
                {"course": course, "enrolment": nxt},
                attachments=_calendar_attachments(course, nxt.user)
                if nxt.status is EnrolmentStatus.CONFIRMED
                else [],
            )
    return promoted


def can_cancel_free(enrolment: Enrolment, now: datetime | None = None) -> bool:
    """Whether the participant may still cancel (and get their money back)."""
    now = now or utcnow()
    if enrolment.status is EnrolmentStatus.WAITLISTED:
        return True
    deadline = enrolment.course.cancellation_deadline
    return deadline is None or now <= deadline


def cancel_enrolment(
    enrolment: Enrolment,
    actor: User,
    *,
    override: bool = False,
    now: datetime | None = None,
    notify: bool = True,
) -> Enrolment:
    """Cancel a booking; the freed seat goes at once to the first on the waiting list."""
    now = now or utcnow()
    is_staff = actor.is_staff
    if enrolment.user_id != actor.id and not is_staff:
        raise NotFound(_l("This booking does not exist."), code="enrolment_not_found")
    if override and not is_staff:
        raise Forbidden(_l("Only staff can override the deadline."), code="forbidden_role")
    course = lock_course(enrolment.course_id)
    db.session.refresh(enrolment)
    if not enrolment.active:
        raise Conflict(_l("This booking is no longer active."), code="not_active")
    in_time = can_cancel_free(enrolment, now)
    if not in_time and not (is_staff and override):
        raise Conflict(
            _l(
                "The free cancellation period ended on %(date)s. Please contact the VHS office.",
                date=_fmt_deadline(course),
            ),
            code="cancellation_deadline_passed",
        )
    held_seat = enrolment.holds_seat
    previous = enrolment.status
    if enrolment.status is EnrolmentStatus.WAITLISTED:
        _leave_waitlist(course, enrolment)
    enrolment.status = EnrolmentStatus.CANCELLED
    enrolment.cancelled_at = now
    enrolment.cancelled_by_id = actor.id
    enrolment.hold_expires_at = None
    if held_seat:
        course.seats_taken = max(course.seats_taken - 1, 0)
        promote_waitlist(course, now)
    db.session.flush()
    if actor.id != enrolment.user_id:
        audit(actor, "enrolment.cancelled_on_behalf", enrolment, override=override)
    if notify and enrolment.user.email:
        queue_mail(
            enrolment.user,
            "enrolment_cancelled",
            {"course": course, "enrolment": enrolment},
            attachments=_calendar_attachments(course, enrolment.user, cancelled=True)
            if previous is EnrolmentStatus.CONFIRMED
            else [],
        )
    signals.enrolment_cancelled.send(
        enrolment,
        actor=actor,
        previous=previous,
        in_time=in_time or override,
        purpose_type="enrolment",
        purpose_id=enrolment.id,
    )
    return enrolment


def _fmt_deadline(course: Course) -> str:
    from vhs.i18n import fmt_datetime

    return fmt_datetime(course.cancellation_deadline, "short")


def expire_enrolment(enrolment: Enrolment, now: datetime | None = None) -> bool:
    """End a payment hold that ran out, freeing the seat (caller need not hold the lock)."""
    now = now or utcnow()
    course = lock_course(enrolment.course_id)
    db.session.refresh(enrolment)
    if enrolment.status is not EnrolmentStatus.PENDING_PAYMENT:
        return False
    enrolment.status = EnrolmentStatus.EXPIRED
    enrolment.hold_expires_at = None
    course.seats_taken = max(course.seats_taken - 1, 0)
    promote_waitlist(course, now)
    signals.enrolment_cancelled.send(
        enrolment,
        actor=None,
        previous=EnrolmentStatus.PENDING_PAYMENT,
        in_time=False,
        purpose_type="enrolment",
        purpose_id=enrolment.id,
    )
    if enrolment.user.email:
        queue_mail(enrolment.user, "enrolment_expired", {"course": course, "enrolment": enrolment})
    return True


def expire_holds(now: datetime | None = None, hold_guard: Any = None) -> int:
    """Expire every payment hold that ran out (a job); ``hold_guard`` may keep some alive."""
    now = now or utcnow()
    ids = (
        db.session.execute(
            sa.select(Enrolment.id).where(
                Enrolment.status == EnrolmentStatus.PENDING_PAYMENT, Enrolment.hold_expires_at < now
            )
        )
        .scalars()
        .all()
    )
    count = 0
    for enrolment_id in ids:
        enrolment = db.session.get(Enrolment, enrolment_id)
        if enrolment is None:
            continue
        answers = signals.hold_expiring.send(
            enrolment, purpose_type="enrolment", purpose_id=enrolment.id
        )
        if any(result is False for _receiver, result in answers):
            continue  # a payment is still being processed (SEPA): keep the seat
        if expire_enrolment(enrolment, now):
            count += 1
    return count


def move_enrolment(actor: User, enrolment: Enrolment, target: Course) -> Enrolment:
    """Move a participant to another course (staff): same price and status, audited."""
    require_manager(actor)
    if target.id == enrolment.course_id:
        raise Invalid(errors={"course_id": [_l("Choose a different course.")]})
    first, second = sorted([enrolment.course_id, target.id])
    locked = {first: lock_course(first), second: lock_course(second)}
    source, target = locked[enrolment.course_id], locked[target.id]
    db.session.refresh(enrolment)
    if not enrolment.active:
        raise Conflict(_l("This booking is no longer active."), code="not_active")
    if target.status is not CourseStatus.PUBLISHED:
        raise Conflict(_l("The target course is not open for booking."), code="not_published")
    if active_enrolment(target.id, enrolment.user_id) is not None:
        raise Conflict(
            _l("This person is already booked on the target course."), code="already_enrolled"
        )
    if enrolment.holds_seat and target.seats_taken >= target.capacity:
        raise Conflict(_l("The target course is full."), code="course_full")
    now = utcnow()
    new = Enrolment(
        course_id=target.id,
        user_id=enrolment.user_id,
        price_cents=enrolment.price_cents,
        currency=enrolment.currency,
        reduction_reason=enrolment.reduction_reason,
        created_by_id=actor.id,
        created_at=now,
    )
    if enrolment.holds_seat:
        target.seats_taken += 1
        new.status = enrolment.status
        new.confirmed_at = enrolment.confirmed_at
        new.hold_expires_at = enrolment.hold_expires_at
        source.seats_taken = max(source.seats_taken - 1, 0)
    else:
        _leave_waitlist(source, enrolment)
        target.waitlist_count += 1
        new.status = EnrolmentStatus.WAITLISTED
        new.waitlist_position = target.waitlist_count
    enrolment.status = EnrolmentStatus.CANCELLED
    enrolment.cancelled_at = now
    enrolment.cancelled_by_id = actor.id
    enrolment.waitlist_position = None
    db.session.add(new)
    db.session.flush()
    promote_waitlist(source, now)
    signals.purpose_moved.send(new, purpose_type="enrolment", old_id=enrolment.id, new_id=new.id)
    audit(actor, "enrolment.moved", new, source=source.id, target=target.id, previous=enrolment.id)
    if new.user.email:
        queue_mail(
            new.user, "enrolment_moved", {"source": source, "course": target, "enrolment": new}
        )
    return new


# --- queries for pages and API --------------------------------------------------------------


def participants(
    course: Course, statuses: Sequence[EnrolmentStatus] = ACTIVE_STATUSES
) -> list[Enrolment]:
    """Enrolments of a course with their people, ordered by status and name."""
    return list(
        db.session.execute(
            sa.select(Enrolment)
            .join(User, Enrolment.user_id == User.id)
            .where(Enrolment.course_id == course.id, Enrolment.status.in_(statuses))
            .options(selectinload(Enrolment.user))
            .order_by(Enrolment.status, Enrolment.waitlist_position, User.name)
        ).scalars()
    )


def my_enrolments(user: User) -> list[Enrolment]:
    """A person's bookings, newest courses first."""
    return list(
        db.session.execute(
            sa.select(Enrolment)
            .join(Course, Enrolment.course_id == Course.id)
            .where(Enrolment.user_id == user.id)
            .options(selectinload(Enrolment.course).selectinload(Course.sessions))
            .order_by(Course.first_session_at.desc().nulls_last(), Enrolment.id.desc())
        ).scalars()
    )


def next_session(course: Course, now: datetime | None = None) -> Session | None:
    """The next scheduled meeting of a course."""
    now = now or utcnow()
    for s in course.sessions:
        if s.status is SessionStatus.SCHEDULED and s.ends_at > now:
            return s
    return None


def teaching(user: User) -> list[Course]:
    """Courses a person teaches."""
    return list(
        db.session.execute(
            sa.select(Course)
            .join(course_instructors, course_instructors.c.course_id == Course.id)
            .where(course_instructors.c.user_id == user.id)
            .order_by(Course.first_session_at.desc().nulls_last())
        ).scalars()
    )


def below_minimum(days: int, now: datetime | None = None) -> list[Course]:
    """Published courses starting within ``days`` that have fewer bookings than their minimum."""
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


def message_participants(actor: User, course: Course, subject: str, body: str) -> int:
    """An instructor or staff member writes to everyone holding a seat (via the outbox)."""
    if not can_see_participants(actor, course):
        raise Forbidden(_l("You do not teach this course."), code="not_instructor")
    subject, body = subject.strip(), body.strip()
    errors = {}
    if not subject:
        errors["subject"] = [_l("Please enter a subject.")]
    if not body:
        errors["body"] = [_l("Please enter a message.")]
    if errors:
        raise Invalid(errors=errors)
    count = 0
    for e in participants(course, SEAT_STATUSES):
        if e.user.email:
            queue_mail(
                e.user,
                "course_message",
                {"course": course, "sender": actor, "subject": subject, "body": body},
            )
            count += 1
    audit(actor, "course.messaged", course, recipients=count)
    return count
