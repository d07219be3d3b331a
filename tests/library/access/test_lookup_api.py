"""The watermark lookup's API twin for a file: staff send the EPUB itself, as on the page."""

from __future__ import annotations

import io

from flask import Flask

from library.access.links import Action
from media.models import FileFormat
from tests.library.access.test_lookup import code_in, download
from tests.media.ingest import samples


def post_file(client, headers, data: bytes, name: str = "fund.epub"):
    return client.post(
        "/api/v1/staff/library/watermarks",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        headers=headers,
    )


def test_staff_find_the_loan_by_sending_the_epub(
    app: Flask, client, patron, lend, links, make_user, api_token
):
    a = patron(name="Petra Leserin")
    lent = lend(a, FileFormat.EPUB, title="Der Schimmelreiter")
    book = download(client, links(a, lent.loan_id)[Action.DOWNLOAD])
    code = code_in(book)
    headers = api_token(make_user("staff"))
    resp = post_file(client, headers, book)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    found = resp.json
    assert (found["code"], found["loan_id"], found["file_id"]) == (code, lent.loan_id, lent.file_id)
    assert found["patron"]["name"] == "Petra Leserin"
    # The same answer as the lookup by code.
    by_code = client.get(f"/api/v1/staff/library/watermarks/{code}", headers=headers)
    assert by_code.json == found


def test_files_that_are_no_watermarked_epub_are_refused(client, make_user, api_token):
    headers = api_token(make_user("staff"))
    for data, name in ((samples.pdf(), "fund.pdf"), (samples.epub(), "fund.epub")):
        resp = post_file(client, headers, data, name)
        assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
        assert "file" in resp.json["errors"]
    missing = client.post(
        "/api/v1/staff/library/watermarks",
        data={},
        content_type="multipart/form-data",
        headers=headers,
    )
    assert missing.status_code == 422


def test_only_staff_send_files_to_look_up(client, patron, make_user, api_token):
    for who in (patron(), make_user("instructor")):
        resp = post_file(client, api_token(who), samples.epub())
        assert resp.status_code == 403 and resp.json["code"] == "forbidden_role"
    assert post_file(client, {}, samples.epub()).status_code == 401
