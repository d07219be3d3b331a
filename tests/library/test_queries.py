"""How many SQL statements "my loans" costs: a fixed number, whatever the number of loans
(issue 12: at most 6 for /library/account and GET /api/v1/me/loans)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask import Flask

from library.circulation import services
from tests.library.seed import give_card, item_with_licence
from vhs.accounts.models import User
from vhs.db import db
from vhs.uow import unit_of_work

MAX_STATEMENTS = 6
# The test's own transaction turns each unit of work into a savepoint: not the page's cost.
_SAVEPOINTS = re.compile(r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\b", re.I)


@contextmanager
def counted(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement the app sends while the block runs (savepoints left out)."""
    statements: list[str] = []

    def before(_conn, _cursor, statement, _params, _context, _many) -> None:
        if not _SAVEPOINTS.match(statement):
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


def _borrow_many(app: Flask, user: User, count: int) -> None:
    """``count`` open loans for ``user``, each of another item."""
    for n in range(count):
        item_id, _ = item_with_licence(app, f"Band {n + 1}", kind="audiobook" if n % 2 else "ebook")
        with app.app_context(), unit_of_work():
            services.borrow(db.session.get(User, user.id), item_id, days=14)


@pytest.fixture
def patron(app: Flask, make_user, monkeypatch) -> User:
    """A patron with a card, who may hold more loans than the 30 the tests give them."""
    monkeypatch.setattr(app.config["VHS"], "library_max_loans", 50)
    user = make_user()
    give_card(app, user)
    return user


@pytest.mark.parametrize("loans", [1, 30])
def test_my_loans_page_costs_a_fixed_number_of_statements(
    app: Flask, client, login, patron: User, loans: int
) -> None:
    _borrow_many(app, patron, loans)
    login(patron)
    client.get("/library/account")  # warm: templates compiled, translations loaded
    with counted(app) as statements:
        resp = client.get("/library/account")
    assert resp.status_code == 200
    assert resp.get_data(as_text=True).count("/return") == loans
    assert len(statements) <= MAX_STATEMENTS, "\n\n".join(statements)


@pytest.mark.parametrize("loans", [1, 30])
def test_my_loans_api_costs_a_fixed_number_of_statements(
    app: Flask, client, api_token, patron: User, loans: int
) -> None:
    _borrow_many(app, patron, loans)
    headers = api_token(patron)
    client.get("/api/v1/me/loans", headers=headers)
    with counted(app) as statements:
        resp = client.get("/api/v1/me/loans", headers=headers)
    assert resp.status_code == 200 and len(resp.get_json()) == loans
    assert len(statements) <= MAX_STATEMENTS, "\n\n".join(statements)
