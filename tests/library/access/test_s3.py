"""Files in S3 (moto's HTTP server on loopback): the same checks, then a presigned URL with the
same type and disposition; EPUBs still pass through the app for their watermark."""

from __future__ import annotations

import dataclasses
import io
import urllib.request
import zipfile
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask

from library.access.links import Action
from media.models import FileFormat
from tests.media.files.conftest import s3_bucket, s3_endpoint, s3_settings  # noqa: F401
from vhs.accounts.models import User
from vhs.db import db
from vhs.uow import unit_of_work


@pytest.fixture
def s3_app(app: Flask, s3_settings, monkeypatch) -> Flask:  # noqa: F811
    """The test app with storage in the bucket, as VHS_STORAGE_URL=s3://... makes it."""
    monkeypatch.setitem(app.config, "VHS", dataclasses.replace(app.config["VHS"], **s3_settings))
    monkeypatch.setitem(app.extensions, "vhs_media_storage", None)  # made again, for S3
    return app


def test_a_pdf_download_redirects_to_a_presigned_url(s3_app, client, patron, lend, links):
    a = patron()
    lent = lend(a, FileFormat.PDF)
    resp = client.get(links(a, lent.loan_id)[Action.DOWNLOAD])
    assert resp.status_code == 302
    assert resp.headers["Cache-Control"] == "private, no-store"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    query = parse_qs(urlsplit(resp.location).query)
    assert query["response-content-type"] == ["application/pdf"]
    assert query["response-content-disposition"][0].startswith("attachment;")
    with urllib.request.urlopen(resp.location) as answer:
        assert answer.read() == lent.data
        assert answer.headers["Content-Disposition"].startswith("attachment;")


def test_a_stream_redirects_inline_and_s3_answers_ranges(s3_app, client, patron, lend, links):
    a = patron()
    lent = lend(a, FileFormat.MP3)
    resp = client.get(links(a, lent.loan_id)[Action.STREAM])
    assert resp.status_code == 302
    query = parse_qs(urlsplit(resp.location).query)
    assert query["response-content-disposition"][0].startswith("inline;")
    ranged = urllib.request.Request(resp.location, headers={"Range": "bytes=10-19"})
    with urllib.request.urlopen(ranged) as answer:
        assert answer.status == 206 and answer.read() == lent.data[10:20]


def test_the_same_refusals_apply_before_any_url_is_signed(s3_app, app, client, patron, lend, links):
    from library.loans.services import return_loan

    a = patron()
    lent = lend(a, FileFormat.PDF)
    url = links(a, lent.loan_id)[Action.DOWNLOAD]
    with app.app_context(), unit_of_work():
        return_loan(db.session.get(User, a.id), lent.loan_id)
    resp = client.get(url, headers={"Accept": "application/json"})
    assert resp.status_code == 410 and "Location" not in resp.headers


def test_an_epub_streams_through_the_app_with_its_watermark(s3_app, client, patron, lend, links):
    a = patron()
    lent = lend(a, FileFormat.EPUB)
    resp = client.get(links(a, lent.loan_id)[Action.DOWNLOAD])
    assert resp.status_code == 200 and resp.mimetype == "application/epub+zip"
    data = resp.get_data()
    resp.close()
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        assert b"vhs:watermark" in book.read("OEBPS/content.opf")
