"""Webinars: rooms, who may join which room when, attendance, and certificates.

The platform does not host video. It decides who may enter a session's Jitsi room and when,
hands out the credentials (``courses.jitsi``), records attendance from Jitsi's webhooks and
from instructors' marks, and issues certificates (Teilnahmebescheinigungen) from it.
"""

from __future__ import annotations

import base64
import enum
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from courses import jitsi, services
from courses.models import (
    Course,
    CourseStatus,
    Enrolment,
    EnrolmentStatus,
    Session,
    SessionStatus,
)
from courses.webinar_models import Attendance, Certificate, JitsiEvent, JitsiEventKind
from vhs import gdpr
from vhs.accounts.models import User
from vhs.audit import audit
from vhs.db import db, lock, utcnow
from vhs.errors import Conflict, Forbidden, Invalid, NotFound
from vhs.i18n import BERLIN

PARTICIPANT_EVENTS = (JitsiEventKind.PARTICIPANT_JOINED, JitsiEventKind.PARTICIPANT_LEFT)
MAX_DB_ID = 2**31 - 1


def _settings() -> Any:
    return current_app.config["VHS"]


# --- loading ---------------------------------------------------------------------------------


def get_session(session_id: int, user: User | None) -> Session:
    """A session of a course the user may see, or 404 (drafts stay invisible)."""
    session = db.session.get(Session, session_id)
    if session is None or not services.can_view_course(user, session.course):
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
    if not services.can_see_participants(user, course):
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
    services.require_manager(actor)
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
        from vhs.i18n import fmt_datetime

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
    if services.is_instructor_of(user, course):
        return "instructor", None, None
    enrolment = services.active_enrolment(course.id, user.id)
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


# --- attendance from Jitsi events --------------------------------------------------------------


@dataclass(frozen=True)
class Presence:
    """What a person's events add up to for one session."""

    first_join_at: datetime | None
    last_leave_at: datetime | None
    seconds: int
    in_room: bool


_ORDER = {
    JitsiEventKind.PARTICIPANT_JOINED: 0,
    JitsiEventKind.PARTICIPANT_LEFT: 1,
    JitsiEventKind.ROOM_DESTROYED: 2,
}


def presence_from_events(
    events: Iterable[tuple[datetime, JitsiEventKind, str]],
    clip: tuple[datetime, datetime] | None = None,
) -> Presence:
    """Time in the room from (time, kind, connection) events, in any order of arrival.

    Per connection (device), events are put in time order: JOINED opens an interval, LEFT or
    the room's end (ROOM_DESTROYED) closes it; a LEFT without a JOINED before it is ignored
    until its JOINED arrives. Intervals are clipped to ``clip`` (the session's window) and
    merged across connections, so two devices at once count once.
    """
    events = list(events)
    destroyed = [
        (at, JitsiEventKind.ROOM_DESTROYED)
        for at, kind, _ in events
        if kind is JitsiEventKind.ROOM_DESTROYED
    ]
    streams: dict[str, list[tuple[datetime, JitsiEventKind]]] = {}
    for at, kind, connection in events:
        if kind in PARTICIPANT_EVENTS:
            streams.setdefault(connection, []).append((at, kind))
    intervals: list[tuple[datetime, datetime]] = []
    first_join: datetime | None = None
    in_room = False
    for stream in streams.values():
        opened: datetime | None = None
        for at, kind in sorted(stream + destroyed, key=lambda e: (e[0], _ORDER[e[1]])):
            if kind is JitsiEventKind.PARTICIPANT_JOINED:
                first_join = at if first_join is None else min(first_join, at)
                if opened is None:
                    opened = at
            elif opened is not None:
                intervals.append((opened, at))
                opened = None
        in_room = in_room or opened is not None
    last_leave = max((end for _, end in intervals), default=None)
    if clip is not None:
        lo, hi = clip
        intervals = [(max(s, lo), min(e, hi)) for s, e in intervals]
    seconds = 0.0
    current_start: datetime | None = None
    current_end: datetime | None = None
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if current_end is None or start > current_end:
            if current_start is not None and current_end is not None:
                seconds += (current_end - current_start).total_seconds()
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_start is not None and current_end is not None:
        seconds += (current_end - current_start).total_seconds()
    return Presence(first_join, last_leave, int(seconds), in_room)


