"""Cheap feeds: public feeds kept per data version, conditional GET, gzip when asked for.

A public feed depends on the catalogue (items, people, numbers, keywords, files) *and* on
lending (licence counters, course copies, the hold queues): all of them move the version
``opds_feeds`` in the transaction that changes them (``vhs.cache``), so a borrow, a return or
a hold shows in the very next feed answer on every worker. Availability also changes by the
clock alone (a licence expires, a loan runs out and the minute job closes it): entries live a
minute at most, like the catalogue's "available now" answers.

Every answer has a strong ETag (a hash of the body) and a Last-Modified (when this worker
computed it, which is never before the data it shows changed); ``If-None-Match`` and
``If-Modified-Since`` get 304. The body is kept once plain and once gzipped: a client that
asks for gzip gets it (``Content-Encoding: gzip``), one that asks for ``identity`` (or says
nothing) the plain bytes — the app compresses nothing else, so nothing else can compress an
answer twice. The shelf, and a feed asked for with a patron's credentials (``overlay``), are
never kept (``private, no-store``).
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app, request
from flask.wrappers import Response

from library.models import Hold, Licence, LicenceDedication
from media.models import Contributor, Identifier, MediaFile, MediaItem, Subject
from vhs.cache import VersionedCache, track
from vhs.i18n import page_locale

OPDS_FEEDS = "opds_feeds"
track(
    OPDS_FEEDS,
    MediaItem,
    Contributor,
    Identifier,
    Subject,
    MediaFile,
    Licence,
    LicenceDedication,
    Hold,
)
# Bounded: search words are free text. A page of 50 entries is ~60 KB plain, ~10 KB gzipped.
feed_cache = VersionedCache(OPDS_FEEDS, maxsize=512, ttl=60)


@dataclass(frozen=True)
class Body:
    """A feed's bytes, plain and gzipped, with its validators."""

    data: bytes
    gzipped: bytes
    content_type: str
    etag: str
    modified: datetime

    @classmethod
    def of(cls, data: bytes, content_type: str) -> Body:
        """Wrap freshly built bytes (gzip level 6: a tenth of the size for little CPU)."""
        return cls(
            data=data,
            gzipped=gzip.compress(data, compresslevel=6, mtime=0),
            content_type=content_type,
            etag=hashlib.blake2b(data, digest_size=16).hexdigest(),
            modified=datetime.now(UTC).replace(microsecond=0),
        )


def _wants_gzip() -> bool:
    """Whether the client accepts gzip (``identity`` alone, or nothing, means plain)."""
    return request.accept_encodings["gzip"] > 0


def respond(body: Body, *, private: bool = False) -> Response:
    """The answer: 304 when the client holds it, else the body (gzipped if asked for)."""
    compressed = _wants_gzip()
    resp = current_app.response_class(body.gzipped if compressed else body.data)
    resp.headers["Content-Type"] = body.content_type
    resp.vary.add("Accept-Encoding")
    if compressed:
        resp.headers["Content-Encoding"] = "gzip"
    if private:
        resp.headers["Cache-Control"] = "private, no-store"
        return resp
    # Revalidate every time: a borrow changes availability at once. A request with
    # credentials gets the patron's own answer: no cache may hand it this one.
    resp.headers["Cache-Control"] = "no-cache"
    resp.vary.add("Authorization")
    resp.set_etag(body.etag + ("-gzip" if compressed else ""))
    resp.last_modified = body.modified
    return resp.make_conditional(request)


def cached_body(key: Hashable, build: Callable[[], tuple[bytes, str]]) -> Body:
    """A public feed's body from :data:`feed_cache` (``build`` on a miss)."""
    full_key = (key, request.full_path, page_locale())
    return feed_cache.get_or_set(full_key, lambda: Body.of(*build()))


def cached_feed(key: Hashable, build: Callable[[], tuple[bytes, str]]) -> Response:
    """A public feed from :data:`feed_cache` (``build`` on a miss)."""
    return respond(cached_body(key, build))
