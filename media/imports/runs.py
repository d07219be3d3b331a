"""Import runs: upload and queue, claim, process in committed batches, resume, report.

Staff upload a file of records (and optionally a ZIP of media files); :func:`queue_run` stores
them in media storage (``imports/<sha256>``), records a queued :class:`ImportRun` and, after
the commit, starts it: through Celery when ``VHS_CELERY_BROKER_URL`` is set, else in a thread
of the web process (``VHS_MEDIA_IMPORT_IN_THREAD``), and ``flask jobs run-due`` picks up
whatever is still waiting. Runners take a run with a compare-and-set on its state, so two
never process the same run; a run still "running" without a heartbeat for ``STALE_AFTER`` was
left by a process that died, and is taken again and resumed after its last committed batch
(safe, since records are matched on their numbers).

Deliberate commits: a claim is committed at once (other runners must see it), and so is each
batch of ``BATCH_SIZE`` records together with the run's counts and position, so a file of
10,000 records is never one long transaction, the page shows progress, and a crash loses at
most one batch. One audit entry records each run's end, besides the catalogue's own entries.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import timedelta
from pathlib import Path
from typing import IO

import sqlalchemy as sa
from flask import Flask, current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from media.catalogue.services import require_staff
from media.files.storage import CHUNK, get_storage, import_key
from media.imports import files as import_files
from media.imports.formats import SNIFF_BYTES, Unreadable, count, read, refused_format, sniff
from media.imports.importer import BatchResult, Counts, Importer, batches, skip_to
from media.imports.models import (
    ImportFormat,
    ImportRejection,
    ImportRun,
    ImportState,
    RejectionKind,
)
from media.imports.records import Rejection
from media.ingest.proposal import FileTooLarge
from vhs.accounts.models import Role, User
from vhs.audit import audit
from vhs.db import db, utcnow
from vhs.errors import Invalid, NotFound
from vhs.jobs import run_job
from vhs.tasks import queue_job
from vhs.uow import current_unit

log = logging.getLogger(__name__)

JOB = "media_imports"
STALE_AFTER = timedelta(minutes=10)


def system_actor() -> User:
    """Who acts when an operator imports at the console without ``--as``: the system.

    A stand-in staff account that is never stored: the catalogue's checks let it act, and
    the audit entries it writes name no account (``actor_id`` NULL), as those of
    ``flask users create`` do.
    """
    return User(name="System", email="", role=Role.ADMIN)


def records_limit() -> int:
    """The largest file of records staff may upload, in bytes."""
    return int(current_app.config["VHS"].media_import_max_mb) * 1024 * 1024


def files_limit() -> int:
    """The largest ZIP of media files staff may upload with it, in bytes."""
    return int(current_app.config["VHS"].media_import_files_max_mb) * 1024 * 1024


def body_limit() -> int:
    """The largest request an import upload may come in (both files, and the form around)."""
    return records_limit() + files_limit() + 1024 * 1024


# --- upload and queue --------------------------------------------------------------------------


@contextmanager
def _spooled(stream: IO[bytes], limit: int, field: str) -> Iterator[tuple[Path, str]]:
    """The upload in a temporary file, with its SHA-256; ``FileTooLarge`` past ``limit``."""
    fd, name = tempfile.mkstemp(prefix="vhs-import-")
    path = Path(name)
    try:
        digest, size = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    message = _l(
                        "The file is larger than %(limit)s MB, the most we accept.",
                        limit=limit // (1024 * 1024),
                    )
                    raise FileTooLarge(message, errors={field: [message]})
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise Invalid(errors={field: [_l("The file is empty.")]})
        yield path, digest.hexdigest()
    finally:
        path.unlink(missing_ok=True)


def _store(path: Path, sha256: str, content_type: str) -> str:
    storage, key = get_storage(), import_key(sha256)
    if not storage.exists(key):
        with path.open("rb") as data:
            storage.put(key, data, content_type=content_type)
    return key


def queue_run(
    actor: User,
    records: IO[bytes],
    filename: str,
    *,
    files: IO[bytes] | None = None,
    files_name: str = "",
    publish: bool = False,
    locale: str = "de",
) -> ImportRun:
    """Store an uploaded file of records (and a ZIP of files) and queue its import.

    Refused before anything is stored: a file in none of the formats (``Invalid`` on
    ``file``), a ZIP that is no ZIP (on ``files``), either over its size limit (413).
    """
    require_staff(actor)
    with _spooled(records, records_limit(), "file") as (path, sha256):
        with path.open("rb") as f:
            fmt = sniff(f.read(SNIFF_BYTES))
        if fmt is None:
            message = refused_format()
            raise Invalid(message, code="import_format_unknown", errors={"file": [message]})
        source_key = _store(path, sha256, "application/octet-stream")
    files_key = ""
    if files is not None:
        with _spooled(files, files_limit(), "files") as (path, sha256):
            with path.open("rb") as f:
                if not import_files.is_zip(f):
                    message = _l("The files must come as one ZIP archive.")
                    raise Invalid(message, code="import_files_not_zip", errors={"files": [message]})
            files_key = _store(path, sha256, "application/zip")
    run = ImportRun(
        state=ImportState.QUEUED,
        format=fmt,
        filename=(filename or "")[:255],
        source_key=source_key,
        files_key=files_key,
        files_name=(files_name or "")[:255],
        publish=publish,
        locale=locale,
        actor_id=actor.id,
    )
    db.session.add(run)
    db.session.flush()
    current_unit().on_commit(lambda: start_processing(run.id))
    return run


def start_processing(run_id: int) -> None:
    """Start a committed run now: Celery when configured, else a thread of this process."""
    settings = current_app.config["VHS"]
    if settings.celery_broker_url:
        queue_job(JOB)
    elif settings.media_import_in_thread:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        threading.Thread(
            target=_in_thread, args=(app,), name=f"media-import-{run_id}", daemon=True
        ).start()


def _in_thread(app: Flask) -> None:
    """Run the import job in its own app context (its own session and unit of work)."""
    with app.app_context():
        run_job(JOB)


# --- claiming ----------------------------------------------------------------------------------


def _claimable(now_stale: object) -> sa.ColumnElement[bool]:
    return sa.or_(
        ImportRun.state == ImportState.QUEUED,
        sa.and_(
            ImportRun.state == ImportState.RUNNING,
            ImportRun.source_key != "",
            sa.or_(ImportRun.heartbeat_at.is_(None), ImportRun.heartbeat_at < now_stale),
        ),
    )


def claim_next() -> int | None:
    """Take the oldest queued (or abandoned) run with a compare-and-set; its id, or None.

    The claim is committed at once, so another runner sees it; of two runners racing for one
    run, exactly one updates the row.
    """
    now = utcnow()
    stale = now - STALE_AFTER
    candidates = db.session.execute(
        sa.select(ImportRun.id).where(_claimable(stale)).order_by(ImportRun.id).limit(10)
    ).scalars()
    for run_id in list(candidates):
        taken = db.session.execute(
            sa.update(ImportRun)
            .where(ImportRun.id == run_id, _claimable(stale))
            .values(state=ImportState.RUNNING, heartbeat_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        if taken.rowcount == 1:
            return run_id
    return None


def process_waiting() -> int:
    """Claim and process runs until none is waiting; how many were processed."""
    done = 0
    while (run_id := claim_next()) is not None:
        run = db.session.get(ImportRun, run_id)
        assert run is not None
        process(run)
        done += 1
    return done


# --- processing --------------------------------------------------------------------------------


def _actor_of(run: ImportRun) -> User | None:
    """Who the run acts as: its starter while still staff, the system for a console run."""
    if run.actor_id is None:
        # An upload whose starter's account was deleted since has no one to act for it.
        return None if run.source_key else system_actor()
    actor = db.session.get(User, run.actor_id)
    return actor if actor is not None and actor.is_staff else None


Progress = Callable[[ImportRun], None]


def process(
    run: ImportRun,
    source: Path | None = None,
    files_source: Path | None = None,
    progress: Progress | None = None,
) -> None:
    """Import a claimed run to its end; the source is the stored upload unless given (CLI).

    Batches commit as they go; the run ends ``done`` (rejections or not) or ``failed`` with a
    reason, and one audit entry records the end.
    """
    actor = _actor_of(run)
    with force_locale(run.locale):
        if actor is None:
            _end(run, None, error=_("The account that started this import may no longer import."))
            return
        run.started_at = run.started_at or utcnow()
        try:
            storage = get_storage()
            opener: Callable[[], AbstractContextManager[Path]]
            if source is not None:
                opener = lambda: nullcontext(source)  # noqa: E731
            elif run.source_key:
                opener = lambda: storage.local_copy(run.source_key)  # noqa: E731
            else:
                _end(run, actor, error=_("The import was interrupted; please run it again."))
                return
            with opener() as path:
                _records(run, actor, path, progress)
            if files_source is not None or run.files_key:
                files_opener = (
                    (lambda: nullcontext(files_source))
                    if files_source is not None
                    else (lambda: storage.local_copy(run.files_key))
                )
                with files_opener() as path:
                    _files(run, actor, path)
        except Unreadable as exc:
            db.session.rollback()
            _end(run, actor, error=str(exc))
            return
        except Exception:
            log.exception("import run %s failed", run.id)
            db.session.rollback()
            _end(run, actor, error=_("The import stopped because of an unexpected error."))
            raise
        _end(run, actor)


def _records(run: ImportRun, actor: User, path: Path, progress: Progress | None) -> None:
    """Read, import and commit the records batch by batch, from after ``run.position``."""
    if run.total is None:
        with path.open("rb") as f:
            run.total = count(run.format, f)
        db.session.commit()
    importer = Importer(actor, publish=run.publish)
    stored_actor = actor.id is not None  # the system actor is never in the session
    with path.open("rb") as f:
        for batch in batches(skip_to(read(run.format, f), run.position)):
            result = importer.run_batch(batch)
            record_batch(run, result)
            db.session.commit()
            db.session.expunge_all()  # the batch's items: memory stays flat over the file
            db.session.add(run)
            if stored_actor:
                db.session.add(actor)
            if progress is not None:
                progress(run)


def record_batch(run: ImportRun, result: BatchResult) -> None:
    """Add a batch's counts, refusals, notices and position to the run (not committed)."""
    for name, value in result.counts.as_dict().items():
        setattr(run, name, getattr(run, name) + value)
    run.position = max(run.position, result.position)
    run.heartbeat_at = utcnow()
    rows = [
        ImportRejection(
            run_id=run.id,
            kind=RejectionKind.RECORD,
            position=r.position,
            identifier=r.identifier[:300],
            title=r.title[:500],
            reason=r.reason,
        )
        for r in result.rejections
    ]
    rows += [
        ImportRejection(run_id=run.id, kind=RejectionKind.NOTICE, reason=message)
        for message in result.notices
    ]
    db.session.add_all(rows)


