"""Seats under real concurrency (STYLE rule 9): many simultaneous bookings through gunicorn.

The app runs in a real multi-process, multi-threaded server (gunicorn, gthread workers) on a
database of its own, and the requests start together behind a barrier. Afterwards the seats,
the waiting list and the course's denormalised counters must agree with each other:

- PostgreSQL: 200 bookings for 20 seats; the same with the row lock switched off (the control
  run, which must break the invariant); cancellations, bookings and promotions at once.
- SQLite: 50 bookings for 10 seats through the same multi-process server, never "database is
  locked".

The tests commit for real, so they are marked ``live`` (no rolled-back test transaction).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from flask import Flask

from courses.models import (
    SEAT_STATUSES,
    Category,
    Course,
    CourseStatus,
    Enrolment,
    EnrolmentStatus,
    Session,
    Term,
    TermStatus,
)
from courses.planning.services import refresh_schedule, refresh_search_document
from tests.conftest import base_config, is_postgres_url, reset_schema
from vhs import create_app
from vhs.accounts.models import Role, User
from vhs.accounts.services import create_api_token
from vhs.db import db, utcnow

pytestmark = pytest.mark.live

REPO_ROOT = Path(__file__).resolve().parents[3]
SECRET_KEY = "concurrency-test-secret-" + "k" * 32
USERS = 200
T = TypeVar("T")
Reply = tuple[int, Any]  # HTTP status, parsed body


# --- the database and its seed --------------------------------------------------------------


@dataclass
class LiveDatabase:
    """A migrated database of its own, with a term, a category and verified users."""

    app: Flask
    url: str
    term_id: int
    category_id: int
    tokens: list[str]  # API token of user i
    user_ids: list[int]
    courses_made: int = 0

    def make_course(self, *, capacity: int, fee_cents: int = 0) -> int:
        """A published course with one session a month ahead; returns its id."""
        self.courses_made += 1
        with self.app.app_context():
            course = Course(
                term_id=self.term_id,
                category_id=self.category_id,
                code=f"CONC-{self.courses_made}",
                title=f"Ansturm {self.courses_made}",
                fee_cents=fee_cents,
                capacity=capacity,
                min_participants=0,
                cancellation_days=7,
                status=CourseStatus.PUBLISHED,
            )
            db.session.add(course)
            db.session.flush()
            starts = utcnow().replace(microsecond=0) + timedelta(days=30)
            db.session.add(
                Session(course_id=course.id, starts_at=starts, ends_at=starts + timedelta(hours=2))
            )
            refresh_schedule(course)
            refresh_search_document(course)
            db.session.commit()
            return course.id

    def snapshot(self, course_id: int) -> Snapshot:
        """The course's counters and active enrolments as the database has them now."""
        with self.app.app_context():
            course = db.session.get(Course, course_id)
            assert course is not None
            rows = db.session.execute(
                sa.select(
                    Enrolment.id, Enrolment.user_id, Enrolment.status, Enrolment.waitlist_position
                )
                .where(Enrolment.course_id == course_id)
                .order_by(Enrolment.id)
            ).all()
            return Snapshot(
                capacity=course.capacity,
                seats_taken=course.seats_taken,
                waitlist_count=course.waitlist_count,
                holders={r.id: r.user_id for r in rows if r.status in SEAT_STATUSES},
                waiting=[
                    (r.waitlist_position, r.id, r.user_id)
                    for r in rows
                    if r.status is EnrolmentStatus.WAITLISTED
                ],
                statuses={r.id: r.status for r in rows},
            )


@dataclass
class Snapshot:
    """What the database says about one course after the storm."""

    capacity: int
    seats_taken: int
    waitlist_count: int
    holders: dict[int, int]  # enrolment id -> user id, for everyone holding a seat
    waiting: list[tuple[int | None, int, int]]  # (position, enrolment id, user id)
    statuses: dict[int, EnrolmentStatus] = field(default_factory=dict)

    @property
    def positions(self) -> list[int | None]:
        """The waiting-list positions, sorted (a lost position, None, sorts first)."""
        return sorted((w[0] for w in self.waiting), key=lambda p: (p is not None, p or 0))

    def waiting_users_in_order(self) -> list[int]:
        """User ids on the waiting list, first in line first."""
        return [w[2] for w in sorted(self.waiting, key=lambda w: (w[0] or 0, w[1]))]

    def problems(self) -> list[str]:
        """Every way the seat invariant is broken (empty when all is well)."""
        out = []
        if len(self.holders) > self.capacity:
            out.append(f"overbooked: {len(self.holders)} seats held for {self.capacity} places")
        if self.seats_taken > self.capacity:
            out.append(f"seats_taken {self.seats_taken} > capacity {self.capacity}")
        if self.seats_taken != len(self.holders):
            out.append(f"seats_taken {self.seats_taken} != {len(self.holders)} seat holders")
        if self.waitlist_count != len(self.waiting):
            out.append(f"waitlist_count {self.waitlist_count} != {len(self.waiting)} waiting")
        positions = self.positions
        if positions != list(range(1, len(self.waiting) + 1)):
            dupes = sorted(p for p, n in Counter(positions).items() if n > 1 and p is not None)
            missing = sorted(set(range(1, len(self.waiting) + 1)) - set(positions))
            out.append(
                f"waiting-list positions not 1..{len(self.waiting)}: "
                f"{len(dupes)} duplicated {dupes[:10]}, {len(missing)} missing {missing[:10]}"
            )
        if self.waiting and len(self.holders) < self.capacity:
            out.append(f"{self.capacity - len(self.holders)} seats free while people wait")
        return out


