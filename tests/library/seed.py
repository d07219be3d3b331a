"""Committed test data for tests that go through the client (pages, API): each call runs in a
unit of work of its own (a savepoint of the test's transaction) and returns plain ids."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from typing import Any

from flask import Flask

from library.models import CardState, LibraryCard, Licence
from media.models import MediaItem, MediaKind, PublicationState
from vhs.accounts.models import User
from vhs.db import db, utcnow
from vhs.uow import unit_of_work


def give_card(app: Flask, user: User, **columns: Any) -> int:
    """An active library card for ``user`` (valid a year); its id."""
    with app.app_context(), unit_of_work():
        card = LibraryCard(
            user_id=user.id,
            number=f"8{secrets.randbelow(10**12):012d}",
            state=columns.pop("state", CardState.ACTIVE),
            valid_until=columns.pop("valid_until", date.today() + timedelta(days=365)),
            **columns,
        )
        db.session.add(card)
        db.session.flush()
        return card.id


def item_with_licence(
    app: Flask,
    title: str = "Tod am Deich",
    *,
    concurrency: int | None = 1,
    state: str = "published",
    kind: str = "ebook",
    **licence: Any,
) -> tuple[int, int | None]:
    """A published item and (unless ``concurrency`` is None) a licence: (item id, licence id)."""
    with app.app_context(), unit_of_work():
        item = MediaItem(
            kind=MediaKind(kind),
            title=title,
            state=PublicationState(state),
            published_at=utcnow(),
        )
        db.session.add(item)
        db.session.flush()
        licence_id = None
        if concurrency is not None:
            lic = Licence(
                item_id=item.id,
                concurrency=concurrency,
                active_loans=0,
                reserved=0,
                max_loan_days=21,
                **licence,
            )
            db.session.add(lic)
            db.session.flush()
            licence_id = lic.id
        return item.id, licence_id
