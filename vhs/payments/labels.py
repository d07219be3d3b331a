"""Words for payment documents: credit-note kinds and the reasons the platform writes itself."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from vhs.payments.models import CreditNoteKind

CREDIT_NOTE_KIND_LABELS = {
    CreditNoteKind.REFUND: _l("Credit note"),
    CreditNoteKind.CANCELLATION: _l("Cancellation invoice"),
}

# Reasons the code records in English (refunds and cancellations it makes on its own); what
# staff type in is shown as typed.
REASON_LABELS: dict[str, Any] = {
    "paid twice": _l("paid twice"),
    "no seat available": _l("no seat available"),
    "cancelled in time": _l("booking cancelled in time"),
    "course cancelled": _l("course cancelled"),
    "refunded at Stripe": _l("refunded at Stripe"),
    "payment closed": _l("payment closed unpaid"),
    "payment failed": _l("payment failed"),
    "payment expired": _l("payment period expired"),
    "moved to a cheaper course": _l("moved to a cheaper course"),
    "price changed": _l("the amount due had changed"),
}


def reason_label(reason: str) -> str:
    """A recorded reason in the reader's language where the platform wrote it."""
    label = REASON_LABELS.get(reason)
    return str(label) if label is not None else reason
