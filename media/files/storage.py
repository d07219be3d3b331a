"""Where the bytes of media files and covers live: one small interface, two kinds of store.

``LocalStorage`` keeps them in a directory (``instance/media`` by default), ``S3Storage`` in
an S3-compatible bucket; ``VHS_STORAGE_URL`` chooses (``vhs.config.storage_location``). Keys
are made here from hashes only (``files/<sha256>``, ``covers/<sha256>-<width>.jpg``) and every
key is checked against that shape, so a name a user chose can never reach a path or an object
key.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from flask import current_app

from vhs.config import Settings, storage_location

KEY = re.compile(r"(?:files|imports)/[0-9a-f]{64}|covers/[0-9a-f]{64}-[0-9]{2,4}\.jpg")
CHUNK = 1024 * 1024
_EXTENSION = "vhs_media_storage"


def file_key(sha256: str) -> str:
    """The key of a media file's bytes."""
    return check_key(f"files/{sha256}")


def import_key(sha256: str) -> str:
    """The key of an uploaded import file (records, or a ZIP of media files)."""
    return check_key(f"imports/{sha256}")


def cover_key(sha256: str, width: int) -> str:
    """The key of a cover thumbnail ``width`` pixels wide."""
    return check_key(f"covers/{sha256}-{width}.jpg")


def check_key(key: str) -> str:
    """``key`` if it has one of the shapes keys have; ValueError otherwise."""
    if not KEY.fullmatch(key):
        raise ValueError(f"not a storage key: {key!r}")
    return key


class Storage(ABC):
    """A store of immutable blobs under hash-derived keys."""

    @abstractmethod
    def put(self, key: str, stream: IO[bytes], *, content_type: str) -> None:
        """Store ``stream`` under ``key`` all at once: readers see the whole blob or none."""

    @abstractmethod
    def open(self, key: str) -> IO[bytes]:
        """A binary stream of the blob (close it); FileNotFoundError when there is none."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether a blob is stored under ``key``."""

    @abstractmethod
    def size(self, key: str) -> int | None:
        """The blob's length in bytes, None when there is none."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the blob (nothing happens when there is none)."""

    @abstractmethod
    def url(
        self, key: str, *, download_name: str, content_type: str, inline: bool = False
    ) -> str | None:
        """A short-lived address clients fetch the blob from directly, or None (serve it)."""

    @abstractmethod
    def local_path(self, key: str) -> Path | None:
        """The blob's file on this machine, or None when it lives elsewhere."""

    @contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        """A file holding the blob for as long as the block runs (readers need seekable files)."""
        path = self.local_path(key)
        if path is not None:
            if not path.is_file():
                raise FileNotFoundError(key)
            yield path
            return
        with tempfile.TemporaryDirectory(prefix="vhs-media-") as tmp:
            copy = Path(tmp) / "blob"
            with self.open(key) as source, copy.open("wb") as target:
                shutil.copyfileobj(source, target, CHUNK)
            yield copy


class LocalStorage(Storage):
    """Blobs as files below ``root``, written to a temporary file and renamed into place."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, stream: IO[bytes], *, content_type: str) -> None:
        """Write beside the target, flush to disk, then rename: atomic on one file system."""
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(stream, out, CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def open(self, key: str) -> IO[bytes]:
        """The file, opened for reading."""
        return self._path(key).open("rb")

    def exists(self, key: str) -> bool:
        """Whether the file exists."""
        return self._path(key).is_file()

    def size(self, key: str) -> int | None:
        """The file's size."""
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> None:
        """Unlink the file."""
        self._path(key).unlink(missing_ok=True)

    def url(
        self, key: str, *, download_name: str, content_type: str, inline: bool = False
    ) -> str | None:
        """None: the app serves local files itself (with ranges and ETags)."""
        return None

    def local_path(self, key: str) -> Path | None:
        """The file's path."""
        return self._path(key)


class S3Storage(Storage):
    """Blobs as objects of an S3-compatible bucket, below an optional key prefix."""

    def __init__(self, client: Any, bucket: str, prefix: str = "", url_ttl: int = 300) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self.url_ttl = url_ttl

    @classmethod
    def from_settings(cls, settings: Settings, bucket: str, prefix: str) -> S3Storage:
        """A client for the configured endpoint, region and credentials."""
        client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url or None,
            region_name=settings.s3_region or None,
            aws_access_key_id=settings.s3_access_key_id or None,
            aws_secret_access_key=settings.s3_secret_access_key or None,
            # Path-style addressing works with every S3-compatible store (MinIO, Ceph).
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )
        return cls(client, bucket, prefix, settings.media_url_ttl_seconds)

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def put(self, key: str, stream: IO[bytes], *, content_type: str) -> None:
        """Upload (in parts when large); S3 shows an object only once it is complete."""
        self.client.upload_fileobj(
            stream, self.bucket, self._key(key), ExtraArgs={"ContentType": content_type}
        )

    def open(self, key: str) -> IO[bytes]:
        """The object's body, streamed."""
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if _missing(exc):
                raise FileNotFoundError(key) from exc
            raise
        return answer["Body"]

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if _missing(exc):
                return None
            raise

    def exists(self, key: str) -> bool:
        """Whether the object exists (one HEAD request)."""
        return self._head(key) is not None

    def size(self, key: str) -> int | None:
        """The object's length (one HEAD request)."""
        head = self._head(key)
        return None if head is None else int(head["ContentLength"])

    def delete(self, key: str) -> None:
        """Delete the object."""
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def url(
        self, key: str, *, download_name: str, content_type: str, inline: bool = False
    ) -> str | None:
        """A presigned GET valid for the configured lifetime, naming the file as we choose."""
        disposition = "inline" if inline else "attachment"
        return self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self._key(key),
                "ResponseContentType": content_type,
                "ResponseContentDisposition": content_disposition(disposition, download_name),
            },
            ExpiresIn=self.url_ttl,
        )

    def local_path(self, key: str) -> Path | None:
        """None: objects live in the bucket."""
        return None


def _missing(exc: ClientError) -> bool:
    """Whether S3 said the object (or its bucket) is not there."""
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}


def content_disposition(disposition: str, download_name: str) -> str:
    """A ``Content-Disposition`` value with an ASCII fallback and the UTF-8 name (RFC 6266)."""
    ascii_name = download_name.encode("ascii", "replace").decode("ascii").replace("?", "_")
    ascii_name = ascii_name.replace('"', "").replace("\\", "")
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(download_name)}"


def get_storage() -> Storage:
    """The app's configured storage, made on first use."""
    storage = current_app.extensions.get(_EXTENSION)
    if storage is None:
        settings: Settings = current_app.config["VHS"]
        location = storage_location(settings, current_app.instance_path)
        if location.kind == "s3":
            storage = S3Storage.from_settings(settings, location.bucket, location.prefix)
        else:
            assert location.directory is not None
            storage = LocalStorage(location.directory)
        current_app.extensions[_EXTENSION] = storage
    return storage
