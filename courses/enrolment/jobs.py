"""Background jobs of the courses domain."""

from __future__ import annotations

from courses.enrolment.services import expire_holds
from vhs.jobs import job


@job("expire_holds", every_seconds=60)
def expire_payment_holds() -> int:
    """Release seats whose payment hold ran out and promote the waiting list."""
    return expire_holds()
