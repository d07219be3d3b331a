"""Payments under real concurrency on PostgreSQL: gapless invoices, one effect per event.

Runs gunicorn (several processes and threads) against a database of its own, like the
enrolment concurrency tests, with the Stripe stand-in serving the SDK.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from courses.models import Enrolment, EnrolmentStatus
from tests.courses.enrolment.test_concurrency import (
    LiveDatabase,
    all_at_once,
    assert_clean_log,
    gunicorn,
    request,
)
from tests.courses.enrolment.test_concurrency import pg_db as pg_db  # the module-scoped fixture
from tests.stripe_standin import StripeStandIn
from vhs.db import db
from vhs.mail.models import OutboxMessage
from vhs.payments.models import Invoice, Payment, PaymentStatus, WebhookEvent

pytestmark = [pytest.mark.live, pytest.mark.postgres]


def _book(server, live: LiveDatabase, course_id: int, users: range) -> list[int]:
    replies = all_at_once(
        [
            (
                lambda u=u: request(
                    server.host,
                    server.port,
                    "POST",
                    f"/api/v1/courses/{course_id}/enrolments",
                    token=live.tokens[u],
                    body={},
                )
            )
            for u in users
        ]
    )
    assert {status for status, _ in replies} == {201}
    return [body["id"] for _s, body in replies]


def test_invoice_numbers_stay_gapless_under_concurrent_payments(
    pg_db: LiveDatabase, tmp_path: Path
):
    live = pg_db
    course_id = live.make_course(capacity=40, fee_cents=4500)
    users = range(100, 140)
    with gunicorn(live, tmp_path / "gunicorn.log") as server:
        enrolment_ids = _book(server, live, course_id, users)
        replies = all_at_once(
            [
                (
                    lambda u=u, e=e: request(
                        server.host,
                        server.port,
                        "POST",
                        f"/api/v1/enrolments/{e}/payment",
                        token=live.tokens[u],
                        body={"provider": "manual"},
                    )
                )
                for u, e in zip(users, enrolment_ids, strict=True)
            ]
        )
        assert_clean_log(server)
    assert [s for s, _ in replies].count(201) == len(users), [r for r in replies if r[0] != 201][:3]
    numbers = sorted(body["invoice_number"] for _s, body in replies)
    with live.app.app_context():
        rows = db.session.execute(sa.select(Invoice.year, Invoice.sequence)).all()
    years = {y for y, _ in rows}
    assert len(years) == 1
    sequences = sorted(seq for _y, seq in rows)
    assert sequences == list(range(sequences[0], sequences[0] + len(sequences)))
    assert len(set(numbers)) == len(numbers) == len(users)


def test_same_stripe_event_delivered_five_times_at_once_has_one_effect(
    pg_db: LiveDatabase, tmp_path: Path
):
    live = pg_db
    standin = StripeStandIn()
    base = standin.start()
    try:
        course_id = live.make_course(capacity=5, fee_cents=6000)
        env = {
            "VHS_STRIPE_SECRET_KEY": "sk_test_standin",
            "VHS_STRIPE_WEBHOOK_SECRET": standin.webhook_secret,
            "VHS_STRIPE_API_BASE": base,
        }
        with gunicorn(live, tmp_path / "gunicorn.log", extra_env=env) as server:
            (enrolment_id,) = _book(server, live, course_id, range(150, 151))
            status, payment = request(
                server.host,
                server.port,
                "POST",
                f"/api/v1/enrolments/{enrolment_id}/payment",
                token=live.tokens[150],
                body={},
            )
            assert status == 201, payment
            sid = next(iter(standin.sessions))
            standin.complete(sid)
            payload = json.dumps(
                standin.event("checkout.session.completed", standin.sessions[sid])
            ).encode()

            def deliver() -> tuple[int, str]:
                import http.client

                conn = http.client.HTTPConnection(server.host, server.port, timeout=60)
                try:
                    conn.request(
                        "POST",
                        "/webhooks/stripe",
                        body=payload,
                        headers={
                            "Stripe-Signature": standin.sign(payload),
                            "Content-Type": "application/json",
                        },
                    )
                    resp = conn.getresponse()
                    return resp.status, resp.read().decode()
                finally:
                    conn.close()

            replies = all_at_once([deliver] * 5)
            assert_clean_log(server)
        assert [s for s, _ in replies] == [200] * 5, replies
        with live.app.app_context():
            assert db.session.scalar(sa.select(sa.func.count(WebhookEvent.id))) == 1
            p = db.session.get(Payment, payment["id"])
            assert p.status is PaymentStatus.SUCCEEDED
            assert (
                db.session.scalar(
                    sa.select(sa.func.count(Invoice.id)).where(Invoice.payment_id == p.id)
                )
                == 1
            )
            assert db.session.get(Enrolment, enrolment_id).status is EnrolmentStatus.CONFIRMED
            mails = (
                db.session.execute(
                    sa.select(OutboxMessage.template).where(OutboxMessage.user_id == p.user_id)
                )
                .scalars()
                .all()
            )
            assert mails.count("payment_received") == 1 and mails.count("enrolment_confirmed") == 1
    finally:
        standin.stop()
