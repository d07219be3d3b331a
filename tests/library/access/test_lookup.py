"""Staff look a watermark up: by its code or the EPUB itself; the patron only while known."""

from __future__ import annotations

import io
import re
import zipfile

from flask import Flask
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from library.access.links import Action
from library.loans.services import return_loan
from media.models import FileFormat
from tests.media.ingest import samples
from vhs.accounts.models import User
from vhs.db import db
from vhs.uow import unit_of_work


def download(client, url: str) -> bytes:
    resp = client.get(url)
    assert resp.status_code == 200
    data = resp.get_data()
    resp.close()
    return data


def code_in(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        opf = book.read("OEBPS/content.opf").decode()
    return re.search(r'content="(W-[0-9A-Z]{4}-[0-9A-Z]{4})"', opf).group(1)


def post_file(client, data: bytes, name: str = "fund.epub"):
    boundary, body = encode_multipart(
        {
            "csrf_token": client.csrf(),
            "code": "",
            "file": FileStorage(io.BytesIO(data), filename=name),
        }
    )
    return client.post(
        "/staff/library/watermarks",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def test_staff_find_the_loan_by_code_and_by_file(
    app: Flask, client, patron, lend, links, login, make_user, api_token
):
    a = patron(name="Petra Leserin")
    lent = lend(a, FileFormat.EPUB, title="Der Schimmelreiter")
    book = download(client, links(a, lent.loan_id)[Action.DOWNLOAD])
    code = code_in(book)
    staff = make_user("staff")
    headers = api_token(staff)

    resp = client.get(f"/api/v1/staff/library/watermarks/{code}", headers=headers)
    assert resp.status_code == 200, resp.json
    found = resp.json
    assert (found["code"], found["loan_id"], found["file_id"]) == (code, lent.loan_id, lent.file_id)
    assert found["item"]["title"] == "Der Schimmelreiter" and found["downloads"] == 1
    assert found["patron"]["name"] == "Petra Leserin" and found["ended_at"] is None
    # Typed loosely: lower case, spaces, without the W-.
    loose = code.lower().replace("-", " ").removeprefix("w ")
    assert (
        client.get(f"/api/v1/staff/library/watermarks/{loose}", headers=headers).status_code == 200
    )

    login(staff)
    page = client.submit("/staff/library/watermarks", {"code": code})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Petra Leserin" in text and "Der Schimmelreiter" in text
    page = post_file(client, book)
    assert page.status_code == 200 and f"Wasserzeichen {code}" in page.get_data(as_text=True)
    assert client.get(f"/staff/library/watermarks?code={code}").status_code == 200

    # Once returned, the loan forgets its patron, and so does the lookup.
    with app.app_context(), unit_of_work():
        return_loan(db.session.get(User, a.id), lent.loan_id)
    resp = client.get(f"/api/v1/staff/library/watermarks/{code}", headers=headers)
    assert resp.json["patron"] is None and resp.json["ended_at"] is not None
    text = client.submit("/staff/library/watermarks", {"code": code}).get_data(as_text=True)
    assert "Petra Leserin" not in text and "Nicht mehr bekannt" in text


def test_unknown_codes_and_files_are_refused(client, make_user, login, api_token):
    headers = api_token(make_user("staff"))
    for code in ("W-0000-0000", "nonsense", "W-ÄÖÜ"):
        resp = client.get(f"/api/v1/staff/library/watermarks/{code}", headers=headers)
        assert resp.status_code == 404 and resp.json["code"] == "watermark_not_found"
    login(make_user("staff"))
    resp = client.submit("/staff/library/watermarks", {"code": "W-0000-0000"})
    assert resp.status_code == 404 and "Kein Download trägt" in resp.get_data(as_text=True)
    resp = client.submit("/staff/library/watermarks", {"code": "kaputt"})
    assert resp.status_code == 422 and "W-7K3M-Q9XD" in resp.get_data(as_text=True)
    resp = client.submit("/staff/library/watermarks", {"code": ""})
    assert resp.status_code == 422 and "Geben Sie einen Code ein" in resp.get_data(as_text=True)
    resp = post_file(client, samples.pdf(), "fund.pdf")
    assert resp.status_code == 422 and "kein EPUB" in resp.get_data(as_text=True)
    resp = post_file(client, samples.epub())
    assert resp.status_code == 422 and "kein Wasserzeichen" in resp.get_data(as_text=True)


def test_only_staff_look_watermarks_up(client, patron, make_user, login, api_token):
    resident = patron()
    resp = client.get("/api/v1/staff/library/watermarks/W-0000-0000", headers=api_token(resident))
    assert resp.status_code == 403 and resp.json["code"] == "forbidden_role"
    assert client.get("/api/v1/staff/library/watermarks/W-0000-0000").status_code == 401
    login(resident)
    assert client.get("/staff/library/watermarks").status_code == 403
    assert client.submit("/staff/library/watermarks", {"code": "W-0000-0000"}).status_code == 403
