"""Factories of the library tests: fixtures that return callables (STYLE rule 12)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask

from library import rules
from library.models import CardState, LibraryCard
from tests.stripe_standin import StripeStandIn
from vhs.accounts.models import User
from vhs.accounts.services import hash_password
from vhs.db import db, utcnow

PIN = "4711"
_PIN_HASH: dict[str, str] = {}


def card_number() -> str:
    """A fresh, well-formed card number (prefix 58, as the test apps are configured)."""
    body = "58" + "".join(secrets.choice("0123456789") for _ in range(rules.CARD_RANDOM_DIGITS))
    return body + rules.luhn_check_digit(body)


def new_card(
    user_id: int,
    *,
    state: CardState | str = CardState.ACTIVE,
    valid_until: date | str | None = "default",
    fee_paid_until: date | None = None,
    pin: str | None = PIN,
    blocked_reason: str = "",
) -> LibraryCard:
    """A card written directly (in the caller's session), for tests of what reads cards."""
    if pin is not None and pin not in _PIN_HASH:
        _PIN_HASH[pin] = hash_password(pin)
    state = CardState(state)
    if valid_until == "default":
        valid_until = date.today() + timedelta(days=365) if state is not CardState.APPLIED else None
    card = LibraryCard(
        user_id=user_id,
        number=card_number(),
        pin_hash=_PIN_HASH[pin] if pin is not None else None,
        state=state,
        valid_until=valid_until,
        fee_paid_until=fee_paid_until,
        issued_at=utcnow() if state is not CardState.APPLIED else None,
        blocked_reason=blocked_reason,
    )
    db.session.add(card)
    db.session.flush()
    return card


@pytest.fixture
def make_card(app: Flask) -> Callable[..., LibraryCard]:
    """Factory: ``make_card(user, state="active", valid_until=..., fee_paid_until=..., pin=...)``.

    Returns the card detached (columns loaded).
    """

    def _make(user: User, **kw: Any) -> LibraryCard:
        with app.app_context():
            card = new_card(user.id, **kw)
            db.session.commit()
            db.session.refresh(card)
            db.session.expunge(card)
            return card

    return _make


@pytest.fixture
def settings(app: Flask) -> Callable[..., Any]:
    """``with settings(library_card_fee_cents=1200): ...`` changes settings for a block."""

    @contextmanager
    def _settings(**values: Any) -> Iterator[Any]:
        current = app.config["VHS"]
        saved = {name: getattr(current, name) for name in values}
        for name, value in values.items():
            setattr(current, name, value)
        try:
            yield current
        finally:
            for name, value in saved.items():
                setattr(current, name, value)

    return _settings


@pytest.fixture
def new_client(app: Flask, client: Any) -> Callable[..., Any]:
    """Factory: another browser (its own cookies), optionally at client address ``ip``."""

    def _new(ip: str | None = None) -> Any:
        browser = app.test_client()
        if ip:
            browser.environ_base["REMOTE_ADDR"] = ip
        return browser

    return _new


@pytest.fixture
def login_as(make_user: Callable[..., User], login: Callable[..., Any]) -> Callable[..., User]:
    """Log the test client in as a new account of ``role`` and return it."""

    def _login_as(role: str = "resident", **kw: Any) -> User:
        user = make_user(role, **kw)
        login(user)
        return user

    return _login_as


@pytest.fixture
def load(app: Flask) -> Callable[..., Any]:
    """``load(Model, id)``: a row's current state, detached (None if it is gone)."""

    def _load(model: type, ident: Any) -> Any:
        with app.app_context():
            obj = db.session.get(model, ident)
            if obj is not None:
                db.session.expunge(obj)
            return obj

    return _load


@pytest.fixture
def card_of_user(app: Flask) -> Callable[[int], LibraryCard | None]:
    """The card of the account ``user_id`` as stored now (detached), or None."""

    def _card(user_id: int) -> LibraryCard | None:
        with app.app_context():
            card = db.session.execute(
                db.select(LibraryCard).where(LibraryCard.user_id == user_id)
            ).scalar_one_or_none()
            if card is not None:
                db.session.expunge(card)
            return card

    return _card


def text(resp: Any) -> str:
    """A response's body as text."""
    return resp.get_data(as_text=True)


@pytest.fixture
def stripe_api(app: Flask) -> Iterator[StripeStandIn]:
    """A running Stripe stand-in, and the app configured to use it (as the payment tests do)."""
    standin = StripeStandIn()
    base = standin.start()
    settings = app.config["VHS"]
    saved = (settings.stripe_secret_key, settings.stripe_webhook_secret, settings.stripe_api_base)
    settings.stripe_secret_key = "sk_test_standin"
    settings.stripe_webhook_secret = standin.webhook_secret
    settings.stripe_api_base = base
    try:
        yield standin
    finally:
        standin.stop()
        settings.stripe_secret_key, settings.stripe_webhook_secret, settings.stripe_api_base = saved
