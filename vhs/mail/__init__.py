"""Mail: an outbox table written in the caller's transaction and an SMTP delivery job."""

from vhs.mail.services import queue_mail

__all__ = ["queue_mail"]
