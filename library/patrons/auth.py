"""Logging in with card number and PIN: the web form and HTTP Basic (reading apps, OPDS).

Both are limited exactly like the password login: ``VHS_LOGIN_RATE_LIMIT`` failed attempts
per card number and per IP address, counted in the same limiter and storage (Flask-Limiter,
in Redis when configured, so every worker counts together). As there, a limited client is
refused (429) even with the right PIN until the window has passed, and successes do not count.

Timing: every attempt verifies one argon2 hash. An unknown or malformed number, a card
without a PIN and a wrong PIN all cost the same, so the answer's time does not tell whether a
number exists.
"""

from __future__ import annotations

import hmac
import math
import time

import sqlalchemy as sa
from flask import current_app, has_request_context
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many
from sqlalchemy.orm import joinedload

from library import rules
from library.models import CardState, LibraryCard
from library.patrons import pin_cache
from library.patrons.eligibility import is_expired
from vhs.accounts.models import Role, User
from vhs.accounts.services import hash_password, secret_needs_rehash, verify_secret
from vhs.db import db, utcnow
from vhs.errors import Unauthorized, VhsError
from vhs.extensions import limiter


class TooManyAttempts(VhsError):
    """Too many failed logins for this card number or from this address: wait."""

    status = 429
    code = "rate_limited"
    title = _l("Too many attempts. Please wait a minute and try again.")


WRONG = _l("Card number or PIN is wrong.")


def _limits() -> list[RateLimitItem]:
    return parse_many(current_app.config["VHS"].login_rate_limit)


def _keys(number: str | None) -> list[tuple[str, ...]]:
    """The counters an attempt touches: its card number (as typed, normalised) and its IP."""
    keys = [("card-login", "number", number or "malformed")]
    if has_request_context():
        keys.append(("card-login", "ip", get_remote_address() or "unknown"))
    return keys


def check_not_limited(number: str | None) -> None:
    """Refuse (429, with ``Retry-After``) while the number or the address is over its limit."""
    strategy = limiter.limiter
    for item in _limits():
        for key in _keys(number):
            if not strategy.test(item, *key):
                reset = strategy.get_window_stats(item, *key).reset_time
                wait = max(1, math.ceil(reset - time.time()))
                raise TooManyAttempts(headers={"Retry-After": str(wait)})


def count_failure(number: str | None) -> None:
    """Count one failed attempt against the number and the address."""
    strategy = limiter.limiter
    for item in _limits():
        for key in _keys(number):
            strategy.hit(item, *key)


def _find(number: str | None) -> LibraryCard | None:
    if number is None:
        return None
    return db.session.execute(
        sa.select(LibraryCard).where(LibraryCard.number == number)
    ).scalar_one_or_none()


def authenticate_card(number_text: str, pin: str) -> User:
    """The card's account if number and PIN are right and the card may log in.

    Refusals: 429 ``rate_limited`` when limited; 401 ``invalid_credentials`` for a wrong number
    or PIN (counted); with the right PIN, 401 ``card_blocked`` / ``card_applied`` for a card
    that is blocked or not yet confirmed (not counted: nobody is guessing). An expired card
    may log in (its patron sees why they cannot borrow).
    """
    number = rules.normalise_card_number(number_text)
    check_not_limited(number)
    card = _find(number)
    stored = card.pin_hash if card is not None else None
    # One argon2 verification whatever was found (see the module's docstring).
    if not verify_secret(stored, pin or "") or card is None or not card.user.is_active:
        count_failure(number)
        raise Unauthorized(WRONG, code="invalid_credentials")
    assert stored is not None
    if card.state is CardState.BLOCKED:
        raise Unauthorized(
            _l("This library card is blocked. Please contact the library."), code="card_blocked"
        )
    if card.state is CardState.APPLIED:
        raise Unauthorized(
            _l(
                "This library card has not been confirmed yet. Please log in with your e-mail address."
            ),
            code="card_applied",
        )
    if secret_needs_rehash(stored):
        card.pin_hash = hash_password(pin)
    card.user.last_login_at = utcnow()
    return card.user


def session_user_for_card(number_text: str, pin: str) -> User:
    """The account a web login with card and PIN opens: a resident's only.

    A PIN is a weaker secret than a password, so accounts that see other people's data
    (instructors, staff, administrators) log in to the web with e-mail address and password;
    their card still works in reading apps (HTTP Basic), which act for them as a patron only.
    """
    user = authenticate_card(number_text, pin)
    if user.role is not Role.RESIDENT:
        raise Unauthorized(
            _l("This account logs in with its e-mail address and password."),
            code="password_login_required",
        )
    return user


def patron_from_basic(number: str, pin: str) -> User | None:
    """The patron an HTTP Basic login (card number as user name, PIN as password) names.

    None for a wrong number or PIN and for a card that may not log in (blocked, applied): the
    caller answers 401. Raises ``TooManyAttempts`` (429, ``Retry-After``) while limited, on the
    fast path too. A number and PIN checked a moment ago skip argon2 (``pin_cache``) while
    the card is active, valid and keeps the PIN hash they were checked against.
    """
    normal = rules.normalise_card_number(number)
    if normal is not None and pin:
        check_not_limited(normal)
        user = _remembered(normal, pin)
        if user is not None:
            return user
    try:
        user = authenticate_card(number, pin)
    except Unauthorized:
        return None
    card = _find(normal)
    if card is not None and card.pin_hash and _fast_path_may_serve(card):
        pin_cache.remember(card.number, pin, card.id, card.pin_hash)
    return user


def _fast_path_may_serve(card: LibraryCard) -> bool:
    """Whether a remembered login may still stand for this card: active, valid today, and
    its account not deactivated. Anything else takes the full check (which refuses it or,
    for an expired card, logs in so that the patron hears why they cannot borrow)."""
    return card.state is CardState.ACTIVE and card.user.is_active and not is_expired(card)


def _remembered(number: str, pin: str) -> User | None:
    """The account of a number and PIN checked a moment ago, if the card still matches."""
    found = pin_cache.remembered_card(number, pin)
    if found is None:
        return None
    card_id, hash_digest = found
    # With its account in the same statement: the fast path reads one row pair, not two.
    card = db.session.get(LibraryCard, card_id, options=[joinedload(LibraryCard.user)])
    if (
        card is None
        or card.number != number
        or not card.pin_hash
        or not hmac.compare_digest(pin_cache.hash_digest(card.pin_hash), hash_digest)
        or not _fast_path_may_serve(card)
    ):
        pin_cache.forget(number, pin)
        return None
    return card.user
