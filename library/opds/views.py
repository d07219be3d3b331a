"""The OPDS routes: every feed twice, as OPDS 1.2 under ``/opds/`` and as OPDS 2.0 under
``/opds/v2/`` (each links the other as ``alternate``), plus the authentication document, the
OpenSearch description and two images.

| OPDS 1.2 | OPDS 2.0 | what |
|---|---|---|
| ``/opds/`` | ``/opds/v2/`` | navigation root |
| ``/opds/catalogue`` | ``/opds/v2/catalogue`` | acquisition: new, ``kind``, ``subject``, ``series``, ``language``, ``sort``, ``page``, ``per_page`` |
| ``/opds/search?q=`` | ``/opds/v2/search?query=`` | search (OpenSearch: ``/opds/opensearch.xml``) |
| ``/opds/subjects``, ``/opds/series`` | ``/opds/v2/…`` | navigation by keyword and series |
| ``/opds/works/<id>`` | ``/opds/v2/works/<id>`` | one publication |
| ``/opds/works/<id>/borrow`` | ``/opds/v2/works/<id>/borrow`` | borrow or reserve (GET or PUT) |
| ``/opds/loans/<id>/revoke`` | ``/opds/v2/loans/<id>/revoke`` | return or leave the queue (GET or PUT) |
| ``/opds/shelf`` | ``/opds/v2/shelf`` | the patron's loans and holds |

Public feeds need no login (the borrow link asks for one); sent with a patron's HTTP Basic
credentials, they show that patron's loans and holds (``overlay``; never cached, and wrong
credentials are a 401). The shelf, borrow and revoke take HTTP Basic only (card number and
PIN; never the browser session, so no cross-site form can act for a signed-in patron, and
CSRF tokens do not apply). Because apps borrow with a plain
GET, as Palace allows, a browser's cross-site request (``Sec-Fetch-Site: cross-site`` or
``same-site``) to borrow or revoke is refused: apps send no such header.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, current_app, request
from flask_babel import lazy_gettext as _l

from library.blueprints import opds as bp
from library.opds import atom, auth, cache, feeds, images, opds2, overlay, shelf
from library.opds.feeds import Entry, Feed
from vhs.db import set_write_intent
from vhs.errors import GENERIC_TITLES, PROBLEM_BASE, Forbidden, VhsError

# Endpoints that may write: borrowing and returning, and the shelf (an overdue loan is
# closed before it is shown). On SQLite their transactions start as writers.
WRITING = {"borrow", "revoke", "shelf"}


def route(name: str, rule: str, **options: Any) -> Callable[[Callable[..., Any]], Any]:
    """Attach a view as OPDS 1.2 (``/opds{rule}``) and 2.0 (``/opds/v2{rule}``)."""

    def attach(view: Callable[..., Any]) -> Any:
        bp.add_url_rule(rule, name, view, defaults={"version": 1}, **options)
        bp.add_url_rule("/v2" + rule, f"{name}_v2", view, defaults={"version": 2}, **options)
        return view

    return attach


# The feeds that answer a request with credentials as that patron's own (``_feed``).
PATRON_FEEDS = {"root", "catalogue", "search", "subjects", "series", "work"}


@bp.before_request
def _writers() -> None:
    endpoint = (request.endpoint or "").removeprefix("opds.").removesuffix("_v2")
    # A feed with credentials may record the login (the card's last login).
    if endpoint in WRITING or (endpoint in PATRON_FEEDS and "Authorization" in request.headers):
        set_write_intent(True)


# --- answers ---------------------------------------------------------------------------------


def _json_bytes(document: Any) -> bytes:
    return opds2.dumps(document)


def _render_feed(data: Feed) -> tuple[bytes, str]:
    if data.version == 2:
        return _json_bytes(opds2.feed(data)), feeds.OPDS2
    return atom.feed(data), feeds.feed_type(data.kind, 1) + ";charset=utf-8"


def _render_entry(entry: Entry, version: int) -> tuple[bytes, str]:
    if version == 2:
        return _json_bytes(opds2.publication(entry)), feeds.PUBLICATION2
    return atom.entry_document(entry), feeds.ENTRY + ";charset=utf-8"


def _private(body: tuple[bytes, str], status: int = 200) -> Response:
    resp = cache.respond(cache.Body.of(*body), private=True)
    resp.status_code = status
    return resp


@bp.errorhandler(VhsError)
def _refused(exc: VhsError) -> Response:
    """401: the authentication document (Authentication for OPDS 1.0, section 2.4); every
    other refusal as problem+json with its stable code, whatever the app's Accept says."""
    if exc.status == 401:
        return auth.unauthorized_response(exc)  # type: ignore[arg-type]
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + exc.code,
        "title": str(GENERIC_TITLES.get(exc.status, exc.title)),
        "status": exc.status,
        "detail": str(exc.detail),
        "code": exc.code,
    }
    if exc.errors:
        body["errors"] = {
            str(field): [str(message) for message in messages]
            for field, messages in exc.errors.items()
        }
    body.update({str(k): v if isinstance(v, int) else str(v) for k, v in exc.extra.items()})
    resp = current_app.response_class(
        _json_bytes(body), status=exc.status, mimetype="application/problem+json"
    )
    resp.headers["Cache-Control"] = "private, no-store"
    for key, value in exc.headers.items():
        resp.headers[key] = value
    return resp


