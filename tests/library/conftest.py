"""Factories for lending: patrons with cards, published items, licences; one app context.

Everything is built in the test's rolled-back transaction (``tests/conftest.py``) and stays
attached to the session, so a test calls services directly, as a request's unit of work does,
and reads the database right after. Services take ``now``; tests pass their own clock
(``clock.now``, moved with ``clock.advance``) so expiry is tested without waiting.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from library.models import CardState, Hold, HoldState, LibraryCard, Licence, Loan
from media.models import MediaItem, MediaKind, PublicationState
from vhs.accounts.models import Role, User
from vhs.db import db, utcnow
from vhs.uow import unit_of_work


@dataclass
class Clock:
    """The time the services are told it is."""

    now: datetime = field(default_factory=lambda: utcnow().replace(microsecond=0))

    def advance(self, **delta: float) -> datetime:
        """Move the clock forward; returns the new time."""
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    """An app context and a unit of work for the whole test, as a request has (the session
    joins the test's transaction; the unit is discarded at the end)."""
    with app.test_request_context(), unit_of_work() as uow:
        yield app
        uow.discard()


@pytest.fixture
def clock() -> Clock:
    """A clock starting now (whole seconds)."""
    return Clock()


def make_card(user: User, **columns: Any) -> LibraryCard:
    """An active card valid for a year (columns override)."""
    values: dict[str, Any] = {
        "user_id": user.id,
        "number": f"9{secrets.randbelow(10**12):012d}",
        "state": CardState.ACTIVE,
        "valid_until": date.today() + timedelta(days=365),
    }
    values.update(columns)
    card = LibraryCard(**values)
    db.session.add(card)
    db.session.flush()
    return card


@pytest.fixture
def make_patron(ctx: Flask) -> Callable[..., User]:
    """Factory: a resident with an active library card (``card=False``: none; ``email=None``:
    an account without e-mail, as the desk issues them)."""
    counter = iter(range(1, 10_000))

    def _make(
        *, card: bool = True, email: str | None = "", locale: str = "de", **card_columns: Any
    ) -> User:
        n = next(counter)
        user = User(
            email=(email if email != "" else f"leserin-{n}-{secrets.token_hex(3)}@example.org"),
            name=f"Leserin {n}",
            role=Role.RESIDENT,
            locale=locale,
            email_verified_at=utcnow(),
            session_token=secrets.token_hex(16),
        )
        db.session.add(user)
        db.session.flush()
        if card:
            make_card(user, **card_columns)
        return user

    return _make


@pytest.fixture
def make_item(ctx: Flask) -> Callable[..., MediaItem]:
    """Factory: a published item (``state``, ``kind`` and columns override)."""

    def _make(
        title: str = "Tod am Deich",
        *,
        kind: str = "ebook",
        state: str = "published",
        **columns: Any,
    ) -> MediaItem:
        item = MediaItem(
            kind=MediaKind(kind),
            title=title,
            state=PublicationState(state),
            published_at=utcnow() if state != "draft" else None,
            **columns,
        )
        db.session.add(item)
        db.session.flush()
        return item

    return _make


@pytest.fixture
def make_licence(ctx: Flask, clock: Clock) -> Callable[..., Licence]:
    """Factory: ``make_licence(item, concurrency=1, checkouts=None, expires_in=None, ...)``;
    ``expires_in`` is a timedelta from the clock."""

    def _make(
        item: MediaItem,
        *,
        concurrency: int = 1,
        checkouts: int | None = None,
        expires_in: timedelta | None = None,
        max_loan_days: int = 21,
        **columns: Any,
    ) -> Licence:
        licence = Licence(
            item_id=item.id,
            concurrency=concurrency,
            checkouts_total=checkouts,
            checkouts_left=checkouts,
            expires_at=clock.now + expires_in if expires_in is not None else None,
            max_loan_days=max_loan_days,
            active_loans=0,
            reserved=0,
            **columns,
        )
        db.session.add(licence)
        db.session.flush()
        return licence

    return _make


def open_loans(item: MediaItem) -> list[Loan]:
    """The item's open loans, oldest first."""
    return list(
        db.session.execute(
            sa.select(Loan)
            .where(Loan.item_id == item.id, Loan.ended_at.is_(None))
            .order_by(Loan.id)
        ).scalars()
    )


def holds_of(item: MediaItem, *states: HoldState) -> list[Hold]:
    """The item's holds (in the given states), in queue order."""
    query = sa.select(Hold).where(Hold.item_id == item.id)
    if states:
        query = query.where(Hold.state.in_(states))
    return list(db.session.execute(query.order_by(Hold.placed_at, Hold.id)).scalars())


def refreshed(obj: Any) -> Any:
    """``obj`` as the database has it now."""
    db.session.flush()
    db.session.refresh(obj)
    return obj
