"""ODL under real concurrency (issue 13): 50 patrons borrow the same distributor title at
once through gunicorn (4 processes x 8 threads) on PostgreSQL, the licence lending 3 copies
at once → exactly 3 checkouts reach the stand-in distributor, never more, 47 refusals
(``no_copies_available``), no 5xx. Then the distributor goes down: borrows are refused
cleanly (503 ``distributor_unavailable``), returns are taken at once and sent when it is back.

The database is one of its own (``<test database>_odl``) with real commits: marked ``live``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from library.distributors.convergence import retry_returns
from library.distributors.models import OdlLoan, ReturnState
from library.distributors.services import add_distributor
from library.distributors.sync import sync_distributor
from library.models import Licence, Loan
from media.models import MediaItem
from tests.conftest import base_config, is_postgres_url
from tests.courses.enrolment.test_concurrency import (
    LiveServer,
    all_at_once,
    assert_clean_log,
    gunicorn,
    server_errors,
)
from tests.library.odl_standin import OdlStandin, StandinLicence, StandinPublication
from tests.library.test_concurrency import LendingDatabase, _seed, borrow, call, codes
from vhs import create_app
from vhs.accounts.models import Role, User
from vhs.db import db, utcnow
from vhs.uow import unit_of_work

pytestmark = [pytest.mark.live, pytest.mark.postgres]

PATRONS = 50
COPIES = 3


@pytest.fixture(scope="module")
def standin() -> Iterator[OdlStandin]:
    server = OdlStandin().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def pg_odl() -> Iterator[LendingDatabase]:
    """A fresh PostgreSQL database ``<test database>_odl`` with 50 patrons, dropped after."""
    test_url = os.environ.get("VHS_TEST_DATABASE_URL", "")
    if not is_postgres_url(test_url):
        pytest.skip("needs PostgreSQL: set VHS_TEST_DATABASE_URL=postgresql+psycopg://...")
    import psycopg
    from psycopg import sql

    base = sa.engine.make_url(test_url)
    name = f"{base.database}_odl"
    url = base.set(database=name).render_as_string(hide_password=False)
    admin = base.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )

    def admin_sql(statement: str) -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL(statement).format(sql.Identifier(name)))

    admin_sql("DROP DATABASE IF EXISTS {} WITH (FORCE)")
    admin_sql("CREATE DATABASE {}")
    app = create_app(base_config(url=url, library_odl_timeout_seconds=2))
    try:
        yield _seed(app, url, PATRONS)
    finally:
        with app.app_context():
            db.engine.dispose()
        admin_sql("DROP DATABASE IF EXISTS {} WITH (FORCE)")


@pytest.fixture(scope="module")
def server(
    pg_odl: LendingDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with gunicorn(
        pg_odl,
        tmp_path_factory.mktemp("gunicorn-odl") / "server.log",
        extra_env={"VHS_LIBRARY_ODL_TIMEOUT_SECONDS": "2"},
    ) as live:
        yield live


def connect(app: Flask, standin: OdlStandin, title: str) -> int:
    """Offer a title with one licence of 3 copies at the stand-in, sync it; the item's id."""
    slug = title.lower().replace(" ", "-")
    standin.add(
        StandinPublication(
            id=f"urn:uuid:{slug}",
            title=title,
            licences=[StandinLicence(id=f"lic-{slug}", concurrency=COPIES)],
        )
    )
    with app.app_context(), unit_of_work():
        actor = User(name="System", email="", role=Role.ADMIN)
        distributor = add_distributor(
            actor, {"name": title, "feed_url": f"{standin.feed_url}?for={slug}"}
        )
        sync_distributor(distributor.id)
        return db.session.execute(
            sa.select(MediaItem.id).where(MediaItem.title == title)
        ).scalar_one()


def test_50_patrons_borrow_a_distributor_title_with_3_copies(
    pg_odl: LendingDatabase, server: LiveServer, standin: OdlStandin
) -> None:
    """Exactly 3 checkouts at the distributor, 47 clean refusals, 0 x 5xx."""
    item_id = connect(pg_odl.app, standin, "Ansturm auf den Grenzfall")
    started = time.monotonic()
    replies = all_at_once([borrow(server, pg_odl, p, item_id) for p in range(PATRONS)])
    took = time.monotonic() - started
    assert not server_errors(replies), server_errors(replies)[:3]
    assert codes(replies) == {(201, None): COPIES, (409, "no_copies_available"): PATRONS - COPIES}
    assert standin.checkout_posts == COPIES
    assert len(standin.active("lic-ansturm-auf-den-grenzfall")) == COPIES
    with pg_odl.app.app_context():
        licence = db.session.execute(
            sa.select(Licence).where(Licence.item_id == item_id)
        ).scalar_one()
        assert licence.active_loans == COPIES
    assert_clean_log(server)
    assert took < 20, f"the storm took {took:.1f} s"


def test_down_distributor_refuses_borrows_and_converges_returns(
    pg_odl: LendingDatabase, server: LiveServer, standin: OdlStandin
) -> None:
    """Down: borrows answer 503 distributor_unavailable (nothing lent), returns answer 200 at
    once; back up, the returns job sends them and the distributor frees its copies."""
    item_id = connect(pg_odl.app, standin, "Funkstille in Hemer")
    lent = []
    for p in range(2):
        status, body = borrow(server, pg_odl, p, item_id)()
        assert status == 201, body
        lent.append(body["id"])
    standin.stop()
    try:
        replies = all_at_once(
            [borrow(server, pg_odl, p, item_id) for p in range(2, 8)]
            + [call(server, pg_odl, p, "DELETE", f"/api/v1/loans/{lent[p]}") for p in range(2)]
        )
    finally:
        standin.start()
    borrows, returns = replies[:6], replies[6:]
    assert not server_errors([r for r in borrows if r[0] != 503]), borrows
    assert codes(borrows) == {(503, "distributor_unavailable"): 6}
    assert [status for status, _ in returns] == [200, 200]
    assert len(standin.active("lic-funkstille-in-hemer")) == 2  # not told yet
    with pg_odl.app.app_context(), unit_of_work():
        later = utcnow() + timedelta(minutes=10)
        assert retry_returns(later) == 2
    assert standin.active("lic-funkstille-in-hemer") == []
    with pg_odl.app.app_context():
        owed = db.session.execute(sa.select(OdlLoan.return_state)).scalars().all()
        assert ReturnState.PENDING not in owed
        open_loans = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Loan)
            .where(Loan.item_id == item_id, Loan.ended_at.is_(None))
        )
        assert open_loans == 0
