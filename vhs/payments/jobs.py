"""Payment jobs: send requested refunds to Stripe (retrying when it was down)."""

from __future__ import annotations

from vhs.jobs import job
from vhs.payments.services import process_requested_refunds, stripe_enabled


@job("process_refunds", every_seconds=60)
def process_refunds() -> int:
    """Send refunds that are still only requested."""
    if not stripe_enabled():
        return 0
    return process_requested_refunds()
