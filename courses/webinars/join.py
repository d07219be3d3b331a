"""Webinar rooms and who may join which room when.

The platform does not host video. It decides who may enter a session's Jitsi room and when
and hands out the credentials (``courses.webinars.jitsi``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from courses import access
from courses.enrolment import services as enrolment_services
from courses.models import (
    Course,
    CourseStatus,
    Enrolment,
    EnrolmentStatus,
    Session,
    SessionStatus,
)
from courses.webinars import jitsi as jitsi
from vhs.accounts.models import User
from vhs.audit import audit
from vhs.db import db, utcnow
from vhs.errors import Conflict, Forbidden, NotFound
from vhs.i18n import fmt_datetime


def _settings() -> Any:
    return current_app.config["VHS"]


# --- loading ---------------------------------------------------------------------------------


def get_session(session_id: int, user: User | None) -> Session:
    """A session of a course the user may see, or 404 (drafts stay invisible)."""
    session = db.session.get(Session, session_id)
    if session is None or not access.can_view_course(user, session.course):
        raise NotFound(_l("This session does not exist."), code="session_not_found")
    return session


def get_webinar_session(session_id: int, user: User | None) -> Session:
    """A session that meets online (in Jitsi), or 404."""
    session = get_session(session_id, user)
    if not session.online:
        raise NotFound(_l("This session does not take place online."), code="not_online")
    return session


def require_teacher(user: User, course: Course) -> None:
    """Only the course's own instructors and staff see attendance."""
    if not access.can_see_participants(user, course):
        raise Forbidden(_l("You do not teach this course."), code="not_instructor")


# --- rooms -----------------------------------------------------------------------------------


