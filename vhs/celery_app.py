"""Celery for deployments at scale: the same registered jobs on a beat schedule.

Start with ``celery -A vhs.celery_app worker -B`` when ``VHS_CELERY_BROKER_URL`` is set.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, Task

from vhs.app import create_app
from vhs.config import Settings
from vhs.jobs import registered_jobs, run_job
from vhs.tasks import RUN_JOB


def make_celery(flask_app: Any = None) -> Celery:
    """Build the Celery app; tasks run inside a Flask app context."""
    settings = Settings.from_env()
    if flask_app is None:
        flask_app = create_app()

    class FlaskTask(Task):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            """Run the task in an app context of its own (the job opens its unit of work)."""
            with flask_app.app_context():
                return self.run(*args, **kwargs)

    broker = settings.celery_broker_url or "memory://"
    celery = Celery("vhs", broker=broker, task_cls=FlaskTask)
    celery.conf.update(
        task_ignore_result=True, timezone="UTC", broker_connection_retry_on_startup=True
    )

    @celery.task(name=RUN_JOB)
    def run_job_task(name: str) -> None:
        """Run one registered job: ``run_job`` makes it one unit of work, as cron does."""
        run_job(name)

    celery.conf.beat_schedule = {
        name: {"task": RUN_JOB, "schedule": job.every.total_seconds(), "args": (name,)}
        for name, job in registered_jobs().items()
    }
    return celery


def __getattr__(name: str) -> Any:
    # ``celery -A vhs.celery_app`` looks up ``app``/``celery``; build it only then.
    if name in ("app", "celery"):
        return make_celery()
    raise AttributeError(name)
