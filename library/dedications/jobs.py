"""Background job of dedications: copies whose course ended go to patrons waiting."""

from __future__ import annotations

from library.dedications.services import hand_back, items_with_idle_copies
from library.licences.services import lock_item
from vhs.db import utcnow
from vhs.jobs import job


@job("library_release_dedications", every_seconds=60)
def release_dedications() -> int:
    """Hand copies that became general (a dedication ended) to waiting holds, item by item."""
    now = utcnow()
    return sum(hand_back(lock_item(i), now) for i in items_with_idle_copies(now))
