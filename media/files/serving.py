"""Handing files and covers to clients.

Files: from a local directory through Werkzeug's conditional ``send_file`` (``Range`` → 206,
a range outside the file → 416 with ``Content-Range: bytes */<size>``, ``If-None-Match`` on
the SHA-256 ETag → 304), named after the item's title (never the uploaded name), private to
the requester; from S3 by a redirect to a presigned URL that lives ``VHS_MEDIA_URL_TTL_SECONDS``.
Who may fetch a file is decided by the caller (staff now; lending later).

Covers are public and immutable (a new image has a new hash, so a new URL): a year of
caching, ``immutable``, the hash as ETag; from S3 too they pass through the app, so that
every client sees the same URL and caches it.
"""

from __future__ import annotations

import re
import unicodedata

from flask import Response, redirect, request, send_file
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from media.files.detect import EXTENSIONS
from media.files.storage import cover_key, get_storage
from media.ingest.covers import WIDTHS
from media.models import MediaFile
from vhs.errors import NotFound, VhsError

COVER_MAX_AGE = 365 * 24 * 3600
COVER_NAME = re.compile(r"[0-9a-f]{64}")
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


class RangeNotSatisfiable(VhsError):
    """A ``Range`` that lies outside the file."""

    status = 416
    code = "range_not_satisfiable"
    title = _l("The requested part of the file does not exist.")


def download_name(media_file: MediaFile) -> str:
    """``<item title>.<extension of the format>``: what a patron's device saves it as."""
    title = unicodedata.normalize("NFC", media_file.item.title)
    stem = re.sub(r"\s+", " ", _UNSAFE_NAME.sub(" ", title)).strip(" .")[:120].rstrip(" .")
    if media_file.label:
        label = re.sub(r"\s+", " ", _UNSAFE_NAME.sub(" ", media_file.label)).strip(" .")[:60]
        stem = f"{stem} - {label}" if stem and label else stem or label
    return f"{stem or 'medium'}{EXTENSIONS[media_file.format][0]}"


def send_media_file(media_file: MediaFile, *, inline: bool = False) -> Response:
    """The file's bytes for the current request (or a redirect to them), see the module doc."""
    storage = get_storage()
    name = download_name(media_file)
    url = storage.url(
        media_file.storage_key,
        download_name=name,
        content_type=media_file.media_type,
        inline=inline,
    )
    if url is not None:
        response = redirect(url, code=302)
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response
    path = storage.local_path(media_file.storage_key)
    if path is None or not path.is_file():
        raise NotFound()
    try:
        response = send_file(
            path,
            mimetype=media_file.media_type,
            as_attachment=not inline,
            download_name=name,
            conditional=True,
            etag=media_file.sha256,
            last_modified=media_file.created_at,
            max_age=0,
        )
    except RequestedRangeNotSatisfiable as exc:  # Werkzeug has closed the file
        raise RangeNotSatisfiable(
            headers={"Content-Range": f"bytes */{media_file.size_bytes}", "Accept-Ranges": "bytes"}
        ) from exc
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def send_cover(sha256: str, width: int) -> Response:
    """A cover thumbnail, cached for a year by everyone; 404 for names no cover has."""
    if not COVER_NAME.fullmatch(sha256) or width not in WIDTHS:
        raise NotFound()
    storage, key = get_storage(), cover_key(sha256, width)
    path = storage.local_path(key)
    etag = f"{sha256}-{width}"
    if path is not None:
        if not path.is_file():
            raise NotFound()
        response = send_file(path, mimetype="image/jpeg", conditional=True, etag=etag)
    else:
        try:
            with storage.open(key) as blob:
                data = blob.read()
        except FileNotFoundError:
            raise NotFound() from None
        response = Response(data, mimetype="image/jpeg")
        response.set_etag(etag)
        response.make_conditional(request)
    response.headers["Cache-Control"] = f"public, max-age={COVER_MAX_AGE}, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
