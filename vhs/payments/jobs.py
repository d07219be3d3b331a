"""Payment jobs: send requested refunds to Stripe (retrying when it was down)."""

from __future__ import annotations

from vhs.jobs import job
from vhs.payments.models import Provider
from vhs.payments.providers.base import is_offered
from vhs.payments.providers.stripe import process_requested_refunds


@job("process_refunds", every_seconds=60)
def process_refunds() -> int:
    """Send Stripe refunds that are still only requested."""
    if not is_offered(Provider.STRIPE):
        return 0
    return process_requested_refunds()
