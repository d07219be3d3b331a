"""The catalogue's caches: what feeds them, and how cached answers are served.

Everything the catalogue (page and API) shows comes from courses, their categories, terms,
sessions, instructor links and instructor names; a change of any of them through the ORM gives
the ``catalogue`` version a new number in the same transaction (see :mod:`vhs.cache`), so a
booking or an edit shows in the very next response. Cached answers also carry an ETag of their
body, so clients that revalidate (``Cache-Control: no-cache``) get a 304 without the body.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, request, session
from flask.wrappers import Response
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from courses.models import Category, Course, Session, SessionStatus, Term, course_instructors
from vhs.accounts.models import User
from vhs.auth import current
from vhs.cache import VersionedCache, track
from vhs.db import utcnow
from vhs.i18n import page_locale

CATALOGUE = "catalogue"

track(CATALOGUE, Course, Category, Term, Session, course_instructors, (User, ("name",)))

# Bounded: search words are free text. A catalogue page is ~40 KB of HTML, an API page ~25 KB.
api_pages = VersionedCache(CATALOGUE, maxsize=256)
html_fragments = VersionedCache(CATALOGUE, maxsize=256)


@dataclass(frozen=True)
class CachedBody:
    """A response body worth keeping: bytes, type and their ETag."""

    body: bytes
    mimetype: str
    etag: str


def _body(data: bytes, mimetype: str) -> CachedBody:
    return CachedBody(data, mimetype, hashlib.blake2b(data, digest_size=16).hexdigest())


def cached_json(cache: VersionedCache, key: Hashable, compute: Callable[[], Any]) -> Response:
    """A JSON response from ``cache`` (``compute`` answers the data to dump on a miss)."""

    def build() -> CachedBody:
        resp = current_app.json.response(compute())
        return _body(resp.get_data(), resp.mimetype or "application/json")

    return conditional(cache.get_or_set(key, build))


def cached_json_hit(cache: VersionedCache, key: Hashable) -> Response | None:
    """The response :func:`cached_json` kept under ``key``, if still valid; else None."""
    cached = cache.get(key)
    return conditional(cached) if cached is not None else None


def conditional(cached: CachedBody) -> Response:
    """200 with the body, or 304 when the client already holds this ETag."""
    resp = current_app.response_class(cached.body, mimetype=cached.mimetype)
    resp.set_etag(cached.etag)
    resp.headers["Cache-Control"] = "no-cache"  # always revalidate: bookings change the page
    return resp.make_conditional(request)


def render_block(template_name: str, block: str, context: dict[str, Any]) -> Markup:
    """Render one block of a template with the usual context (for fragment caching)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    template = app.jinja_env.get_or_select_template(template_name)
    ctx = dict(context)
    app.update_template_context(ctx)
    # Autoescaped template output is safe HTML already, as render_template would return it.
    return Markup("".join(template.blocks[block](template.new_context(ctx))))  # noqa: S704


def request_key(*extra: Hashable) -> tuple[Hashable, ...]:
    """The query string as a key (all values, in order), plus ``extra``."""
    return (request.path, tuple(sorted(request.args.items(multi=True))), *extra)


# --- fragments of pages that differ per visitor --------------------------------------------

# Parts of the course page that are the same for every visitor: ~1-3 KB each.
fragments = VersionedCache(CATALOGUE, maxsize=4096)


def cached(
    name: str,
    *keys: Hashable,
    until: Callable[[], datetime | None] | None = None,
    caller: Callable[[], str],
) -> Markup:
    """``{% call cached("name", course.id) %}...{% endcall %}`` in a template.

    The block is rendered once per name, keys, language and catalogue version and kept in
    :data:`fragments`; while it is cached, nothing inside it runs (so its lazy loads issue no
    SQL). Only what is the same for every visitor belongs inside (no account, no form token).
    ``until`` answers when the block turns stale by the clock alone (asked after rendering);
    see :func:`dates_change`. A plain ``call`` block, so Babel still extracts its messages.
    """

    key = (name, *keys, page_locale())
    return fragments.get_or_set(key, lambda: Markup(caller()), until)  # noqa: S704


def dates_change(course: Course) -> Callable[[], datetime | None]:
    """When "the next session" of ``course`` moves on: the end of the earliest scheduled
    session still to end (asked after rendering, when the sessions are loaded anyway)."""

    def at() -> datetime | None:
        now = utcnow()
        ends = [
            s.ends_at
            for s in course.sessions
            if s.status is SessionStatus.SCHEDULED and s.ends_at > now
        ]
        return min(ends) if ends else None

    return at


# --- whole pages for visitors without an account ---------------------------------------------

# Where the page's CSRF token goes; each answer gets the visitor's own token in its place.
TOKEN_SLOT = "csrf-slot-0f6e2b9d4c"

# Whole HTML pages (~15-20 KB) for visitors without an account or pending messages.
pages = VersionedCache(CATALOGUE, maxsize=512)


def anonymous_page(
    render: Callable[..., str], until: Callable[[], datetime | None] | None = None
) -> str | None:
    """The whole page for a visitor without an account, from :data:`pages`; None otherwise.

    Such a visitor's page differs from any other's only in the CSRF token of base.html's
    language switch: the page is kept with :data:`TOKEN_SLOT` in its place (``render`` gets
    ``csrf_token=`` to pass to the template) and each answer gets the visitor's own token, made
    exactly as ``csrf_token()`` would (so the session cookie is the same as without the cache).
    Keyed by path and query string as sent, language and catalogue version; anyone logged in,
    or with a flashed message waiting, gets a freshly rendered page.
    """

    if current() is not None or session.get("_flashes"):
        return None
    key = ("page", request.full_path, page_locale())
    html = pages.get_or_set(key, lambda: render(csrf_token=lambda: TOKEN_SLOT), until)
    return html.replace(TOKEN_SLOT, generate_csrf())
