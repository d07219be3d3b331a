"""Fresh mail is handed to delivery as after-commit work of the unit that queued it.

An outbox row written in a unit of work registers delivery with ``vhs.uow.on_commit``: if the
unit rolls back, the row is gone and nothing is sent.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from sqlalchemy import event

from vhs.mail.models import OutboxMessage
from vhs.mail.services import log_due_mail
from vhs.tasks import queue_job
from vhs.uow import on_commit

log = logging.getLogger(__name__)


def deliver_after_commit() -> None:
    """Hand committed mail to delivery.

    With Celery a delivery task is queued; in the embedded default (mail to the log) the
    messages are logged at once; with SMTP and no Celery, cron's ``flask jobs run-due`` sends.
    """
    settings = current_app.config["VHS"]
    if settings.celery_broker_url:
        try:
            queue_job("deliver_mail")
        except Exception:  # the broker is down: cron still delivers
            log.warning("could not queue mail delivery task", exc_info=True)
        return
    if not settings.mail_url:
        log_due_mail(limit=50)


@event.listens_for(OutboxMessage, "after_insert")
def _queued(_mapper: Any, _connection: Any, _message: OutboxMessage) -> None:
    on_commit(deliver_after_commit)
