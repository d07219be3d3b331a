"""Local stand-ins for a self-hosted Prosody's REST side (jitsi-meet + jitsi-contrib modules).

- :class:`EventSyncSender` behaves like jitsi-contrib's ``mod_event_sync_component``: it keeps
  the module's per-room ``EventData`` (all occupants ever, the active ones) and builds the four
  POST bodies with the module's field names (``event_name``, ``room_name``, ``room_jid``,
  ``is_breakout``, ``breakout_room_id``, ``created_at``, ``destroyed_at``, ``all_occupants``,
  ``active_occupants_count``, ``occupant`` with ``occupant_jid``, ``joined_at``, ``left_at`` and
  ``id``/``name``/``email`` from the token's ``context.user``), times in Unix seconds, and sends
  them with the configured ``api_headers`` (``Authorization: Bearer …``) or signed (HMAC-SHA256
  over the body). It never imports the app's code.
- :class:`RoomSizeServer` is ``mod_muc_size`` on a real threaded HTTP server on loopback:
  ``GET /room-size?room=…&domain=…[&token=…]`` → ``{"participants": N}`` (the focus user not
  counted), 404 for an unknown room, 403 when token verification is on and the token is
  missing, not signed with the app secret, or for another room; an optional delay makes the
  client time out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jwt

# --- event_sync ---------------------------------------------------------------------------------


@dataclass
class _Room:
    jid: str
    name: str
    created_at: int
    breakout_id: str | None = None
    occupants: dict[str, dict[str, Any]] = field(default_factory=dict)
    active: set[str] = field(default_factory=set)


class EventSyncSender:
    """Builds and posts what ``mod_event_sync_component`` posts, for one Prosody."""

    def __init__(
        self,
        secret: str,
        *,
        mode: str = "bearer",
        domain: str = "meet.vhs-iserlohn.example",
        prefix: str = "/webhooks/jitsi/event-sync",
    ) -> None:
        self.secret = secret
        self.mode = mode
        self.domain = domain
        self.prefix = prefix
        self.rooms: dict[str, _Room] = {}

    # the module's handlers (each returns (path, payload) to post) --------------------------

    def _extra(self, room: _Room) -> dict[str, Any]:
        """``event_sync_extra_payload``: breakout rooms name their main room."""
        if room.breakout_id is None:
            return {"is_breakout": False, "room_jid": room.jid, "room_name": room.name}
        main = f"{room.name}@conference.{self.domain}"
        return {
            "is_breakout": True,
            "breakout_room_id": room.breakout_id,
            "room_jid": main,
            "room_name": room.name,
        }

    def _key(self, name: str, breakout: str | None) -> str:
        return f"{name}#{breakout}" if breakout else name

    def room_created(self, name: str, at: datetime, breakout: str | None = None) -> tuple:
        jid = (
            f"{breakout}@breakout.{self.domain}" if breakout else f"{name}@conference.{self.domain}"
        )
        room = _Room(jid=jid, name=name, created_at=int(at.timestamp()), breakout_id=breakout)
        self.rooms[self._key(name, breakout)] = room
        payload = {"event_name": "muc-room-created", "created_at": room.created_at}
        payload.update(self._extra(room))
        return "/events/room/created", payload

    def occupant_joined(
        self,
        name: str,
        occupant_jid: str,
        at: datetime,
        user: dict[str, str] | None = None,
        breakout: str | None = None,
    ) -> tuple:
        room = self.rooms[self._key(name, breakout)]
        data: dict[str, Any] = {"occupant_jid": occupant_jid, "joined_at": int(at.timestamp())}
        context = user or {}
        data.update(
            {"name": context.get("name"), "id": context.get("id"), "email": context.get("email")}
        )
        data = {k: v for k, v in data.items() if v is not None}  # Lua drops nil fields
        room.occupants[occupant_jid] = data
        room.active.add(occupant_jid)
        payload = {
            "event_name": "muc-occupant-joined",
            "occupant": dict(data),
            "active_occupants_count": len(room.active),
        }
        payload.update(self._extra(room))
        return "/events/occupant/joined", payload

    def occupant_left(
        self, name: str, occupant_jid: str, at: datetime, breakout: str | None = None
    ) -> tuple:
        room = self.rooms[self._key(name, breakout)]
        room.active.discard(occupant_jid)
        data = room.occupants.get(occupant_jid)
        if data is not None:
            data["left_at"] = int(at.timestamp())
        payload: dict[str, Any] = {
            "event_name": "muc-occupant-left",
            "active_occupants_count": len(room.active),
        }
        if data is not None:
            payload["occupant"] = dict(data)
        payload.update(self._extra(room))
        return "/events/occupant/left", payload

    def room_destroyed(self, name: str, at: datetime, breakout: str | None = None) -> tuple:
        room = self.rooms.pop(self._key(name, breakout))
        payload = {
            "event_name": "muc-room-destroyed",
            "created_at": room.created_at,
            "destroyed_at": int(at.timestamp()),
            "all_occupants": [dict(o) for o in room.occupants.values()],
        }
        payload.update(self._extra(room))
        return "/events/room/destroyed", payload

    # delivery --------------------------------------------------------------------------------

    def headers(self, body: bytes) -> dict[str, str]:
        """The module's fixed headers plus our credentials."""
        headers = {"Content-Type": "application/json", "User-Agent": "Prosody (0.12.4; posix)"}
        if self.mode == "hmac":
            mac = hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
            headers["X-Event-Sync-Signature"] = f"sha256={mac}"
        else:
            headers["Authorization"] = f"Bearer {self.secret}"
        return headers

    def post(self, client: Any, event: tuple, body: bytes | None = None) -> Any:
        """POST one (path, payload) through a Flask test client."""
        path, payload = event
        body = json.dumps(payload).encode() if body is None else body
        return client.post(self.prefix + path, data=body, headers=self.headers(body))


