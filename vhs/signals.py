"""Signals between the core and the domains (blinker), so the core never imports a domain.

Payments fire ``payment_succeeded`` / ``payment_failed`` / ``refund_completed``; courses react.
Courses fire ``course_cancelled`` / ``enrolment_cancelled``; payments react (refunds).
Receivers run inside the sender's transaction unless they say otherwise.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

payment_succeeded = _signals.signal("payment-succeeded")
payment_failed = _signals.signal("payment-failed")
payment_expired = _signals.signal("payment-expired")
refund_completed = _signals.signal("refund-completed")
course_cancelled = _signals.signal("course-cancelled")
enrolment_cancelled = _signals.signal("enrolment-cancelled")
enrolment_confirmed = _signals.signal("enrolment-confirmed")
# Sent before an unpaid seat hold lapses; a receiver returning False keeps the seat
# (money is on its way, e.g. a SEPA direct debit being processed).
hold_expiring = _signals.signal("hold-expiring")
# A purpose moved (a participant moved to another course): payments follow it.
purpose_moved = _signals.signal("purpose-moved")
