"""Mail: an outbox table written in the caller's transaction and an SMTP delivery job."""

import vhs.mail.hooks  # noqa: F401  (committed outbox rows are delivered after the commit)
from vhs.mail.services import notify, queue_mail

__all__ = ["notify", "queue_mail"]
