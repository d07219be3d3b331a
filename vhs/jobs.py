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
    with write_intent(True):
        if db.session.get(JobRun, j.name) is None:
            db.session.add(JobRun(name=j.name))
            try:
                db.session.commit()
            except sa.exc.IntegrityError:
                db.session.rollback()
        cond = JobRun.name == j.name
        if not force:
            cond = cond & (
                (JobRun.last_started_at.is_(None)) | (JobRun.last_started_at <= now - j.every)
            )
        result = db.session.execute(sa.update(JobRun).where(cond).values(last_started_at=now))
        db.session.commit()
        return result.rowcount == 1


def run_job(name: str) -> Any:
    """Run one job now, recording its outcome."""
    j = _registry[name]
    try:
        outcome = j.func()
        text = repr(outcome)
    except Exception as exc:
        db.session.rollback()
        log.exception("job %s failed", name)
        text = f"error: {type(exc).__name__}: {exc}"
        outcome = None
    with write_intent(True):
        db.session.execute(
            sa.update(JobRun)
            .where(JobRun.name == name)
            .values(last_finished_at=utcnow(), last_outcome=text[:2000])
        )
        db.session.commit()
    return outcome


def run_due(now: datetime | None = None, *, force: bool = False) -> dict[str, Any]:
    """Run every job that is due, each at most once; returns outcomes by job name."""
    now = now or utcnow()
    results: dict[str, Any] = {}
    for name in sorted(_registry):
        if _claim(_registry[name], now, force):
            results[name] = run_job(name)
    return results
