"""Staff pages of imports: the runs with a form to start one, a run's progress and refusals,
and its report as CSV.

A running import's page reloads itself every few seconds (``<meta http-equiv="refresh">``,
no JavaScript) and says where it stands in a ``role="status"`` region.
"""

from __future__ import annotations

from math import ceil
from typing import Any

import sqlalchemy as sa
from flask import Response, redirect, render_template, request, url_for
from flask_babel import get_locale

from media.blueprints import staff as bp
from media.imports import runs
from media.imports.forms import ImportForm
from media.imports.labels import COUNT_LABELS, FORMAT_LABELS, KIND_LABELS, STATE_LABELS
from media.imports.models import ImportRejection, ImportRun
from media.imports.report import csv_lines
from vhs.auth import require_user, staff_required
from vhs.db import db
from vhs.edge import large_uploads
from vhs.errors import VhsError
from vhs.forms import apply_errors

PER_PAGE = 25
REJECTIONS_PER_PAGE = 100
REFRESH_SECONDS = 3


def _page_arg() -> int:
    raw = request.args.get("page", "1")
    return max(int(raw), 1) if raw.isdigit() and len(raw) < 7 else 1


def _labels() -> dict[str, Any]:
    return {
        "format_labels": FORMAT_LABELS,
        "state_labels": STATE_LABELS,
        "count_labels": COUNT_LABELS,
        "kind_labels": KIND_LABELS,
        "max_mb": runs.records_limit() // (1024 * 1024),
        "max_files_mb": runs.files_limit() // (1024 * 1024),
    }


def _list_page(form: ImportForm, status: int = 200) -> tuple[str, int]:
    require_user()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(ImportRun)) or 0
    pages = max(ceil(total / PER_PAGE), 1)
    page = min(_page_arg(), pages)
    rows = list(
        db.session.execute(
            sa.select(ImportRun)
            .order_by(ImportRun.id.desc())
            .offset((page - 1) * PER_PAGE)
            .limit(PER_PAGE)
        ).scalars()
    )
    page_html = render_template(
        "media/imports/runs.html", form=form, runs=rows, page=page, pages=pages, **_labels()
    )
    return page_html, status


@bp.route("/imports")
@staff_required
def imports() -> Any:
    """Import runs, newest first, and the form to start one."""
    return _list_page(ImportForm(formdata=None))


@bp.route("/imports", methods=["POST"])
@large_uploads(runs.body_limit)
@staff_required
def import_start() -> Any:
    """Store the uploaded file (and ZIP), queue its import, and show its progress."""
    form = ImportForm()
    if not form.validate_on_submit():
        return _list_page(form, 422)
    zipped = form.files.data if form.files.data and form.files.data.filename else None
    try:
        run = runs.queue_run(
            require_user(),
            form.file.data.stream,
            form.file.data.filename or "",
            files=zipped.stream if zipped else None,
            files_name=zipped.filename or "" if zipped else "",
            publish=bool(form.publish.data),
            locale=str(get_locale() or "de"),
        )
    except VhsError as exc:
        db.session.rollback()
        apply_errors(form, exc)
        return _list_page(form, exc.status)
    return redirect(url_for("media_staff.import_run", run_id=run.id))


@bp.route("/imports/<int:run_id>")
@staff_required
def import_run(run_id: int) -> Any:
    """A run: its state, progress and counts, and the records and files it refused."""
    run = runs.get_run(require_user(), run_id)
    total = (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(ImportRejection)
            .where(ImportRejection.run_id == run.id)
        )
        or 0
    )
    pages = max(ceil(total / REJECTIONS_PER_PAGE), 1)
    page = min(_page_arg(), pages)
    rejections = list(
        db.session.execute(
            sa.select(ImportRejection)
            .where(ImportRejection.run_id == run.id)
            .order_by(ImportRejection.id)
            .offset((page - 1) * REJECTIONS_PER_PAGE)
            .limit(REJECTIONS_PER_PAGE)
        ).scalars()
    )
    percent = None
    if run.total:
        percent = min(100, round(100 * run.position / run.total))
    return render_template(
        "media/imports/run.html",
        run=run,
        counts=runs.counts_of(run),
        rejections=rejections,
        rejections_total=total,
        page=page,
        pages=pages,
        percent=percent,
        refresh=REFRESH_SECONDS if not run.finished else None,
        **_labels(),
    )


@bp.route("/imports/<int:run_id>/report.csv")
@staff_required
def import_report(run_id: int) -> Response:
    """The run's report as CSV (counts, then each refusal), safe to open in Excel."""
    run = runs.get_run(require_user(), run_id)
    rows = [(r.kind, r.position, r.identifier, r.title, r.reason) for r in runs.rejections_of(run)]
    body = "".join(csv_lines(runs.counts_of(run), rows))
    return Response(
        body,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="import-{run.id}-report.csv"',
            "Cache-Control": "no-store",
        },
    )
