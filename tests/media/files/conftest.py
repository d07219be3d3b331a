"""Fixtures of the media file tests: items, uploads as a service call, the stored blobs, and
a real S3 HTTP server on loopback (moto in server mode, talked to through boto3)."""

from __future__ import annotations

import io
import secrets
import socket
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from flask import Flask
from moto.server import ThreadedMotoServer

from media.files import services
from media.files.storage import LocalStorage, get_storage
from media.models import MediaItem, MediaKind
from vhs.accounts.models import User
from vhs.db import db
from vhs.uow import unit_of_work

S3_KEYS = {"aws_access_key_id": "vhs-test", "aws_secret_access_key": "vhs-test-secret"}
S3_REGION = "us-east-1"


@pytest.fixture
def media_root(app: Flask) -> Path:
    """The directory the test app keeps media in (a temp dir, see tests/conftest.py)."""
    with app.app_context():
        storage = get_storage()
    assert isinstance(storage, LocalStorage)
    return storage.root


@pytest.fixture
def blobs(media_root: Path) -> Callable[[], set[str]]:
    """The keys stored right now (files and covers)."""

    def _blobs() -> set[str]:
        return {
            str(p.relative_to(media_root))
            for p in media_root.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        }

    return _blobs


@pytest.fixture
def make_item(app: Flask) -> Callable[..., int]:
    """Factory: a media item (a draft e-book by default); returns its id."""

    def _make(title: str = "Der Schimmelreiter", kind: MediaKind = MediaKind.EBOOK) -> int:
        with app.app_context(), unit_of_work():
            item = MediaItem(kind=kind, title=title)
            db.session.add(item)
            db.session.flush()
            return item.id

    return _make


@pytest.fixture
def staff(make_user: Callable[..., User]) -> User:
    """A staff member."""
    return make_user("staff", email=f"staff-{secrets.token_hex(3)}@example.org")


@pytest.fixture
def within(app: Flask) -> Callable[[], AbstractContextManager[None]]:
    """An app context with one unit of work (committed at its end, like a request)."""

    @contextmanager
    def _within() -> Iterator[None]:
        with app.app_context(), unit_of_work():
            yield

    return _within


@pytest.fixture
def upload(within: Callable[[], Any], staff: User) -> Callable[..., services.Upload]:
    """``upload(item_id, data, name)``: ``services.add_file`` as ``staff`` (or ``actor``)."""

    def _upload(
        item_id: int, data: bytes, name: str = "upload", actor: User | None = None, **kw: Any
    ) -> services.Upload:
        with within():
            user = db.session.get(User, (actor or staff).id)
            item = db.session.get(MediaItem, item_id)
            result = services.add_file(user, item, io.BytesIO(data), name, **kw)
            db.session.flush()
            db.session.expunge(result.file)  # its columns stay readable after the commit
            return result

    return _upload


def free_port() -> int:
    """A TCP port nobody listens on right now (loopback)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 HTTP server on a free loopback port, for the whole run."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> str:
    """A new, empty bucket on that server."""
    name = f"vhs-media-{secrets.token_hex(4)}"
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name=S3_REGION, **S3_KEYS)
    client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_settings(s3_endpoint: str, s3_bucket: str) -> dict[str, Any]:
    """Settings that point storage at the bucket, below a prefix."""
    return {
        "storage_url": f"s3://{s3_bucket}/bibliothek/medien",
        "s3_endpoint_url": s3_endpoint,
        "s3_region": S3_REGION,
        "s3_access_key_id": S3_KEYS["aws_access_key_id"],
        "s3_secret_access_key": S3_KEYS["aws_secret_access_key"],
        "media_url_ttl_seconds": 60,
    }
