"""Background jobs of the distributors: sync feeds, send owed returns, reconcile."""

from __future__ import annotations

from flask import current_app

from library.distributors.convergence import Reconciled, reconcile, retry_returns
from library.distributors.sync import due_distributors, sync_distributor
from vhs.db import db, utcnow
from vhs.jobs import job


@job("library_odl_sync", every_seconds=60)
def sync_feeds() -> int:
    """Sync each distributor that asked for it ("sync now") or whose last sync is older than
    ``VHS_LIBRARY_ODL_SYNC_MINUTES``; each in a savepoint, so one failing cannot undo another."""
    now = utcnow()
    synced = 0
    for distributor_id in due_distributors(now, current_app.config["VHS"].library_odl_sync_minutes):
        with db.session.begin_nested():
            synced += sync_distributor(distributor_id, now) is not None
    return synced


@job("library_odl_returns", every_seconds=60)
def send_returns() -> int:
    """Send the returns distributors have not confirmed yet, each when its backoff is over."""
    return retry_returns()


@job("library_odl_reconcile", every_seconds=15 * 60)
def reconcile_loans() -> Reconciled:
    """Converge open ODL loans and ODL licences with the distributors' documents."""
    return reconcile()
