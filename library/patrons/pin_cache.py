"""The fast path of HTTP Basic logins: a card number and PIN checked a moment ago pass again
without argon2.

Reading apps send card number and PIN with every request (Basic has no session), and one
argon2 verification costs about 85 ms: the shelf could not answer within 100 ms. After a
successful check we therefore remember, for ``VHS_OPDS_PIN_CACHE_SECONDS``,

    HMAC(secret key, number + PIN)  ->  card id : HMAC(secret key, the card's PIN hash)

in Redis when ``VHS_REDIS_URL`` is set (so every worker shares it), else in the process. On a
hit the card is read anyway (the request needs its account) and its *current* PIN hash must
give the remembered digest: a PIN changed at the desk or on "Mein Bibliotheksausweis" makes a
new hash (argon2 salts afresh), so the entry is worthless at once. The caller also requires the
card to be active and valid today; a blocked or expired card always takes the full check.

Never stored: the PIN, the card number in clear, or the PIN hash itself (a 4-digit PIN's
argon2 hash could be tried offline in minutes; the keyed digests need the secret key).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import OrderedDict
from typing import Protocol

import redis
from flask import Flask, current_app

# Entries kept in one process when there is no Redis: enough for every patron of a town.
MEMORY_ENTRIES = 20_000
_PREFIX = "vhs:pin:"


class PinStore(Protocol):
    """Where the fast path keeps its entries: a key with a time to live."""

    def get(self, key: str) -> str | None:
        """The value stored under ``key``, if it has not expired."""

    def set(self, key: str, value: str, ttl: int) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds."""

    def delete(self, key: str) -> None:
        """Forget ``key``."""


class MemoryStore:
    """A bounded, thread-safe store in the process (the default without Redis)."""

    def __init__(self, maxsize: int = MEMORY_ENTRIES) -> None:
        self._data: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()
        self._maxsize = maxsize

    def get(self, key: str) -> str | None:
        """The value of ``key`` while it lives."""
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return None
            if entry[0] <= time.monotonic():
                del self._data[key]
                return None
            return entry[1]

    def set(self, key: str, value: str, ttl: int) -> None:
        """Keep ``value`` for ``ttl`` seconds; the oldest entries go when full."""
        with self._lock:
            self._data[key] = (time.monotonic() + ttl, value)
            self._data.move_to_end(key)
            while len(self._data) > self._maxsize:
                self._data.popitem(last=False)

    def delete(self, key: str) -> None:
        """Forget ``key``."""
        with self._lock:
            self._data.pop(key, None)


class RedisStore:
    """Entries in Redis, shared by every worker and host (``SET ... EX``)."""

    def __init__(self, url: str) -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def get(self, key: str) -> str | None:
        """The value of ``key``; None also when Redis does not answer (the slow path works)."""
        try:
            value = self._redis.get(_PREFIX + key)
        except redis.RedisError:
            return None
        return value.decode() if isinstance(value, bytes) else None

    def set(self, key: str, value: str, ttl: int) -> None:
        """Keep ``value`` for ``ttl`` seconds (a Redis that is down only costs speed)."""
        try:
            self._redis.set(_PREFIX + key, value, ex=ttl)
        except redis.RedisError:
            return

    def delete(self, key: str) -> None:
        """Forget ``key``."""
        try:
            self._redis.delete(_PREFIX + key)
        except redis.RedisError:
            return


def store_for(app: Flask) -> PinStore:
    """The app's store: Redis when ``VHS_REDIS_URL`` is set, else one in the process."""
    store = app.extensions.get("vhs_pin_store")
    if store is None:
        url = app.config["VHS"].redis_url
        store = RedisStore(url) if url else MemoryStore()
        app.extensions["vhs_pin_store"] = store
    return store  # type: ignore[no-any-return]


def _key_bytes() -> bytes:
    secret = current_app.config["SECRET_KEY"]
    return (secret if isinstance(secret, bytes) else str(secret).encode()) + b"|opds-pin"


def _digest(*parts: str) -> str:
    message = "\x00".join(parts).encode()
    return hmac.new(_key_bytes(), message, hashlib.sha256).hexdigest()


def lifetime() -> int:
    """How long an entry lives, in seconds (0: the fast path is off)."""
    return int(current_app.config["VHS"].opds_pin_cache_seconds)


def remembered_card(number: str, pin: str) -> tuple[int, str] | None:
    """The card id and PIN-hash digest remembered for this number and PIN, if any."""
    if lifetime() <= 0:
        return None
    value = store_for(current_app).get(_digest("login", number, pin))
    if value is None:
        return None
    card_id, _, hash_digest = value.partition(":")
    return (int(card_id), hash_digest) if card_id.isdigit() and hash_digest else None


def remember(number: str, pin: str, card_id: int, pin_hash: str) -> None:
    """After a full, successful check: remember the card for this number and PIN."""
    ttl = lifetime()
    if ttl > 0:
        value = f"{card_id}:{hash_digest(pin_hash)}"
        store_for(current_app).set(_digest("login", number, pin), value, ttl)


def forget(number: str, pin: str) -> None:
    """Drop the entry of this number and PIN (it no longer matches its card)."""
    store_for(current_app).delete(_digest("login", number, pin))


def hash_digest(pin_hash: str) -> str:
    """The keyed digest of a card's PIN hash, as entries hold it."""
    return _digest("hash", pin_hash)
