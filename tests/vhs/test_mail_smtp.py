"""The outbox against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import email
from datetime import timedelta
from email import policy

import pytest
import sqlalchemy as sa
from jinja2 import ChoiceLoader, DictLoader

from vhs.accounts.models import User
from vhs.db import db, utcnow
from vhs.mail.models import MailStatus, OutboxMessage
from vhs.mail.services import Attachment, deliver_due_mail, queue_mail
from vhs.uow import unit_of_work

SUBJECT = (
    "Anmeldebestätigung: Töpfern für Anfängerinnen und Anfänger – Größe zählt nicht, Übung schon"
)
UMLAUT_TEMPLATE = (
    """{% extends "mail/base.html" %}
{% block subject %}"""
    + SUBJECT
    + """{% endblock %}
{% block html %}<p>Grüß Gott, {{ recipient.name }}! Straße: Öhrweg 5, Maß: 3 µm, €&nbsp;12,50</p>{% endblock %}
{% block text %}Grüß Gott, {{ recipient.name }}! Straße: Öhrweg 5, Maß: 3 µm, € 12,50{% endblock %}
"""
)
ICS = "BEGIN:VCALENDAR\r\nSUMMARY:Töpfern\r\nEND:VCALENDAR\r\n".encode()


@pytest.fixture
def umlaut_template(app, monkeypatch):
    """A mail template whose subject and body are full of umlauts."""
    loader = ChoiceLoader(
        [DictLoader({"mail/test_umlauts.html": UMLAUT_TEMPLATE}), app.jinja_loader]
    )
    monkeypatch.setattr(app, "jinja_loader", loader)
    return "test_umlauts"


def queue(app, user, template, attachments=()):
    """Queue a mail as a service would, in a unit of work."""
    with app.app_context():
        with unit_of_work():
            recipient = db.session.get(User, user.id)
            msg = queue_mail(recipient, template, {}, attachments)
        return msg.id


def deliver(app, **kw):
    with app.app_context():
        return deliver_due_mail(**kw)


def row(app, msg_id):
    with app.app_context():
        msg = db.session.get(OutboxMessage, msg_id)
        db.session.expunge(msg)
        return msg


def parse(envelope):
    return email.message_from_bytes(envelope.content, policy=policy.default)


def test_mail_arrives_intact_with_umlauts(app, make_user, smtp_server, umlaut_template):
    user = make_user(name="Jürgen Groß", email="juergen@example.org")
    smtp_server.start()
    msg_id = queue(
        app,
        user,
        umlaut_template,
        [Attachment("töpfern.ics", "text/calendar; method=REQUEST", ICS)],
    )
    assert row(app, msg_id).status is MailStatus.QUEUED  # nothing leaves before delivery runs

    assert deliver(app) == {"sent": 1, "failed": 0, "retry": 0}

    [envelope] = smtp_server.envelopes
    assert envelope.rcpt_tos == ["juergen@example.org"]
    message = parse(envelope)
    assert message["Subject"] == SUBJECT
    assert message["To"] == "juergen@example.org"
    assert "noreply@vhs.example" in message["From"]
    assert message["Content-Language"] == "de"
    assert message["Message-ID"]
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text.get_content_charset() == html.get_content_charset() == "utf-8"
    assert "Grüß Gott, Jürgen Groß! Straße: Öhrweg 5, Maß: 3 µm, € 12,50" in text.get_content()
    assert "Grüß Gott, Jürgen Groß!" in html.get_content()
    assert '<html lang="de">' in html.get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "töpfern.ics"
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "REQUEST"
    assert attachment.get_payload(decode=True) == ICS

    sent = row(app, msg_id)
    assert sent.status is MailStatus.SENT
    assert sent.attempts == 1 and sent.sent_at is not None and sent.last_error == ""
    # A second run finds nothing left to send.
    assert deliver(app) == {"sent": 0, "failed": 0, "retry": 0}
    assert len(smtp_server.envelopes) == 1


def test_mail_in_the_recipients_language(app, make_user, smtp_server):
    user = make_user(locale="en")
    smtp_server.start()
    queue(app, user, "password_changed")
    deliver(app)
    message = parse(smtp_server.envelopes[0])
    assert message["Subject"] == "Your password has been changed"
    assert message["Content-Language"] == "en"
    assert '<html lang="en">' in message.get_body(preferencelist=("html",)).get_content()


def test_server_down_then_up_delivers_exactly_once(app, make_user, smtp_server):
    user = make_user(name="Käthe Krüger")
    msg_id = queue(app, user, "password_changed")
    before = utcnow()

    # The server is down: the message stays queued, with a retry planned.
    assert deliver(app) == {"sent": 0, "failed": 0, "retry": 1}
    waiting = row(app, msg_id)
    assert waiting.status is MailStatus.QUEUED
    assert waiting.attempts == 1
    assert waiting.next_attempt_at > before
    assert "Connection" in waiting.last_error or "refused" in waiting.last_error.lower()

    smtp_server.start()
    # Not due yet: backing off, nothing is sent.
    assert deliver(app) == {"sent": 0, "failed": 0, "retry": 0}
    assert smtp_server.envelopes == []

    later = utcnow() + timedelta(hours=1)
    assert deliver(app, now=later) == {"sent": 1, "failed": 0, "retry": 0}
    assert len(smtp_server.envelopes) == 1
    assert (
        "Käthe Krüger"
        in parse(smtp_server.envelopes[0]).get_body(preferencelist=("plain",)).get_content()
    )
    done = row(app, msg_id)
    assert done.status is MailStatus.SENT and done.attempts == 2

    assert deliver(app, now=later + timedelta(hours=1)) == {"sent": 0, "failed": 0, "retry": 0}
    assert len(smtp_server.envelopes) == 1


def test_mail_is_given_up_after_max_attempts(app, make_user, smtp_server, monkeypatch):
    monkeypatch.setattr(app.config["VHS"], "mail_max_attempts", 2)
    msg_id = queue(app, make_user(), "password_changed")
    assert deliver(app)["retry"] == 1
    assert deliver(app, now=utcnow() + timedelta(days=1)) == {"sent": 0, "failed": 1, "retry": 0}
    assert row(app, msg_id).status is MailStatus.FAILED
    smtp_server.start()
    assert deliver(app, now=utcnow() + timedelta(days=2))["sent"] == 0
    assert smtp_server.envelopes == []


def test_several_messages_go_out_in_one_run(app, make_user, smtp_server):
    users = [make_user() for _ in range(3)]
    for u in users:
        queue(app, u, "password_changed")
    smtp_server.start()
    assert deliver(app)["sent"] == 3
    assert sorted(e.rcpt_tos[0] for e in smtp_server.envelopes) == sorted(u.email for u in users)


def test_rolled_back_transaction_sends_nothing(app, make_user, smtp_server):
    user = make_user()
    with app.app_context(), unit_of_work():
        queue_mail(db.session.get(User, user.id), "password_changed", {})
        db.session.rollback()
        assert not db.session.scalar(
            sa.select(sa.func.count(OutboxMessage.id)).where(OutboxMessage.user_id == user.id)
        )
    smtp_server.start()
    assert deliver(app)["sent"] == 0
    assert smtp_server.envelopes == []


def test_request_with_smtp_configured_leaves_delivery_to_the_job(
    client, app, make_user, smtp_server, outbox
):
    user = make_user()
    smtp_server.start()
    client.submit("/account/forgot", {"email": user.email})
    [msg] = outbox(user.email)
    assert msg.status is MailStatus.QUEUED
    assert smtp_server.envelopes == []
    with app.app_context():
        from vhs.jobs import run_job

        run_job("deliver_mail")
    assert len(smtp_server.envelopes) == 1
    assert outbox(user.email)[0].status is MailStatus.SENT
