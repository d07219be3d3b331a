"""Staff pages: upload with confirmation, take over metadata, remove, cover; file serving."""

from __future__ import annotations

import hashlib
import io
import re

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from media.models import MediaItem
from tests.media.ingest import samples
from vhs.db import db


@pytest.fixture
def as_staff(client, login, staff):
    login(staff)
    return client


def send(client, path, data, name="datei", field="file"):
    """POST a file as a browser does; the body is built in memory (Werkzeug's test client
    would spool a large one to a temporary file it never closes)."""
    boundary, body = encode_multipart(
        {"csrf_token": client.csrf(), field: FileStorage(io.BytesIO(data), filename=name)}
    )
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def fetch(client, url, **kw):
    """GET ``url``, read the body and close the response (it may hold an open file)."""
    resp = client.get(url, **kw)
    resp.get_data()
    resp.close()
    return resp


def item_of(app, item_id):
    with app.app_context():
        item = db.session.get(MediaItem, item_id)
        facts = {
            "title": item.title,
            "isbn": item.isbn,
            "names": [c.name for c in item.contributors],
            "cover": item.cover_sha256,
            "files": [(f.id, f.format.value, f.sha256) for f in item.files],
        }
        return facts


def test_upload_then_confirm_the_metadata(app, as_staff, make_item):
    item_id = make_item("Noch ohne Titel")
    page = as_staff.get(f"/staff/media/{item_id}/files")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    resp = send(
        as_staff, f"/staff/media/{item_id}/files", samples.epub(cover=samples.png()), "roman.mp3"
    )
    assert resp.status_code == 302
    [(file_id, _fmt, _sha)] = item_of(app, item_id)["files"]
    assert resp.headers["Location"].endswith(f"/staff/media/{item_id}/files/{file_id}/metadata")
    page = as_staff.get(resp.headers["Location"])
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "EPUB" in text and "application/epub+zip" in text
    assert "„.mp3“" in text or "“.mp3”" in text  # the lying extension is named
    for value in ("Der Schimmelreiter", "Theodor Storm", samples.ISBN, "Nordfriesische Novellen"):
        assert value in text
    # What the item lacks is preselected; what it has (a title) is left to staff.
    assert re.search(r'value="isbn" id="take-isbn" checked', text)
    assert not re.search(r'value="title" id="take-title" checked', text)
    resp = as_staff.submit(
        f"/staff/media/{item_id}/files/{file_id}/metadata",
        {"fields": ["title", "isbn", "contributors"]},
    )
    assert resp.status_code == 302
    facts = item_of(app, item_id)
    assert (facts["title"], facts["isbn"], facts["names"]) == (
        "Der Schimmelreiter",
        samples.ISBN,
        ["Theodor Storm", "Erika Übersetzer"],
    )
    assert facts["cover"] is None  # not chosen
    assert "Aus der Datei übernommen" in as_staff.get(resp.headers["Location"]).get_data(
        as_text=True
    )


def test_a_field_the_file_does_not_offer_is_refused(app, as_staff, make_item):
    item_id = make_item()
    send(as_staff, f"/staff/media/{item_id}/files", samples.pdf())
    [(file_id, *_)] = item_of(app, item_id)["files"]
    resp = as_staff.submit(f"/staff/media/{item_id}/files/{file_id}/metadata", {"fields": ["isbn"]})
    assert resp.status_code == 422


@pytest.mark.parametrize(
    ("data", "status", "reason"),
    [
        (b"<html>kein Buch</html>", 422, "nicht in einem Format"),
        (samples.pdf()[:400], 422, "beschädigt"),
        (samples.epub(extra=[("../../x", b"")]), 422, "außerhalb"),
        (samples.pdf(user_password="x"), 422, "verschlüsselt"),
    ],
)
def test_a_refused_upload_says_why_in_german(app, as_staff, make_item, blobs, data, status, reason):
    item_id = make_item()
    before = blobs()
    resp = send(as_staff, f"/staff/media/{item_id}/files", data, "buch.epub")
    assert resp.status_code == status
    assert reason in resp.get_data(as_text=True)
    assert item_of(app, item_id)["files"] == [] and blobs() == before


def test_a_duplicate_upload_is_409(app, as_staff, make_item):
    item_id = make_item()
    data = samples.pdf(title="Zweimal hochgeladen")
    send(as_staff, f"/staff/media/{item_id}/files", data)
    resp = send(as_staff, f"/staff/media/{item_id}/files", data)
    assert resp.status_code == 409
    assert "bereits" in resp.get_data(as_text=True)


def test_upload_bodies_follow_the_configured_limit(app, as_staff, make_item, monkeypatch):
    item_id = make_item()
    # Over the 16 MiB every other form may send, under the 500 MB uploads may: not refused
    # for its size (it is no medium, so 422).
    resp = send(as_staff, f"/staff/media/{item_id}/files", bytes(17 * 1024 * 1024))
    assert resp.status_code == 422
    monkeypatch.setattr(app.config["VHS"], "media_max_file_mb", 1)
    resp = send(as_staff, f"/staff/media/{item_id}/files", bytes(3 * 1024 * 1024))
    assert resp.status_code == 413  # the edge: the body is larger than 1 MB and the form around it
    resp = send(as_staff, f"/staff/media/{item_id}/files", samples.mp3_frames(seconds=80))
    assert resp.status_code == 413  # the service, counting while it spools
    assert "größer als 1 MB" in resp.get_data(as_text=True)


