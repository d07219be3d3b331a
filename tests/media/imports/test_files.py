"""Files that come with an import, in a folder or a ZIP, matched to items by ISBN: attached
through the file service (format from the content, stored once), covers through the cover
service; unsafe names, zip bombs, unmatched names and duplicates refused and reported."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import force_locale

from media.imports import files as import_files
from media.imports import runs
from media.models import FileFormat, MediaItem
from tests.media.imports import samples as s
from tests.media.ingest import samples as media
from vhs.accounts.models import User
from vhs.db import db
from vhs.errors import Invalid
from vhs.uow import unit_of_work

ISBN_A, ISBN_B = s.ISBNS[0], s.ISBNS[1]


@pytest.fixture
def two_items(run_import) -> None:
    run_import(
        s.marc_bytes(
            s.marc_record(isbn=ISBN_A, control="1"),
            s.marc_record("Hörspiel", isbn=ISBN_B, control="2"),
        )
    )


def zipped(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return out.getvalue()


def test_isbn_names() -> None:
    assert import_files.isbn_of("978-3-16-148410-0.epub") == ("9783161484100", False)
    assert import_files.isbn_of("sub/9783161484100-cover.JPG") == ("9783161484100", True)
    assert import_files.isbn_of("3-16-148410-X.pdf") == ("9783161484100", False)
    assert import_files.isbn_of("9783161484101.epub") == (None, False)  # check digit
    assert import_files.isbn_of("cover.jpg") == (None, False)


def test_zip_of_files_is_attached_by_isbn(two_items, run_import, item_by_isbn) -> None:
    archive = zipped(
        {
            f"{ISBN_A}.epub": media.epub(book_isbn=ISBN_A),
            "978-3-16-148410-0-cover.png": media.png(300, 450),
            f"{ISBN_B}.mp3": media.mp3(),
            f"mp3/{ISBN_B}.pdf": media.pdf(),
            "9783442267743.epub": media.epub(),  # no item has this ISBN
            "Liesmich.txt": b"Hallo",
        },
        compression=zipfile.ZIP_STORED,
    )
    out = run_import(s.marc_bytes(s.marc_record(isbn=ISBN_A, control="1")), files=archive)
    assert out.run.files_attached == 4
    a, b = item_by_isbn(ISBN_A), item_by_isbn(ISBN_B)
    assert [f.format for f in a.files] == [FileFormat.EPUB]
    assert a.cover_sha256 is not None
    assert sorted(f.format.value for f in b.files) == ["mp3", "pdf"]
    problems = {title: why for kind, _p, _i, title, why in out.rejections if kind == "file"}
    assert problems == {
        "9783442267743.epub": "No medium has this ISBN.",
        "Liesmich.txt": "The file name is not an ISBN.",
    }


def test_the_same_files_again_are_stored_once_and_reported(
    two_items, run_import, item_by_isbn, blob_count
) -> None:
    archive = zipped({f"{ISBN_A}.epub": media.epub(book_isbn=ISBN_A)})
    record = s.marc_bytes(s.marc_record(isbn=ISBN_A, control="1"))
    run_import(record, files=archive)
    stored = blob_count()
    out = run_import(record, files=archive)
    assert out.run.files_attached == 0
    assert out.reasons() == ["This file is already attached to this item."]
    assert len(item_by_isbn(ISBN_A).files) == 1
    assert blob_count() == stored


def test_unsafe_names_in_the_zip_are_refused_and_never_touch_the_disk(
    two_items, run_import, item_by_isbn, tmp_path: Path
) -> None:
    archive = zipped(
        {
            f"../{ISBN_A}.epub": media.epub(book_isbn=ISBN_A),
            f"/tmp/{ISBN_A}.pdf": media.pdf(),
            f"dir\\{ISBN_B}.pdf": media.pdf(),
            f"C:/{ISBN_B}.mp3": media.mp3(),
            f"{ISBN_B}.mp3": media.mp3(),
        }
    )
    out = run_import(s.marc_bytes(s.marc_record(isbn=ISBN_A, control="1")), files=archive)
    refused = sorted(title for kind, _p, _i, title, _w in out.rejections if kind == "file")
    assert refused == sorted(
        [f"../{ISBN_A}.epub", f"/tmp/{ISBN_A}.pdf", f"dir\\{ISBN_B}.pdf", f"C:/{ISBN_B}.mp3"]
    )
    assert set(out.reasons()) == {"The name points outside the archive; the file was not read."}
    assert out.run.files_attached == 1
    assert not item_by_isbn(ISBN_A).files
    assert not Path(f"/tmp/{ISBN_A}.pdf").exists()


def test_a_zip_bomb_is_refused_whole(two_items, run_import, item_by_isbn) -> None:
    archive = zipped({f"{ISBN_A}.pdf": b"\0" * (8 * 1024 * 1024), f"{ISBN_B}.mp3": media.mp3()})
    out = run_import(s.marc_bytes(s.marc_record(isbn=ISBN_A, control="1")), files=archive)
    assert out.run.files_attached == 0
    assert len(out.rejections) == 1 and "zip bomb" in out.reasons()[0]
    assert out.rejections[0][3] == "files.zip"  # the uploaded name, not the stored one
    assert not item_by_isbn(ISBN_B).files


def test_a_file_that_lies_about_its_format_is_refused_alone(
    two_items, run_import, item_by_isbn
) -> None:
    archive = zipped(
        {f"{ISBN_A}.epub": b"Kein EPUB, nur Text.", f"{ISBN_B}.mp3": media.mp3()},
        compression=zipfile.ZIP_STORED,
    )
    out = run_import(s.marc_bytes(s.marc_record(isbn=ISBN_A, control="1")), files=archive)
    assert out.run.files_attached == 1
    assert "not in a format we accept" in out.reasons()[0]
    assert not item_by_isbn(ISBN_A).files and item_by_isbn(ISBN_B).files


def test_a_folder_of_files(
    app: Flask, two_items, staff: User, item_by_isbn, tmp_path: Path
) -> None:
    (tmp_path / f"{ISBN_A}.epub").write_bytes(media.epub(book_isbn=ISBN_A))
    (tmp_path / "covers").mkdir()
    (tmp_path / "covers" / f"{ISBN_B}-cover.jpg").write_bytes(media.jpeg(300, 450))
    (tmp_path / "unbekannt.mp3").write_bytes(media.mp3())
    with app.app_context(), unit_of_work(), force_locale("en"):
        result = import_files.attach_folder(db.session.get(User, staff.id), tmp_path)
    assert result.attached == 2
    assert [(p.name, p.reason) for p in result.problems] == [
        ("unbekannt.mp3", "The file name is not an ISBN.")
    ]
    assert item_by_isbn(ISBN_A).files and item_by_isbn(ISBN_B).cover_sha256


def test_files_upload_must_be_a_zip(app: Flask, staff: User) -> None:
    with app.app_context(), unit_of_work(), pytest.raises(Invalid) as refused:
        runs.queue_run(
            db.session.get(User, staff.id),
            io.BytesIO(s.marc_bytes(s.marc_record())),
            "a.mrc",
            files=io.BytesIO(b"not a zip"),
            files_name="files.tar",
        )
    assert "one ZIP archive" in str(refused.value.errors["files"][0])
    with app.app_context():
        assert db.session.query(MediaItem).count() == 0
