"""The job registry: due jobs run once per interval; force runs them anyway."""

from __future__ import annotations

from datetime import timedelta

import pytest

from vhs import jobs
from vhs.db import db, utcnow


@pytest.fixture
def counter_job(monkeypatch):
    """A registered job, due hourly, that counts its runs."""
    calls = []

    def count():
        calls.append(1)
        return len(calls)

    monkeypatch.setitem(
        jobs._registry, "test_counter", jobs.Job("test_counter", count, timedelta(hours=1))
    )
    return calls


@pytest.fixture
def failing_job(monkeypatch):
    def fail():
        raise RuntimeError("kaputt")

    monkeypatch.setitem(
        jobs._registry, "test_failing", jobs.Job("test_failing", fail, timedelta(hours=1))
    )


def test_due_job_runs_once_and_not_again_until_due(app, counter_job):
    now = utcnow()
    with app.app_context():
        first = jobs.run_due(now=now)
        assert first["test_counter"] == 1
        assert "deliver_mail" in first  # every registered job ran the first time
        second = jobs.run_due(now=now)
        assert "test_counter" not in second
        assert "test_counter" not in jobs.run_due(now=now + timedelta(minutes=59))
        assert len(counter_job) == 1
        later = jobs.run_due(now=now + timedelta(hours=1, seconds=1))
        assert later["test_counter"] == 2
        run = db.session.get(jobs.JobRun, "test_counter")
        assert run.last_finished_at is not None
        assert run.last_outcome == "2"


def test_force_runs_a_job_that_is_not_due(app, counter_job):
    now = utcnow()
    with app.app_context():
        jobs.run_due(now=now)
        assert "test_counter" not in jobs.run_due(now=now)
        assert jobs.run_due(now=now, force=True)["test_counter"] == 2
    assert len(counter_job) == 2


def test_a_failing_job_is_recorded_and_does_not_stop_the_others(app, counter_job, failing_job):
    with app.app_context():
        results = jobs.run_due()
        assert results["test_failing"] is None
        assert results["test_counter"] == 1
        run = db.session.get(jobs.JobRun, "test_failing")
        assert run.last_outcome.startswith("error: RuntimeError: kaputt")


def test_delivery_job_is_registered():
    registered = jobs.registered_jobs()
    assert "deliver_mail" in registered
    assert registered["deliver_mail"].every == timedelta(seconds=60)