def room_for(session: Session) -> str:
    """The session's room name, created on first use and stable afterwards.

    Two first joins at the same moment must not end up in two rooms: the name is set with a
    conditional UPDATE, and whoever comes second reads the winner's name.
    """
    if session.jitsi_room:
        return session.jitsi_room
    name = jitsi.new_room_name(session.course.code)
    db.session.execute(
        sa.update(Session)
        .where(Session.id == session.id, Session.jitsi_room.is_(None))
        # A room is not a change of time or place: calendars keep their Last-Modified.
        .values(jitsi_room=name, updated_at=Session.updated_at)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(session, ["jitsi_room"])
    return session.jitsi_room or name


def replace_room(actor: User, session: Session) -> str:
    """Give a session a new room (staff, e.g. after the link leaked); the old one is dead."""
    access.require_manager(actor)
    if not session.online:
        raise Conflict(_l("This session does not take place online."), code="not_online")
    name = jitsi.new_room_name(session.course.code)
    db.session.execute(
        sa.update(Session)
        .where(Session.id == session.id)
        .values(jitsi_room=name, updated_at=Session.updated_at)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(session, ["jitsi_room"])
    # The room name is a credential: the audit log says that it changed, never what it is.
    audit(actor, "session.room_replaced", session, course=session.course.code)
    return name


# --- who may join when -----------------------------------------------------------------------


class JoinState(enum.StrEnum):
    """Where a session stands in time."""

    NOT_YET = "not_yet"
    OPEN = "open"
    OVER = "over"
    CANCELLED = "cancelled"


REFUSALS: dict[str, Any] = {
    "not_enrolled": _l(
        "Only confirmed participants of this course can join its online sessions. "
        "Please book the course first."
    ),
    "waitlisted": _l(
        "You are on the waiting list for this course. You can join as soon as a seat becomes "
        "free and your booking is confirmed; we will write to you."
    ),
    "pending_payment": _l(
        "Your seat is reserved, but the fee has not been paid yet. Please pay it to confirm "
        "your booking; then you can join."
    ),
    "enrolment_cancelled": _l(
        "Your booking for this course has been cancelled, so you cannot join its sessions."
    ),
    "enrolment_expired": _l(
        "Your reservation for this course ran out because the fee was not paid in time. "
        "Please book the course again."
    ),
    "course_cancelled": _l("This course has been cancelled."),
}


@dataclass
class JoinDecision:
    """Who someone is for a session's room, and whether they may enter now."""

    session: Session
    allowed: bool  # a participant, instructor or staff member (the time aside)
    state: JoinState
    opens_at: datetime
    closes_at: datetime  # the end of the session: no joining after it
    expires_at: datetime  # tokens stay valid a little longer (reconnects)
    role: str | None = None  # "staff", "instructor" or "participant"
    moderator: bool = False
    code: str | None = None  # why not allowed
    reason: Any = None
    enrolment: Enrolment | None = None

    @property
    def can_join_now(self) -> bool:
        """Allowed, and the room is open."""
        return self.allowed and self.state is JoinState.OPEN

    def state_message(self) -> Any:
        """What the page says about the time (when it opens, over, cancelled)."""

        if self.state is JoinState.NOT_YET:
            return _l(
                "The room opens on %(when)s, %(minutes)d minutes before the start.",
                when=fmt_datetime(self.opens_at, "short"),
                minutes=_settings().jitsi_open_minutes,
            )
        if self.state is JoinState.OVER:
            return _l("This session is over.")
        if self.state is JoinState.CANCELLED:
            return _l("This session has been cancelled.")
        return _l("The room is open.")


def window(session: Session) -> tuple[datetime, datetime, datetime]:
    """When the room opens, when joining ends, and when tokens expire."""
    settings = _settings()
    opens = session.starts_at - timedelta(minutes=settings.jitsi_open_minutes)
    expires = session.ends_at + timedelta(minutes=settings.jitsi_grace_minutes)
    return opens, session.ends_at, expires


def _last_enrolment(course_id: int, user_id: int) -> Enrolment | None:
    return db.session.execute(
        sa.select(Enrolment)
        .where(Enrolment.course_id == course_id, Enrolment.user_id == user_id)
        .order_by(Enrolment.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _role(user: User, course: Course) -> tuple[str | None, str | None, Enrolment | None]:
    """(role, refusal code, enrolment) for this person and course."""
    if user.is_staff:
        return "staff", None, None
    if access.is_instructor_of(user, course):
        return "instructor", None, None
    enrolment = enrolment_services.active_enrolment(course.id, user.id)
    if enrolment is not None:
        if enrolment.status is EnrolmentStatus.CONFIRMED:
            return "participant", None, enrolment
        return None, enrolment.status.value, enrolment
    if course.status is CourseStatus.CANCELLED:
        return None, "course_cancelled", None
    last = _last_enrolment(course.id, user.id)
    if last is not None and last.status is EnrolmentStatus.EXPIRED:
        return None, "enrolment_expired", last
    if last is not None and last.status is EnrolmentStatus.CANCELLED:
        return None, "enrolment_cancelled", last
    return None, "not_enrolled", None


def join_decision(user: User, session: Session, now: datetime | None = None) -> JoinDecision:
    """Whether ``user`` may enter the session's room, as what, and whether it is open now.

    Allowed are the course's confirmed participants, its instructors and staff; the room is
    open from ``VHS_JITSI_OPEN_MINUTES`` before the start until the end (both inclusive).
    """
    now = now or utcnow()
    course = session.course
    opens, closes, expires = window(session)
    role, code, enrolment = _role(user, course)
    if session.status is SessionStatus.CANCELLED or course.status is CourseStatus.CANCELLED:
        state = JoinState.CANCELLED
    elif now < opens:
        state = JoinState.NOT_YET
    elif now > closes:
        state = JoinState.OVER
    else:
        state = JoinState.OPEN
    return JoinDecision(
        session=session,
        allowed=role is not None,
        state=state,
        opens_at=opens,
        closes_at=closes,
        expires_at=expires,
        role=role,
        moderator=role in ("staff", "instructor"),
        code=code,
        reason=REFUSALS.get(code) if code else None,
        enrolment=enrolment,
    )


STATE_CODES = {
    JoinState.NOT_YET: "not_open_yet",
    JoinState.OVER: "session_over",
    JoinState.CANCELLED: "session_cancelled",
}


def require_join(user: User, session: Session, now: datetime | None = None) -> JoinDecision:
    """The decision, or the refusal as an error: 403 for who, 409 (with ``opens_at``) for when."""
    decision = join_decision(user, session, now)
    if not decision.allowed:
        raise Forbidden(decision.reason, code=decision.code)
    if decision.state is not JoinState.OPEN:
        raise Conflict(
            decision.state_message(),
            code=STATE_CODES[decision.state],
            extra={
                "opens_at": decision.opens_at.isoformat(),
                "closes_at": decision.closes_at.isoformat(),
            },
        )
    return decision


@dataclass(frozen=True)
class JoinDetails:
    """Everything a client needs to enter the room (the token is fresh, never stored)."""

    domain: str
    room: str  # the IFrame API's roomName (``<AppID>/<room>`` on JaaS)
    url: str
    jwt: str | None
    opens_at: datetime
    closes_at: datetime
    moderator: bool
    script_url: str
    fallback_url: str
    display_name: str
    language: str


def join_details(user: User, decision: JoinDecision) -> JoinDetails:
    """Room, URL and a token minted now for this person, for an allowed, open decision."""
    if not decision.can_join_now:
        raise Conflict(decision.state_message(), code=STATE_CODES.get(decision.state, "conflict"))
    dep = jitsi.deployment()
    room = room_for(decision.session)
    token = jitsi.mint_token(
        dep,
        room,
        jitsi.Person(id=str(user.id), name=user.name, email=user.email or ""),
        moderator=decision.moderator,
        not_before=decision.opens_at,
        expires=decision.expires_at,
    )
    language = user.locale if user.locale in ("de", "en") else "de"
    return JoinDetails(
        domain=dep.domain,
        room=dep.room_path(room),
        url=dep.url(room, token),
        jwt=token,
        opens_at=decision.opens_at,
        closes_at=decision.closes_at,
        moderator=decision.moderator,
        script_url=dep.script_url,
        fallback_url=jitsi.fallback_url(dep, room, token, name=user.name, lang=language),
        display_name=user.name,
        language=language,
    )


def next_online_session(course: Course, now: datetime | None = None) -> Session | None:
    """The online session running now or coming next (not cancelled, not over)."""
    now = now or utcnow()
    for s in course.sessions:
        if s.online and s.status is SessionStatus.SCHEDULED and s.ends_at >= now:
            return s
    return None