def _files(run: ImportRun, actor: User, path: Path) -> None:
    """Attach the files of a folder or ZIP, then commit them with the run's count."""
    if path.is_dir():
        result = import_files.attach_folder(actor, path)
    else:
        result = import_files.attach_zip(actor, path, run.files_name)
    run.files_attached += result.attached
    db.session.add_all(
        ImportRejection(
            run_id=run.id,
            kind=RejectionKind.FILE,
            identifier=p.isbn,
            title=p.name[:500],
            reason=p.reason,
        )
        for p in result.problems
    )
    run.heartbeat_at = utcnow()
    db.session.commit()


def _end(run: ImportRun, actor: User | None, *, error: str = "") -> None:
    """Mark the run done (or failed), audit it once, drop the stored upload, commit."""
    run.state = ImportState.FAILED if error else ImportState.DONE
    run.error = error
    run.finished_at = utcnow()
    audit(
        actor if actor is not None and actor.id is not None else None,
        "media_import.finished" if not error else "media_import.failed",
        run,
        format=run.format.value,
        filename=run.filename,
        position=run.position,
        created=run.created,
        updated=run.updated,
        unchanged=run.unchanged,
        withdrawn=run.withdrawn,
        rejected=run.rejected,
        files_attached=run.files_attached,
        error=error,
    )
    db.session.commit()
    for key in (run.source_key, run.files_key):
        if key:
            current_unit().on_commit(lambda k=key: _drop_unused_upload(k))


