"""Checking reductions (Ermäßigung): claimed at booking, verified or rejected by staff.

A rejected reduction makes the booking cost the full fee. What is still due simply changes
for a booking not yet paid; a paid (or free, confirmed) one owes the rest as a charge of its
own, paid the usual way with its invoice. The resident is told by mail either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from courses.access import lock_course, require_manager
from courses.enrolment.charges import (
    CHARGE_PURPOSE,
    PURPOSE,
    add_charge,
    is_settled_by_payment,
    reprice_unpaid,
)
from courses.enrolment.models import ChargeKind, EnrolmentCharge, ReductionCheck, ReductionState
from courses.labels import REDUCTION_LABELS
from courses.models import Course, Enrolment, ReductionReason
from vhs.accounts.models import User
from vhs.audit import audit
from vhs.db import db, utcnow
from vhs.errors import Conflict, Invalid
from vhs.mail import queue_mail
from vhs.payments import hooks
from vhs.payments.models import Payment

NOTE_MAX = 1000
DECISIONS = (ReductionState.VERIFIED, ReductionState.REJECTED)
STATE_LABELS = {
    ReductionState.CLAIMED: _l("claimed, not yet checked"),
    ReductionState.VERIFIED: _l("verified"),
    ReductionState.REJECTED: _l("rejected"),
}
CHARGE_LABELS = {
    ChargeKind.REDUCTION_REJECTED: _l("rest of the full fee (reduction rejected)"),
    ChargeKind.MOVED: _l("difference after a course change"),
}


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


def check_can_decide(enrolment: Enrolment, check: ReductionCheck | None) -> None:
    """Raise why the booking's reduction cannot be decided now (asked again under the lock)."""
    if enrolment.reduction_reason is None:
        raise Conflict(_l("This booking claims no reduction."), code="no_reduction")
    if check is not None and check.state is not ReductionState.CLAIMED:
        raise Conflict(
            _l("This reduction has already been decided."), code="reduction_already_decided"
        )
    if not enrolment.active:
        raise Conflict(_l("This booking is no longer active."), code="not_active")


def validate_decision(decision: ReductionState, note: str) -> str:
    """The note, trimmed, if the decision can be taken with it; else the field errors."""
    note = (note or "").strip()
    if decision not in DECISIONS:
        raise Invalid(errors={"decision": [_l("Choose verified or rejected.")]})
    if len(note) > NOTE_MAX:
        raise Invalid(errors={"note": [_l("At most %(n)d characters.", n=NOTE_MAX)]})
    if decision is ReductionState.REJECTED and not note:
        raise Invalid(errors={"note": [_l("Please say why the reduction is rejected.")]})
    return note


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
    note = validate_decision(decision, note)
    course = lock_course(enrolment.course_id)
    db.session.refresh(enrolment)
    # The course lock serialises decisions on its bookings; read the check under it.
    check = check_of(enrolment)
    if check is not None:
        db.session.refresh(check)
    check_can_decide(enrolment, check)
    if check is None:  # a claim written before checks existed, or not through ``enrol``
        check = ReductionCheck(
            enrolment_id=enrolment.id,
            state=ReductionState.CLAIMED,
            note="",
            created_at=enrolment.created_at,
        )
        db.session.add(check)
    check.state = decision
    check.note = note
    check.decided_by_id = actor.id
    check.decided_at = now
    outcome = None
    if decision is ReductionState.REJECTED:
        outcome = _reject(actor, enrolment, course, note)
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


def _reject(actor: User, enrolment: Enrolment, course: Course, note: str) -> RejectionOutcome:
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
                "note": note,
                "rest_cents": outcome.rest_cents,
                "charged": outcome.charged,
                "payment": payment,
            },
        )
    return outcome


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


@hooks.purpose_notes.connect
def _desk_notes(_sender: Any, *, payments: list[Payment], **_kw: Any) -> dict[int, list[str]]:
    """The payments desk shows a booking's reduction and its check, and what a charge is for."""
    by_enrolment = {p.purpose_id: p.id for p in payments if p.purpose_type == PURPOSE}
    by_charge = {p.purpose_id: p.id for p in payments if p.purpose_type == CHARGE_PURPOSE}
    notes: dict[int, list[str]] = {}
    if by_enrolment:
        rows = db.session.execute(
            sa.select(Enrolment.id, Enrolment.reduction_reason, ReductionCheck.state)
            .outerjoin(ReductionCheck, ReductionCheck.enrolment_id == Enrolment.id)
            .where(Enrolment.id.in_(by_enrolment), Enrolment.reduction_reason.is_not(None))
        )
        for enrolment_id, reason, state in rows:
            notes[by_enrolment[enrolment_id]] = [
                str(
                    _l(
                        "Reduction: %(reason)s – %(state)s",
                        reason=REDUCTION_LABELS[reason],
                        state=STATE_LABELS[state or ReductionState.CLAIMED],
                    )
                )
            ]
    if by_charge:
        for charge in db.session.execute(
            sa.select(EnrolmentCharge).where(EnrolmentCharge.id.in_(by_charge))
        ).scalars():
            notes[by_charge[charge.id]] = [
                str(
                    _l(
                        "Additional charge: %(kind)s (booking %(id)d)",
                        kind=CHARGE_LABELS[charge.kind],
                        id=charge.enrolment_id,
                    )
                )
            ]
    return notes
