"""Lending's four mails: queued in the recipient's language, with the due time or deadline in
Europe/Berlin in that language's format, and a link back to "Meine Ausleihen"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from library.circulation import services as circulation
from library.loans.services import revoke_loan, send_due_reminders
from vhs.accounts.models import User
from vhs.db import db

# 12:00 UTC is 13:00 in Berlin in winter and 14:00 in summer.
WINTER = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)
SUMMER = datetime(2027, 7, 15, 12, 0, tzinfo=UTC)
ACCOUNT = "http://vhs.test/library/account"


def mails(outbox, user) -> dict[str, object]:
    """The user's queued mails by template."""
    db.session.flush()
    return {m.template: m for m in outbox(user.email)}


def assert_mail(mail, *, locale: str, when: str, words: str) -> None:
    """In ``locale``, naming ``when``, saying ``words``, linking to the account (both parts)."""
    assert mail.locale == locale
    for body in (mail.body_text, mail.body_html):
        assert when in body.replace("\u202f", " "), body
        assert words in body, body
        assert ACCOUNT in body


@pytest.mark.parametrize(
    ("start", "locale", "due", "ready_by", "words"),
    [
        (WINTER, "de", "22.01.27, 13:00", "19.01.27, 13:00", "Meine Ausleihen"),
        (WINTER, "en", "1/22/27, 1:00 PM", "1/19/27, 1:00 PM", "My loans"),
        (SUMMER, "de", "22.07.27, 14:00", "19.07.27, 14:00", "Meine Ausleihen"),
    ],
)
def test_the_four_mails_in_the_patrons_language_and_berlin_time(
    make_patron, make_item, make_licence, clock, outbox, start, locale, due, ready_by, words
) -> None:
    clock.now = start
    item = make_item("Tod am Deich")
    make_licence(item)
    reader, waiting = make_patron(locale=locale), make_patron(locale=locale)

    loan = circulation.borrow(reader, item.id, days=7, now=clock.now)
    confirmed = mails(outbox, reader)["library_loan_confirmed"]
    assert_mail(confirmed, locale=locale, when=due, words=words)
    assert "Tod am Deich" in confirmed.subject

    assert send_due_reminders(now=loan.due_at - timedelta(days=1)) == 1
    assert_mail(
        mails(outbox, reader)["library_loan_due_soon"], locale=locale, when=due, words=words
    )

    circulation.place_hold(waiting, item.id, now=clock.now)
    clock.advance(days=2)
    circulation.return_loan(reader, loan.id, now=clock.now)
    ready = mails(outbox, waiting)["library_hold_ready"]
    assert_mail(ready, locale=locale, when=ready_by, words=words)
    assert f"/library/media/{item.id}" in ready.body_text  # borrow it straight away

    clock.advance(days=3)
    circulation.my_holds(waiting, now=clock.now)  # the window passed: the hold ends
    expired = mails(outbox, waiting)["library_hold_expired"]
    assert expired.locale == locale and ACCOUNT in expired.body_text
    assert f"/library/media/{item.id}" in expired.body_html  # reserve it again


def test_subjects_are_translated(make_patron, make_item, make_licence, clock, outbox) -> None:
    item = make_item("Sturmflut")
    make_licence(item)
    german, english = make_patron(locale="de"), make_patron(locale="en")
    circulation.borrow(german, item.id, now=clock.now)
    circulation.place_hold(english, item.id, now=clock.now)
    assert mails(outbox, german)["library_loan_confirmed"].subject == "Ausgeliehen: Sturmflut"
    loan = circulation.my_loans(german, now=clock.now)[0]
    circulation.return_loan(german, loan.id, now=clock.now)
    subject = mails(outbox, english)["library_hold_ready"].subject
    assert subject == "Reservation ready to borrow: Sturmflut"


@pytest.mark.parametrize(
    ("locale", "subject", "words"),
    [
        ("de", "Ausleihe beendet: Tod am Deich", "die Bibliothek hat Ihre Ausleihe"),
        ("en", "Loan ended: Tod am Deich", "the library has ended your loan"),
    ],
)
def test_a_loan_ended_by_staff_is_mailed_in_the_patrons_language(
    make_patron, make_item, make_licence, clock, outbox, make_user, locale, subject, words
) -> None:
    staff = db.session.get(User, make_user("staff").id)
    item = make_item("Tod am Deich")
    make_licence(item)
    reader = make_patron(locale=locale)
    loan = circulation.borrow(reader, item.id, days=7, now=clock.now)
    revoke_loan(staff, loan.id, now=clock.now)
    revoked = mails(outbox, reader)["library_loan_revoked"]
    assert revoked.locale == locale and revoked.subject == subject
    for body in (revoked.body_text, revoked.body_html):
        assert words in body and ACCOUNT in body