def _drop_unused_upload(key: str) -> None:
    """Delete an uploaded file once no unfinished run reads it any more."""
    waiting = db.session.execute(
        sa.select(sa.func.count())
        .select_from(ImportRun)
        .where(
            sa.or_(ImportRun.source_key == key, ImportRun.files_key == key),
            ImportRun.state.in_([ImportState.QUEUED, ImportState.RUNNING]),
        )
    ).scalar_one()
    if not waiting:
        get_storage().delete(key)


# --- the console and dry runs ------------------------------------------------------------------


def start_local_run(actor: User, path: Path, fmt: ImportFormat, *, publish: bool) -> ImportRun:
    """A run of a file on this machine (the CLI), claimed by its caller from the start."""
    run = ImportRun(
        state=ImportState.RUNNING,
        format=fmt,
        filename=path.name[:255],
        publish=publish,
        locale=current_app.config["VHS"].default_locale,
        actor_id=actor.id,
        started_at=utcnow(),
        heartbeat_at=utcnow(),
    )
    db.session.add(run)
    db.session.commit()
    return run


def dry_run(
    actor: User, path: Path, fmt: ImportFormat, *, publish: bool, locale: str
) -> tuple[Counts, list[Rejection], list[str]]:
    """What an import would do, with every batch rolled back: counts, refusals, notices."""
    counts, rejections, notices = Counts(), [], []
    importer = Importer(actor, publish=publish)
    with force_locale(locale), path.open("rb") as f:
        for batch in batches(read(fmt, f)):
            savepoint = db.session.begin_nested()
            result = importer.run_batch(batch)
            savepoint.rollback()
            counts.add(result.counts)
            rejections += result.rejections
            notices += result.notices
    return counts, rejections, notices


def counts_of(run: ImportRun) -> dict[str, int]:
    """A run's counts by name, in the order reports show them."""
    return {
        "created": run.created,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "withdrawn": run.withdrawn,
        "rejected": run.rejected,
        "files_attached": run.files_attached,
    }


def get_run(actor: User, run_id: int) -> ImportRun:
    """A run, for staff; NotFound when there is none."""
    require_staff(actor)
    run = db.session.get(ImportRun, run_id)
    if run is None:
        raise NotFound(_l("There is no such import."), code="import_not_found")
    return run


def rejections_of(run: ImportRun, limit: int | None = None) -> Iterator[ImportRejection]:
    """The run's refusals in order, streamed from the database."""
    query = (
        sa.select(ImportRejection)
        .where(ImportRejection.run_id == run.id)
        .order_by(ImportRejection.id)
        .execution_options(yield_per=500)
    )
    if limit is not None:
        query = query.limit(limit)
    yield from db.session.execute(query).scalars()
