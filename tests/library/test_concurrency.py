"""Copies under real concurrency (STYLE rule 9): simultaneous borrows through gunicorn.

The app runs in a real multi-process, multi-threaded server (gunicorn, 4 processes x 8
threads, as ``tests/courses/enrolment/test_concurrency.py`` starts it) on a database of its
own; the requests start together behind a barrier. Afterwards the loans, the ready holds and
the licence's counters must agree:

- PostgreSQL: 100 patrons borrow an item with 5 copies at once → exactly 5 loans, 95 refusals
  (``no_copies_available``), no 5xx; the same storm with the row locks taken out of the SQL
  (``tests/courses/live_wsgi.py``) must break it, which proves the test can fail; returns,
  borrows and hold placements at once hand every returned copy to the queue in order.
- SQLite: 30 patrons, 5 copies, through the same multi-process server: exactly 5 loans.

The tests commit for real, so they are marked ``live``.
"""

from __future__ import annotations

import os
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from library.models import CardState, Hold, HoldState, LibraryCard, Licence, Loan
from media.models import MediaItem, MediaKind, PublicationState
from tests.conftest import base_config, is_postgres_url, reset_schema
from tests.courses.enrolment.test_concurrency import (
    LiveServer,
    Reply,
    all_at_once,
    assert_clean_log,
    gunicorn,
    request,
    server_errors,
)
from vhs import create_app
from vhs.accounts.models import Role, User
from vhs.accounts.services import create_api_token
from vhs.db import db, utcnow

pytestmark = pytest.mark.live

PATRONS = 100
COPIES = 5


@dataclass
class LendingDatabase:
    """A migrated database of its own with patrons (cards and API tokens)."""

    app: Flask
    url: str
    tokens: list[str]
    user_ids: list[int]
    items_made: int = 0

    def make_item(self, copies: int = COPIES) -> int:
        """A published e-book with one licence of ``copies`` at once; its id."""
        self.items_made += 1
        with self.app.app_context():
            item = MediaItem(
                kind=MediaKind.EBOOK,
                title=f"Ansturm {self.items_made}",
                state=PublicationState.PUBLISHED,
                published_at=utcnow(),
            )
            db.session.add(item)
            db.session.flush()
            db.session.add(
                Licence(
                    item_id=item.id,
                    concurrency=copies,
                    active_loans=0,
                    reserved=0,
                    max_loan_days=21,
                )
            )
            db.session.commit()
            return item.id

    def state(self, item_id: int) -> State:
        """The item's loans, holds and licence counters as the database has them now."""
        with self.app.app_context():
            licence = db.session.execute(
                sa.select(Licence).where(Licence.item_id == item_id)
            ).scalar_one()
            loans = db.session.execute(
                sa.select(Loan.user_id).where(Loan.item_id == item_id, Loan.ended_at.is_(None))
            ).scalars()
            holds = db.session.execute(
                sa.select(Hold.user_id, Hold.state)
                .where(Hold.item_id == item_id, Hold.state != HoldState.ENDED)
                .order_by(Hold.placed_at, Hold.id)
            ).all()
            return State(
                concurrency=licence.concurrency,
                active_loans=licence.active_loans,
                reserved=licence.reserved,
                borrowers=list(loans),
                ready=[u for u, s in holds if s is HoldState.READY],
                waiting=[u for u, s in holds if s is HoldState.WAITING],
            )


@dataclass
class State:
    """What the database says about one item after a storm."""

    concurrency: int
    active_loans: int
    reserved: int
    borrowers: list[int]
    ready: list[int]
    waiting: list[int]

    def problems(self) -> list[str]:
        """Every way the copy invariant is broken (empty when all is well)."""
        out = []
        if len(self.borrowers) + len(self.ready) > self.concurrency:
            out.append(
                f"overlent: {len(self.borrowers)} loans + {len(self.ready)} ready holds "
                f"for {self.concurrency} copies"
            )
        if self.active_loans != len(self.borrowers):
            out.append(f"active_loans {self.active_loans} != {len(self.borrowers)} open loans")
        if self.reserved != len(self.ready):
            out.append(f"reserved {self.reserved} != {len(self.ready)} ready holds")
        if len(set(self.borrowers)) != len(self.borrowers):
            out.append("a patron holds two loans of one item")
        if self.waiting and len(self.borrowers) + len(self.ready) < self.concurrency:
            out.append("a copy is free while patrons wait")
        return out


