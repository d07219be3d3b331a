"""Personal feeds: the secret token behind a feed URL, and the feed assembled from all sources.

A feed URL is ``/calendar/<token>.ics``. The token is ``HMAC-SHA256(key, salt)`` with a
32-byte random salt per token and a key derived from ``VHS_SECRET_KEY``: the database holds
the salt and the token's SHA-256 only, yet the page can show the address again. (Changing the
secret key therefore changes every feed address; residents subscribe again.)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from vhs import gdpr
from vhs.accounts.models import User
from vhs.cache import VersionedCache
from vhs.calendar import FEED_VERSION, CalendarEvent, ics, sources
from vhs.calendar.models import CalendarToken
from vhs.db import db, lock, utcnow
from vhs.errors import NotFound
from vhs.i18n import local_zone

_KEY_PURPOSE = b"vhs-platform calendar feed token v1"

# Clients poll feeds; most polls find nothing changed. A rendered feed is kept per token and
# language while the "calendar_feeds" data version stands (every source's models bump it in
# the transaction that changes them, see vhs.cache) and for at most five minutes, which also
# bounds how late a session leaves the one-year window. 512 feeds of a few dozen sessions are
# a few megabytes per worker.
_rendered = VersionedCache(FEED_VERSION, maxsize=512, ttl=300.0)


@dataclass(frozen=True)
class FeedAddress:
    """Where a person's feed lives: https for downloads, webcal:// for "subscribe"."""

    url: str
    webcal_url: str
    created_at: datetime


@dataclass(frozen=True)
class Feed:
    """A rendered feed with what HTTP caching needs."""

    body: bytes
    etag: str
    last_modified: datetime


# --- addresses -------------------------------------------------------------------------------


def public_base_url() -> str:
    """The address residents use (``VHS_PUBLIC_BASE_URL``), without a trailing slash."""
    return current_app.config["VHS"].public_base_url.rstrip("/")


def public_url(path: str) -> str:
    """An absolute URL on the public site for ``path`` (built outside requests too)."""
    return public_base_url() + "/" + path.lstrip("/")


def uid_host() -> str:
    """The host part of our event UIDs (``session-<uuid>@<host>``)."""
    return urlsplit(public_base_url()).hostname or "vhs-platform.invalid"


def _key() -> bytes:
    secret = current_app.config["SECRET_KEY"]
    secret_bytes = secret if isinstance(secret, bytes) else str(secret).encode()
    return hmac.new(secret_bytes, _KEY_PURPOSE, hashlib.sha256).digest()


def token_of(row: CalendarToken) -> str:
    """The secret token of a row (recomputed, never stored)."""
    mac = hmac.new(_key(), bytes.fromhex(row.salt), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def address_of(row: CalendarToken) -> FeedAddress:
    """The feed's https and webcal addresses."""
    url = public_url(f"/calendar/{token_of(row)}.ics")
    webcal = "webcal://" + url.split("://", 1)[1]
    return FeedAddress(url=url, webcal_url=webcal, created_at=row.created_at)


# --- tokens ----------------------------------------------------------------------------------


def active_token(user: User) -> CalendarToken | None:
    """The person's working token, if they have one."""
    return db.session.execute(
        sa.select(CalendarToken).where(
            CalendarToken.user_id == user.id, CalendarToken.revoked_at.is_(None)
        )
    ).scalar_one_or_none()


def _new_token(user: User) -> CalendarToken:
    row = CalendarToken(user_id=user.id, salt=secrets.token_bytes(32).hex(), token_hash="")
    row.token_hash = CalendarToken.digest(token_of(row))
    db.session.add(row)
    db.session.flush()
    return row


def ensure_token(user: User) -> CalendarToken:
    """The person's token, made on first use (the user row is locked: one token, not two)."""
    row = active_token(user)
    if row is not None:
        return row
    lock(User, user.id)
    return active_token(user) or _new_token(user)


def regenerate_token(user: User) -> CalendarToken:
    """Replace the feed address: the old one answers 404 from now on."""
    lock(User, user.id)
    revoke_token(user)
    db.session.flush()  # the old row leaves the one-active-token index before the new one
    return _new_token(user)


def revoke_token(user: User) -> bool:
    """Switch the feed off; False when there was none."""
    row = active_token(user)
    if row is None:
        return False
    row.revoked_at = utcnow()
    return True


def token_row(token: str) -> CalendarToken:
    """The working token for a feed URL, or 404 (unknown, revoked, or the account erased)."""
    row = None
    if 20 <= len(token) <= 100:
        row = db.session.execute(
            sa.select(CalendarToken)
            .where(CalendarToken.token_hash == CalendarToken.digest(token))
            .options(joinedload(CalendarToken.user))
        ).scalar_one_or_none()
    if row is None or not row.active or not row.user.is_active:
        raise NotFound(_l("This calendar address does not exist."), code="calendar_not_found")
    return row


# --- the feed --------------------------------------------------------------------------------


def personal_events(user: User) -> list[CalendarEvent]:
    """Every registered source's events for ``user``, in time order."""
    events = [event for source in sources().values() for event in source(user)]
    events.sort(key=lambda e: (_sort_key(e.start), e.uid))
    return events


def _sort_key(value: datetime | date) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.combine(value, time(0), tzinfo=local_zone()).astimezone(UTC)


def feed_name() -> str:
    """The calendar's name in subscribed clients (in the current language)."""
    return _("%(org)s – my dates", org=current_app.config["VHS"].org_name)


def render_feed(user: User, locale: str) -> bytes:
    """The feed's bytes, built from every source, in ``locale``."""
    with force_locale(locale):
        return ics.calendar_bytes(
            feed_name(),
            personal_events(user),
            feed=True,
            description=_("Your course dates at %(org)s.", org=current_app.config["VHS"].org_name),
        )


def _render_and_hash(user: User, locale: str) -> tuple[bytes, str]:
    body = render_feed(user, locale)
    return body, hashlib.sha256(body).hexdigest()


def personal_feed(row: CalendarToken) -> Feed:
    """The feed behind a token, in its owner's language, with ETag and Last-Modified.

    Its bytes depend only on the data (DTSTAMP is each event's last change), so the SHA-256
    is a strong ETag. When it differs from the one stored on the token, the feed changed now.
    """
    user = row.user
    locale = user.locale or "de"
    body, digest = _rendered.get_or_set((row.id, locale), lambda: _render_and_hash(user, locale))
    if row.feed_hash != digest or row.feed_changed_at is None:
        now = utcnow().replace(microsecond=0)
        previous = row.feed_changed_at
        # HTTP dates have whole seconds: a second change within one second must still differ.
        row.feed_changed_at = max(now, previous + timedelta(seconds=1)) if previous else now
        row.feed_hash = digest
    return Feed(body=body, etag=digest[:32], last_modified=row.feed_changed_at)


# --- GDPR ------------------------------------------------------------------------------------


def _export(user: User) -> dict[str, Any]:
    """Whether the person has a feed address (never the address itself)."""
    row = active_token(user)
    return {
        "feed_active": row is not None,
        "created_at": row.created_at.isoformat() if row else None,
    }


def _erase(user: User) -> None:
    db.session.execute(
        sa.update(CalendarToken)
        .where(CalendarToken.user_id == user.id, CalendarToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


gdpr.register_exporter("calendar_feed", _export)
gdpr.register_eraser("calendar_feed", _erase)
