"""``flask media import FILE``: import a file of records at the console, with a report.

Exit code 0 when the run completed (with or without refused records), 1 when the file could
not be read at all (unknown format, not ONIX 3.0, no title column, broken from the start) or
``--as`` names no staff account.
"""

from __future__ import annotations

from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from media.imports import runs
from media.imports.formats import SNIFF_BYTES, Unreadable, sniff
from media.imports.importer import Counts
from media.imports.models import ImportFormat, ImportRun, ImportState, RejectionKind
from media.imports.records import Rejection
from media.imports.report import Row, csv_lines, text_lines
from vhs.accounts.models import User
from vhs.db import db
from vhs.uow import unit_of_work

media_cli = AppGroup("media", help="The e-media catalogue.")


def _actor(email: str | None) -> User:
    if not email:
        return runs.system_actor()
    user = db.session.execute(
        sa.select(User).where(sa.func.lower(User.email) == email.strip().lower())
    ).scalar_one_or_none()
    if user is None or not user.is_staff:
        raise click.ClickException(f"{email} is not the address of a staff account.")
    return user


@media_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", *(f.value for f in ImportFormat)]),
    default="auto",
    show_default=True,
    help="Format of FILE; auto reads it from the content.",
)
@click.option(
    "--files",
    "files",
    type=click.Path(exists=True, path_type=Path),
    help="A folder or .zip of media files named by ISBN (9783...epub, 9783...-cover.jpg).",
)
@click.option("--publish", is_flag=True, help="Publish new items (else they are drafts).")
@click.option("--dry-run", is_flag=True, help="Read and check everything, change nothing.")
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the report as CSV to this file.",
)
@click.option("--as", "as_email", default=None, help="Act as this staff member (default: system).")
def import_command(
    file: Path,
    fmt: str,
    files: Path | None,
    publish: bool,
    dry_run: bool,
    report: Path | None,
    as_email: str | None,
) -> None:
    """Import MARC 21, MARCXML, ONIX 3.0 or CSV records into the catalogue."""
    if fmt == "auto":
        with file.open("rb") as f:
            found = sniff(f.read(SNIFF_BYTES))
        if found is None:
            raise click.ClickException(f"{file}: not MARC 21, MARCXML, ONIX 3.0 or CSV.")
        chosen = found
    else:
        chosen = ImportFormat(fmt)
    with unit_of_work():
        actor = _actor(as_email)
        if dry_run:
            counts, rejections, notices = _dry(actor, file, chosen, publish)
            rows: list[Row] = [(RejectionKind.NOTICE, None, "", "", n) for n in notices]
            rows += [
                (RejectionKind.RECORD, r.position, r.identifier, r.title, r.reason)
                for r in rejections
            ]
            click.echo("Dry run: nothing was changed.")
            _print(counts.as_dict(), rows, report)
            return
        run = runs.start_local_run(actor, file, chosen, publish=publish)
        click.echo(f"Import #{run.id}: {file.name} as {chosen.value}.")
        runs.process(run, source=file, files_source=files, progress=_progress)
        run = db.session.get(ImportRun, run.id)
        assert run is not None
        rows = [
            (r.kind, r.position, r.identifier, r.title, r.reason) for r in runs.rejections_of(run)
        ]
        counts = runs.counts_of(run)
        _print(counts, rows, report)
        if run.state is ImportState.FAILED:
            raise click.ClickException(run.error)


def _dry(
    actor: User, file: Path, fmt: ImportFormat, publish: bool
) -> tuple[Counts, list[Rejection], list[str]]:
    try:
        locale = current_app.config["VHS"].default_locale
        return runs.dry_run(actor, file, fmt, publish=publish, locale=locale)
    except Unreadable as exc:
        raise click.ClickException(str(exc)) from None


def _progress(run: ImportRun) -> None:
    total = f" of {run.total:,}" if run.total else ""
    click.echo(f"  {run.position:,}{total} records read …")


def _print(counts: dict[str, int], rows: list[Row], report: Path | None) -> None:
    for line in text_lines(counts, rows):
        click.echo(line)
    if report is not None:
        with report.open("w", encoding="utf-8", newline="") as out:
            out.writelines(csv_lines(counts, rows))
        click.echo(f"Report written to {report}.")
