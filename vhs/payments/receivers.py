"""How payments react to the domains' signals (refunds, closing open checkouts)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app

from vhs import signals
from vhs.db import db
from vhs.payments import services
from vhs.payments.models import Payment


@signals.enrolment_cancelled.connect
def _purpose_cancelled(
    _sender: Any, *, purpose_type: str, purpose_id: int, in_time: bool, **_kw: Any
) -> None:
    """A booking ended: open payments close; paid ones are refunded if cancelled in time."""
    services.settle_ended_purpose(
        purpose_type,
        purpose_id,
        refund=in_time,
        fee_cents=current_app.config["VHS"].cancellation_fee_cents,
        reason="cancelled in time",
    )


@signals.course_cancelled.connect
def _course_cancelled(_sender: Any, *, purposes: list[tuple[str, int]], **_kw: Any) -> None:
    """The VHS cancelled a course: everyone gets their money back in full, automatically."""
    for purpose_type, purpose_id in purposes:
        services.settle_ended_purpose(
            purpose_type, purpose_id, refund=True, fee_cents=0, reason="course cancelled"
        )


@signals.hold_expiring.connect
def _hold_expiring(_sender: Any, *, purpose_type: str, purpose_id: int, **_kw: Any) -> bool | None:
    """Keep a seat whose direct debit is still being processed."""
    return False if services.is_processing(purpose_type, purpose_id) else None


@signals.purpose_moved.connect
def _purpose_moved(
    _sender: Any, *, purpose_type: str, old_id: int, new_id: int, **_kw: Any
) -> None:
    """Payments follow a participant who was moved to another course."""
    db.session.execute(
        sa.update(Payment)
        .where(Payment.purpose_type == purpose_type, Payment.purpose_id == old_id)
        .values(purpose_id=new_id)
        .execution_options(synchronize_session="fetch")
    )
