"""Checking reductions (Ermäßigung): claimed at booking, verified or rejected by staff.

A rejected reduction makes the booking cost the full fee. What is still due simply changes
for a booking not yet paid; a paid (or free, confirmed) one owes the rest as a charge of its
own, paid the usual way with its invoice. The resident is told by mail either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from courses.access import lock_course, require_manager
from courses.enrolment.charges import add_charge, is_settled_by_payment, reprice_unpaid
from courses.enrolment.models import ChargeKind, ReductionCheck, ReductionState
from courses.models import Course, Enrolment, ReductionReason
from vhs.accounts.models import User
from vhs.audit import audit
from vhs.db import db, utcnow
from vhs.errors import Conflict, Invalid
from vhs.mail import queue_mail

NOTE_MAX = 1000
DECISIONS = (ReductionState.VERIFIED, ReductionState.REJECTED)


@dataclass(frozen=True)
class RejectionOutcome:
    """What rejecting a reduction does to the money, for the confirmation page and the mail."""

    rest_cents: int  # the full fee minus the reduced price
    charged: bool  # True: a new payment is due; False: the booking's due amount changes


def check_of(enrolment: Enrolment) -> ReductionCheck | None:
    """The reduction check of a booking (None when it claims no reduction)."""
    return db.session.execute(
        sa.select(ReductionCheck).where(ReductionCheck.enrolment_id == enrolment.id)
    ).scalar_one_or_none()


def rejection_outcome(enrolment: Enrolment) -> RejectionOutcome:
    """What a rejection would cost the resident (shown before staff confirm)."""
    rest = max(enrolment.course.fee_cents - enrolment.price_cents, 0)
    return RejectionOutcome(rest_cents=rest, charged=is_settled_by_payment(enrolment))


def decide_reduction(
    actor: User,
    enrolment: Enrolment,
    decision: ReductionState,
    note: str,
    now: datetime | None = None,
) -> ReductionCheck:
    """Verify or reject a booking's claimed reduction (staff, once, audited)."""
    require_manager(actor)
    now = now or utcnow()
    note = (note or "").strip()
    if decision not in DECISIONS:
        raise Invalid(errors={"decision": [_l("Choose verified or rejected.")]})
    if len(note) > NOTE_MAX:
        raise Invalid(errors={"note": [_l("At most %(n)d characters.", n=NOTE_MAX)]})
    if decision is ReductionState.REJECTED and not note:
        raise Invalid(errors={"note": [_l("Please say why the reduction is rejected.")]})
    course = lock_course(enrolment.course_id)
    db.session.refresh(enrolment)
    check = check_of(enrolment)
    if enrolment.reduction_reason is None or check is None:
        raise Conflict(_l("This booking claims no reduction."), code="no_reduction")
    db.session.refresh(check, with_for_update=db.engine.dialect.name == "postgresql")
    if check.state is not ReductionState.CLAIMED:
        raise Conflict(
            _l("This reduction has already been decided."), code="reduction_already_decided"
        )
    if not enrolment.active:
        raise Conflict(_l("This booking is no longer active."), code="not_active")
    check.state = decision
    check.note = note
    check.decided_by_id = actor.id
    check.decided_at = now
    outcome = None
    if decision is ReductionState.REJECTED:
        outcome = _reject(actor, enrolment, course)
    db.session.flush()
    audit(
        actor,
        f"reduction.{decision.value}",
        enrolment,
        reason=enrolment.reduction_reason.value,
        note=note,
        rest_cents=outcome.rest_cents if outcome else 0,
    )
    return check


def _reject(actor: User, enrolment: Enrolment, course: Course) -> RejectionOutcome:
    outcome = rejection_outcome(enrolment)
    payment = None
    if outcome.rest_cents > 0:
        if outcome.charged:
            enrolment.price_cents = course.fee_cents
            _charge, payment = add_charge(
                enrolment, outcome.rest_cents, ChargeKind.REDUCTION_REJECTED, actor
            )
        else:
            reprice_unpaid(enrolment, course.fee_cents)
    if enrolment.user.email:
        queue_mail(
            enrolment.user,
            "reduction_rejected",
            {
                "course": course,
                "enrolment": enrolment,
                "note": enrolment_check_note(enrolment),
                "rest_cents": outcome.rest_cents,
                "charged": outcome.charged,
                "payment": payment,
            },
        )
    return outcome


def enrolment_check_note(enrolment: Enrolment) -> str:
    """The note staff gave with their decision."""
    check = check_of(enrolment)
    return check.note if check is not None else ""


def carry_check(old: Enrolment, new: Enrolment) -> None:
    """A moved booking takes its reduction's check along as it stands (counted once)."""
    check = check_of(old)
    if check is not None:
        check.enrolment_id = new.id


def reduction_counts(term_id: int | None) -> list[tuple[ReductionReason, ReductionState, int]]:
    """Bookings that claimed a reduction, by reason and state (of one term, or all).

    Counts every booking that claimed one, cancelled ones included (the claim was made); a
    moved booking counts once, on the course it was moved to.
    """
    query = (
        sa.select(Enrolment.reduction_reason, ReductionCheck.state, sa.func.count(Enrolment.id))
        .join(ReductionCheck, ReductionCheck.enrolment_id == Enrolment.id)
        .where(Enrolment.reduction_reason.is_not(None))
        .group_by(Enrolment.reduction_reason, ReductionCheck.state)
        .order_by(Enrolment.reduction_reason, ReductionCheck.state)
    )
    if term_id is not None:
        query = query.join(Course, Course.id == Enrolment.course_id).where(
            Course.term_id == term_id
        )
    return [(reason, state, count) for reason, state, count in db.session.execute(query)]


def checks_for(enrolments: list[Enrolment]) -> dict[int, ReductionCheck]:
    """The reduction checks of many bookings at once (for participant lists), by enrolment id."""
    ids = [e.id for e in enrolments if e.reduction_reason is not None]
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(ReductionCheck).where(ReductionCheck.enrolment_id.in_(ids))
    ).scalars()
    return {check.enrolment_id: check for check in rows}