# --- mod_muc_size -------------------------------------------------------------------------------


class RoomSizeServer:
    """``mod_muc_size`` on loopback: rooms and their occupant counts are set by the test."""

    def __init__(
        self,
        *,
        domain: str = "meet.vhs-iserlohn.example",
        app_secret: str | None = None,
        delay: float = 0.0,
    ) -> None:
        self.domain = domain
        self.app_secret = app_secret  # token verification on when set
        self.delay = delay
        self.occupants: dict[str, int] = {}  # room -> occupants including the focus user
        self.requests: list[dict[str, str]] = []
        self.override: tuple[int, bytes] | None = None  # answer this, whatever is asked
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.url = ""

    def set_people(self, room: str, people: int) -> None:
        """``people`` participants in ``room`` (plus Jicofo's focus user, as on a real server)."""
        with self.lock:
            self.occupants[room] = people + 1 if people else 0

    def _token_ok(self, token: str | None, room: str, domain: str) -> bool:
        if self.app_secret is None:
            return True
        if not token:
            return False
        try:
            claims = jwt.decode(token, self.app_secret, algorithms=["HS256"], audience="jitsi")
        except jwt.PyJWTError:
            return False
        return claims.get("room") in (room, "*") and claims.get("sub") in (domain, "*")

    def answer(self, query: str) -> tuple[int, bytes]:
        params = dict(parse_qsl(query))
        room, domain = params.get("room", ""), params.get("domain", "")
        with self.lock:
            self.requests.append(params)
            count = self.occupants.get(room)
        if self.override is not None:
            return self.override
        if not self._token_ok(params.get("token"), room, domain):
            return 403, b""
        if count is None or domain != self.domain:
            return 404, b""
        if count > 1:
            count -= 1  # the focus user is not counted
        return 200, b'{"participants":' + str(count).encode() + b"}"

    def start(self) -> str:
        """Serve on a free loopback port; returns the base URL."""
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if standin.delay:
                    time.sleep(standin.delay)
                if parts.path != "/room-size":
                    status, body = 404, b""
                elif not parts.query:
                    status, body = 400, b""
                else:
                    status, body = standin.answer(parts.query)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self.url

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


# --- the lobby on the server side ---------------------------------------------------------------


def lobby_admission(claims: dict[str, Any]) -> tuple[str, str]:
    """Where Prosody puts a token's first join into a room whose lobby is on, and the
    affiliation the holder gets once inside: ``(place, affiliation)``.

    Re-states ``mod_token_lobby_bypass`` (pre-join: ``context.features.lobby_bypass == true``,
    a JSON boolean, lets the holder in as a member) and ``mod_token_affiliation`` (after the
    join: owner for ``context.user.affiliation`` owner/moderator/teacher or ``moderator``
    "true"/true, else member). The affiliation comes only after joining, so without the bypass
    even a moderator's first join waits in the lobby (``lobby_autostart`` makes every room
    members-only).
    """
    context = claims.get("context") or {}
    user = context.get("user") or {}
    features = context.get("features") or {}
    owner = user.get("affiliation") in ("owner", "moderator", "teacher") or user.get(
        "moderator"
    ) in ("true", True)
    place = "room" if features.get("lobby_bypass") is True else "lobby"
    return place, "owner" if owner else "member"
