"""Storage: keys only from hashes; the local directory and a real S3 HTTP server (moto)."""

from __future__ import annotations

import hashlib
import io
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from media.files.storage import LocalStorage, S3Storage, check_key, cover_key, file_key
from tests.media.files.conftest import S3_KEYS, S3_REGION
from vhs.config import Settings

SHA = hashlib.sha256(b"x").hexdigest()


@pytest.mark.parametrize(
    "key",
    [
        "files/../../etc/passwd",
        "files/Der Schimmelreiter.epub",
        f"files/{SHA}/../x",
        f"covers/{SHA}.jpg",
        f"/files/{SHA}",
        f"files/{SHA.upper()}",
        "",
    ],
)
def test_only_hash_shaped_keys_are_accepted(key):
    with pytest.raises(ValueError):
        check_key(key)


def test_keys_are_made_from_hashes():
    assert file_key(SHA) == f"files/{SHA}"
    assert cover_key(SHA, 160) == f"covers/{SHA}-160.jpg"
    with pytest.raises(ValueError):
        file_key("../x")


def test_local_storage_round_trip(tmp_path: Path):
    storage = LocalStorage(tmp_path / "media")
    key = file_key(SHA)
    assert not storage.exists(key) and storage.size(key) is None
    storage.put(key, io.BytesIO(b"Inhalt"), content_type="application/pdf")
    assert storage.exists(key) and storage.size(key) == 6
    with storage.open(key) as f:
        assert f.read() == b"Inhalt"
    assert storage.local_path(key) == tmp_path / "media" / "files" / SHA
    assert storage.url(key, download_name="a.pdf", content_type="application/pdf") is None
    storage.delete(key)
    storage.delete(key)  # twice: nothing happens
    assert not storage.exists(key)


def test_a_failed_local_write_leaves_nothing_behind(tmp_path: Path):
    class Broken(io.BytesIO):
        def read(self, *args):
            if self.tell() > 0:
                raise OSError("disk went away")
            return super().read(4)

    storage = LocalStorage(tmp_path)
    with pytest.raises(OSError):
        storage.put(file_key(SHA), Broken(b"12345678"), content_type="x/y")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def _s3(endpoint: str, bucket: str, ttl: int = 60) -> S3Storage:
    settings = Settings(
        s3_endpoint_url=endpoint,
        s3_region=S3_REGION,
        s3_access_key_id=S3_KEYS["aws_access_key_id"],
        s3_secret_access_key=S3_KEYS["aws_secret_access_key"],
        media_url_ttl_seconds=ttl,
    )
    return S3Storage.from_settings(settings, bucket, "bibliothek/medien")


def test_s3_storage_round_trip_over_http(s3_endpoint: str, s3_bucket: str):
    storage = _s3(s3_endpoint, s3_bucket)
    key = file_key(SHA)
    assert not storage.exists(key) and storage.size(key) is None
    storage.put(key, io.BytesIO(b"%PDF-1.7 Inhalt"), content_type="application/pdf")
    assert storage.exists(key) and storage.size(key) == 15
    with storage.open(key) as body:
        assert body.read() == b"%PDF-1.7 Inhalt"
    # Under the prefix, by hash, with the detected content type.
    raw = boto3.client("s3", endpoint_url=s3_endpoint, region_name=S3_REGION, **S3_KEYS)
    head = raw.head_object(Bucket=s3_bucket, Key=f"bibliothek/medien/files/{SHA}")
    assert head["ContentType"] == "application/pdf"
    assert storage.local_path(key) is None
    storage.delete(key)
    assert not storage.exists(key)
    with pytest.raises(FileNotFoundError):
        storage.open(key)


def test_s3_local_copy_for_readers(s3_endpoint: str, s3_bucket: str):
    storage = _s3(s3_endpoint, s3_bucket)
    storage.put(file_key(SHA), io.BytesIO(b"abc" * 1000), content_type="audio/mpeg")
    with storage.local_copy(file_key(SHA)) as path:
        assert path.read_bytes() == b"abc" * 1000
    assert not path.exists()


def test_a_presigned_url_serves_the_object_over_http_and_carries_its_expiry(
    s3_endpoint: str, s3_bucket: str
):
    """The URL works when fetched, names the file as we chose, and is signed for the TTL.

    moto (5.x) does not refuse expired presigned URLs, so the expiry is shown by what the
    signature covers (``X-Amz-Date`` + ``X-Amz-Expires``), which real S3 enforces.
    """
    storage = _s3(s3_endpoint, s3_bucket, ttl=90)
    key = file_key(SHA)
    storage.put(key, io.BytesIO(b"Hallo Welt"), content_type="text/plain")
    url = storage.url(key, download_name="Straße am Meer.epub", content_type="application/epub+zip")
    assert url is not None and url.startswith(s3_endpoint)
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.read() == b"Hallo Welt"
        assert answer.headers["Content-Type"] == "application/epub+zip"
        disposition = answer.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="Stra_e am Meer.epub"')
    assert "filename*=UTF-8''Stra%C3%9Fe%20am%20Meer.epub" in disposition
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["90"]
    signed_at = time.mktime(time.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ"))
    assert abs(signed_at - time.mktime(time.gmtime())) < 30
    assert query["X-Amz-Signature"][0]


def test_a_missing_bucket_reads_as_missing(s3_endpoint: str):
    storage = _s3(s3_endpoint, "no-such-bucket-here")
    assert not storage.exists(file_key(SHA))
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(
            storage.url(file_key(SHA), download_name="x", content_type="x/y") or "", timeout=10
        )
