"""Attendance from a self-hosted Prosody: the ``event_sync`` module's HTTP POSTs.

jitsi-contrib's ``mod_event_sync_component`` posts JSON to ``<api_prefix>/events/room/created``,
``/events/room/destroyed``, ``/events/occupant/joined`` and ``/events/occupant/left``: the room
(``room_name``, ``room_jid``, ``is_breakout``, ``breakout_room_id``), times in Unix seconds
(``created_at``, ``destroyed_at``, ``occupant.joined_at``, ``occupant.left_at``), the occupant
(``occupant_jid``, and from our token's ``context.user`` its ``id``, ``name``, ``email``) and,
on destroy, ``all_occupants``. It carries no event id and retries on 5xx, so a delivery is
recorded by a digest of its URL and body: a retry changes nothing.

The events land in the same ``jitsi_events`` table the JaaS webhooks fill and go through the
same computation (``events.recompute_attendance``). Each ``left`` also carries its
``joined_at``, and ``all_occupants`` repeats everyone's times, so a lost or late ``joined`` is
made good: order does not matter. A stay is keyed by ``occupant_jid``, breakout room and
``joined_at``, so moving between main and breakout rooms, or rejoining, never closes the wrong
stay.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app

from courses.models import Session
from courses.webinars import jitsi as jitsi
from courses.webinars.events import (
    clean_text,
    moment_of,
    recompute_attendance,
    record_delivery,
    user_of,
)
from courses.webinars.models import JitsiEvent, JitsiEventKind
from vhs.db import db, utcnow

# URL path (below the api_prefix) -> the ``event_name`` the module sends with it.
EVENTS = {
    "room/created": "muc-room-created",
    "room/destroyed": "muc-room-destroyed",
    "occupant/joined": "muc-occupant-joined",
    "occupant/left": "muc-occupant-left",
}
MAX_OCCUPANTS = 2000  # all_occupants of one room; more is not a VHS course


def configured() -> bool:
    """Whether an event module reports attendance (its secret is set)."""
    return bool(current_app.config["VHS"].jitsi_event_sync_secret)


def _room_name(payload: Mapping[str, Any]) -> str | None:
    """The main room's name: ``room_name``, else the node of ``room_jid``."""
    name = clean_text(payload.get("room_name"), 500)
    if not name:
        room_jid = clean_text(payload.get("room_jid"), 500)
        name = room_jid.split("@", 1)[0] if room_jid and "@" in room_jid else None
    return name.lower()[:200] if name else None


def _connection(
    payload: Mapping[str, Any], occupant: Mapping[str, Any], joined: datetime | None
) -> str:
    """One stay in one room: the occupant's JID, the breakout room, and when it joined.

    Every ``left`` repeats its ``joined_at``, so a stay's join and leave always share this key:
    each stay is then a connection of its own with one start and one end, and a quick rejoin
    with the same JID (even within the same second) cannot be mistaken for the stay before.
    """
    suffix = ""
    if payload.get("is_breakout") is True:
        suffix += "#" + (clean_text(payload.get("breakout_room_id"), 100) or "breakout")
    if joined is not None:
        suffix += f"@{int(joined.timestamp())}"
    jid = clean_text(occupant.get("occupant_jid"), 255) or ""
    return jid[: 255 - len(suffix)] + suffix


def _add(
    session: Session, user_id: int | None, kind: JitsiEventKind, at: datetime, conn: str
) -> bool:
    """Store an event unless the very same one is stored already; whether it was new."""
    exists = db.session.execute(
        sa.select(JitsiEvent.id).where(
            JitsiEvent.session_id == session.id,
            JitsiEvent.user_id.is_(None) if user_id is None else JitsiEvent.user_id == user_id,
            JitsiEvent.kind == kind,
            JitsiEvent.connection == conn,
            JitsiEvent.occurred_at == at,
        )
    ).first()
    if exists:
        return False
    db.session.add(
        JitsiEvent(
            session_id=session.id, user_id=user_id, kind=kind, connection=conn, occurred_at=at
        )
    )
    return True


