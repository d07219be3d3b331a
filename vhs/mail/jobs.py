"""Background job that empties the outbox."""

from __future__ import annotations

from vhs.jobs import job
from vhs.mail.services import deliver_due_mail


@job("deliver_mail", every_seconds=60)
def deliver_mail() -> dict[str, int]:
    """Send due e-mails over SMTP (or to the log when no server is configured)."""
    return deliver_due_mail()