def _attendance(session_id: int, user_id: int) -> Attendance:
    """The attendance row of a person at a session, made on first use."""
    row = db.session.execute(
        sa.select(Attendance).where(
            Attendance.session_id == session_id, Attendance.user_id == user_id
        )
    ).scalar_one_or_none()
    if row is not None:
        return row
    row = Attendance(session_id=session_id, user_id=user_id, seconds_present=0)
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except sa.exc.IntegrityError:  # a concurrent request made it first
        row = db.session.execute(
            sa.select(Attendance).where(
                Attendance.session_id == session_id, Attendance.user_id == user_id
            )
        ).scalar_one()
    return row


def recompute_attendance(session: Session, user_id: int) -> Attendance:
    """Rebuild a person's Jitsi attendance at a session from all stored events.

    The attendance row is locked first: two deliveries for the same person at once then
    recompute one after the other, and the second sees the first one's event.
    """
    db.session.flush()
    row = lock(Attendance, _attendance(session.id, user_id).id)
    rows = db.session.execute(
        sa.select(JitsiEvent.occurred_at, JitsiEvent.kind, JitsiEvent.connection).where(
            JitsiEvent.session_id == session.id,
            sa.or_(
                JitsiEvent.user_id == user_id,
                JitsiEvent.kind == JitsiEventKind.ROOM_DESTROYED,
            ),
        )
    ).all()
    opens, _closes, expires = window(session)
    result = presence_from_events([tuple(r) for r in rows], clip=(opens, expires))
    row.first_join_at = result.first_join_at
    row.last_leave_at = result.last_leave_at
    row.seconds_present = result.seconds
    row.in_room = result.in_room
    row.updated_at = utcnow()
    return row


def _clean(value: Any, limit: int) -> str | None:
    """A string field of a webhook as safe text (PostgreSQL refuses NUL), or None."""
    if not isinstance(value, str):
        return None
    text = value.replace("\x00", "").strip()
    return text[:limit] if text else None


def _room_of(payload: Mapping[str, Any], data: Mapping[str, Any]) -> str | None:
    """The room from ``fqn`` ("AppID/room"), else from ``data.conference`` ("room@...")."""
    fqn = _clean(payload.get("fqn"), 500)
    if fqn:
        return fqn.rsplit("/", 1)[-1].lower()[:200] or None
    conference = _clean(data.get("conference"), 500)
    if conference:
        return conference.split("@", 1)[0].lower()[:200] or None
    return None


