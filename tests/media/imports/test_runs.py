"""Import runs: runners claim a run with a compare-and-set (two claims, one wins), a run left
"running" by a dead process is taken again and resumed after its last committed batch, a run
whose starter may no longer import fails, the stored upload goes once the run is over."""

from __future__ import annotations

import io
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask

from media.files.storage import get_storage
from media.imports import runs
from media.imports.formats import read
from media.imports.importer import Importer
from media.imports.models import ImportRun, ImportState
from media.models import MediaItem
from tests.media.imports import samples as s
from tests.media.imports.conftest import finished
from vhs.accounts.models import Role, User
from vhs.db import db, utcnow
from vhs.jobs import registered_jobs, run_job
from vhs.uow import unit_of_work


def queue(app: Flask, user: User, data: bytes) -> int:
    with app.app_context(), unit_of_work():
        run = runs.queue_run(db.session.get(User, user.id), io.BytesIO(data), "a.mrc", locale="en")
        return run.id


def test_two_claims_one_wins(app: Flask, staff) -> None:
    run_id = queue(app, staff, s.marc_bytes(s.marc_record()))
    with app.app_context(), unit_of_work():
        first = runs.claim_next()
    with app.app_context(), unit_of_work():
        second = runs.claim_next()
    assert (first, second) == (run_id, None)
    with app.app_context():
        assert db.session.get(ImportRun, run_id).state is ImportState.RUNNING


def test_the_compare_and_set_refuses_a_run_taken_in_between(app: Flask, staff) -> None:
    """A runner that read the run as queued, but lost the race, updates nothing."""
    run_id = queue(app, staff, s.marc_bytes(s.marc_record()))
    with app.app_context(), unit_of_work():
        taken = db.session.execute(
            sa.update(ImportRun)
            .where(ImportRun.id == run_id, runs._claimable(utcnow() - runs.STALE_AFTER))
            .values(state=ImportState.RUNNING, heartbeat_at=utcnow())
        )
        assert taken.rowcount == 1
        again = db.session.execute(
            sa.update(ImportRun)
            .where(ImportRun.id == run_id, runs._claimable(utcnow() - runs.STALE_AFTER))
            .values(state=ImportState.RUNNING, heartbeat_at=utcnow())
        )
        assert again.rowcount == 0


def test_an_abandoned_run_is_resumed_after_its_last_batch(app: Flask, staff, count_items) -> None:
    records = [s.marc_record(f"Band {n}", isbn=s.isbn13(n), control=f"c{n}") for n in range(250)]
    run_id = queue(app, staff, s.marc_bytes(*records))
    # A runner committed the first batch (200 records) and died.
    with app.app_context(), unit_of_work():
        run = db.session.get(ImportRun, run_id)
        run.state = ImportState.RUNNING
        run.heartbeat_at = utcnow() - timedelta(minutes=5)
        user = db.session.get(User, staff.id)
        importer = Importer(user)
        entries = list(read(run.format, io.BytesIO(s.marc_bytes(*records[:200]))))
        runs.record_batch(run, importer.run_batch(entries))
        run.heartbeat_at = utcnow() - timedelta(minutes=5)
    with app.app_context(), unit_of_work():
        assert runs.claim_next() is None  # five minutes without a heartbeat: still alive
        db.session.get(ImportRun, run_id).heartbeat_at = utcnow() - timedelta(minutes=11)
    with app.app_context(), unit_of_work():
        assert runs.process_waiting() == 1
    with app.app_context():
        out = finished(run_id)
    assert out.run.state is ImportState.DONE
    assert out.counts["created"] == 250 and out.counts["unchanged"] == 0
    assert out.run.position == 250 and count_items() == 250


def test_a_cli_run_left_running_is_not_resumed_by_the_job(app: Flask, staff) -> None:
    """A console run reads a file on its own machine: no runner can take it over."""
    with app.app_context(), unit_of_work():
        run = ImportRun(
            format="marc", state=ImportState.RUNNING, heartbeat_at=utcnow() - timedelta(hours=1)
        )
        db.session.add(run)
    with app.app_context(), unit_of_work():
        assert runs.claim_next() is None


def test_a_run_whose_starter_is_no_longer_staff_fails(app: Flask, make_user, count_items) -> None:
    starter = make_user("staff")
    run_id = queue(app, starter, s.marc_bytes(s.marc_record()))
    with app.app_context(), unit_of_work():
        db.session.get(User, starter.id).role = Role.RESIDENT
    with app.app_context(), unit_of_work():
        runs.process_waiting()
    with app.app_context():
        out = finished(run_id)
    assert out.run.state is ImportState.FAILED
    assert "may no longer import" in out.run.error
    assert count_items() == 0


def test_the_job_is_registered_and_runs_waiting_imports(app: Flask, staff, count_items) -> None:
    assert "media_imports" in registered_jobs()
    run_id = queue(app, staff, s.marc_bytes(s.marc_record()))
    with app.app_context():
        assert run_job("media_imports") == 1
        assert run_job("media_imports") == 0
        assert db.session.get(ImportRun, run_id).state is ImportState.DONE
    assert count_items() == 1


def test_the_upload_is_deleted_when_the_run_is_over(app: Flask, staff) -> None:
    run_id = queue(app, staff, s.marc_bytes(s.marc_record()))
    with app.app_context():
        key = db.session.get(ImportRun, run_id).source_key
        assert key.startswith("imports/") and get_storage().exists(key)
    with app.app_context(), unit_of_work():
        runs.process_waiting()
    with app.app_context():
        assert not get_storage().exists(key)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(MediaItem)) == 1