def _seed(app: Flask, url: str, users: int) -> LiveDatabase:
    """Schema from the migrations, then a term open for booking, a category and users."""
    reset_schema(app)
    now = utcnow()
    with app.app_context():
        term = Term(
            name="Concurrency term",
            starts_on=now.date(),
            ends_on=(now + timedelta(days=180)).date(),
            enrolment_opens_at=now - timedelta(days=1),
            status=TermStatus.PUBLISHED,
        )
        category = Category(slug="concurrency", name_de="Ansturm", name_en="Rush")
        people = [
            User(
                email=f"conc-{i}@example.org",
                name=f"Teilnehmerin {i}",
                role=Role.RESIDENT,
                locale="de",
                email_verified_at=now,
                session_token=secrets.token_hex(16),
            )
            for i in range(users)
        ]
        db.session.add_all([term, category, *people])
        db.session.flush()
        tokens = [create_api_token(u, "concurrency")[1] for u in people]
        db.session.commit()
        return LiveDatabase(
            app=app,
            url=url,
            term_id=term.id,
            category_id=category.id,
            tokens=tokens,
            user_ids=[u.id for u in people],
        )


@pytest.fixture(scope="module")
def pg_db() -> Iterator[LiveDatabase]:
    """A fresh PostgreSQL database ``<test database>_conc``, dropped afterwards."""
    test_url = os.environ.get("VHS_TEST_DATABASE_URL", "")
    if not is_postgres_url(test_url):
        pytest.skip("needs PostgreSQL: set VHS_TEST_DATABASE_URL=postgresql+psycopg://...")
    import psycopg
    from psycopg import sql

    base = sa.engine.make_url(test_url)
    name = f"{base.database}_conc"
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
        yield _seed(app, url, USERS)
    finally:
        with app.app_context():
            db.engine.dispose()
        admin_sql("DROP DATABASE IF EXISTS {} WITH (FORCE)")


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDatabase]:
    """A SQLite file of its own (WAL; writers queue on BEGIN IMMEDIATE + busy timeout)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('conc') / 'conc.sqlite3'}"
    app = create_app(base_config(url=url))
    try:
        yield _seed(app, url, 50)
    finally:
        with app.app_context():
            db.engine.dispose()


# --- the live server --------------------------------------------------------------------------


@dataclass
class LiveServer:
    """A running gunicorn; ``log()`` is everything it wrote so far."""

    host: str
    port: int
    log_path: Path

    def log(self) -> str:
        """The server's log (errors, the app's INFO lines)."""
        return self.log_path.read_text(errors="replace")


@contextmanager
def gunicorn(
    live: LiveDatabase,
    log_path: Path,
    *,
    disable_row_locks: bool = False,
    extra_env: dict[str, str] | None = None,
) -> Iterator[LiveServer]:
    """Serve ``live``'s database with gunicorn (4 processes x 8 threads) on 127.0.0.1."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VHS_")}
    env.update(
        VHS_DATABASE_URL=live.url,
        VHS_SECRET_KEY=SECRET_KEY,
        VHS_PUBLIC_BASE_URL="http://vhs.test",
        VHS_INSTANCE_PATH=str(log_path.parent / "instance"),
        VHS_RATELIMIT_STORAGE_URL="memory://",
        # The tests prove the lock keeps seats right; on a loaded 2-core CI machine 200
        # requests may queue longer than the production lock timeout (3 s, a 503).
        VHS_LOCK_TIMEOUT_MS="20000",
        VHS_TEST_DISABLE_ROW_LOCKS="1" if disable_row_locks else "0",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(extra_env or {})
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind=127.0.0.1:0",
        "--workers=4",
        "--worker-class=gthread",
        "--threads=8",
        "--timeout=60",
        "--graceful-timeout=10",
        "--preload",
        *_no_control_socket(),
        "tests.courses.live_wsgi:app",
    ]
    with (
        log_path.open("wb") as log,
        subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT) as proc,
    ):
        try:
            server = _wait_until_up(proc, log_path)
            yield server
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:  # pragma: no cover - a hung worker
                proc.kill()
                proc.wait(timeout=10)