def _not_cross_site() -> None:
    """Refuse a browser's cross-site request to act (apps send no ``Sec-Fetch-Site``)."""
    if request.headers.get("Sec-Fetch-Site", "none") not in ("same-origin", "none"):
        raise Forbidden(
            _l("Borrowing and returning from another website is not allowed."),
            code="cross_site_request",
        )


# --- public feeds ------------------------------------------------------------------------------


def _feed(
    key: str, build: Callable[[], tuple[bytes, str]], version: int, *, entries: bool = True
) -> Response:
    """A public feed: the cached document for everyone; with a patron's Basic credentials,
    that document with their loans and holds overlaid (``entries``: the feed has any), never
    cached (``private, no-store``). Wrong credentials are a 401 with the authentication
    document, as everywhere in OPDS."""
    patron = auth.optional_patron()
    body = cache.cached_body(key, build)
    if patron is None:
        return cache.respond(body)
    data = body.data
    if entries:
        data = overlay.overlay(data, patron, version, entry=key == "work")
    return _private((data, body.content_type))


@route("root", "/")
def root(version: int) -> Response:
    """The navigation root."""
    return _feed("root", lambda: _render_feed(feeds.root(version)), version, entries=False)


@route("catalogue", "/catalogue")
def catalogue(version: int) -> Response:
    """An acquisition feed: new media, or by kind, subject, series or language."""
    args = feeds.parse_args(request.args)
    return _feed("catalogue", lambda: _render_feed(feeds.catalogue(version, args)), version)


@route("search", "/search")
def search(version: int) -> Response:
    """Search results as an acquisition feed (``q``; OPDS 2.0's template says ``query``)."""
    args = feeds.parse_args(request.args, search=True)
    return _feed(
        "search", lambda: _render_feed(feeds.catalogue(version, args, name="search")), version
    )


@route("subjects", "/subjects")
def subjects(version: int) -> Response:
    """Navigation by keyword."""
    return _feed("subjects", lambda: _render_feed(feeds.subjects(version)), version, entries=False)


@route("series", "/series")
def series(version: int) -> Response:
    """Navigation by series, a page at a time."""
    page = feeds.parse_args(request.args).page
    return _feed(
        "series", lambda: _render_feed(feeds.series(version, page)), version, entries=False
    )


@route("work", "/works/<int:item_id>")
def work(version: int, item_id: int) -> Response:
    """One publication (a complete entry), with its offer now."""
    return _feed("work", lambda: _render_entry(shelf.work(item_id), version), version)


@bp.route("/opensearch.xml")
def opensearch() -> Response:
    """The OpenSearch description document of the search."""
    return cache.cached_feed(
        "opensearch", lambda: (atom.opensearch_description(), feeds.OPENSEARCH + ";charset=utf-8")
    )


@bp.route("/auth")
def auth_document() -> Response:
    """The authentication document (public, as the specification requires)."""
    return cache.cached_feed("auth", lambda: (_json_bytes(auth.document()), feeds.AUTH_DOCUMENT))


@bp.route("/logo.png")
def logo() -> Response:
    """The library's logo for the authentication page of the apps."""
    return cache.respond(cache.Body.of(images.logo(), "image/png"))


@bp.route("/placeholder-cover.png")
def placeholder_cover() -> Response:
    """The cover of items without one (OPDS 2.0 wants an image for every publication)."""
    return cache.respond(cache.Body.of(images.placeholder_cover(), "image/png"))


# --- the patron's ------------------------------------------------------------------------------


@route("shelf", "/shelf")
def shelf_feed(version: int) -> Response:
    """The patron's loans (with signed download links) and holds; never cached."""
    patron = auth.require_patron()
    return _private(_render_feed(shelf.shelf(patron, version)))


@route("borrow", "/works/<int:item_id>/borrow", methods=["GET", "PUT"])
def borrow(version: int, item_id: int) -> Response:
    """Borrow (201), join the queue when no copy is free (201), or the loan or hold one has
    already (200); the answer is the entry."""
    _not_cross_site()
    patron = auth.require_patron()
    entry, created = shelf.borrow(patron, item_id)
    return _private(_render_entry(entry, version), 201 if created else 200)


@route("revoke", "/loans/<int:item_id>/revoke", methods=["GET", "PUT"])
def revoke(version: int, item_id: int) -> Response:
    """Return one's loan of the item, or cancel one's hold on it; the item's entry after it."""
    _not_cross_site()
    patron = auth.require_patron()
    return _private(_render_entry(shelf.revoke(patron, item_id), version))
