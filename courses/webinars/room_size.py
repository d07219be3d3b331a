"""How many are in a room now: Prosody's ``mod_muc_size`` over HTTP.

``GET <VHS_JITSI_ROOM_SIZE_URL>/room-size?room=<room>&domain=<VHS_JITSI_DOMAIN>[&token=<jwt>]``
answers ``{"participants": N}`` (the focus user not counted), 404 when the room does not
exist (nobody is in it), 403 when ``enable_roomsize_token_verification`` is on and the token
is missing or wrong. The token is one of ours for that room (``VHS_JITSI_ROOM_SIZE_TOKEN``).
Every call has a timeout (``VHS_JITSI_ROOM_SIZE_TIMEOUT_SECONDS``); whatever goes wrong is an
answer (``unavailable``), never an exception: pages that show the size must still render.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import requests
from flask import current_app

from courses.webinars import jitsi as jitsi
from vhs.db import utcnow

log = logging.getLogger(__name__)

Status = Literal["ok", "no_room", "forbidden", "unavailable", "not_configured"]
# Who the room-size token is for: a service, not a person (never a moderator).
SERVICE = jitsi.Person(id="vhs-room-size", name="VHS")
TOKEN_MINUTES = 5
MAX_BODY = 4096


@dataclass(frozen=True)
class RoomSize:
    """Prosody's answer: the head count when ``status`` is ``ok`` (0 for ``no_room``)."""

    status: Status
    participants: int | None = None

    @property
    def known(self) -> bool:
        """Whether Prosody told us how many are in the room."""
        return self.participants is not None


def configured() -> bool:
    """Whether a ``mod_muc_size`` endpoint is configured."""
    return bool(current_app.config["VHS"].jitsi_room_size_url.strip())


def _token(room: str) -> str | None:
    """A short-lived token for this room, as ``token_verification`` checks it."""
    dep = jitsi.deployment()
    now = utcnow()
    return jitsi.mint_token(
        dep,
        room,
        SERVICE,
        moderator=False,
        not_before=now - timedelta(minutes=1),
        expires=now + timedelta(minutes=TOKEN_MINUTES),
    )


def fetch(room: str) -> RoomSize:
    """Ask Prosody how many are in ``room`` now."""
    settings = current_app.config["VHS"]
    base = settings.jitsi_room_size_url.strip().rstrip("/")
    if not base:
        return RoomSize("not_configured")
    params = {"room": room, "domain": jitsi.deployment().domain}
    if settings.jitsi_room_size_token:
        token = _token(room)
        if token:
            params["token"] = token
    try:
        resp = requests.get(
            f"{base}/room-size",
            params=params,
            timeout=settings.jitsi_room_size_timeout_seconds,
            headers={"Accept": "application/json", "User-Agent": "vhs-platform (Jitsi)"},
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        log.warning("room size: Prosody did not answer: %s", type(exc).__name__)
        return RoomSize("unavailable")
    if resp.status_code == 404:
        return RoomSize("no_room", 0)
    if resp.status_code == 403:
        log.warning("room size: Prosody refused our token (403)")
        return RoomSize("forbidden")
    if resp.status_code != 200 or len(resp.content) > MAX_BODY:
        log.warning("room size: Prosody answered %s", resp.status_code)
        return RoomSize("unavailable")
    try:
        count = resp.json().get("participants")
    except (ValueError, AttributeError):
        return RoomSize("unavailable")
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 100_000:
        return RoomSize("unavailable")
    return RoomSize("ok", count)
