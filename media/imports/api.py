"""Staff API of imports: upload a file to import (multipart), and follow the run."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import url_for
from flask_babel import get_locale

from media.blueprints import staff_api as bp
from media.imports import runs
from media.imports.models import ImportRejection, ImportRun
from media.imports.schemas import ImportOptionsSchema, ImportRunSchema, ImportUploadSchema
from vhs.auth import require_user, staff_required
from vhs.db import db
from vhs.edge import large_uploads
from vhs.extensions import problems

REJECTIONS_SHOWN = 1000


def _run_out(run: ImportRun) -> dict[str, Any]:
    rejections = list(runs.rejections_of(run, limit=REJECTIONS_SHOWN))
    total = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(ImportRejection)
        .where(ImportRejection.run_id == run.id)
    )
    return {
        "id": run.id,
        "state": run.state,
        "format": run.format,
        "filename": run.filename,
        "publish": run.publish,
        "total": run.total,
        "position": run.position,
        "counts": runs.counts_of(run),
        "error": run.error,
        "queued_at": run.queued_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "rejections": rejections,
        "rejections_total": total or 0,
        "url": url_for("media_staff_api.get_import", run_id=run.id),
        "page_url": url_for("media_staff.import_run", run_id=run.id),
    }


# The body is optional in the document so that a request without one reaches the role check
# (401/403 before 422); the `file` part itself is required.
@bp.route("/staff/media/imports", methods=["POST"])
@large_uploads(runs.body_limit)
@staff_required
@bp.arguments(ImportUploadSchema, location="files", required=False)
@bp.arguments(ImportOptionsSchema, location="query")
@bp.response(202, ImportRunSchema)
@problems(bp, 401, 403, 413, 422)
def start_import(upload: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """Upload a file of records (part `file`: MARC 21, MARCXML, ONIX 3.0 or CSV; the format
    is read from the content) and optionally a ZIP of media files named by ISBN (`files`).

    The import runs in the background; follow it at the answer's `url`. Items are drafts
    unless the query says `publish=true`.
    """
    zipped = upload.get("files")
    run = runs.queue_run(
        require_user(),
        upload["file"].stream,
        upload["file"].filename or "",
        files=zipped.stream if zipped else None,
        files_name=(zipped.filename or "") if zipped else "",
        publish=bool(options.get("publish")),
        locale=str(get_locale() or "de"),
    )
    return _run_out(run)


@bp.route("/staff/media/imports/<int:run_id>", methods=["GET"])
@staff_required
@bp.response(200, ImportRunSchema)
@problems(bp, 401, 403, 404)
def get_import(run_id: int) -> dict[str, Any]:
    """An import run: state, progress, counts and the first 1,000 records it refused."""
    return _run_out(runs.get_run(require_user(), run_id))
