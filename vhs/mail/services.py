"""Queue e-mails in the caller's transaction; render them in the recipient's language."""

from __future__ import annotations

import base64
import contextlib
import html as html_lib
import logging
import smtplib
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

import sqlalchemy as sa
from flask import current_app, has_request_context, render_template
from flask_babel import force_locale

from vhs.db import db, is_postgres, utcnow, write_intent
from vhs.mail.models import MailStatus, OutboxMessage

if TYPE_CHECKING:
    from vhs.accounts.models import User

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attachment:
    """A file attached to an e-mail (calendar invitations, receipts)."""

    filename: str
    content_type: str
    data: bytes


def queue_mail(
    to: User | str,
    template: str,
    context: Mapping[str, Any] | None = None,
    attachments: Iterable[Attachment] = (),
    *,
    locale: str | None = None,
) -> OutboxMessage:
    """Render ``templates/mail/<template>.html`` for the recipient and add it to the outbox.

    The row joins the caller's transaction: if that rolls back, no mail goes out.
    """
    if isinstance(to, str):
        address, user, lang = to, None, locale or current_app.config["VHS"].default_locale
    else:
        if not to.email:
            raise ValueError("recipient has no e-mail address (erased account?)")
        address, user, lang = to.email, to, locale or to.locale
    ctx = {"recipient": user, "settings": current_app.config["VHS"], **(context or {})}
    with _url_context(), force_locale(lang):
        subject, text, html = render_mail(template, ctx)
    msg = OutboxMessage(
        user_id=user.id if user is not None else None,
        to_address=address,
        template=template,
        locale=lang,
        subject=subject,
        body_text=text,
        body_html=html,
        attachments=[
            {
                "filename": a.filename,
                "content_type": a.content_type,
                "data": base64.b64encode(a.data).decode("ascii"),
            }
            for a in attachments
        ],
    )
    db.session.add(msg)
    return msg


def notify(
    user: User,
    template: str,
    context: Mapping[str, Any] | None = None,
    attachments: Iterable[Attachment] = (),
) -> OutboxMessage | None:
    """Mail ``user`` if they have an address; None for people without one.

    Patrons registered at the library desk may have no e-mail address (and erased accounts
    have none): they learn what happened at the desk or on their account page instead.
    """
    if not user.email:
        return None
    return queue_mail(user, template, context, attachments)


def _url_context() -> Any:
    """Jobs render mail outside a request: give ``url_for`` the public base URL."""
    if has_request_context():
        return contextlib.nullcontext()
    base = current_app.config["VHS"].public_base_url
    return current_app.test_request_context("/", base_url=base)


def render_mail(template: str, ctx: Mapping[str, Any]) -> tuple[str, str, str]:
    """Render subject, plain text and HTML from one template's blocks."""
    env = current_app.jinja_env
    tmpl = env.get_template(f"mail/{template}.html")
    jctx = tmpl.new_context(dict(ctx))
    # Blocks of an .html template are autoescaped; the subject and text part are plain text.
    subject = html_lib.unescape("".join(tmpl.blocks["subject"](jctx)).strip())
    text = html_lib.unescape("".join(tmpl.blocks["text"](jctx)).strip()) + "\n"
    html = render_template(f"mail/{template}.html", **ctx)
    return " ".join(subject.split()), text, html


def build_message(msg: OutboxMessage, sender: str, host: str) -> EmailMessage:
    """Turn an outbox row into a MIME message: text + HTML alternative, then attachments."""
    em = EmailMessage()
    em["Subject"] = msg.subject
    em["From"] = sender
    em["To"] = msg.to_address
    em["Message-ID"] = make_msgid(idstring=f"outbox-{msg.id}", domain=host)
    em.set_content(msg.body_text, charset="utf-8")
    em.add_alternative(msg.body_html, subtype="html", charset="utf-8")
    for att in msg.attachments or []:
        maintype, _, subtype = att["content_type"].partition("/")
        params = {}
        if ";" in subtype:
            subtype, _, rest = subtype.partition(";")
            for part in rest.split(";"):
                key, _, value = part.strip().partition("=")
                if key:
                    params[key] = value
        em.add_attachment(
            base64.b64decode(att["data"]),
            maintype=maintype,
            subtype=subtype.strip(),
            filename=att["filename"],
            params=params,
        )
    # Last: set_content() and add_alternative() drop or move every Content-* header.
    em["Content-Language"] = msg.locale
    return em


