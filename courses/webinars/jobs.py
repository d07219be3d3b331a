"""Background jobs of the webinars: estimated head counts from Prosody's ``mod_muc_size``."""

from __future__ import annotations

from courses.webinars.live import record_headcounts
from vhs.jobs import job


@job("jitsi_headcounts", every_seconds=120)
def record_room_headcounts() -> int:
    """Every two minutes, an estimated head count of each running online session's room."""
    return record_headcounts()
