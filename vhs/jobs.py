"""The job registry: idempotent functions run by ``flask jobs run-due`` (cron) or Celery beat."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from vhs.db import db, utcnow, write_intent
from vhs.uow import unit_of_work

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """A registered job: a function safe to run again at any time, and how often it is due."""

    name: str
    func: Callable[[], Any]
    every: timedelta


_registry: dict[str, Job] = {}


def job(name: str, *, every_seconds: int) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Register a job function under ``name``, due every ``every_seconds``."""

    def decorator(func: Callable[[], Any]) -> Callable[[], Any]:
        _registry[name] = Job(name, func, timedelta(seconds=every_seconds))
        return func

    return decorator


def registered_jobs() -> dict[str, Job]:
    """All known jobs by name."""
    return dict(_registry)


class JobRun(db.Model):
    """When each job last ran; the claim is a compare-and-set so two runners never overlap."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    last_started_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
    last_outcome: Mapped[str] = mapped_column(sa.Text, default="")


def _claim(j: Job, now: datetime, force: bool) -> bool:
    """Mark ``j`` as started unless another runner did so within its interval.

    The claim is a unit of work of its own, committed before the job starts: another runner
    must see it at once, and a job that fails and rolls back must not undo it.
    """
    with write_intent(True):
        try:
            with unit_of_work():
                if db.session.get(JobRun, j.name) is None:
                    db.session.add(JobRun(name=j.name))
        except sa.exc.IntegrityError:
            pass  # another runner created the row first; the compare-and-set below decides
        cond = JobRun.name == j.name
        if not force:
            cond = cond & (
                (JobRun.last_started_at.is_(None)) | (JobRun.last_started_at <= now - j.every)
            )
        with unit_of_work():
            result = db.session.execute(sa.update(JobRun).where(cond).values(last_started_at=now))
        return result.rowcount == 1


def run_job(name: str) -> Any:
    """Run one job now as one unit of work, then record its outcome.

    The job's writes commit once at its end and its after-commit work runs after; if it
    raises, everything it wrote is rolled back, its after-commit work dropped, and the
    failure recorded.
    """
    j = _registry[name]
    try:
        with unit_of_work():
            outcome = j.func()
        text = repr(outcome)
    except Exception as exc:
        log.exception("job %s failed", name)
        text = f"error: {type(exc).__name__}: {exc}"
        outcome = None
    # The outcome is bookkeeping, not the job's work: its own unit, after the job's has ended.
    with write_intent(True), unit_of_work():
        db.session.execute(
            sa.update(JobRun)
            .where(JobRun.name == name)
            .values(last_finished_at=utcnow(), last_outcome=text[:2000])
        )
    return outcome


def run_due(now: datetime | None = None, *, force: bool = False) -> dict[str, Any]:
    """Run every job that is due, each at most once; returns outcomes by job name."""
    now = now or utcnow()
    results: dict[str, Any] = {}
    for name in sorted(_registry):
        if _claim(_registry[name], now, force):
            results[name] = run_job(name)
    return results
