"""``flask media import FILE``: progress and report, format from the content or named, files
from a folder or ZIP, a dry run, a CSV report safe in a spreadsheet, exit codes, the actor."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from media.imports.models import ImportRun, ImportState
from media.models import PublicationState
from tests.media.imports import samples as s
from tests.media.ingest import samples as media
from vhs.audit import AuditEntry
from vhs.db import db


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


# The report speaks the default language (VHS_DEFAULT_LOCALE, German); the progress lines and
# the command's own messages are English, like those of the other operator commands.


def test_import_prints_progress_and_the_report(runner, tmp_path, item_by_isbn, app: Flask) -> None:
    records = [s.marc_record(f"Band {n}", isbn=s.isbn13(n), control=f"c{n}") for n in range(205)]
    records.append(s.marc_record("Kaputt", isbn="9783161484101", control="bad"))
    path = write(tmp_path, "dnb.mrc", s.marc_bytes(*records))
    result = runner.invoke(args=["media", "import", path])
    assert result.exit_code == 0, result.output
    assert "200 of 206 records read" in result.output
    assert "206 of 206 records read" in result.output
    assert "Erstellt: 205" in result.output and "Abgelehnt: 1" in result.output
    assert "#206 ISBN 9783161484101 „Kaputt“:" in result.output
    assert item_by_isbn(s.isbn13(0)).state is PublicationState.DRAFT
    with app.app_context():
        run = db.session.scalars(sa.select(ImportRun)).one()
        assert run.state is ImportState.DONE and run.actor_id is None
        entry = db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "media_import.finished")
        ).one()
        assert entry.actor_id is None  # the system, as `flask users create` records it


def test_format_option_files_publish_and_as(runner, tmp_path, staff, item_by_isbn) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / f"{s.ISBNS[0]}.epub").write_bytes(media.epub(book_isbn=s.ISBNS[0]))
    path = write(tmp_path, "feed.xml", s.onix_message(s.onix_product(), short=True))
    result = runner.invoke(
        args=[
            "media",
            "import",
            path,
            "--format",
            "onix",
            "--files",
            str(folder),
            "--publish",
            "--as",
            staff.email,
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Dateien angehängt: 1" in result.output
    item = item_by_isbn(s.ISBNS[0])
    assert item.state is PublicationState.PUBLISHED and len(item.files) == 1


def test_files_from_a_zip(runner, tmp_path, item_by_isbn) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"{s.ISBNS[0]}-cover.png", media.png(300, 450))
        zf.writestr(f"../{s.ISBNS[0]}.pdf", media.pdf())
    records = write(
        tmp_path, "a.csv", s.csv_bytes([["title", "isbn"], ["Tod am Deich", s.ISBNS[0]]])
    )
    zipped = write(tmp_path, "files.zip", archive.getvalue())
    result = runner.invoke(args=["media", "import", records, "--files", zipped])
    assert result.exit_code == 0, result.output
    assert "Dateien angehängt: 1" in result.output
    assert f"../{s.ISBNS[0]}.pdf" not in {p.name for p in tmp_path.iterdir()}
    assert "zeigt aus dem Archiv hinaus" in result.output
    assert item_by_isbn(s.ISBNS[0]).cover_sha256


def test_dry_run_changes_nothing(runner, tmp_path, count_items) -> None:
    path = write(
        tmp_path,
        "a.mrc",
        s.marc_bytes(s.marc_record(), s.marc_record("", isbn=s.ISBNS[1], control="2")),
    )
    result = runner.invoke(args=["media", "import", path, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Dry run: nothing was changed." in result.output
    assert "Erstellt: 1" in result.output and "Abgelehnt: 1" in result.output
    assert count_items() == 0


def test_report_csv_is_safe_to_open_in_excel(runner, tmp_path) -> None:
    rows = [
        ["title", "isbn", "pages"],
        ['=HYPERLINK("http://evil")', "", "viele"],
        ["@SUM(A1)", "", "x"],
    ]
    path = write(tmp_path, "a.csv", s.csv_bytes(rows))
    report = tmp_path / "report.csv"
    result = runner.invoke(args=["media", "import", path, "--report", str(report)])
    assert result.exit_code == 0, result.output
    text = report.read_text(encoding="utf-8")
    assert text.startswith("\ufeff")
    cells = [
        cell
        for row in csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";")
        for cell in row
    ]
    assert '\'=HYPERLINK("http://evil")' in cells and "'@SUM(A1)" in cells
    assert not any(cell.startswith(("=", "@", "+", "-")) for cell in cells)


def test_unreadable_files_exit_with_1(runner, tmp_path, app: Flask) -> None:
    result = runner.invoke(args=["media", "import", write(tmp_path, "a.pdf", media.pdf())])
    assert result.exit_code == 1 and "not MARC 21, MARCXML, ONIX 3.0 or CSV" in result.output
    onix2 = write(tmp_path, "old.xml", s.onix_message(s.onix_product(), release="2.1"))
    result = runner.invoke(args=["media", "import", onix2])
    assert result.exit_code == 1 and "nur ONIX 3.0" in result.output
    with app.app_context():
        assert db.session.scalars(sa.select(ImportRun.state)).all() == [ImportState.FAILED]
    no_title = write(tmp_path, "x.csv", b"isbn;year\r\n9783161484100;2020\r\n")
    result = runner.invoke(args=["media", "import", no_title, "--format", "csv", "--dry-run"])
    assert result.exit_code == 1 and "keine Titelspalte" in result.output


def test_as_must_name_staff(runner, tmp_path, make_user) -> None:
    resident = make_user("resident")
    path = write(tmp_path, "a.mrc", s.marc_bytes(s.marc_record()))
    result = runner.invoke(args=["media", "import", path, "--as", resident.email])
    assert result.exit_code == 1 and "is not the address of a staff account" in result.output
