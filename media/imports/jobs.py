"""The import runner as a registered job: cron's ``flask jobs run-due``, Celery, or a thread."""

from __future__ import annotations

from media.imports.runs import JOB, process_waiting
from vhs.jobs import job


@job(JOB, every_seconds=60)
def run_imports() -> int:
    """Process every queued import run (and resume abandoned ones); how many were run."""
    return process_waiting()
