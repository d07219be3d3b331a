"""Events of the courses domain (blinker), for its own parts and for tests to observe.

Payments never hear these: ``courses.enrolment.payments`` turns them into the core's
``purpose_cancelled``, with the courses' own refund terms.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# A booking ended. Keywords: actor, previous (status), in_time (refund due).
enrolment_cancelled = _signals.signal("enrolment-cancelled")
# A booking holds a confirmed seat now.
enrolment_confirmed = _signals.signal("enrolment-confirmed")
# The VHS called off a whole course. Keywords: enrolments (ended bookings), actor.
course_cancelled = _signals.signal("course-cancelled")
