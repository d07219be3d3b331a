"""Factories for the media catalogue: items made through the services, as staff make them.

``make_item("Tod am Deich", authors=["Anna Berg"], subjects=["Krimi"], state="published")``
builds an item in its own unit of work (a savepoint inside the test's rolled-back transaction)
and returns it detached, with its people, numbers and keywords loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import event

from media.catalogue import services
from media.models import MediaItem
from vhs.accounts.models import User
from vhs.db import db
from vhs.uow import unit_of_work


def detach_item(item_id: int) -> MediaItem | None:
    """Reload an item with its lists and detach it (inside an app context)."""
    item = (
        db.session.execute(
            sa.select(MediaItem)
            .where(MediaItem.id == item_id)
            .options(*services.ITEM_DETAILS)
            .execution_options(populate_existing=True)
        )
        .unique()
        .scalar_one_or_none()
    )
    db.session.expunge_all()
    return item


@pytest.fixture
def staff_member(make_user: Callable[..., User]) -> User:
    """A staff account that stocks the catalogue in the factories."""
    return make_user("staff", name="Bettina Bücherei")


@pytest.fixture
def make_item(app: Flask, staff_member: User) -> Callable[..., MediaItem]:
    """Factory: an item saved through ``services.save_item`` (published unless ``state``).

    ``make_item(title, *, kind="ebook", authors=("Anna Berg",), narrators=(), subjects=(),
    isbn=None, state="published", **columns)``.
    """

    def _make(
        title: str = "Tod am Deich",
        *,
        kind: str = "ebook",
        authors: tuple[str, ...] | list[str] = ("Anna Berg",),
        narrators: tuple[str, ...] | list[str] = (),
        subjects: tuple[str, ...] | list[str] = (),
        isbn: str | None = None,
        state: str = "published",
        **columns: Any,
    ) -> MediaItem:
        people = [{"name": n, "role": "author"} for n in authors]
        people += [{"name": n, "role": "narrator"} for n in narrators]
        data: dict[str, Any] = {
            "kind": kind,
            "title": title,
            "contributors": people,
            "subjects": list(subjects),
            **columns,
        }
        if isbn is not None:
            data["identifiers"] = [{"scheme": "isbn", "value": isbn}]
        with app.app_context():
            with unit_of_work():
                actor = db.session.get(User, staff_member.id)
                item = services.save_item(actor, data)
                if state in ("published", "withdrawn"):
                    services.publish_item(actor, item)
                if state == "withdrawn":
                    services.withdraw_item(actor, item)
                item_id = item.id
            found = detach_item(item_id)
            assert found is not None
            return found

    return _make


@pytest.fixture
def load_item(app: Flask) -> Callable[[int], MediaItem | None]:
    """The current state of an item (detached), or None."""

    def _load(item_id: int) -> MediaItem | None:
        with app.app_context():
            return detach_item(item_id)

    return _load


@pytest.fixture
def count_sql(app: Flask) -> Callable[[], Any]:
    """``with count_sql() as statements:`` collects the SQL sent meanwhile (no transaction
    control such as SAVEPOINT or BEGIN), via the engine's ``before_cursor_execute`` event."""

    control = ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")

    @contextmanager
    def _count() -> Iterator[list[str]]:
        statements: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if not statement.lstrip().upper().startswith(control):
                statements.append(statement)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            event.remove(engine, "before_cursor_execute", record)

    return _count