def _no_control_socket() -> list[str]:
    """gunicorn 27 opens ~/.gunicorn/gunicorn.ctl, shared by every server on the machine."""
    from gunicorn.config import KNOWN_SETTINGS

    known = any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS)
    return ["--no-control-socket"] if known else []


def _wait_until_up(proc: subprocess.Popen[bytes], log_path: Path) -> LiveServer:
    """The port gunicorn bound (from its log), once /healthz answers on it."""
    deadline = time.monotonic() + 60
    port = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"gunicorn exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}")
        if port is None:
            match = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", log_path.read_text())
            port = int(match.group(1)) if match else None
        if port is not None:
            try:
                status, _ = request("127.0.0.1", port, "GET", "/healthz", timeout=2)
            except OSError:
                status = 0
            if status == 200:
                return LiveServer("127.0.0.1", port, log_path)
        time.sleep(0.1)
    pytest.fail(f"gunicorn did not answer /healthz in time:\n{log_path.read_text()[-4000:]}")


def request(
    host: str,
    port: int,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: Any = None,
    timeout: float = 60,
) -> Reply:
    """One HTTP request on a connection of its own; returns (status, parsed JSON or text)."""
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=payload, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        status = resp.status
    finally:
        conn.close()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def all_at_once(calls: list[Callable[[], T]]) -> list[T]:
    """Run every call in a thread of its own, released together by a barrier."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        barrier.wait(timeout=60)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def enrol_call(
    server: LiveServer, live: LiveDatabase, user: int, course_id: int
) -> Callable[[], Reply]:
    """A deferred booking of ``course_id`` by seed user number ``user``."""

    def call() -> Reply:
        return request(
            server.host,
            server.port,
            "POST",
            f"/api/v1/courses/{course_id}/enrolments",
            token=live.tokens[user],
            body={},
        )

    return call


def cancel_call(
    server: LiveServer, live: LiveDatabase, user: int, enrolment_id: int
) -> Callable[[], Reply]:
    """A deferred cancellation of one of seed user ``user``'s bookings."""

    def call() -> Reply:
        return request(
            server.host,
            server.port,
            "DELETE",
            f"/api/v1/enrolments/{enrolment_id}",
            token=live.tokens[user],
        )

    return call


def storm(server: LiveServer, live: LiveDatabase, course_id: int, users: range) -> list[Reply]:
    """Every user in ``users`` books ``course_id`` at the same moment; the responses."""
    return all_at_once([enrol_call(server, live, u, course_id) for u in users])


def status_counts(responses: list[Reply]) -> Counter[int]:
    """How many responses had each HTTP status."""
    return Counter(status for status, _ in responses)


def server_errors(responses: list[Reply]) -> list[Reply]:
    """Responses with a status of 500 or more (a 503 lock timeout counts as a failure)."""
    return [(status, body) for status, body in responses if status >= 500]


def assert_clean_log(server: LiveServer) -> None:
    """No tracebacks, no SQLite lock errors, no worker restarts in the server's log."""
    log = server.log()
    for bad in ("database is locked", "Traceback", "WORKER TIMEOUT", "lock timeout"):
        assert bad not in log, f"{bad!r} in the server log:\n{log[-4000:]}"


def check_rush(live: LiveDatabase, course_id: int, responses: list[Reply], capacity: int) -> None:
    """After N bookings for ``capacity`` seats: exactly the seats, then 1..N-capacity waiting."""
    n = len(responses)
    assert not server_errors(responses), (
        f"{len(server_errors(responses))} responses >= 500 (503 = lock timeout too short for "
        f"{n} simultaneous bookings): {server_errors(responses)[:3]}"
    )
    assert status_counts(responses) == {201: n}, status_counts(responses)
    bodies = [body for _, body in responses]
    answered = Counter(b["status"] for b in bodies)
    assert answered == {"confirmed": capacity, "waitlisted": n - capacity}, answered
    answered_positions = sorted(
        b["waitlist_position"] for b in bodies if b["status"] == "waitlisted"
    )
    assert answered_positions == list(range(1, n - capacity + 1))

    snap = live.snapshot(course_id)
    assert snap.problems() == []
    assert len(snap.holders) == capacity
    assert len(snap.waiting) == n - capacity
    assert snap.seats_taken == capacity and snap.waitlist_count == n - capacity
    # What each person was told is what the database holds.
    told = {b["id"]: (b["status"], b["waitlist_position"]) for b in bodies}
    stored = {eid: (snap.statuses[eid].value, None) for eid in snap.holders}
    stored.update({eid: ("waitlisted", pos) for pos, eid, _ in snap.waiting})
    assert told == stored
    # One booking per person: nobody got two places.
    people = list(snap.holders.values()) + [user for _, _, user in snap.waiting]
    assert len(people) == len(set(people)) == n