def _moment(value: Any) -> datetime | None:
    """A webhook timestamp (JaaS: milliseconds since 1970; seconds accepted) as UTC."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    if number > 1e11:
        number /= 1000
    if not 946684800 <= number <= 4102444800:  # 2000 .. 2100: anything else is garbage
        return None
    return datetime.fromtimestamp(number, UTC)


def _user_of(data: Mapping[str, Any]) -> User | None:
    """The person: ``data.id`` is the user id we put in the token; else the e-mail address."""
    raw = data.get("id")
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    ident = _clean(raw, 20)
    if ident and re.fullmatch(r"[0-9]{1,10}", ident) and 0 < int(ident) <= MAX_DB_ID:
        user = db.session.get(User, int(ident))
        if user is not None and user.erased_at is None:
            return user
    email = _clean(data.get("email"), 254)
    if email and "@" in email:
        from vhs.accounts.services import find_user_by_email

        user = find_user_by_email(email)
        if user is not None and user.erased_at is None:
            return user
    return None


def _connection_of(data: Mapping[str, Any]) -> str:
    for key in ("participantId", "participantJid", "endpointId"):
        value = _clean(data.get(key), 255)
        if value:
            return value
    return ""


def handle_event(payload: Mapping[str, Any], now: datetime | None = None) -> str:
    """Store one verified, first-time event and update attendance; says what happened.

    Unknown event types, rooms and people are recorded (in the webhook log) and ignored.
    """
    now = now or utcnow()
    try:
        kind = JitsiEventKind(_clean(payload.get("eventType"), 100) or "")
    except ValueError:
        return "ignored: event type"
    data = payload.get("data")
    data = data if isinstance(data, Mapping) else {}
    room = _room_of(payload, data)
    session = (
        db.session.execute(
            sa.select(Session).where(Session.jitsi_room == room)
        ).scalar_one_or_none()
        if room
        else None
    )
    if session is None:
        return "ignored: unknown room"
    at = _moment(payload.get("timestamp")) or now
    if kind in PARTICIPANT_EVENTS:
        user = _user_of(data)
        if user is None:
            return "ignored: unknown participant"
        db.session.add(
            JitsiEvent(
                session_id=session.id,
                user_id=user.id,
                kind=kind,
                connection=_connection_of(data),
                occurred_at=at,
            )
        )
        recompute_attendance(session, user.id)
        return f"recorded: {kind.value} user {user.id} session {session.id}"
    db.session.add(JitsiEvent(session_id=session.id, kind=kind, occurred_at=at))
    if kind is JitsiEventKind.ROOM_DESTROYED:
        db.session.flush()
        people = db.session.execute(
            sa.select(JitsiEvent.user_id)
            .where(JitsiEvent.session_id == session.id, JitsiEvent.user_id.is_not(None))
            .distinct()
        ).scalars()
        for user_id in sorted(people):  # always the same lock order: no deadlocks
            recompute_attendance(session, user_id)
    return f"recorded: {kind.value} session {session.id}"


def process_webhook(body: bytes, headers: Mapping[str, str]) -> tuple[int, str]:
    """Verify, de-duplicate by ``idempotencyKey``, act; returns (HTTP status, outcome).

    JaaS signs with ``X-Jaas-Signature`` (``VHS_JAAS_WEBHOOK_SECRET``); a self-hosted event
    module sends the shared secret ``VHS_JITSI_WEBHOOK_SECRET`` in ``X-Jitsi-Webhook-Secret``.
    Without any secret configured nothing is accepted.
    """
    from vhs.payments.services import record_event

    settings = _settings()
    if not (settings.jaas_webhook_secret or settings.jitsi_webhook_secret):
        return 401, "no webhook secret configured"
    signature = headers.get("X-Jaas-Signature")
    shared = headers.get("X-Jitsi-Webhook-Secret")
    verified = bool(
        signature and jitsi.verify_jaas_signature(settings.jaas_webhook_secret, signature, body)
    ) or bool(shared and jitsi.verify_shared_secret(settings.jitsi_webhook_secret, shared))
    if not verified:
        return 401, "invalid or missing signature"
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return 400, "invalid JSON"
    if not isinstance(payload, dict):
        return 400, "invalid payload"
    key = _clean(payload.get("idempotencyKey"), 1000)
    if not key or len(key) > 255:
        return 400, "missing or invalid idempotencyKey"
    event_type = _clean(payload.get("eventType"), 100) or "unknown"
    record = record_event("jitsi", key, event_type)
    if record is None:
        return 200, "duplicate"
    outcome = handle_event(payload)
    record.processed_at = utcnow()
    record.outcome = outcome[:500]
    return 200, outcome


# --- attendance by hand, and the report -------------------------------------------------------


def min_seconds() -> int:
    """Seconds in the room that count as attended (``VHS_ATTENDANCE_MIN_MINUTES``; > 0)."""
    return max(_settings().attendance_min_minutes * 60, 1)


def is_present(row: Attendance | None) -> bool:
    """An instructor's mark wins; otherwise enough time in the Jitsi room."""
    if row is None:
        return False
    if row.manual_present is not None:
        return row.manual_present
    return row.seconds_present >= min_seconds()


def confirmed_participants(course: Course) -> list[Enrolment]:
    """The people a course's attendance is about: confirmed bookings."""
    return services.participants(course, (EnrolmentStatus.CONFIRMED,))


def counted_sessions(course: Course) -> list[Session]:
    """The sessions attendance is counted over: all that were not cancelled."""
    return [s for s in course.sessions if s.status is SessionStatus.SCHEDULED]


def mark_attendance(
    actor: User,
    session: Session,
    marks: Mapping[int, bool | None],
    now: datetime | None = None,
) -> int:
    """Instructors (and staff) mark who was there; None clears a mark. Returns the changes."""
    now = now or utcnow()
    require_teacher(actor, session.course)
    if session.status is SessionStatus.CANCELLED:
        raise Conflict(_l("This session has been cancelled."), code="session_cancelled")
    if now < session.starts_at:
        raise Conflict(
            _l("Attendance can be recorded once the session has started."), code="not_started"
        )
    allowed = {e.user_id for e in confirmed_participants(session.course)}
    unknown = [uid for uid in marks if uid not in allowed]
    if unknown:
        raise Invalid(errors={"marks": [_l("Mark only confirmed participants of this course.")]})
    changed = 0
    for user_id, value in marks.items():
        row = _attendance(session.id, user_id)
        if row.manual_present is value:
            continue
        row.manual_present = value
        row.marked_by_id = actor.id
        row.marked_at = now
        changed += 1
    if changed:
        audit(actor, "attendance.marked", session, course=session.course.code, changed=changed)
    return changed


