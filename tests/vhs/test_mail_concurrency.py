"""Two delivery runs at the same moment never send a message twice (PostgreSQL, real commits).

Each run claims rows with ``FOR UPDATE SKIP LOCKED``; a real SMTP server counts what arrives.
"""

from __future__ import annotations

import threading
from email import message_from_bytes, policy

import pytest
import sqlalchemy as sa

from tests.courses.enrolment.test_concurrency import LiveDatabase
from tests.courses.enrolment.test_concurrency import pg_db as pg_db  # the module-scoped fixture
from tests.vhs.conftest import SmtpServer, free_port
from vhs.db import db
from vhs.mail.models import MailStatus, OutboxMessage
from vhs.mail.services import deliver_due_mail, queue_mail
from vhs.uow import unit_of_work

pytestmark = [pytest.mark.live, pytest.mark.postgres]


def test_two_delivery_runs_at_once_send_each_message_once(pg_db: LiveDatabase) -> None:
    app = pg_db.app
    server = SmtpServer(free_port())
    server.start()
    settings = app.config["VHS"]
    saved = settings.mail_url
    settings.mail_url = server.url
    try:
        with app.app_context(), unit_of_work():
            for n in range(60):
                queue_mail(f"empfaenger-{n}@example.org", "password_changed", {}, locale="de")
        barrier = threading.Barrier(3)
        results: list[dict[str, int]] = []

        def run() -> None:
            with app.app_context():
                barrier.wait(timeout=30)
                results.append(deliver_due_mail())
                db.session.remove()

        threads = [threading.Thread(target=run) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert sum(r["sent"] for r in results) == 60
        recipients = [
            message_from_bytes(e.original_content, policy=policy.default)["To"]
            for e in server.envelopes
        ]
        assert len(recipients) == 60 and len(set(recipients)) == 60
        with app.app_context():
            statuses = db.session.execute(sa.select(OutboxMessage.status)).scalars().all()
            assert statuses.count(MailStatus.SENT) >= 60
    finally:
        settings.mail_url = saved
        server.stop()
