"""Webinar data in the personal data export and erasure."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from courses.models import (
    Session,
)
from courses.webinars import jitsi as jitsi
from courses.webinars.models import Attendance, Certificate, JitsiEvent
from vhs import gdpr
from vhs.accounts.models import User
from vhs.db import db

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