@dataclass
class Cell:
    """One participant at one session."""

    session: Session
    attendance: Attendance | None
    present: bool
    held: bool  # the session has started (not yet held: no mark either way)


@dataclass
class Row:
    """One participant across all counted sessions."""

    user: User
    cells: list[Cell]
    present: int
    total: int
    eligible: bool
    certificate: Certificate | None = None

    @property
    def percent(self) -> int:
        """Share of sessions attended, rounded down."""
        return self.present * 100 // self.total if self.total else 0


@dataclass
class Report:
    """Participants x sessions of one course."""

    course: Course
    sessions: list[Session]
    rows: list[Row] = field(default_factory=list)
    min_percent: int = 80


def reaches_threshold(present: int, total: int, min_percent: int) -> bool:
    """Whether ``present`` of ``total`` sessions is at least ``min_percent`` percent (exactly)."""
    return total > 0 and present * 100 >= min_percent * total


def _attendance_rows(session_ids: list[int], user_ids: list[int] | None = None) -> list[Any]:
    if not session_ids:
        return []
    query = sa.select(Attendance).where(Attendance.session_id.in_(session_ids))
    if user_ids is not None:
        query = query.where(Attendance.user_id.in_(user_ids))
    return list(db.session.execute(query).scalars())


def _valid_certificates(course: Course) -> dict[int, Certificate]:
    rows = db.session.execute(
        sa.select(Certificate).where(
            Certificate.course_id == course.id, Certificate.revoked_at.is_(None)
        )
    ).scalars()
    return {c.user_id: c for c in rows}


def build_report(course: Course, users: list[User], now: datetime | None = None) -> Report:
    """Attendance of ``users`` at the course's counted sessions (no permission check)."""
    now = now or utcnow()
    sessions = counted_sessions(course)
    by_key = {
        (a.session_id, a.user_id): a
        for a in _attendance_rows([s.id for s in sessions], [u.id for u in users])
    }
    certificates = _valid_certificates(course)
    min_percent = _settings().certificate_min_attendance
    report = Report(course=course, sessions=sessions, min_percent=min_percent)
    for user in users:
        cells = []
        for s in sessions:
            row = by_key.get((s.id, user.id))
            cells.append(Cell(s, row, is_present(row), held=s.starts_at <= now))
        present = sum(1 for c in cells if c.present)
        report.rows.append(
            Row(
                user=user,
                cells=cells,
                present=present,
                total=len(sessions),
                eligible=reaches_threshold(present, len(sessions), min_percent),
                certificate=certificates.get(user.id),
            )
        )
    return report


def attendance_report(actor: User, course: Course, now: datetime | None = None) -> Report:
    """Participants x sessions for the course's instructors and staff."""
    require_teacher(actor, course)
    return build_report(course, [e.user for e in confirmed_participants(course)], now)


@dataclass
class SessionSheet:
    """One session's attendance: each confirmed participant, Jitsi data and manual mark."""

    session: Session
    entries: list[tuple[User, Attendance | None, bool]]
    can_mark: bool
    mark_refusal: Any = None


def session_attendance(actor: User, session: Session, now: datetime | None = None) -> SessionSheet:
    """The attendance page of one session (instructors of the course and staff)."""
    now = now or utcnow()
    require_teacher(actor, session.course)
    users = [e.user for e in confirmed_participants(session.course)]
    by_user = {a.user_id: a for a in _attendance_rows([session.id], [u.id for u in users])}
    refusal = None
    if session.status is SessionStatus.CANCELLED:
        refusal = _l("This session has been cancelled.")
    elif now < session.starts_at:
        refusal = _l("Attendance can be recorded once the session has started.")
    return SessionSheet(
        session=session,
        entries=[(u, by_user.get(u.id), is_present(by_user.get(u.id))) for u in users],
        can_mark=refusal is None,
        mark_refusal=refusal,
    )


