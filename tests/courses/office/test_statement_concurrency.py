"""Fee statement numbers under real concurrency: gapless per year, one statement per term.

Twenty instructors' statements are issued at once through gunicorn (several processes and
threads), and five more requests race for the first instructor's statement, against a
database of its own: the suite's kind (PostgreSQL when ``VHS_TEST_DATABASE_URL`` names one,
else a SQLite file). On PostgreSQL a control run with the row locks switched off shows the
storm can break the numbering, so the first test can fail.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from courses.office.models import FeeStatement
from tests.conftest import is_postgres_url
from tests.courses import factories
from tests.courses.enrolment.test_concurrency import (
    LiveDatabase,
    all_at_once,
    assert_clean_log,
    gunicorn,
    request,
)
from tests.courses.enrolment.test_concurrency import pg_db as pg_db  # module-scoped fixtures
from tests.courses.enrolment.test_concurrency import sqlite_db as sqlite_db
from tests.courses.office.factories import new_held_course
from vhs.accounts.services import create_api_token
from vhs.db import db
from vhs.uow import unit_of_work

pytestmark = [pytest.mark.live]

INSTRUCTORS = 20


@pytest.fixture(scope="module")
def live_db(request: pytest.FixtureRequest) -> LiveDatabase:
    """The suite's kind of database, of its own."""
    on_pg = is_postgres_url(os.environ.get("VHS_TEST_DATABASE_URL", ""))
    return request.getfixturevalue("pg_db" if on_pg else "sqlite_db")


def _teachers(live: LiveDatabase, tag: str) -> tuple[str, list[int]]:
    """A staff token and instructors, each with a held course and a fee in the live term."""
    with live.app.app_context(), unit_of_work():
        staff = factories.new_user("staff", name=f"Olga {tag}")
        _token, plaintext = create_api_token(staff, "office")
        ids = []
        for n in range(INSTRUCTORS):
            teacher = factories.new_user("instructor", name=f"Kursleitung {tag} {n}")
            new_held_course(
                teacher, term=live.term_id, category=live.category_id, code=f"H{tag}-{n}"
            )
            ids.append(teacher.id)
    return plaintext, ids


def _storm(server: Any, live: LiveDatabase, token: str, ids: list[int]) -> list[tuple[int, Any]]:
    bodies = [{"term_id": live.term_id, "instructor_id": i} for i in ids]
    bodies += [{"term_id": live.term_id, "instructor_id": ids[0]}] * 5
    return all_at_once(
        [
            (
                lambda body=body: request(
                    server.host,
                    server.port,
                    "POST",
                    "/api/v1/staff/statements",
                    token=token,
                    body=body,
                )
            )
            for body in bodies
        ]
    )


def _sequences(live: LiveDatabase, ids: list[int]) -> list[int]:
    with live.app.app_context():
        return sorted(
            db.session.execute(
                sa.select(FeeStatement.sequence).where(FeeStatement.instructor_id.in_(ids))
            ).scalars()
        )


def test_statement_numbers_stay_gapless_when_issued_at_once(
    live_db: LiveDatabase, tmp_path: Path
) -> None:
    token, ids = _teachers(live_db, "a")
    with gunicorn(live_db, tmp_path / "gunicorn.log") as server:
        replies = _storm(server, live_db, token, ids)
        assert_clean_log(server)
    statuses = [status for status, _ in replies]
    assert statuses.count(201) == INSTRUCTORS, [r for r in replies if r[0] not in (201, 409)][:3]
    assert statuses.count(409) == 5
    assert {body["code"] for status, body in replies if status == 409} == {"statement_exists"}
    sequences = _sequences(live_db, ids)
    assert sequences == list(range(sequences[0], sequences[0] + INSTRUCTORS))
    numbers = [body["number"] for status, body in replies if status == 201]
    assert len(set(numbers)) == INSTRUCTORS


@pytest.mark.postgres
def test_control_without_the_lock_the_numbering_breaks(pg_db: LiveDatabase, tmp_path: Path) -> None:
    """With row locks off, concurrent issues read the same counter: a duplicate number is
    refused (an error answer) and the series is not what was asked. Timing decides how often,
    so the storm is tried up to three times with fresh instructors."""
    outcomes = []
    with gunicorn(pg_db, tmp_path / "gunicorn.log", disable_row_locks=True) as server:
        for attempt in range(3):
            token, ids = _teachers(pg_db, f"b{attempt}")
            replies = _storm(server, pg_db, token, ids)
            statuses = [status for status, _ in replies]
            sequences = _sequences(pg_db, ids)
            clean = (
                statuses.count(201) == INSTRUCTORS
                and statuses.count(409) == 5
                and sequences == list(range(sequences[0], sequences[0] + INSTRUCTORS))
            )
            outcomes.append(sorted(set(statuses)))
            if not clean:
                return
    pytest.fail(f"the storm did no harm without the lock ({outcomes}): the test proves nothing")
