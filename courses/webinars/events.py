"""Attendance from Jitsi's events: verify, record once, recompute presence."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app

from courses.models import (
    Session,
)
from courses.webinars import jitsi as jitsi
from courses.webinars.join import window
from courses.webinars.models import Attendance, JitsiEvent, JitsiEventKind, WebhookDelivery
from vhs.accounts.models import User
from vhs.accounts.services import find_user_by_email
from vhs.db import db, lock, utcnow

PARTICIPANT_EVENTS = (JitsiEventKind.PARTICIPANT_JOINED, JitsiEventKind.PARTICIPANT_LEFT)
MAX_DB_ID = 2**31 - 1


def _settings() -> Any:
    return current_app.config["VHS"]


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


def attendance_row(session_id: int, user_id: int) -> Attendance:
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
    row = lock(Attendance, attendance_row(session.id, user_id).id)
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


def clean_text(value: Any, limit: int) -> str | None:
    """A string field of a webhook as safe text (PostgreSQL refuses NUL), or None."""
    if not isinstance(value, str):
        return None
    text = value.replace("\x00", "").strip()
    return text[:limit] if text else None


def _room_of(payload: Mapping[str, Any], data: Mapping[str, Any]) -> str | None:
    """The room from ``fqn`` ("AppID/room"), else from ``data.conference`` ("room@...")."""
    fqn = clean_text(payload.get("fqn"), 500)
    if fqn:
        return fqn.rsplit("/", 1)[-1].lower()[:200] or None
    conference = clean_text(data.get("conference"), 500)
    if conference:
        return conference.split("@", 1)[0].lower()[:200] or None
    return None


def moment_of(value: Any) -> datetime | None:
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


def user_of(data: Mapping[str, Any]) -> User | None:
    """The person: ``data.id`` is the user id we put in the token; else the e-mail address."""
    raw = data.get("id")
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    ident = clean_text(raw, 20)
    if ident and re.fullmatch(r"[0-9]{1,10}", ident) and 0 < int(ident) <= MAX_DB_ID:
        user = db.session.get(User, int(ident))
        if user is not None and user.erased_at is None:
            return user
    email = clean_text(data.get("email"), 254)
    if email and "@" in email:
        user = find_user_by_email(email)
        if user is not None and user.erased_at is None:
            return user
    return None


def _connection_of(data: Mapping[str, Any]) -> str:
    for key in ("participantId", "participantJid", "endpointId"):
        value = clean_text(data.get(key), 255)
        if value:
            return value
    return ""


def handle_event(payload: Mapping[str, Any], now: datetime | None = None) -> str:
    """Store one verified, first-time event and update attendance; says what happened.

    Unknown event types, rooms and people are recorded (in the webhook log) and ignored.
    """
    now = now or utcnow()
    try:
        kind = JitsiEventKind(clean_text(payload.get("eventType"), 100) or "")
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
    at = moment_of(payload.get("timestamp")) or now
    if kind in PARTICIPANT_EVENTS:
        user = user_of(data)
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


def record_delivery(key: str, event_type: str) -> WebhookDelivery | None:
    """Record a delivery first; ``None`` when its key was recorded already (a redelivery)."""
    if db.session.execute(
        sa.select(WebhookDelivery.id).where(WebhookDelivery.idempotency_key == key)
    ).first():
        return None
    record = WebhookDelivery(idempotency_key=key, event_type=event_type)
    try:
        with db.session.begin_nested():
            db.session.add(record)
    except sa.exc.IntegrityError:
        return None  # a concurrent delivery of the same event won the race
    return record


def process_webhook(body: bytes, headers: Mapping[str, str]) -> tuple[int, str]:
    """Verify, de-duplicate by ``idempotencyKey``, act; returns (HTTP status, outcome).

    JaaS signs with ``X-Jaas-Signature`` (``VHS_JAAS_WEBHOOK_SECRET``); a self-hosted event
    module sends the shared secret ``VHS_JITSI_WEBHOOK_SECRET`` in ``X-Jitsi-Webhook-Secret``.
    Without any secret configured nothing is accepted.
    """

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
    key = clean_text(payload.get("idempotencyKey"), 1000)
    if not key or len(key) > 255:
        return 400, "missing or invalid idempotencyKey"
    event_type = clean_text(payload.get("eventType"), 100) or "unknown"
    record = record_delivery(key, event_type)
    if record is None:
        return 200, "duplicate"
    outcome = handle_event(payload)
    record.processed_at = utcnow()
    record.outcome = outcome[:500]
    return 200, outcome
