"""How payments react to what became of their purposes (refunds, closing open checkouts)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from vhs import signals
from vhs.db import db
from vhs.payments import services
from vhs.payments.models import Payment


@signals.purpose_cancelled.connect
def _purpose_cancelled(
    _sender: Any,
    *,
    purpose_type: str,
    purpose_id: int,
    refund: bool,
    fee_cents: int,
    reason: str,
    **_kw: Any,
) -> None:
    """A purpose ended: open payments close; paid ones are refunded on the owner's terms."""
    services.settle_ended_purpose(
        purpose_type, purpose_id, refund=refund, fee_cents=fee_cents, reason=reason
    )


@signals.purpose_expiring.connect
def _purpose_expiring(
    _sender: Any, *, purpose_type: str, purpose_id: int, **_kw: Any
) -> bool | None:
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
