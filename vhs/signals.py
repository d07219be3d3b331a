"""Signals of the core (blinker), named for what the core knows: payments and their purposes.

The core never imports a domain. Payments fire ``payment_succeeded`` / ``payment_failed`` /
``payment_expired`` / ``refund_completed`` about a *purpose* (``purpose_type``, ``purpose_id``:
an enrolment, a library card fee, ...); the domain that owns the purpose reacts. Domains tell
payments what became of a purpose with ``purpose_cancelled``, ``purpose_expiring`` and
``purpose_moved``. Domain events (a course was cancelled) are the domain's own signals.
Receivers run inside the sender's unit of work unless they say otherwise.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

payment_succeeded = _signals.signal("payment-succeeded")
payment_failed = _signals.signal("payment-failed")
payment_expired = _signals.signal("payment-expired")
refund_completed = _signals.signal("refund-completed")

# A purpose ended: open payments close; paid ones are refunded (less ``fee_cents``) when
# ``refund`` is true. Keywords: purpose_type, purpose_id, refund, fee_cents, reason.
purpose_cancelled = _signals.signal("purpose-cancelled")
# Sent before an unpaid hold on a purpose lapses; a receiver returning False keeps it
# (money is on its way, e.g. a SEPA direct debit being processed).
purpose_expiring = _signals.signal("purpose-expiring")
# A purpose was replaced by another (a participant moved to another course): payments follow.
purpose_moved = _signals.signal("purpose-moved")