# --- certificates ------------------------------------------------------------------------------

CODE_BYTES = 20  # 160 bits, shown as 8 groups of 4 base32 characters


def new_certificate_code() -> str:
    """An unguessable code that reads well on paper: ``K7QD-2XMA-...``."""
    raw = base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode("ascii").rstrip("=")
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def normalise_code(text: str) -> str:
    """Accept a code as typed (lower case, spaces, missing hyphens)."""
    raw = re.sub(r"[^A-Za-z2-7]", "", text or "").upper()[: CODE_BYTES * 2]
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def _local_day(dt: datetime) -> date:
    return dt.astimezone(BERLIN).date()


def _details(course: Course, user: User, present: int, total: int) -> dict[str, Any]:
    """What the certificate says, frozen when it is issued."""
    sessions = counted_sessions(course) or list(course.sessions)
    return {
        "name": user.name,
        "course_code": course.code,
        "course_title": course.title,
        "first_day": _local_day(sessions[0].starts_at).isoformat() if sessions else None,
        "last_day": _local_day(sessions[-1].starts_at).isoformat() if sessions else None,
        "teaching_units": course.teaching_units,
        "instructors": [i.name for i in course.instructors],
        "sessions_attended": present,
        "sessions_total": total,
    }


@dataclass
class CertificateStatus:
    """What a participant sees about their certificate."""

    certificate: Certificate | None
    available: bool
    code: str | None = None  # why not
    reason: Any = None
    present: int = 0
    total: int = 0
    min_percent: int = 80


def certificate_status(user: User, course: Course) -> CertificateStatus:
    """Whether ``user`` can download a certificate for ``course`` (and why not)."""
    report = build_report(course, [user])
    row = report.rows[0]
    base = {"present": row.present, "total": row.total, "min_percent": report.min_percent}
    enrolment = services.active_enrolment(course.id, user.id)
    if enrolment is None or enrolment.status is not EnrolmentStatus.CONFIRMED:
        return CertificateStatus(
            None,
            False,
            "not_participant",
            _l("Certificates are issued to confirmed participants of the course."),
            **base,
        )
    if course.status is not CourseStatus.COMPLETED:
        return CertificateStatus(
            None,
            False,
            "course_not_completed",
            _l("Certificates are available once the course has been completed."),
            **base,
        )
    if row.certificate is not None:
        return CertificateStatus(row.certificate, True, **base)
    revoked = db.session.execute(
        sa.select(Certificate.id).where(
            Certificate.course_id == course.id,
            Certificate.user_id == user.id,
            Certificate.revoked_at.is_not(None),
        )
    ).first()
    if revoked:
        return CertificateStatus(
            None,
            False,
            "certificate_revoked",
            _l("Your certificate for this course was withdrawn. Please contact the VHS office."),
            **base,
        )
    if not row.eligible:
        return CertificateStatus(
            None,
            False,
            "not_eligible",
            _l(
                "You attended %(present)d of %(total)d sessions; a certificate needs at least "
                "%(min)d %% of them.",
                present=row.present,
                total=row.total,
                min=report.min_percent,
            ),
            **base,
        )
    return CertificateStatus(None, True, **base)


def _create_certificate(
    course: Course, user: User, issued_by: User | None, present: int, total: int
) -> Certificate:
    certificate = Certificate(
        course_id=course.id,
        user_id=user.id,
        code=new_certificate_code(),
        issued_at=utcnow(),
        issued_by_id=issued_by.id if issued_by else None,
        details=_details(course, user, present, total),
    )
    try:
        with db.session.begin_nested():
            db.session.add(certificate)
    except sa.exc.IntegrityError:  # issued at the same moment by a parallel request
        existing = _valid_certificates(course).get(user.id)
        if existing is None:
            raise
        return existing
    return certificate


def certificate_for(user: User, course: Course) -> Certificate:
    """The participant's own certificate: issued on first download once eligible."""
    status = certificate_status(user, course)
    if status.certificate is not None:
        return status.certificate
    if not status.available:
        if status.code == "course_not_completed":
            raise Conflict(status.reason, code=status.code)
        raise Forbidden(status.reason, code=status.code)
    return _create_certificate(course, user, None, status.present, status.total)


