"""Files in S3 (moto's HTTP server on loopback, through boto3): stored under the prefix,
served by a redirect to a presigned URL that works over HTTP, removed after the commit;
covers pass through the app."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import urllib.request
from pathlib import Path

import boto3
import pytest
from flask import Flask
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from media.files.storage import LocalStorage, S3Storage, get_storage
from tests.media.files.conftest import S3_KEYS, S3_REGION
from tests.media.ingest import samples
from vhs.config import Settings


@pytest.fixture
def s3_app(app: Flask, s3_settings, monkeypatch) -> Flask:
    """The test app with storage in the bucket, as VHS_STORAGE_URL=s3://... makes it."""
    monkeypatch.setitem(app.config, "VHS", dataclasses.replace(app.config["VHS"], **s3_settings))
    monkeypatch.setitem(app.extensions, "vhs_media_storage", None)  # made again, for S3
    return app


def send(client, path, field, data, name):
    """POST a file as a browser does (the body built in memory)."""
    boundary, body = encode_multipart(
        {"csrf_token": client.csrf(), field: FileStorage(io.BytesIO(data), filename=name)}
    )
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def test_configuration_chooses_the_storage(tmp_path: Path):
    def storage_for(**settings) -> object:
        bare = Flask(__name__, instance_path=str(tmp_path))
        bare.config["VHS"] = Settings(**settings)
        with bare.app_context():
            return get_storage()

    local = storage_for()
    assert isinstance(local, LocalStorage) and local.root == tmp_path / "media"
    assert storage_for(storage_url="file:///srv/vhs-media").root == Path("/srv/vhs-media")
    s3 = storage_for(storage_url="s3://medien/bib/e-medien", s3_region="eu-central-1")
    assert isinstance(s3, S3Storage) and (s3.bucket, s3.prefix) == ("medien", "bib/e-medien/")
    assert s3.client.meta.region_name == "eu-central-1"


def test_upload_serve_and_remove_through_s3(
    s3_app, client, login, staff, make_item, s3_endpoint, s3_bucket
):
    login(staff)
    item_id = make_item("Sturmflut an der Küste")
    data = samples.epub(title="S3")
    resp = send(client, f"/staff/media/{item_id}/files", "file", data, "x.epub")
    assert resp.status_code == 302
    sha = hashlib.sha256(data).hexdigest()
    raw = boto3.client("s3", endpoint_url=s3_endpoint, region_name=S3_REGION, **S3_KEYS)
    key = f"bibliothek/medien/files/{sha}"
    assert raw.head_object(Bucket=s3_bucket, Key=key)["ContentLength"] == len(data)
    # The metadata page reads the file back from the bucket.
    page = client.get(resp.headers["Location"])
    assert page.status_code == 200 and samples.ISBN in page.text
    file_id = int(resp.headers["Location"].split("/files/")[1].split("/")[0])
    served = client.get(f"/staff/media/files/{file_id}")
    assert served.status_code == 302
    assert served.headers["Cache-Control"] == "private, no-store"
    url = served.headers["Location"]
    assert url.startswith(s3_endpoint) and "X-Amz-Expires=60" in url
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.read() == data
        assert answer.headers["Content-Type"] == "application/epub+zip"
        assert "K%C3%BCste.epub" in answer.headers["Content-Disposition"]
    removed = client.submit(f"/staff/media/{item_id}/files/{file_id}/remove")
    assert removed.status_code == 302
    assert raw.list_objects_v2(Bucket=s3_bucket, Prefix=key)["KeyCount"] == 0


def test_covers_from_s3_pass_through_the_app(s3_app, client, login, staff, make_item, s3_bucket):
    login(staff)
    item_id = make_item()
    image = samples.jpeg(320, 480, color="olive")
    resp = send(client, f"/staff/media/{item_id}/files/cover", "cover", image, "c.jpg")
    assert resp.status_code == 302
    sha = hashlib.sha256(image).hexdigest()
    cover = client.get(f"/media/covers/{sha}-160.jpg")
    assert cover.status_code == 200 and cover.data[:3] == b"\xff\xd8\xff"
    assert cover.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    again = client.get(f"/media/covers/{sha}-160.jpg", headers={"If-None-Match": f'"{sha}-160"'})
    assert again.status_code == 304
    assert client.get(f"/media/covers/{'a' * 64}-160.jpg").status_code == 404
