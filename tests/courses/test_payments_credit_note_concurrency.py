"""Credit notes under real concurrency on PostgreSQL: 40 refunds at once, numbers gapless.

Runs gunicorn (several processes and threads) against a database of its own, like the other
payment storms (``test_payments_concurrency.py``): 40 paid bookings are refunded at the same
moment by staff through the API; each refund issues a credit note with the next number of the
year's series, taken under the counter row's lock. The control run switches the row locks off
and shows that the same storm then loses numbers or refunds (the test above can fail).
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.courses.enrolment.test_concurrency import (
    LiveDatabase,
    all_at_once,
    assert_clean_log,
    gunicorn,
    request,
)
from tests.courses.enrolment.test_concurrency import pg_db as pg_db  # the module-scoped fixture
from vhs.accounts.models import Role, User
from vhs.accounts.services import create_api_token
from vhs.db import db, utcnow
from vhs.payments.models import CreditNote, CreditNoteKind, Refund

pytestmark = [pytest.mark.live, pytest.mark.postgres]

PEOPLE = 40


def _staff_token(live: LiveDatabase) -> str:
    with live.app.app_context():
        staff = User(
            email=f"desk-{secrets.token_hex(4)}@example.org",
            name="Kasse",
            role=Role.STAFF,
            locale="de",
            email_verified_at=utcnow(),
            session_token=secrets.token_hex(16),
        )
        db.session.add(staff)
        db.session.flush()
        token = create_api_token(staff, "desk")[1]
        db.session.commit()
        return token


def _paid_payments(server, live: LiveDatabase, users: range, staff: str) -> list[int]:
    """Book and pay (bank transfer, marked paid at the desk) one seat per user."""
    course_id = live.make_course(capacity=len(users), fee_cents=4500)
    payment_ids = []
    for u in users:
        status, e = request(
            server.host,
            server.port,
            "POST",
            f"/api/v1/courses/{course_id}/enrolments",
            token=live.tokens[u],
            body={},
        )
        assert status == 201, e
        status, payment = request(
            server.host,
            server.port,
            "POST",
            f"/api/v1/enrolments/{e['id']}/payment",
            token=live.tokens[u],
            body={"provider": "manual"},
        )
        assert status == 201, payment
        status, paid = request(
            server.host,
            server.port,
            "POST",
            f"/api/v1/staff/payments/{payment['id']}/mark-paid",
            token=staff,
        )
        assert status == 200, paid
        payment_ids.append(payment["id"])
    return payment_ids


def _refund_storm(server, staff: str, payment_ids: list[int]) -> list[tuple[int, object]]:
    return all_at_once(
        [
            (
                lambda p=p: request(
                    server.host,
                    server.port,
                    "POST",
                    f"/api/v1/staff/payments/{p}/refunds",
                    token=staff,
                    body={"amount_cents": 1500, "reason": "Kulanz"},
                )
            )
            for p in payment_ids
        ]
    )


def test_forty_simultaneous_refunds_get_gapless_credit_note_numbers(
    pg_db: LiveDatabase, tmp_path: Path
):
    live = pg_db
    staff = _staff_token(live)
    with gunicorn(live, tmp_path / "gunicorn.log") as server:
        payment_ids = _paid_payments(server, live, range(60, 60 + PEOPLE), staff)
        replies = _refund_storm(server, staff, payment_ids)
        assert_clean_log(server)
    assert [s for s, _ in replies].count(201) == PEOPLE, [r for r in replies if r[0] != 201][:3]
    with live.app.app_context():
        notes = list(
            db.session.execute(
                sa.select(CreditNote).where(
                    CreditNote.kind == CreditNoteKind.REFUND, CreditNote.payment_id.in_(payment_ids)
                )
            ).scalars()
        )
        assert len(notes) == PEOPLE
        every = list(db.session.execute(sa.select(CreditNote.year, CreditNote.sequence)).all())
        years = {y for y, _ in every}
        assert len(years) == 1
        sequences = sorted(seq for _y, seq in every)
        assert sequences == list(range(1, len(sequences) + 1))
        refunded = set(
            db.session.execute(
                sa.select(Refund.id).where(Refund.payment_id.in_(payment_ids))
            ).scalars()
        )
        assert {n.refund_id for n in notes} == refunded
        assert len(refunded) == PEOPLE
        assert all(n.number == f"GS-{n.year}-{n.sequence:05d}" for n in notes)


def test_control_without_the_row_lock_refunds_collide(
    pg_db: LiveDatabase, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """The same storm with row locks off: concurrent refunds read the same counter and
    collide on the unique number, so some refunds fail: proof the test above can fail."""
    live = pg_db
    staff = _staff_token(live)
    failed: list[tuple[int, object]] = []
    rounds = 0
    with gunicorn(live, tmp_path / "gunicorn.log", disable_row_locks=True) as server:
        for rounds in range(1, 4):
            start = 200 - rounds * PEOPLE
            payment_ids = _paid_payments(server, live, range(start, start + PEOPLE), staff)
            replies = _refund_storm(server, staff, payment_ids)
            failed = [r for r in replies if r[0] != 201]
            if failed:
                break
    with capsys.disabled():
        print(f"\ncontrol run without row locks, round {rounds}: {len(failed)} refunds failed")
    assert failed, f"{PEOPLE} refunds at once never collided without the lock in {rounds} rounds"
