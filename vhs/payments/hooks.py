"""What the payments desk asks the domains about the purposes it shows.

``purpose_notes`` is sent with a list of payments; a domain that owns some of their purposes
answers ``{payment_id: [note, ...]}`` (e.g. a booking's claimed reduction and its check), so
the desk shows what matters for the money without knowing the domain.
"""

from __future__ import annotations

from collections.abc import Sequence

from blinker import Namespace

from vhs.payments.models import Payment

_signals = Namespace()

purpose_notes = _signals.signal("payment-purpose-notes")


def notes_for(payments: Sequence[Payment]) -> dict[int, list[str]]:
    """Every domain's notes on these payments' purposes, by payment id."""
    notes: dict[int, list[str]] = {}
    if not payments:
        return notes
    for _receiver, answer in purpose_notes.send(None, payments=list(payments)):
        for payment_id, lines in (answer or {}).items():
            notes.setdefault(payment_id, []).extend(lines)
    return notes
