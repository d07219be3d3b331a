"""The courses domain's part of the GDPR export and erasure."""

from __future__ import annotations

import contextlib
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from courses.enrolment.services import cancel_enrolment
from courses.models import ACTIVE_STATUSES, Enrolment, EnrolmentStatus, course_instructors
from vhs import gdpr
from vhs.accounts.models import User
from vhs.db import db, utcnow
from vhs.errors import Conflict


def export_enrolments(user: User) -> list[dict[str, Any]]:
    """Every booking of the person, with course and price."""
    rows = db.session.execute(
        sa.select(Enrolment).where(Enrolment.user_id == user.id).order_by(Enrolment.id)
    ).scalars()
    return [
        {
            "course_code": e.course.code,
            "course_title": e.course.title,
            "term": e.course.term.name,
            "status": e.status.value,
            "price_cents": e.price_cents,
            "currency": e.currency,
            "reduction_reason": e.reduction_reason.value if e.reduction_reason else None,
            "reduction_check": _check(e),
            "created_at": e.created_at.isoformat(),
            "confirmed_at": e.confirmed_at.isoformat() if e.confirmed_at else None,
            "cancelled_at": e.cancelled_at.isoformat() if e.cancelled_at else None,
        }
        for e in rows
    ]


def _check(enrolment: Enrolment) -> dict[str, Any] | None:
    """The staff's check of a claimed reduction: state, their note and when they decided."""
    check = enrolment.reduction_check
    if check is None:
        return None
    return {
        "state": check.state.value,
        "note": check.note,
        "decided_at": check.decided_at.isoformat() if check.decided_at else None,
    }


def erase_enrolments(user: User) -> None:
    """Future bookings end; past ones stay (they are accounting records), without the name."""

    active = (
        db.session.execute(
            sa.select(Enrolment).where(
                Enrolment.user_id == user.id, Enrolment.status.in_(ACTIVE_STATUSES)
            )
        )
        .scalars()
        .all()
    )
    for e in active:
        if (
            e.status is EnrolmentStatus.WAITLISTED
            or e.course.first_session_at is None
            or (e.course.first_session_at > utcnow())
        ):
            with contextlib.suppress(Conflict):  # past the deadline: the booking stays
                cancel_enrolment(e, user, notify=False)
    db.session.execute(sa.delete(course_instructors).where(course_instructors.c.user_id == user.id))


gdpr.register_exporter("enrolments", export_enrolments)
gdpr.register_eraser(
    "enrolments",
    erase_enrolments,
    gdpr.Retention(
        what=_l("Your past course bookings and what was paid for them."),
        why=_l("Tax and municipal budget law require us to keep accounting records for ten years."),
    ),
)
