"""A small Jitsi Meet client: room names, join URLs, JWTs, and webhook signatures.

Three set-ups, chosen by configuration (``deployment()``):

- **public** (default): rooms on ``VHS_JITSI_DOMAIN`` (``meet.jit.si``), no token. The room name
  is the only secret, so it carries 160 random bits.
- **prosody**: a self-hosted Jitsi with Prosody token authentication (``jitsi-meet-tokens``):
  HS256 tokens signed with ``VHS_JITSI_APP_SECRET``; ``iss`` = app id, ``aud`` = ``jitsi``,
  ``sub`` = the domain, ``room`` = this room (never ``*``), ``nbf``/``exp`` = the join window.
- **jaas**: 8x8 Jitsi as a Service: RS256 tokens signed with the private key of the API key
  ``VHS_JAAS_KID`` (``kid`` header); ``iss`` = ``chat``, ``aud`` = ``jitsi``, ``sub`` = the
  AppID; ``context.user.moderator`` and ``context.features`` as strings. Meetings live on
  ``8x8.vc`` under ``<AppID>/<room>``.

Tokens are minted per request and never stored. Nothing here touches the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import jwt
from flask import current_app

JAAS_DOMAIN = "8x8.vc"
# Feature switches a JaaS token can carry; all "false" unless configured (and moderators only).
JAAS_FEATURES = ("livestreaming", "recording", "transcription", "outbound-call")
# The feature token_lobby_bypass reads (a JSON boolean, not the string "true").
LOBBY_BYPASS = "lobby_bypass"
# How far the JaaS webhook timestamp may be from our clock (replayed deliveries are refused).
SIGNATURE_TOLERANCE_SECONDS = 300
# 20 random bytes = 160 bits: more than the 128 bits an unguessable room needs.
ROOM_RANDOM_BYTES = 20

Kind = Literal["public", "prosody", "jaas"]


@dataclass(frozen=True)
class Deployment:
    """Where meetings happen and how people are let in."""

    kind: Kind
    domain: str  # host of the meetings and of external_api.js
    app_id: str = ""  # Prosody app id (iss) or JaaS AppID (sub, room prefix)

    @property
    def uses_jwt(self) -> bool:
        """Whether joining needs a token from us."""
        return self.kind != "public"

    @property
    def origin(self) -> str:
        """The https origin the page may load scripts and frames from (CSP)."""
        return f"https://{self.domain}"

    @property
    def script_url(self) -> str:
        """The IFrame API script (JaaS serves it per AppID)."""
        if self.kind == "jaas":
            return f"https://{self.domain}/{self.app_id}/external_api.js"
        return f"https://{self.domain}/external_api.js"

    def room_path(self, room: str) -> str:
        """The ``roomName`` the IFrame API and the URL need (``<AppID>/<room>`` on JaaS)."""
        return f"{self.app_id}/{room}" if self.kind == "jaas" else room

    def url(self, room: str, token: str | None = None) -> str:
        """The meeting's address, with ``?jwt=`` when a token is needed."""
        base = f"https://{self.domain}/{self.room_path(room)}"
        return f"{base}?jwt={token}" if token else base


def deployment() -> Deployment:
    """The configured set-up: JaaS if its AppID is set, else Prosody tokens, else public."""
    settings = current_app.config["VHS"]
    if settings.jaas_app_id:
        return Deployment("jaas", JAAS_DOMAIN, settings.jaas_app_id)
    domain = settings.jitsi_domain.strip().strip("/") or "meet.jit.si"
    if settings.jitsi_app_id and settings.jitsi_app_secret:
        return Deployment("prosody", domain, settings.jitsi_app_id)
    return Deployment("public", domain)


# --- rooms -----------------------------------------------------------------------------------


def slug(text: str) -> str:
    """A course code as a room-name prefix: lower-case letters, digits and hyphens."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return cleaned[:40] or "kurs"


def new_room_name(course_code: str) -> str:
    """``<code slug>-<160 random bits>``, lower case only.

    Jitsi lower-cases room names (and Prosody compares the token's ``room`` with the lower-case
    name), so the randomness is drawn in base32, which has no case to lose.
    """
    random_part = base64.b32encode(secrets.token_bytes(ROOM_RANDOM_BYTES)).decode("ascii")
    return f"{slug(course_code)}-{random_part.lower().rstrip('=')}"


# --- tokens ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """Who the token is for, as Jitsi shows them."""

    id: str
    name: str
    email: str = ""
    avatar: str = ""


def _user_context(room: str, person: Person, moderator: bool) -> dict[str, str]:
    """context.user of a token for one room (both set-ups share it)."""
    if not room or room == "*":
        raise ValueError("a token is always for one room")
    # Jitsi requires strings (or null) in context.user; never numbers or booleans here.
    return {
        "id": str(person.id),
        "name": str(person.name),
        "email": str(person.email or ""),
        "avatar": str(person.avatar or ""),
        "moderator": "true" if moderator else "false",
    }


def _window(not_before: datetime, expires: datetime) -> dict[str, int]:
    """The time claims: issued now, valid from the window's start until its end."""
    return {
        "iat": int(time.time()),
        "nbf": int(not_before.timestamp()),
        "exp": int(expires.timestamp()),
    }


