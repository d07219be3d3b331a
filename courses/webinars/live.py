"""Who is in a session's room now, and estimated head counts where no event module reports.

Two sources, never mixed up: the event module (``event_sync``, or JaaS webhooks) says *who* is
in the room (``Attendance.in_room``); ``mod_muc_size`` says only *how many*. A head count is
stored (``RoomHeadcount``, always marked estimated) only where no event module is configured,
and never becomes a person's attendance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext

from courses.models import Session, SessionStatus
from courses.webinars import event_sync, room_size
from courses.webinars.join import require_teacher, window
from courses.webinars.models import Attendance, RoomHeadcount
from vhs.accounts.models import User
from vhs.db import db, utcnow

MESSAGES: dict[str, Any] = {
    "no_room": _l("Nobody is in the room now."),
    "forbidden": _l("Room size not available right now."),
    "unavailable": _l("Room size not available right now."),
    "not_configured": _l("This Jitsi server does not report the room size."),
    "not_running": _l("The room is not open now."),
}


@dataclass
class LiveRoom:
    """A session's room as the instructor's page shows it."""

    session: Session
    status: str  # a room_size status, or "not_running" outside the join window
    participants: int | None
    present: list[User]
    checked_at: datetime
    estimates: list[RoomHeadcount] = field(default_factory=list)

    @property
    def message(self) -> Any:
        """One sentence on the room, for the page and the API."""
        if self.status == "ok" and self.participants is not None:
            return lazy_ngettext(
                "%(num)d person is in the room now.",
                "%(num)d people are in the room now.",
                self.participants,
            )
        return MESSAGES[self.status]

    @property
    def estimate_max(self) -> int | None:
        """The highest estimated head count of the session, if any was taken."""
        return max((e.participants for e in self.estimates), default=None)


def people_in_room(session: Session) -> list[User]:
    """The people an event module reports in the room now (an open connection)."""
    return list(
        db.session.execute(
            sa.select(User)
            .join(Attendance, Attendance.user_id == User.id)
            .where(Attendance.session_id == session.id, Attendance.in_room.is_(True))
            .order_by(User.name, User.id)
        ).scalars()
    )


def estimates(session: Session) -> list[RoomHeadcount]:
    """The session's estimated head counts, oldest first."""
    return list(
        db.session.execute(
            sa.select(RoomHeadcount)
            .where(RoomHeadcount.session_id == session.id)
            .order_by(RoomHeadcount.measured_at, RoomHeadcount.id)
        ).scalars()
    )


def _running(session: Session, now: datetime) -> bool:
    opens, _closes, expires = window(session)
    return session.status is SessionStatus.SCHEDULED and opens <= now <= expires


def live_room(actor: User, session: Session, now: datetime | None = None) -> LiveRoom:
    """The room now, for the course's instructors and staff: Prosody asked while it is open."""
    now = now or utcnow()
    require_teacher(actor, session.course)
    if not room_size.configured():
        status, count = "not_configured", None
    elif not _running(session, now):
        status, count = "not_running", None
    elif not session.jitsi_room:
        status, count = "no_room", 0  # nobody has joined through us yet: no room exists
    else:
        size = room_size.fetch(session.jitsi_room)
        status, count = size.status, size.participants
    return LiveRoom(
        session=session,
        status=status,
        participants=count,
        present=people_in_room(session),
        checked_at=now,
        estimates=estimates(session),
    )


def record_headcounts(now: datetime | None = None) -> int:
    """Store an estimated head count for every session running now; how many were stored.

    Only where ``mod_muc_size`` is configured and no event module reports attendance; a
    session whose room size cannot be had this time gets no row (no guess of a guess).
    """
    now = now or utcnow()
    if not room_size.configured() or event_sync.configured():
        return 0
    sessions = db.session.execute(
        sa.select(Session)
        .where(
            Session.online.is_(True),
            Session.status == SessionStatus.SCHEDULED,
            Session.jitsi_room.is_not(None),
            Session.starts_at <= now,
            Session.ends_at >= now,
        )
        .order_by(Session.id)
    ).scalars()
    stored = 0
    for session in sessions:
        size = room_size.fetch(session.jitsi_room or "")
        if size.participants is None:
            continue
        db.session.add(
            RoomHeadcount(
                session_id=session.id,
                measured_at=now,
                participants=size.participants,
                estimated=True,
            )
        )
        stored += 1
    return stored
