"""Fresh mail is handed to delivery as after-commit work of the unit that queued it.

An outbox row written in a unit of work registers delivery with ``vhs.uow.on_commit``: if the
unit rolls back, the row is gone and nothing is sent. In the embedded default (no
``VHS_MAIL_URL``, no Celery) "delivery" is a line in the log, which cannot fail: the row is
written as sent in the unit's own transaction and the line follows the commit, so a request
that mails pays no second transaction for it (the outbox keeps the text, as always).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from sqlalchemy import event

from vhs.db import utcnow
from vhs.mail.models import MailStatus, OutboxMessage
from vhs.mail.services import log_mail
from vhs.tasks import queue_job
from vhs.uow import on_commit

log = logging.getLogger(__name__)


def deliver_after_commit() -> None:
    """Hand committed mail to Celery's delivery task (cron still delivers if the broker is
    down)."""
    try:
        queue_job("deliver_mail")
    except Exception:  # the broker is down: cron still delivers
        log.warning("could not queue mail delivery task", exc_info=True)


@event.listens_for(OutboxMessage, "before_insert")
def _queued(_mapper: Any, _connection: Any, message: OutboxMessage) -> None:
    """With Celery a delivery task is queued after the commit; with SMTP and no Celery,
    cron's ``flask jobs run-due`` sends; the embedded default logs the message itself."""
    settings = current_app.config["VHS"]
    if settings.celery_broker_url:
        on_commit(deliver_after_commit)
        return
    if settings.mail_url:
        return
    message.status = MailStatus.SENT
    message.attempts = 1
    message.sent_at = utcnow()
    to, subject, text = message.to_address, message.subject, message.body_text
    on_commit(lambda: log_mail(to, subject, text))