def _seed(app: Flask, url: str, patrons: int) -> LendingDatabase:
    """Schema from the migrations, then patrons with active cards and API tokens."""
    reset_schema(app)
    now = utcnow()
    with app.app_context():
        people = [
            User(
                email=f"leser-{i}@example.org",
                name=f"Leser {i}",
                role=Role.RESIDENT,
                locale="de",
                email_verified_at=now,
                session_token=secrets.token_hex(16),
            )
            for i in range(patrons)
        ]
        db.session.add_all(people)
        db.session.flush()
        db.session.add_all(
            LibraryCard(
                user_id=p.id,
                number=f"C{i:08d}",
                state=CardState.ACTIVE,
                valid_until=date.today() + timedelta(days=365),
            )
            for i, p in enumerate(people)
        )
        tokens = [create_api_token(p, "storm")[1] for p in people]
        db.session.commit()
        return LendingDatabase(app=app, url=url, tokens=tokens, user_ids=[p.id for p in people])


@pytest.fixture(scope="module")
def pg_lending() -> Iterator[LendingDatabase]:
    """A fresh PostgreSQL database ``<test database>_lending``, dropped afterwards."""
    test_url = os.environ.get("VHS_TEST_DATABASE_URL", "")
    if not is_postgres_url(test_url):
        pytest.skip("needs PostgreSQL: set VHS_TEST_DATABASE_URL=postgresql+psycopg://...")
    import psycopg
    from psycopg import sql

    base = sa.engine.make_url(test_url)
    name = f"{base.database}_lending"
    url = base.set(database=name).render_as_string(hide_password=False)
    admin = base.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )

    def admin_sql(statement: str) -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL(statement).format(sql.Identifier(name)))

    admin_sql("DROP DATABASE IF EXISTS {} WITH (FORCE)")
    admin_sql("CREATE DATABASE {}")
    app = create_app(base_config(url=url))
    try:
        yield _seed(app, url, PATRONS)
    finally:
        with app.app_context():
            db.engine.dispose()
        admin_sql("DROP DATABASE IF EXISTS {} WITH (FORCE)")


