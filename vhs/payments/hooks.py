"""What payments ask the domains beyond the signals in ``vhs.signals``.

A receiver of ``payment_succeeded`` that returns ``False`` refuses the money ("no seat
available"); returning a ``Decline`` refuses it with a reason of its own (the money goes back in
full with that reason on the refund and its credit note).

``purpose_notes`` is sent with a list of payments; a domain that owns some of their purposes
answers ``{payment_id: [note, ...]}`` (e.g. a booking's claimed reduction and its check), so
the desk shows what matters for the money without knowing the domain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from blinker import Namespace

from vhs.payments.models import Payment

_signals = Namespace()

purpose_notes = _signals.signal("payment-purpose-notes")


@dataclass(frozen=True)
class Decline:
    """A purpose's owner refuses money that arrived: it goes back in full, for ``reason``."""

    reason: str


def notes_for(payments: Sequence[Payment]) -> dict[int, list[str]]:
    """Every domain's notes on these payments' purposes, by payment id."""
    notes: dict[int, list[str]] = {}
    if not payments:
        return notes
    for _receiver, answer in purpose_notes.send(None, payments=list(payments)):
        for payment_id, lines in (answer or {}).items():
            notes.setdefault(payment_id, []).extend(lines)
    return notes
