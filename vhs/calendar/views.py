"""The public feed URL, the resident's feed buttons, and the HTTP side of every .ics answer."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, flash, redirect, request
from flask_babel import gettext as _

from vhs.auth import current, require_user, user_required
from vhs.calendar import ics, services
from vhs.db import write_intent
from vhs.extensions import limiter
from vhs.forms import safe_next

bp = Blueprint("calendar", __name__)

FEED_MAX_AGE = 300


def calendar_response(
    body: bytes,
    *,
    filename: str,
    etag: str | None = None,
    last_modified: datetime | None = None,
    private: bool = False,
    max_age: int = FEED_MAX_AGE,
) -> Response:
    """An .ics answer: ``text/calendar; charset=utf-8``, validators, 304 when unchanged."""
    response = Response(body, status=200)
    response.headers["Content-Type"] = ics.CONTENT_TYPE
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.set_etag(etag or hashlib.sha256(body).hexdigest()[:32])
    if last_modified is not None:
        response.last_modified = last_modified
    if private:
        response.cache_control.private = True
    else:
        response.cache_control.public = True
    response.cache_control.max_age = max_age
    return response.make_conditional(request)


def download_response(
    chunks: Iterator[bytes], *, filename: str, content_type: str = ics.CONTENT_TYPE
) -> Response:
    """A streamed export (staff): no validators, never cached by shared caches.

    Flask tears the request's app context (and its database session) down before the body
    is sent, so the stream runs in an app context of its own, read-only. ``chunks`` must not
    need the request: translate everything before returning (see ``courses.calendar``).
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def body() -> Iterator[bytes]:
        with app.app_context(), write_intent(False):
            yield from chunks

    response = Response(body(), status=200)
    response.headers["Content-Type"] = content_type
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _feed_rate_limit() -> str:
    return current_app.config["VHS"].calendar_feed_rate_limit


def _feed_rate_key() -> str:
    token = (request.view_args or {}).get("token", "")
    return "calendar-feed:" + hashlib.sha256(token.encode()).hexdigest()[:24]


@bp.route("/calendar/<token>.ics")
@limiter.limit(_feed_rate_limit, key_func=_feed_rate_key)
def feed(token: str) -> Response:
    """A personal feed: no login, the token in the URL is the secret; 404 once revoked."""
    row = services.token_row(token)
    result = services.personal_feed(row)
    return calendar_response(
        result.body,
        filename="vhs-kalender.ics",
        etag=result.etag,
        last_modified=result.last_modified,
        private=True,
    )


def _back() -> Any:
    return redirect(safe_next(request.form.get("next")) or "/account")


@bp.route("/account/calendar/regenerate", methods=["POST"])
@user_required
def regenerate() -> Any:
    """Create the feed address, or replace it (the old one stops working)."""
    user = require_user()
    had_one = services.active_token(user) is not None
    services.regenerate_token(user)
    if had_one:
        flash(
            _(
                "Your calendar has a new address. Subscribe to it again; the old one stopped working."
            ),
            "success",
        )
    else:
        flash(_("Your calendar address is ready. Subscribe to it in your calendar app."), "success")
    return _back()


@bp.route("/account/calendar/revoke", methods=["POST"])
@user_required
def revoke() -> Any:
    """Switch the feed off."""
    if services.revoke_token(require_user()):
        flash(_("Your calendar address has been switched off."), "success")
    return _back()


@bp.app_template_global()
def calendar_subscription() -> services.FeedAddress | None:
    """The visitor's feed address for templates (None: no feed yet, or not logged in)."""
    user = current()
    if user is None:
        return None
    row = services.active_token(user)
    return services.address_of(row) if row is not None else None
