"""The embedded default (no ``VHS_MAIL_URL``, no Celery): mail is written to the log after the
commit of the unit that queued it, and the row is stored as sent in that unit's transaction."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from vhs.db import db
from vhs.mail import queue_mail
from vhs.mail.models import MailStatus, OutboxMessage
from vhs.uow import unit_of_work


def _rows() -> dict[str, OutboxMessage]:
    return {
        m.to_address: m
        for m in db.session.execute(
            sa.select(OutboxMessage).execution_options(populate_existing=True)
        ).scalars()
    }


def test_mail_goes_to_the_log_after_the_commit_and_is_stored_as_sent(app, caplog):
    with app.test_request_context():
        with caplog.at_level(logging.INFO, logger="vhs.mail.services"), unit_of_work():
            subject = queue_mail("jetzt@example.org", "password_changed", {}, locale="de").subject
            db.session.flush()
            assert "MAIL to" not in caplog.text  # nothing before the commit
        assert caplog.text.count(f"MAIL to jetzt@example.org: {subject}") == 1
        sent = _rows()["jetzt@example.org"]
        assert sent.status is MailStatus.SENT
        assert sent.sent_at is not None
        assert sent.attempts == 1
        assert sent.body_text  # the outbox keeps the text, as for SMTP


def test_a_rolled_back_unit_logs_nothing_and_keeps_nothing(app, caplog):
    with app.test_request_context():
        with (
            caplog.at_level(logging.INFO, logger="vhs.mail.services"),
            pytest.raises(RuntimeError),
            unit_of_work(),
        ):
            queue_mail("nie@example.org", "password_changed", {}, locale="de")
            db.session.flush()
            raise RuntimeError("the unit fails after the mail was queued")
        assert "nie@example.org" not in caplog.text
        assert "nie@example.org" not in _rows()