def _occupant_events(
    session: Session,
    payload: Mapping[str, Any],
    occupant: Any,
    left_default: datetime | None = None,
) -> int | None:
    """Store an occupant's join (and leave, when known); the person's user id, or None."""
    if not isinstance(occupant, Mapping):
        return None
    user = user_of(occupant)
    if user is None:
        return None
    joined = moment_of(occupant.get("joined_at"))
    left = moment_of(occupant.get("left_at")) or left_default
    conn = _connection(payload, occupant, joined)
    if joined is not None:
        _add(session, user.id, JitsiEventKind.PARTICIPANT_JOINED, joined, conn)
    if left is not None:
        _add(session, user.id, JitsiEventKind.PARTICIPANT_LEFT, left, conn)
    return user.id if (joined or left) else None


def handle(event: str, payload: Mapping[str, Any], now: datetime | None = None) -> str:
    """Store one first-time delivery's events and recompute attendance; says what happened."""
    now = now or utcnow()
    room = _room_name(payload)
    session = (
        db.session.execute(
            sa.select(Session).where(Session.jitsi_room == room)
        ).scalar_one_or_none()
        if room
        else None
    )
    if session is None:
        return "ignored: unknown room"
    breakout = payload.get("is_breakout") is True
    if event == "room/created":
        if breakout:
            return f"ignored: breakout room created, session {session.id}"
        at = moment_of(payload.get("created_at")) or now
        _add(session, None, JitsiEventKind.ROOM_CREATED, at, "")
        return f"recorded: room created session {session.id}"
    if event in ("occupant/joined", "occupant/left"):
        occupant = payload.get("occupant")
        if isinstance(occupant, Mapping) and event == "occupant/joined":
            occupant = {k: v for k, v in occupant.items() if k != "left_at"}
        user_id = _occupant_events(session, payload, occupant)
        if user_id is None:
            return "ignored: unknown participant"
        recompute_attendance(session, user_id)
        return f"recorded: {event} user {user_id} session {session.id}"
    # room/destroyed: everyone's times once more, then (main room only) the end of the room.
    destroyed = moment_of(payload.get("destroyed_at")) or now
    occupants = payload.get("all_occupants")
    people: set[int] = set()
    if isinstance(occupants, list):
        for occupant in occupants[:MAX_OCCUPANTS]:
            user_id = _occupant_events(session, payload, occupant, left_default=destroyed)
            if user_id is not None:
                people.add(user_id)
    if not breakout:
        # A breakout room's end is not the main room's: it must not close stays there.
        _add(session, None, JitsiEventKind.ROOM_DESTROYED, destroyed, "")
        db.session.flush()
        people |= set(
            db.session.execute(
                sa.select(JitsiEvent.user_id)
                .where(JitsiEvent.session_id == session.id, JitsiEvent.user_id.is_not(None))
                .distinct()
            ).scalars()
        )
    for user_id in sorted(people):  # always the same lock order: no deadlocks
        recompute_attendance(session, user_id)
    what = "breakout room destroyed" if breakout else "room destroyed"
    return f"recorded: {what} session {session.id} ({len(people)} people)"


def delivery_key(event: str, payload: Mapping[str, Any]) -> str:
    """The idempotency key of a delivery: its URL and (canonical) body, digested."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    digest = hashlib.sha256(f"{event}\0{canonical}".encode()).hexdigest()
    return f"event_sync:{digest}"


def process(event: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, str]:
    """Verify, de-duplicate, act; returns (HTTP status, outcome).

    401 without a configured secret or with a wrong one (the module does not retry 4xx);
    400 for a body that is no event of this URL; 200 for everything taken in, including
    duplicates and rooms or people we do not know.
    """
    settings = current_app.config["VHS"]
    if event not in EVENTS:
        return 404, "unknown event"
    if not settings.jitsi_event_sync_secret:
        return 401, "event sync is not configured"
    if not jitsi.verify_event_sync(
        settings.jitsi_event_sync_secret,
        settings.jitsi_event_sync_auth,
        body,
        authorization=headers.get("Authorization"),
        signature=headers.get("X-Event-Sync-Signature"),
    ):
        return 401, "invalid or missing credentials"
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return 400, "invalid JSON"
    if not isinstance(payload, dict):
        return 400, "invalid payload"
    if clean_text(payload.get("event_name"), 100) != EVENTS[event]:
        return 400, f"event_name must be {EVENTS[event]}"
    record = record_delivery(delivery_key(event, payload), EVENTS[event])
    if record is None:
        return 200, "duplicate"
    outcome = handle(event, payload)
    record.processed_at = utcnow()
    record.outcome = outcome[:500]
    return 200, outcome