def test_remove_asks_first(app, as_staff, make_item, blobs):
    item_id = make_item()
    send(as_staff, f"/staff/media/{item_id}/files", samples.pdf(title="Weg damit"))
    [(file_id, _fmt, sha)] = item_of(app, item_id)["files"]
    page = as_staff.get(f"/staff/media/{item_id}/files/{file_id}/remove")
    assert page.status_code == 200 and "nicht rückgängig" in page.get_data(as_text=True)
    assert f"files/{sha}" in blobs()
    resp = as_staff.submit(f"/staff/media/{item_id}/files/{file_id}/remove")
    assert resp.status_code == 302
    assert item_of(app, item_id)["files"] == [] and f"files/{sha}" not in blobs()


def test_cover_upload_and_public_thumbnails(app, as_staff, client, make_item):
    item_id = make_item()
    image = samples.jpeg(900, 1350)
    resp = send(as_staff, f"/staff/media/{item_id}/files/cover", image, "umschlag.jpg", "cover")
    assert resp.status_code == 302
    sha = hashlib.sha256(image).hexdigest()
    assert item_of(app, item_id)["cover"] == sha
    assert f"/media/covers/{sha}-160.jpg" in as_staff.get(f"/staff/media/{item_id}/files").text
    as_staff.post("/account/logout", data={"csrf_token": as_staff.csrf()})
    resp = fetch(client, f"/media/covers/{sha}-480.jpg")
    assert resp.status_code == 200 and resp.mimetype == "image/jpeg"
    assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert resp.headers["ETag"] == f'"{sha}-480"'
    assert resp.data[:3] == b"\xff\xd8\xff"
    again = fetch(client, f"/media/covers/{sha}-480.jpg", headers={"If-None-Match": f'"{sha}-480"'})
    assert again.status_code == 304 and again.data == b""
    assert client.get(f"/media/covers/{sha}-300.jpg").status_code == 404
    assert client.get(f"/media/covers/{'0' * 64}-160.jpg").status_code == 404
    assert client.get("/media/covers/..%2F..%2Fvhs-160.jpg").status_code == 404


def test_a_non_image_cover_is_refused_on_the_form(app, as_staff, make_item):
    item_id = make_item()
    resp = send(
        as_staff, f"/staff/media/{item_id}/files/cover", samples.pdf(), "cover.jpg", "cover"
    )
    assert resp.status_code == 422
    assert "JPEG, PNG, WebP oder GIF" in resp.get_data(as_text=True)


# --- serving a stored file ---------------------------------------------------------------------


@pytest.fixture
def stored(app, as_staff, make_item):
    item_id = make_item('Straße/Deich: "Sturmflut"')
    data = samples.epub(title="Serving")
    send(as_staff, f"/staff/media/{item_id}/files", data, "hochgeladen-so.epub")
    [(file_id, _fmt, sha)] = item_of(app, item_id)["files"]
    return file_id, sha, data


def test_a_file_is_served_whole_named_after_the_item(as_staff, stored):
    file_id, sha, data = stored
    resp = fetch(as_staff, f"/staff/media/files/{file_id}")
    assert resp.status_code == 200 and resp.data == data
    assert resp.mimetype == "application/epub+zip"
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "hochgeladen" not in disposition
    assert "Stra%C3%9Fe%20Deich%20%20Sturmflut%20.epub" in disposition or "Sturmflut" in disposition
    assert "/" not in disposition.split("filename", 1)[1].replace("''", "")
    assert resp.headers["ETag"] == f'"{sha}"'
    assert resp.headers["Accept-Ranges"] == "bytes"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Cache-Control"].startswith("private")


def test_ranges_and_etags(as_staff, stored):
    file_id, sha, data = stored
    url = f"/staff/media/files/{file_id}"
    part = fetch(as_staff, url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.data == data[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    tail = fetch(as_staff, url, headers={"Range": "bytes=-5"})
    assert tail.status_code == 206 and tail.data == data[-5:]
    outside = fetch(as_staff, url, headers={"Range": f"bytes={len(data) + 10}-"})
    assert outside.status_code == 416
    assert outside.headers["Content-Range"] == f"bytes */{len(data)}"
    cached = fetch(as_staff, url, headers={"If-None-Match": f'"{sha}"'})
    assert cached.status_code == 304 and cached.data == b""
    stale = fetch(as_staff, url, headers={"If-None-Match": '"something-else"'})
    assert stale.status_code == 200
    # A range on a changed file (If-Range with another ETag) sends it whole.
    changed = fetch(as_staff, url, headers={"Range": "bytes=0-9", "If-Range": '"old"'})
    assert changed.status_code == 200 and changed.data == data


def test_a_file_whose_bytes_are_gone_is_404(app, as_staff, stored, media_root):
    file_id, sha, _data = stored
    (media_root / "files" / sha).unlink()
    assert fetch(as_staff, f"/staff/media/files/{file_id}").status_code == 404
