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