# --- PostgreSQL -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_server(
    pg_db: LiveDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """gunicorn on the PostgreSQL database, with the row lock in force."""
    with gunicorn(pg_db, tmp_path_factory.mktemp("gunicorn-pg") / "server.log") as server:
        yield server


@pytest.mark.postgres
def test_200_simultaneous_bookings_fill_20_seats_exactly(
    pg_db: LiveDatabase, pg_server: LiveServer
) -> None:
    """200 people book a 20-seat course at once: 20 seats, waiting list 1..180, no 5xx."""
    course_id = pg_db.make_course(capacity=20)
    responses = storm(pg_server, pg_db, course_id, range(USERS))
    check_rush(pg_db, course_id, responses, capacity=20)
    assert_clean_log(pg_server)


@pytest.mark.postgres
def test_control_without_the_row_lock_the_invariant_breaks(
    pg_db: LiveDatabase, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same rush with the lock switched off overbooks: proof the test above can fail."""
    broken: list[str] = []
    rounds = 0
    with gunicorn(pg_db, tmp_path / "server.log", disable_row_locks=True) as server:
        for rounds in range(1, 4):
            course_id = pg_db.make_course(capacity=20)
            storm(server, pg_db, course_id, range(USERS))
            broken = pg_db.snapshot(course_id).problems()
            if broken:
                break
    with capsys.disabled():
        print(f"\ncontrol run without row lock, round {rounds}: {broken or 'invariant held'}")
    assert broken, f"the rush did not break the invariant without the lock in {rounds} rounds"


@pytest.mark.postgres
def test_cancellations_bookings_and_promotions_at_once(
    pg_db: LiveDatabase, pg_server: LiveServer
) -> None:
    """Seat holders cancel while others book: seats never exceed the capacity, freed seats
    go to the first in line, the waiting list closes ranks (paid course: holds, not seats)."""
    capacity = 20
    course_id = pg_db.make_course(capacity=capacity, fee_cents=4500)
    ids: dict[int, int] = {}  # seed user -> enrolment id
    for user in range(40):  # 20 seats (payment holds), then waiting list 1..20, in order
        status, body = enrol_call(pg_server, pg_db, user, course_id)()
        assert status == 201, body
        ids[user] = body["id"]
    before = pg_db.snapshot(course_id)
    assert before.problems() == []
    assert before.waiting_users_in_order() == [pg_db.user_ids[u] for u in range(20, 40)]

    seat_cancellers = range(10)  # half the seat holders
    wait_cancellers = range(37, 40)  # the last three in line
    newcomers = range(40, 70)
    calls = (
        [cancel_call(pg_server, pg_db, u, ids[u]) for u in seat_cancellers]
        + [cancel_call(pg_server, pg_db, u, ids[u]) for u in wait_cancellers]
        + [enrol_call(pg_server, pg_db, u, course_id) for u in newcomers]
    )
    responses = all_at_once(calls)
    assert not server_errors(responses), server_errors(responses)[:3]
    cancels, books = responses[:13], responses[13:]
    assert all(s == 200 and b["status"] == "cancelled" for s, b in cancels), cancels
    # The course never had a free seat with people waiting, so every newcomer waits.
    assert all(s == 201 and b["status"] == "waitlisted" for s, b in books), books

    snap = pg_db.snapshot(course_id)
    assert snap.problems() == []
    assert snap.seats_taken == capacity
    # The ten freed seats went to the first ten in line (20..29), as payment holds.
    uid = pg_db.user_ids
    assert sorted(snap.holders.values()) == sorted(uid[u] for u in range(10, 30))
    promoted = [
        eid for eid, user in snap.holders.items() if user in {uid[u] for u in range(20, 30)}
    ]
    assert {snap.statuses[e] for e in promoted} == {EnrolmentStatus.PENDING_PAYMENT}
    # The rest of the old line keeps its order at the front, newcomers queue behind it.
    order = snap.waiting_users_in_order()
    assert order[:7] == [uid[u] for u in range(30, 37)]
    assert sorted(order[7:]) == sorted(uid[u] for u in newcomers)
    assert_clean_log(pg_server)


# --- SQLite -----------------------------------------------------------------------------------


def test_sqlite_50_simultaneous_bookings_through_several_processes(
    sqlite_db: LiveDatabase, tmp_path: Path
) -> None:
    """SQLite queues the writers of four processes: 10 seats, waiting list 1..40, no 5xx, and
    never "database is locked"."""
    course_id = sqlite_db.make_course(capacity=10)
    with gunicorn(sqlite_db, tmp_path / "server.log") as server:
        responses = storm(server, sqlite_db, course_id, range(50))
        check_rush(sqlite_db, course_id, responses, capacity=10)
    assert_clean_log(server)
