"""Builders for the webinar tests and the authorisation matrix (plain functions, no fixtures).

Each works in the caller's app context and session and flushes; ``commit`` is the caller's.
Session times are set relative to ``utcnow()`` so that the join window is where a test wants it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from courses.models import Course, CourseFormat, CourseStatus, Session
from courses.planning import services as planning_services
from courses.webinars.models import Attendance
from tests.courses import factories
from vhs.accounts.models import User
from vhs.db import db, utcnow

APP_ID = "vpaas-magic-cookie-1fc542a3e4414a44b2611668195e2bfe"


def online_course(
    *,
    starts_in: timedelta = timedelta(minutes=5),
    duration: timedelta = timedelta(minutes=90),
    sessions: int = 1,
    interval: timedelta = timedelta(days=7),
    instructors: Iterable[User | int] = (),
    status: CourseStatus | str = CourseStatus.PUBLISHED,
    online: bool = True,
    **kw: Any,
) -> Course:
    """An online course whose first session starts ``starts_in`` from now (negative: past)."""
    course = factories.new_course(
        sessions=sessions,
        instructors=instructors,
        format=CourseFormat.ONLINE if online else CourseFormat.IN_PERSON,
        status=CourseStatus.PUBLISHED,
        **kw,
    )
    first = utcnow().replace(microsecond=0) + starts_in
    for n, session in enumerate(sorted(course.sessions, key=lambda s: s.id)):
        session.starts_at = first + n * interval
        session.ends_at = session.starts_at + duration
        session.online = online
    db.session.flush()
    planning_services.refresh_schedule(course)
    course.status = CourseStatus(status)
    db.session.flush()
    return course


def first_session(course: Course) -> Session:
    """The earliest session of a course."""
    return min(course.sessions, key=lambda s: s.starts_at)


def attend(
    session: Session, user: User | int, *, seconds: int = 0, manual: bool | None = None
) -> Attendance:
    """Attendance written directly (as if Jitsi had reported it, or an instructor marked it)."""
    user_id = user if isinstance(user, int) else user.id
    row = Attendance(
        session_id=session.id,
        user_id=user_id,
        seconds_present=seconds,
        first_join_at=session.starts_at if seconds else None,
        last_leave_at=session.starts_at + timedelta(seconds=seconds) if seconds else None,
        manual_present=manual,
    )
    db.session.add(row)
    db.session.flush()
    return row


# --- webhooks ---------------------------------------------------------------------------------


def jitsi_event(
    kind: str,
    room: str,
    at: datetime,
    *,
    user_id: int | None = None,
    participant: str = "p-1",
    key: str | None = None,
    email: str = "",
) -> dict[str, Any]:
    """A JaaS webhook envelope as 8x8 documents it (timestamp in milliseconds)."""
    data: dict[str, Any] = {"conference": f"{room}@conference.{APP_ID}.8x8.vc"}
    if kind.startswith("PARTICIPANT_"):
        data = {
            "moderator": "false",
            "name": "Teilnehmerin",
            "group": "",
            "email": email,
            "id": str(user_id) if user_id is not None else "",
            "participantJid": f"{participant}@8x8.vc/{participant}",
            "participantId": participant,
            "avatar": "",
        }
    return {
        "idempotencyKey": key or str(uuid.uuid4()),
        "customerId": "1fc542a3e4414a44b2611668195e2bfe",
        "appId": APP_ID,
        "eventType": kind,
        "sessionId": str(uuid.uuid4()),
        "timestamp": int(at.timestamp() * 1000),
        "fqn": f"{APP_ID}/{room}",
        "data": data,
    }


def jaas_header(secret: str, body: bytes, t: int | None = None) -> str:
    """``X-Jaas-Signature`` computed as 8x8 documents it (independently of the app's code)."""
    t = int(time.time()) if t is None else t
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).digest()
    return f"t={t},v1={base64.b64encode(digest).decode()}"


def post_signed(client: Any, payload: Any, secret: str, t: int | None = None) -> Any:
    """POST an event to /webhooks/jitsi, signed the JaaS way."""
    body = json.dumps(payload).encode()
    return client.post(
        "/webhooks/jitsi",
        data=body,
        headers={
            "X-Jaas-Signature": jaas_header(secret, body, t),
            "Content-Type": "application/json",
        },
    )