class SmtpTransport:
    """Sends over SMTP as configured by ``VHS_MAIL_URL`` (smtp://, smtp+starttls://, smtps://)."""

    def __init__(self, url: str, timeout: float = 20.0) -> None:
        parts = urlsplit(url)
        self.scheme = parts.scheme
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if parts.scheme == "smtps" else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        query = parse_qs(parts.query)
        self.starttls = parts.scheme == "smtp+starttls" or query.get("starttls", ["0"])[0] in (
            "1",
            "true",
            "yes",
        )
        self.timeout = timeout
        self._conn: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpTransport:
        context = ssl.create_default_context()
        if self.scheme == "smtps":
            conn: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=context
            )
        else:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.starttls:
                conn.starttls(context=context)
        if self.username:
            conn.login(self.username, self.password or "")
        self._conn = conn
        return self

    def send(self, em: EmailMessage) -> None:
        """Send one message on the open connection."""
        assert self._conn is not None
        self._conn.send_message(em)

    def __exit__(self, *exc: object) -> None:
        if self._conn is not None:
            try:
                self._conn.quit()
            except smtplib.SMTPException:
                self._conn.close()


class LogTransport:
    """The embedded default: mails are written to the log (and kept in the outbox)."""

    def __enter__(self) -> LogTransport:
        return self

    def send(self, em: EmailMessage) -> None:
        """Log the message instead of sending it."""
        body = em.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        log_mail(em["To"], em["Subject"], text)

    def __exit__(self, *exc: object) -> None:
        return None


def log_mail(to: str, subject: str, text: str) -> None:
    """The embedded default's delivery: one line (and the text) in the log."""
    log.info("MAIL to %s: %s\n%s", to, subject, text)


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def _claim_next(now: datetime) -> OutboxMessage | None:
    """Claim one due message; concurrent runs skip rows another run has locked."""
    query = (
        sa.select(OutboxMessage)
        .where(OutboxMessage.status == MailStatus.QUEUED, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id)
        .limit(1)
    )
    if is_postgres():
        query = query.with_for_update(skip_locked=True)
    return db.session.execute(query).scalars().first()


def deliver_due_mail(limit: int = 500, now: datetime | None = None) -> dict[str, int]:
    """Send due outbox rows, one transaction each; failures are retried later with backoff."""
    settings = current_app.config["VHS"]
    host = urlsplit(settings.public_base_url).hostname or "localhost"
    counts = {"sent": 0, "failed": 0, "retry": 0}
    transport: Any = SmtpTransport(settings.mail_url) if settings.mail_url else LogTransport()
    connected = False
    seen: set[int] = set()
    try:
        for _ in range(limit):
            with write_intent(True):
                msg = _claim_next(now or utcnow())
                if msg is None or msg.id in seen:
                    db.session.rollback()
                    break
                seen.add(msg.id)
                msg.attempts += 1
                try:
                    if not connected:
                        transport.__enter__()
                        connected = True
                    transport.send(build_message(msg, settings.mail_from, host))
                except (OSError, smtplib.SMTPException) as exc:
                    msg.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                    if msg.attempts >= settings.mail_max_attempts:
                        msg.status = MailStatus.FAILED
                        counts["failed"] += 1
                    else:
                        msg.next_attempt_at = utcnow() + _backoff(msg.attempts)
                        counts["retry"] += 1
                    db.session.commit()
                    log.warning("mail %s not delivered: %s", msg.id, msg.last_error)
                    break  # the server is unwell: leave the rest for the next run
                msg.status = MailStatus.SENT
                msg.sent_at = utcnow()
                msg.last_error = ""
                db.session.commit()
                counts["sent"] += 1
    finally:
        if connected:
            transport.__exit__(None, None, None)
    return counts
