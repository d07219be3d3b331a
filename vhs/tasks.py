"""Queueing a registered job for the Celery workers, from a request or a job, without an app.

Only deployments that configure ``VHS_CELERY_BROKER_URL`` queue anything; the workers and beat
themselves are built by ``vhs.celery_app`` (the worker's entry point, above everything else).
"""

from __future__ import annotations

import functools

from celery import Celery
from flask import current_app

# The one task the workers run: ``run_job(name)`` (vhs.jobs), as cron's ``flask jobs run-due``.
RUN_JOB = "vhs.run_job"


@functools.lru_cache(maxsize=4)
def _client(broker_url: str) -> Celery:
    """A Celery client for sending only (one per broker URL and process)."""
    return Celery("vhs", broker=broker_url, set_as_current=False)


def queue_job(name: str) -> None:
    """Ask a worker to run the registered job ``name`` now (raises when the broker is down)."""
    _client(current_app.config["VHS"].celery_broker_url).send_task(RUN_JOB, args=(name,))
