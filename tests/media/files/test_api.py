"""The staff API of media files: multipart upload, proposal, taking over, removal, cover."""

from __future__ import annotations

import hashlib
import io

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.media.ingest import samples


@pytest.fixture
def headers(api_token, staff):
    return api_token(staff)


def post_file(client, headers, path, data, name="datei", field="file", method="POST"):
    boundary, body = encode_multipart({field: FileStorage(io.BytesIO(data), filename=name)})
    return client.open(
        path,
        method=method,
        data=body,
        headers=headers,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def test_upload_answers_with_the_file_and_its_proposal(client, headers, make_item):
    item_id = make_item()
    data = samples.m4b(seconds=5, chapters=[("Eins", 0.0), ("Zwei", 2.5)], cover=samples.jpeg())
    resp = post_file(client, headers, f"/api/v1/staff/media/{item_id}/files", data, "buch.mp3")
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert body["detected_format"] == "m4a" and body["media_type"] == "audio/mp4"
    assert body["misnamed_extension"] == ".mp3"
    assert body["file"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["file"]["size_bytes"] == len(data) and body["file"]["duration_seconds"] == 5
    assert body["file"]["download_url"] == f"/staff/media/files/{body['file']['id']}"
    proposal = body["proposal"]
    assert proposal["title"] == "Der Schimmelreiter" and proposal["has_cover"] is True
    assert proposal["chapters"] == [
        {"title": "Eins", "start_seconds": 0.0},
        {"title": "Zwei", "start_seconds": 2.5},
    ]
    assert proposal["contributors"] == [{"name": "Theodor Storm", "role": "author"}]
    assert proposal["offered"] == ["title", "contributors", "year", "duration", "cover"]
    listed = client.get(f"/api/v1/staff/media/{item_id}/files", headers=headers)
    assert [f["id"] for f in listed.json] == [body["file"]["id"]]


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"kein Medium", 422, "file_format_unknown"),
        (samples.epub()[:-40], 422, "file_corrupt"),
        (samples.epub(extra=[("/etc/evil", b"")]), 422, "file_unsafe_path"),
        (samples.mp4_boxes(brand=b"M4P "), 422, "file_encrypted"),
    ],
)
def test_refusals_are_problem_documents(client, headers, make_item, data, status, code):
    resp = post_file(client, headers, f"/api/v1/staff/media/{make_item()}/files", data)
    assert resp.status_code == status
    assert resp.mimetype == "application/problem+json"
    assert resp.json["code"] == code and resp.json["errors"]["file"]


def test_without_a_file_part_is_422(client, headers, make_item):
    resp = client.post(f"/api/v1/staff/media/{make_item()}/files", headers=headers)
    assert resp.status_code == 422
    resp = post_file(
        client, headers, f"/api/v1/staff/media/{make_item()}/files", b"x", field="other"
    )
    assert resp.status_code == 422


def test_duplicates_and_unknown_items(client, headers, make_item):
    item_id = make_item()
    data = samples.pdf(title="API doppelt")
    assert (
        post_file(client, headers, f"/api/v1/staff/media/{item_id}/files", data).status_code == 201
    )
    again = post_file(client, headers, f"/api/v1/staff/media/{item_id}/files", data)
    assert again.status_code == 409 and again.json["code"] == "file_duplicate"
    missing = post_file(client, headers, "/api/v1/staff/media/999999/files", data)
    assert missing.status_code == 404


def test_take_over_metadata_and_remove(client, headers, make_item, blobs):
    item_id = make_item("?")
    created = post_file(client, headers, f"/api/v1/staff/media/{item_id}/files", samples.epub())
    file_id = created.json["file"]["id"]
    url = f"/api/v1/staff/media/{item_id}/files/{file_id}"
    proposal = client.get(f"{url}/metadata", headers=headers)
    assert proposal.status_code == 200 and proposal.json["isbn"] == samples.ISBN
    taken = client.post(
        f"{url}/metadata", json={"fields": ["title", "isbn", "pages"]}, headers=headers
    )
    assert taken.status_code == 200 and taken.json == {"applied": ["title", "isbn"]}
    bad = client.post(f"{url}/metadata", json={"fields": ["state"]}, headers=headers)
    assert bad.status_code == 422
    other = make_item("Anderes")
    assert (
        client.get(
            f"/api/v1/staff/media/{other}/files/{file_id}/metadata", headers=headers
        ).status_code
        == 404
    )
    sha = created.json["file"]["sha256"]
    assert f"files/{sha}" in blobs()
    assert client.delete(url, headers=headers).status_code == 204
    assert f"files/{sha}" not in blobs()
    assert client.delete(url, headers=headers).status_code == 404


def test_put_cover(client, headers, make_item):
    item_id = make_item()
    image = samples.png(300, 450)
    resp = post_file(
        client, headers, f"/api/v1/staff/media/{item_id}/cover", image, "c.png", "cover", "PUT"
    )
    assert resp.status_code == 200
    sha = hashlib.sha256(image).hexdigest()
    assert resp.json == {
        "cover_sha256": sha,
        "urls": {"160": f"/media/covers/{sha}-160.jpg", "480": f"/media/covers/{sha}-480.jpg"},
    }
    thumb = client.get(resp.json["urls"]["160"])
    thumb.close()
    assert thumb.status_code == 200
    refused = post_file(
        client, headers, f"/api/v1/staff/media/{item_id}/cover", b"GIF89a", "c.gif", "cover", "PUT"
    )
    assert refused.status_code == 422 and refused.json["code"] == "cover_not_image"


def test_residents_cannot_upload(client, api_token, make_user, make_item, blobs):
    before = blobs()
    resp = post_file(
        client,
        api_token(make_user("resident")),
        f"/api/v1/staff/media/{make_item()}/files",
        samples.pdf(title="nicht von mir"),
    )
    assert resp.status_code == 403 and blobs() == before
