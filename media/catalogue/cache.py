"""The media catalogue's caches: what feeds them, and how cached answers are served.

Everything the public catalogue (pages and API) shows comes from items, their people, numbers,
keywords and files; any change of them through the ORM gives the ``media_catalogue`` version
a new number in the same transaction (:mod:`vhs.cache`), so a publication, an edit or a
withdrawal shows in the very next response, on every worker. Never stale: an entry counts only
while the version it was computed under is current. The same scheme as the course catalogue's
(``courses/catalogue/cache.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable
from typing import Any

from flask import current_app, request, session
from flask.wrappers import Response
from flask_wtf.csrf import generate_csrf

from media.models import Contributor, Identifier, MediaFile, MediaItem, Subject
from vhs.auth import current
from vhs.cache import VersionedCache, track
from vhs.i18n import page_locale

MEDIA_CATALOGUE = "media_catalogue"
# Answers filtered by "available now" also depend on lending (licences and their counters):
# a version of their own, which the same catalogue sources move and the lending domain adds
# its own to (``track(MEDIA_AVAILABILITY, Licence)``). A loan or a return then renews only
# these answers; every other catalogue page and item page stays cached. Availability also
# changes by the clock alone (a licence expires), so these entries live a minute at most.
MEDIA_AVAILABILITY = "media_availability"

_SOURCES = (MediaItem, Contributor, Identifier, Subject, MediaFile)
track(MEDIA_CATALOGUE, *_SOURCES)
track(MEDIA_AVAILABILITY, *_SOURCES)

# Bounded: search words are free text. An API page is ~20 KB, an HTML page ~30 KB.
api_pages = VersionedCache(MEDIA_CATALOGUE, maxsize=256)
pages = VersionedCache(MEDIA_CATALOGUE, maxsize=512)
available_api_pages = VersionedCache(MEDIA_AVAILABILITY, maxsize=128, ttl=60)
available_pages = VersionedCache(MEDIA_AVAILABILITY, maxsize=128, ttl=60)


def _asks_availability() -> bool:
    """Whether this request filters by "available now" (then lending data is part of it)."""
    return "available" in request.args


# Where a page's CSRF token goes; each answer gets the visitor's own token in its place.
TOKEN_SLOT = "csrf-slot-7c1d9e3a55"


def _etag(data: bytes) -> str:
    """A short hash of a body, as its ETag."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _conditional(body: tuple[bytes, str]) -> Response:
    """200 with the body, or 304 when the client already holds its ETag."""
    data, mimetype = body
    resp = current_app.response_class(data, mimetype=mimetype)
    resp.set_etag(_etag(data))
    resp.headers["Cache-Control"] = "no-cache"  # always revalidate: staff edits change it
    return resp.make_conditional(request)


def api_key() -> tuple[Hashable, ...]:
    """An API answer's key: the query string as sent, and the language of its labels."""
    return ("api", request.full_path, page_locale())


def cached_json(compute: Callable[[], Any]) -> Response:
    """The JSON answer for this request from :data:`api_pages` (``compute`` on a miss)."""

    def build() -> tuple[bytes, str]:
        """The answer's body and type, to keep."""
        resp = current_app.json.response(compute())
        return resp.get_data(), resp.mimetype or "application/json"

    cache = available_api_pages if _asks_availability() else api_pages
    return _conditional(cache.get_or_set(api_key(), build))


def cached_json_hit() -> Response | None:
    """The answer :func:`cached_json` kept for this request, if still current; else None."""
    body = (available_api_pages if _asks_availability() else api_pages).get(api_key())
    return _conditional(body) if body is not None else None


def anonymous_page(render: Callable[..., str]) -> str | None:
    """The whole page for a visitor without an account, from :data:`pages`; None otherwise.

    Such visitors' pages differ only in the CSRF token of base.html's language switch: the
    page is kept with :data:`TOKEN_SLOT` in its place (``render`` gets ``csrf_token=`` to pass
    to the template) and each answer gets the visitor's own token. Anyone logged in (staff see
    drafts), or with a flashed message waiting, gets a freshly rendered page.
    """
    if current() is not None or session.get("_flashes"):
        return None
    key = ("page", request.full_path, page_locale())
    cache = available_pages if _asks_availability() else pages
    html = cache.get_or_set(key, lambda: render(csrf_token=lambda: TOKEN_SLOT))
    return html.replace(TOKEN_SLOT, generate_csrf())
