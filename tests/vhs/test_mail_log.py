"""The embedded default (no ``VHS_MAIL_URL``): committed mail is written to the log at once."""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa

from vhs.db import db, utcnow
from vhs.mail import queue_mail
from vhs.mail.models import MailStatus, OutboxMessage
from vhs.mail.services import log_due_mail
from vhs.uow import unit_of_work


def test_due_mail_goes_to_the_log_after_the_commit_and_is_marked_sent(app, caplog):
    with app.test_request_context():
        with caplog.at_level(logging.INFO, logger="vhs.mail.services"), unit_of_work():
            due = queue_mail("jetzt@example.org", "password_changed", {}, locale="de")
            later = queue_mail("spaeter@example.org", "password_changed", {}, locale="de")
            later.next_attempt_at = utcnow() + timedelta(minutes=5)  # a retry not yet due
            subject = due.subject
            assert "MAIL to" not in caplog.text  # nothing before the commit
        assert f"MAIL to jetzt@example.org: {subject}" in caplog.text
        assert "spaeter@example.org" not in caplog.text
        rows = {
            m.to_address: m
            for m in db.session.execute(
                sa.select(OutboxMessage).execution_options(populate_existing=True)
            ).scalars()
        }
        assert rows["jetzt@example.org"].status is MailStatus.SENT
        assert rows["jetzt@example.org"].sent_at is not None
        assert rows["jetzt@example.org"].attempts == 1
        assert rows["spaeter@example.org"].status is MailStatus.QUEUED
        assert log_due_mail() == 0  # nothing twice, nothing before its time