def issue_certificate(actor: User, course: Course, user: User) -> Certificate:
    """Staff issue a certificate by hand, whatever the recorded attendance (audited)."""
    services.require_manager(actor)
    if course.status is not CourseStatus.COMPLETED:
        raise Conflict(
            _l("Certificates are available once the course has been completed."),
            code="course_not_completed",
        )
    enrolment = services.active_enrolment(course.id, user.id)
    if enrolment is None or enrolment.status is not EnrolmentStatus.CONFIRMED:
        raise Invalid(
            errors={"user_id": [_l("Certificates are issued to confirmed participants.")]}
        )
    if _valid_certificates(course).get(user.id) is not None:
        raise Conflict(
            _l("This participant already has a valid certificate."), code="already_issued"
        )
    row = build_report(course, [user]).rows[0]
    certificate = _create_certificate(course, user, actor, row.present, row.total)
    db.session.flush()
    audit(actor, "certificate.issued", certificate, course=course.code, user=user.id)
    return certificate


def revoke_certificate(actor: User, certificate: Certificate, reason: str = "") -> Certificate:
    """Withdraw a certificate (staff, audited); verification then says so."""
    services.require_manager(actor)
    if certificate.revoked:
        raise Conflict(_l("This certificate has already been revoked."), code="already_revoked")
    certificate.revoked_at = utcnow()
    certificate.revoked_by_id = actor.id
    certificate.revoke_reason = reason.strip()[:1000]
    audit(actor, "certificate.revoked", certificate, course=certificate.course.code, reason=reason)
    return certificate


def get_certificate(certificate_id: int) -> Certificate:
    """A certificate by id, or 404."""
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None:
        raise NotFound(_l("This certificate does not exist."), code="certificate_not_found")
    return certificate


def find_certificate(code: str) -> Certificate:
    """The certificate with this verification code, or 404."""
    normalised = normalise_code(code)
    certificate = (
        db.session.execute(
            sa.select(Certificate).where(Certificate.code == normalised)
        ).scalar_one_or_none()
        if len(normalised) >= 8
        else None
    )
    if certificate is None:
        raise NotFound(
            _l("There is no certificate with this code. Please check the code."),
            code="certificate_not_found",
        )
    return certificate


def course_certificates(actor: User, course: Course) -> tuple[Report, list[Certificate]]:
    """Staff overview: everyone's attendance and every certificate ever issued."""
    services.require_manager(actor)
    report = build_report(course, [e.user for e in confirmed_participants(course)])
    issued = list(
        db.session.execute(
            sa.select(Certificate)
            .where(Certificate.course_id == course.id)
            .options(selectinload(Certificate.user))
            .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
        ).scalars()
    )
    return report, issued


# --- GDPR ----------------------------------------------------------------------------------------


def export_webinars(user: User) -> dict[str, Any]:
    """A person's attendance and certificates."""
    rows = db.session.execute(
        sa.select(Attendance)
        .where(Attendance.user_id == user.id)
        .options(selectinload(Attendance.session).selectinload(Session.course))
        .order_by(Attendance.id)
    ).scalars()
    certificates = db.session.execute(
        sa.select(Certificate).where(Certificate.user_id == user.id).order_by(Certificate.id)
    ).scalars()
    return {
        "attendance": [
            {
                "course_code": a.session.course.code,
                "session_starts_at": a.session.starts_at.isoformat(),
                "first_join_at": a.first_join_at.isoformat() if a.first_join_at else None,
                "last_leave_at": a.last_leave_at.isoformat() if a.last_leave_at else None,
                "seconds_present": a.seconds_present,
                "marked_present": a.manual_present,
            }
            for a in rows
        ],
        "certificates": [
            {
                "code": c.code,
                "issued_at": c.issued_at.isoformat(),
                "revoked_at": c.revoked_at.isoformat() if c.revoked_at else None,
                **c.details,
            }
            for c in certificates
        ],
    }


def erase_webinars(user: User) -> None:
    """Raw Jitsi events (connection ids) go; attendance totals and certificates stay."""
    db.session.execute(sa.delete(JitsiEvent).where(JitsiEvent.user_id == user.id))


gdpr.register_exporter("webinars", export_webinars)
gdpr.register_eraser(
    "webinars",
    erase_webinars,
    gdpr.Retention(
        what=_l("Your attendance at course sessions and the certificates issued to you."),
        why=_l(
            "A certificate you hold must stay verifiable, and the VHS must be able to prove "
            "who took part in its courses."
        ),
    ),
)