@pytest.fixture(scope="module")
def pg_server(
    pg_lending: LendingDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """gunicorn on the PostgreSQL database, with the row locks in force."""
    with gunicorn(pg_lending, tmp_path_factory.mktemp("gunicorn-lending") / "server.log") as server:
        yield server


def call(
    server: LiveServer, live: LendingDatabase, patron: int, method: str, path: str
) -> Callable[[], Reply]:
    """A deferred API request by seed patron number ``patron``."""
    return lambda: request(server.host, server.port, method, path, token=live.tokens[patron])


def borrow(
    server: LiveServer, live: LendingDatabase, patron: int, item_id: int
) -> Callable[[], Reply]:
    return call(server, live, patron, "POST", f"/api/v1/media/{item_id}/loans")


def codes(replies: list[Reply]) -> Counter[Any]:
    """(status, problem code) of each reply, counted."""
    return Counter(
        (status, body.get("code") if isinstance(body, dict) and status >= 400 else None)
        for status, body in replies
    )


def check_storm(live: LendingDatabase, item_id: int, replies: list[Reply], copies: int) -> None:
    """Exactly ``copies`` loans for as many patrons, the rest refused as sold out."""
    assert not server_errors(replies), server_errors(replies)[:3]
    n = len(replies)
    assert codes(replies) == {(201, None): copies, (409, "no_copies_available"): n - copies}
    state = live.state(item_id)
    assert state.problems() == []
    told = sorted(body["id"] for status, body in replies if status == 201)
    assert len(told) == len(state.borrowers) == state.active_loans == copies


# --- PostgreSQL -------------------------------------------------------------------------------


@pytest.mark.postgres
def test_100_patrons_borrow_5_copies_at_once(
    pg_lending: LendingDatabase, pg_server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """100 simultaneous borrows of an item with 5 copies: 5 loans, 95 refusals, no 5xx."""
    item_id = pg_lending.make_item()
    started = time.monotonic()
    replies = all_at_once([borrow(pg_server, pg_lending, p, item_id) for p in range(PATRONS)])
    took = time.monotonic() - started
    check_storm(pg_lending, item_id, replies, COPIES)
    assert_clean_log(pg_server)
    with capsys.disabled():
        print(f"\n{PATRONS} simultaneous borrows of {COPIES} copies answered in {took:.2f} s")


@pytest.mark.postgres
def test_control_without_the_row_locks_copies_are_lent_twice(
    pg_lending: LendingDatabase, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same storm with FOR UPDATE taken out of the SQL breaks the invariant."""
    broken: list[str] = []
    rounds = 0
    with gunicorn(pg_lending, tmp_path / "server.log", disable_row_locks=True) as server:
        for rounds in range(1, 4):
            item_id = pg_lending.make_item()
            all_at_once([borrow(server, pg_lending, p, item_id) for p in range(PATRONS)])
            broken = pg_lending.state(item_id).problems()
            if broken:
                break
    with capsys.disabled():
        print(f"\nlending control run without row locks, round {rounds}: {broken or 'held'}")
    assert broken, f"the storm did not break the invariant without the locks in {rounds} rounds"


@pytest.mark.postgres
def test_returns_borrows_and_holds_at_once(
    pg_lending: LendingDatabase, pg_server: LiveServer
) -> None:
    """Borrowers return while others borrow and queue: every returned copy goes to the first
    in line (a ready hold), nobody else gets one, the counters agree."""
    item_id = pg_lending.make_item()
    loans: dict[int, int] = {}
    for p in range(COPIES):
        status, body = borrow(pg_server, pg_lending, p, item_id)()
        assert status == 201, body
        loans[p] = body["id"]
    queue = list(range(COPIES, COPIES + 10))
    for p in queue:  # queued one after the other: the order is known
        status, body = call(pg_server, pg_lending, p, "POST", f"/api/v1/media/{item_id}/holds")()
        assert status == 201, body
    returners = range(3)
    newcomers = range(30, 60)
    late_holders = range(60, 70)
    replies = all_at_once(
        [call(pg_server, pg_lending, p, "DELETE", f"/api/v1/loans/{loans[p]}") for p in returners]
        + [borrow(pg_server, pg_lending, p, item_id) for p in newcomers]
        + [
            call(pg_server, pg_lending, p, "POST", f"/api/v1/media/{item_id}/holds")
            for p in late_holders
        ]
    )
    assert not server_errors(replies), server_errors(replies)[:3]
    returned, borrowed, held = replies[:3], replies[3:33], replies[33:]
    assert all(status == 200 for status, _ in returned), returned
    # Every copy that came back was already kept for the queue: no newcomer got one.
    assert codes(borrowed) == {(409, "no_copies_available"): 30}
    assert codes(held) == {(201, None): 10}
    state = pg_lending.state(item_id)
    assert state.problems() == []
    uid = pg_lending.user_ids
    assert state.ready == [uid[p] for p in queue[:3]]
    assert state.waiting[:7] == [uid[p] for p in queue[3:]]
    assert sorted(state.waiting[7:]) == sorted(uid[p] for p in late_holders)
    assert_clean_log(pg_server)


# --- SQLite -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_lending(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LendingDatabase]:
    """A SQLite file of its own (WAL; writers queue on BEGIN IMMEDIATE + busy timeout)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('lending') / 'lending.sqlite3'}"
    app = create_app(base_config(url=url))
    try:
        yield _seed(app, url, 30)
    finally:
        with app.app_context():
            db.engine.dispose()


def test_sqlite_30_patrons_borrow_5_copies_through_several_processes(
    sqlite_lending: LendingDatabase, tmp_path: Path
) -> None:
    """SQLite queues the writers of four processes: 5 loans, 25 refusals, no 5xx, never
    "database is locked"."""
    item_id = sqlite_lending.make_item()
    with gunicorn(sqlite_lending, tmp_path / "server.log") as server:
        replies = all_at_once([borrow(server, sqlite_lending, p, item_id) for p in range(30)])
        check_storm(sqlite_lending, item_id, replies, COPIES)
    assert_clean_log(server)