def prosody_claims(
    dep: Deployment,
    room: str,
    person: Person,
    *,
    moderator: bool,
    not_before: datetime,
    expires: datetime,
) -> dict[str, Any]:
    """The claims Prosody's token authentication checks, for one room and one window.

    They also make a server-side lobby work without our page (``lobby_autostart`` switches the
    lobby on in every room): ``context.user.affiliation`` (``token_affiliation``) makes
    moderators room owners and everyone else a member, and only moderators carry
    ``context.features.lobby_bypass: true`` (``token_lobby_bypass``), so participants wait
    in the lobby until a moderator admits them, whatever client they use. A ``features``
    object switches off in Jitsi Meet what it does not list, so moderators' tokens list the
    ``VHS_JAAS_FEATURES`` switches too.
    """
    user = _user_context(room, person, moderator)
    user["affiliation"] = "owner" if moderator else "member"
    context: dict[str, Any] = {"user": user}
    if moderator:
        context["features"] = {**jaas_features(True), LOBBY_BYPASS: True}
    return {
        "iss": dep.app_id,
        "aud": "jitsi",
        "sub": dep.domain,
        "room": room,
        **_window(not_before, expires),
        "moderator": moderator,
        "context": context,
    }


def jaas_features(moderator: bool) -> dict[str, str]:
    """Feature switches as JaaS wants them ("true"/"false"); only moderators get any on."""
    enabled = {
        f.strip().lower() for f in current_app.config["VHS"].jaas_features.split(",") if f.strip()
    }
    return {f: "true" if moderator and f in enabled else "false" for f in JAAS_FEATURES}


def jaas_claims(
    dep: Deployment,
    room: str,
    person: Person,
    *,
    moderator: bool,
    not_before: datetime,
    expires: datetime,
) -> dict[str, Any]:
    """The claims of a JaaS token (8x8 "The Jitsi JSON Web Token")."""
    user = _user_context(room, person, moderator)
    return {
        "iss": "chat",
        "aud": "jitsi",
        "sub": dep.app_id,
        "room": room,
        **_window(not_before, expires),
        "context": {"user": user, "features": jaas_features(moderator)},
    }


@lru_cache(maxsize=4)
def _private_key(path: str, mtime: float) -> bytes:
    """The PEM key, read once per file version (a rotated key is picked up)."""
    return Path(path).read_bytes()


def mint_token(
    dep: Deployment,
    room: str,
    person: Person,
    *,
    moderator: bool,
    not_before: datetime,
    expires: datetime,
) -> str | None:
    """A signed token for this person, room and window; None for public rooms."""
    settings = current_app.config["VHS"]
    window = {"moderator": moderator, "not_before": not_before, "expires": expires}
    if dep.kind == "prosody":
        claims = prosody_claims(dep, room, person, **window)
        return jwt.encode(claims, settings.jitsi_app_secret, algorithm="HS256")
    if dep.kind == "jaas":
        claims = jaas_claims(dep, room, person, **window)
        path = settings.jaas_private_key_path
        key = _private_key(path, Path(path).stat().st_mtime)
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": settings.jaas_kid})
    return None


def fallback_url(dep: Deployment, room: str, token: str | None, *, name: str, lang: str) -> str:
    """The meeting URL for a new tab or the Jitsi app, with name and language preset.

    Jitsi reads ``#userInfo.displayName`` and ``#config.defaultLanguage`` (JSON values) from the
    fragment, which never reaches a server.
    """
    fragment = "&".join(
        [
            "config.defaultLanguage=" + quote(json.dumps(lang)),
            "config.prejoinConfig.enabled=true",
            "userInfo.displayName=" + quote(json.dumps(name, ensure_ascii=False)),
        ]
    )
    return f"{dep.url(room, token)}#{fragment}"


# --- webhook signatures ----------------------------------------------------------------------


def jaas_signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """``v1`` of ``X-Jaas-Signature``: base64 HMAC-SHA256 over ``"<t>.<body>"``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


def verify_jaas_signature(
    secret: str, header: str, body: bytes, *, now: float | None = None
) -> bool:
    """Check ``X-Jaas-Signature: t=...,v1=...`` (several v1 allowed; other schemes ignored).

    JaaS sends the HMAC base64-encoded; a hex digest is accepted too, for event modules of
    self-hosted set-ups that sign the same way.
    """
    if not secret or not header:
        return False
    timestamp, candidates = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamp = value.strip()
        elif key == "v1":
            candidates.append(value.strip())
    if not timestamp or not re.fullmatch(r"[0-9]{1,12}", timestamp) or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > SIGNATURE_TOLERANCE_SECONDS:
        return False
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).digest()
    expected = [base64.b64encode(mac), mac.hex().encode("ascii")]
    # Every comparison runs in constant time; no early exit on the first mismatch.
    given = [c.encode("utf-8", "replace") for c in candidates]
    return any([hmac.compare_digest(c, e) for c in given for e in expected])


def verify_shared_secret(secret: str, presented: str | None) -> bool:
    """The self-hosted event module's shared secret, compared in constant time."""
    if not secret or not presented:
        return False
    return hmac.compare_digest(secret.encode(), presented.encode("utf-8", "replace"))


def event_sync_signature(secret: str, body: bytes) -> str:
    """``X-Event-Sync-Signature`` of a body: ``sha256=`` and the hex HMAC-SHA256 over it."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_event_sync(
    secret: str, mode: str, body: bytes, *, authorization: str | None, signature: str | None
) -> bool:
    """Check a delivery of Prosody's ``event_sync`` module, in constant time.

    ``bearer``: the module's ``api_headers`` send ``Authorization: Bearer <secret>``.
    ``hmac``: a signing proxy (or a patched module) sends ``X-Event-Sync-Signature:
    sha256=<hex HMAC-SHA256(secret, raw body)>``. Only the configured mode is accepted.
    """
    if not secret:
        return False
    if mode == "hmac":
        if not signature:
            return False
        expected = event_sync_signature(secret, body).encode()
        return hmac.compare_digest(expected, signature.strip().encode("utf-8", "replace"))
    if not authorization:
        return False
    scheme, _, presented = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(secret.encode(), presented.strip().encode("utf-8", "replace"))
