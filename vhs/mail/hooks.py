"""What happens to queued mail after the request's commit."""

from __future__ import annotations

import logging

from flask import current_app, g, has_app_context

log = logging.getLogger(__name__)


def mark_queued() -> None:
    """Remember that this unit of work queued mail (called by ``queue_mail``)."""
    if has_app_context():
        g.vhs_mail_queued = True


def after_commit() -> None:
    """Hand fresh mail to delivery once it is committed.

    With Celery a delivery task is queued; in the embedded default (mail to the log) the
    messages are logged at once; with SMTP and no Celery, cron's ``flask jobs run-due`` sends.
    """
    if not g.pop("vhs_mail_queued", False):
        return
    settings = current_app.config["VHS"]
    if settings.celery_broker_url:
        try:
            from vhs.celery_app import make_celery

            make_celery(current_app._get_current_object()).send_task(
                "vhs.run_job", args=("deliver_mail",)
            )
        except Exception:  # the broker is down: cron still delivers
            log.warning("could not queue mail delivery task", exc_info=True)
        return
    if not settings.mail_url:
        from vhs.mail.services import deliver_due_mail

        deliver_due_mail(limit=50)
