"""Background jobs of holds: end ready holds whose pick-up window passed."""

from __future__ import annotations

from library.holds.services import expire_all_ready_holds
from vhs.jobs import job


@job("library_expire_holds", every_seconds=60)
def expire_holds() -> int:
    """End ready holds past their window (mailed); their copies go to the next in line."""
    return expire_all_ready_holds()
