"""The staff pages and API of imports: upload (file, ZIP, publish), the run's page with its
progress and refusals, the CSV report; refusals for other roles and bad files, never a 500."""

from __future__ import annotations

import io
import re

import pytest
from flask import Flask
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from media.imports import runs
from media.imports.models import ImportRun, ImportState
from tests.media.imports import samples as s
from tests.media.ingest import samples as media
from vhs.accounts.models import User
from vhs.db import db
from vhs.uow import unit_of_work


def upload(data: bytes, name: str = "dnb.mrc") -> tuple[io.BytesIO, str]:
    return io.BytesIO(data), name


def process_all(app: Flask) -> None:
    with app.app_context(), unit_of_work():
        runs.process_waiting()


@pytest.fixture
def staff_client(client, login, staff):
    login(staff)
    return client


def test_upload_queues_a_run_and_its_page_shows_progress_then_the_report(
    app: Flask, staff_client, item_by_isbn
) -> None:
    page = staff_client.get("/staff/media/imports")
    assert page.status_code == 200 and "Datensätze importieren" in page.get_data(as_text=True)
    data = s.marc_bytes(s.marc_record(), s.marc_record("", isbn=s.ISBNS[1], control="2"))
    resp = staff_client.submit(
        "/staff/media/imports",
        {"file": upload(data), "publish": "y"},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    run_url = resp.headers["Location"]
    queued = staff_client.get(run_url).get_data(as_text=True)
    assert '<meta http-equiv="refresh"' in queued
    assert 'role="status"' in queued and "Wartet" in queued
    process_all(app)
    done = staff_client.get(run_url).get_data(as_text=True)
    assert '<meta http-equiv="refresh"' not in done
    assert "Fertig" in done and "2 Datensätze gelesen." in done
    assert "Bitte geben Sie einen Titel ein." in done
    assert item_by_isbn(s.ISBNS[0]).state.value == "published"
    listing = staff_client.get("/staff/media/imports").get_data(as_text=True)
    assert "dnb.mrc" in listing
    report = staff_client.get(run_url + "/report.csv")
    assert report.status_code == 200 and report.mimetype == "text/csv"
    text = report.get_data(as_text=True)
    assert text.startswith("\ufeffWas;Position;Nummer;Titel;Grund") or text.startswith("\ufeff")
    assert "Bitte geben Sie einen Titel ein." in text


def test_a_running_run_shows_how_far_it_got(app: Flask, staff_client, staff) -> None:
    with app.app_context(), unit_of_work():
        run = ImportRun(
            format="marc", filename="gross.mrc", state=ImportState.RUNNING, total=10_000,
            position=2_400, created=2_390, rejected=10, actor_id=staff.id,
        )  # fmt: skip
        db.session.add(run)
        db.session.flush()
        run_id = run.id
    html = staff_client.get(f"/staff/media/imports/{run_id}").get_data(as_text=True)
    assert "2400 von 10000 Datensätzen gelesen (24 %)" in html
    assert '<progress max="100" value="24"' in html
    assert '<meta http-equiv="refresh" content="3">' in html


def test_a_file_in_no_format_is_refused_with_a_message(staff_client, app: Flask) -> None:
    resp = staff_client.submit(
        "/staff/media/imports",
        {"file": upload(media.pdf(), "katalog.pdf")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Diese Datei hat kein Format, das wir importieren." in html
    assert 'role="alert"' in html
    with app.app_context():
        assert db.session.query(ImportRun).count() == 0


def test_a_form_without_file_and_a_bad_zip_are_refused(staff_client) -> None:
    resp = staff_client.submit("/staff/media/imports", {}, content_type="multipart/form-data")
    assert resp.status_code == 422 and "Bitte wählen Sie eine Datei." in resp.get_data(as_text=True)
    resp = staff_client.submit(
        "/staff/media/imports",
        {"file": upload(s.marc_bytes(s.marc_record())), "files": upload(b"kein zip", "x.zip")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422
    assert "Die Dateien müssen als ein ZIP-Archiv kommen." in resp.get_data(as_text=True)


def test_the_upload_limit(app: Flask, staff_client) -> None:
    settings = app.config["VHS"]
    old = settings.media_import_max_mb
    settings.media_import_max_mb = 1
    try:
        big = s.csv_bytes([["title"]] + [["x" * 100]] * 11_000)
        # The body built in memory: Werkzeug's test client would spool a large one to a
        # temporary file it never closes.
        boundary, body = encode_multipart(
            {
                "csrf_token": staff_client.csrf(),
                "file": FileStorage(io.BytesIO(big), filename="gross.csv"),
            }
        )
        resp = staff_client.post(
            "/staff/media/imports",
            data=body,
            content_type=f"multipart/form-data; boundary={boundary}",
        )
    finally:
        settings.media_import_max_mb = old
    assert resp.status_code == 413
    assert "größer als 1 MB" in resp.get_data(as_text=True)


def test_unknown_run_is_404(staff_client) -> None:
    assert staff_client.get("/staff/media/imports/999999").status_code == 404
    assert staff_client.get("/staff/media/imports/999999/report.csv").status_code == 404


@pytest.mark.parametrize("role", ["resident", "instructor"])
def test_other_roles_are_refused(client, login, make_user, role) -> None:
    login(make_user(role))
    assert client.get("/staff/media/imports").status_code == 403
    resp = client.submit(
        "/staff/media/imports",
        {"file": upload(s.marc_bytes(s.marc_record()))},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 403


def test_anonymous_is_sent_to_log_in(client) -> None:
    assert client.get("/staff/media/imports").status_code == 302


# --- API -------------------------------------------------------------------------------------


def test_api_upload_and_follow_the_run(app: Flask, api_token, staff, item_by_isbn) -> None:
    c = app.test_client()
    headers = {**api_token(staff), "Accept-Language": "en"}
    data = s.onix_message(s.onix_product(), s.onix_product("", isbn=s.ISBNS[1], reference="r2"))
    resp = c.post(
        "/api/v1/staff/media/imports?publish=true",
        data={"file": upload(data, "feed.xml")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert resp.status_code == 202, resp.get_json()
    body = resp.get_json()
    assert body["state"] == "queued" and body["format"] == "onix" and body["publish"] is True
    process_all(app)
    follow = c.get(body["url"], headers=headers).get_json()
    assert follow["state"] == "done"
    assert follow["counts"]["created"] == 1 and follow["counts"]["rejected"] == 1
    assert follow["rejections_total"] == 1
    assert follow["rejections"][0]["position"] == 2
    assert (
        "Bitte geben Sie einen Titel ein." in follow["rejections"][0]["reason"]
    )  # the staff member's language
    assert re.fullmatch(r"/staff/media/imports/\d+", follow["page_url"])
    assert item_by_isbn(s.ISBNS[0]).state.value == "published"


def test_api_refusals(app: Flask, api_token, make_user, staff) -> None:
    c = app.test_client()
    files = {"file": upload(s.marc_bytes(s.marc_record()))}
    assert (
        c.post(
            "/api/v1/staff/media/imports", data=dict(files), content_type="multipart/form-data"
        ).status_code
        == 401
    )
    for role in ("resident", "instructor"):
        resp = c.post(
            "/api/v1/staff/media/imports",
            data={"file": upload(s.marc_bytes(s.marc_record()))},
            headers=api_token(make_user(role)),
            content_type="multipart/form-data",
        )
        assert resp.status_code == 403
    headers = {**api_token(staff), "Accept-Language": "de"}
    resp = c.post(
        "/api/v1/staff/media/imports",
        data={"file": upload(b"\x89PNG\r\n\x1a\n", "bild.png")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
    assert resp.get_json()["code"] == "import_format_unknown"
    assert "kein Format, das wir importieren" in resp.get_json()["detail"]
    resp = c.post(
        "/api/v1/staff/media/imports", headers=headers, content_type="multipart/form-data"
    )
    assert resp.status_code == 422
    assert c.get("/api/v1/staff/media/imports/424242", headers=headers).status_code == 404
    assert c.get("/api/v1/staff/media/imports/1").status_code == 401
    with app.app_context():
        assert db.session.query(ImportRun).count() == 0
        assert db.session.get(User, staff.id) is not None
