"""The library desk (/staff/library/cards): issue cards (also to people without e-mail, who then
log in with card number and PIN), confirm applications, validity, block and unblock, PINs."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from library import rules
from library.models import CardState, LibraryCard
from tests.library.patrons.conftest import PIN, text
from vhs.accounts.models import User
from vhs.audit import AuditEntry
from vhs.config import DEFAULT_TIMEZONE
from vhs.db import db

PIN_SHOWN = re.compile(r'<strong class="pin">(\d+)</strong>')


def local_today() -> date:
    """Today where the library is (the suite's VHS_TIMEZONE): a card's days are local days,
    so between 22:00/23:00 UTC and midnight this is already tomorrow's date."""
    return datetime.now(ZoneInfo(DEFAULT_TIMEZONE)).date()


def actions(app, card_id):
    with app.app_context():
        return [
            a.action
            for a in db.session.execute(
                sa.select(AuditEntry).where(
                    AuditEntry.object_type == "library_cards", AuditEntry.object_id == str(card_id)
                )
            ).scalars()
        ]


def test_issue_a_card_to_an_account_with_a_pin_the_patron_types(
    app, client, login_as, make_user, card_of_user
):
    login_as("staff")
    patron = make_user(name="Paula Leser")
    found = client.get("/staff/library/cards/new?q=paula")
    assert found.status_code == 200 and "Paula Leser" in text(found)
    assert f"/staff/library/cards/new/{patron.id}" in text(found)
    resp = client.submit(
        f"/staff/library/cards/new/{patron.id}", {"pin": "2580", "pin_confirm": "2580"}
    )
    assert resp.status_code == 201, text(resp)[:2000]
    card = card_of_user(patron.id)
    assert card.state is CardState.ACTIVE
    assert card.number in text(resp)
    assert not PIN_SHOWN.search(text(resp))  # the patron typed it: nothing to show
    assert card.pin_hash.startswith("$argon2id$") and "2580" not in card.pin_hash
    assert card.valid_until == rules.add_months(local_today(), 12)
    assert card.issued_by_id is not None
    assert actions(app, card.id) == ["library.card_issued"]


def test_a_person_without_email_gets_a_card_and_logs_in_with_it(
    app, client, login_as, new_client, card_of_user
):
    login_as("staff")
    resp = client.submit(
        "/staff/library/cards/new/person",
        {
            "name": "Ohne Mail",
            "street": "Am Markt 1",
            "postal_code": "58636",
            "city": "Iserlohn",
            "locale": "de",
            "pin": "",
            "pin_confirm": "",
        },
    )
    assert resp.status_code == 201, text(resp)[:2000]
    pin = PIN_SHOWN.search(text(resp)).group(1)  # made up, shown once
    assert len(pin) == rules.PIN_GENERATED_LENGTH and rules.pin_problem(pin) is None
    with app.app_context():
        person = db.session.execute(sa.select(User).where(User.name == "Ohne Mail")).scalar_one()
        assert person.email is None and person.password_hash is None
        assert (person.street, person.postal_code, person.city) == (
            "Am Markt 1",
            "58636",
            "Iserlohn",
        )
        person_id = person.id
    card = card_of_user(person_id)
    assert pin not in card.pin_hash
    # the card page never shows the PIN again
    assert pin not in text(client.get(f"/staff/library/cards/{card.id}"))

    patron = new_client("10.20.0.1")
    login = patron.post(
        "/login/card", data={"number": card.number, "pin": pin, "csrf_token": csrf(patron)}
    )
    assert login.status_code == 302 and login.headers["Location"].endswith("/me/library")
    page = patron.get("/me/library")
    assert page.status_code == 200 and card.number in text(page)
    # the account pages work for a person without an e-mail address
    for url in ("/account", "/me/payments", "/account/export", "/account/delete", "/"):
        assert patron.get(url).status_code == 200, url
    assert "E-Mail-Adresse bestätigen" not in text(patron.get("/"))


def csrf(browser):
    page = browser.get("/login/card")
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text(page)).group(1)


def test_registering_a_person_needs_name_and_address(app, client, login_as):
    login_as("staff")
    resp = client.submit(
        "/staff/library/cards/new/person",
        {"name": "", "street": "", "postal_code": "", "city": "", "locale": "de", "pin": "1"},
    )
    assert resp.status_code == 422
    body = text(resp)
    assert body.count('aria-invalid="true"') == 6  # name, street, postal code, city, PIN twice
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(LibraryCard.id))) == 0


def test_a_weak_or_mistyped_pin_is_refused(app, client, login_as, make_user, card_of_user):
    login_as("staff")
    patron = make_user()
    for pin, confirm in (("1234", "1234"), ("0000", "0000"), ("12a4", "12a4"), ("2580", "2581")):
        resp = client.submit(
            f"/staff/library/cards/new/{patron.id}", {"pin": pin, "pin_confirm": confirm}
        )
        assert resp.status_code == 422, pin
    assert card_of_user(patron.id) is None


def test_one_card_per_person(app, client, login_as, make_user, make_card):
    login_as("staff")
    patron = make_user()
    make_card(patron)
    resp = client.submit(f"/staff/library/cards/new/{patron.id}", {"pin": "", "pin_confirm": ""})
    assert resp.status_code == 422
    assert "bereits einen Bibliotheksausweis" in text(resp)
    applicant = make_user()
    make_card(applicant, state="applied")
    resp = client.submit(f"/staff/library/cards/new/{applicant.id}", {"pin": "", "pin_confirm": ""})
    assert resp.status_code == 422 and "Antrag" in text(resp)


def test_confirming_an_application_activates_the_card_and_mails_the_resident(
    app, client, login_as, make_user, make_card, card_of_user, outbox
):
    login_as("staff")
    resident = make_user(email="antrag@example.org")
    card = make_card(resident, state="applied")
    page = client.get(f"/staff/library/cards/{card.id}")
    assert "Antrag bestätigen" in text(page)
    resp = client.submit(f"/staff/library/cards/{card.id}/confirm")
    assert resp.status_code == 302
    after = card_of_user(resident.id)
    assert after.state is CardState.ACTIVE and after.valid_until == rules.add_months(
        local_today(), 12
    )
    (mail,) = outbox("antrag@example.org")
    assert mail.template == "library_card_confirmed"
    assert card.number in mail.body_text and "/me/library" in mail.body_text
    assert PIN not in mail.body_text and PIN not in mail.body_html  # never a PIN by mail
    # confirming twice is an illegal move
    again = client.submit(f"/staff/library/cards/{card.id}/confirm")
    assert again.status_code == 409


def test_blocking_asks_first_needs_a_reason_and_can_be_lifted(
    app, client, login_as, make_user, make_card, card_of_user
):
    login_as("staff")
    patron = make_user()
    card = make_card(patron)
    ask = client.get(f"/staff/library/cards/{card.id}/block")
    assert ask.status_code == 200 and "Jetzt sperren" in text(ask)
    assert card_of_user(patron.id).state is CardState.ACTIVE  # asking changes nothing
    no_reason = client.submit(f"/staff/library/cards/{card.id}/block", {"reason": " "})
    assert no_reason.status_code == 422
    resp = client.submit(f"/staff/library/cards/{card.id}/block", {"reason": "verloren gemeldet"})
    assert resp.status_code == 302
    blocked = card_of_user(patron.id)
    assert (blocked.state, blocked.blocked_reason) == (CardState.BLOCKED, "verloren gemeldet")
    assert (
        client.submit(f"/staff/library/cards/{card.id}/block", {"reason": "x"}).status_code == 422
    )
    resp = client.submit(f"/staff/library/cards/{card.id}/unblock")
    assert resp.status_code == 302
    assert card_of_user(patron.id).state is CardState.ACTIVE
    assert client.submit(f"/staff/library/cards/{card.id}/unblock").status_code == 409
    assert actions(app, card.id)[-2:] == ["library.card_blocked", "library.card_unblocked"]


def test_blocking_ends_the_patrons_sessions(
    app, client, login_as, make_user, make_card, new_client, login
):
    patron = make_user()
    card = make_card(patron)
    browser = new_client()
    login(patron, c=browser)
    assert browser.get("/me/library").status_code == 200
    login_as("staff")
    client.submit(f"/staff/library/cards/{card.id}/block", {"reason": "Missbrauch"})
    assert browser.get("/me/library").status_code == 302  # back to the login page


def test_an_unblocked_application_is_an_application_again(
    app, client, login_as, make_user, make_card, card_of_user
):
    login_as("staff")
    applicant = make_user()
    card = make_card(applicant, state="applied")
    client.submit(f"/staff/library/cards/{card.id}/block", {"reason": "Dublette"})
    client.submit(f"/staff/library/cards/{card.id}/unblock")
    assert card_of_user(applicant.id).state is CardState.APPLIED


def test_validity_is_set_from_today_up_to_ten_years(
    app, client, login_as, make_user, make_card, card_of_user
):
    login_as("staff")
    patron = make_user()
    card = make_card(patron, valid_until=local_today() - timedelta(days=3))
    page = client.get(f"/staff/library/cards/{card.id}")
    assert "Abgelaufen" in text(page)
    new = local_today() + timedelta(days=400)
    resp = client.submit(
        f"/staff/library/cards/{card.id}/validity", {"valid_until": new.isoformat()}
    )
    assert resp.status_code == 302
    assert card_of_user(patron.id).valid_until == new
    for bad in (
        local_today() - timedelta(days=1),
        rules.add_months(local_today(), 120) + timedelta(days=1),
    ):
        resp = client.submit(
            f"/staff/library/cards/{card.id}/validity", {"valid_until": bad.isoformat()}
        )
        assert resp.status_code == 422, bad
    assert card_of_user(patron.id).valid_until == new
    applicant = make_user()
    applied = make_card(applicant, state="applied")
    resp = client.submit(
        f"/staff/library/cards/{applied.id}/validity", {"valid_until": new.isoformat()}
    )
    assert resp.status_code == 422 and "Antrag" in text(resp)


def test_a_pin_reset_shows_a_made_up_pin_once(
    app, client, login_as, make_user, make_card, card_of_user, new_client
):
    login_as("staff")
    patron = make_user()
    card = make_card(patron)
    resp = client.submit(f"/staff/library/cards/{card.id}/pin", {"pin": "", "pin_confirm": ""})
    assert resp.status_code == 200
    pin = PIN_SHOWN.search(text(resp)).group(1)
    assert pin not in text(client.get(f"/staff/library/cards/{card.id}"))
    browser = new_client("10.20.0.9")
    ok = browser.post(
        "/login/card", data={"number": card.number, "pin": pin, "csrf_token": csrf(browser)}
    )
    assert ok.status_code == 302
    old = new_client("10.20.0.10")
    refused = old.post(
        "/login/card", data={"number": card.number, "pin": PIN, "csrf_token": csrf(old)}
    )
    assert refused.status_code == 401
    typed = client.submit(
        f"/staff/library/cards/{card.id}/pin", {"pin": "97531", "pin_confirm": "97531"}
    )
    assert typed.status_code == 200 and not PIN_SHOWN.search(text(typed))
    bad = client.submit(
        f"/staff/library/cards/{card.id}/pin", {"pin": "1111", "pin_confirm": "1111"}
    )
    assert bad.status_code == 422


def test_the_card_list_finds_by_name_email_and_number(app, client, login_as, make_user, make_card):
    login_as("staff")
    anna = make_user(name="Anna Ausweis", email="anna.ausweis@example.org")
    bert = make_user(name="Bert Bücher")
    card_a = make_card(anna)
    card_b = make_card(bert, state="blocked")
    assert "2 Ausweise gefunden" in text(client.get("/staff/library/cards"))
    by_name = text(client.get("/staff/library/cards?q=ausweis"))
    assert card_a.number in by_name and card_b.number not in by_name
    by_mail = text(client.get("/staff/library/cards?q=ANNA.AUSWEIS@"))
    assert card_a.number in by_mail
    spaced = " ".join([card_b.number[:4], card_b.number[4:8], card_b.number[8:]])
    by_number = text(client.get("/staff/library/cards", query_string={"q": spaced}))
    assert card_b.number in by_number and card_a.number not in by_number
    blocked = text(client.get("/staff/library/cards?state=blocked"))
    assert card_b.number in blocked and card_a.number not in blocked
    assert client.get("/staff/library/cards?page=999999999&q=%25").status_code == 200
    assert client.get("/staff/library/cards/999999").status_code == 404


def test_the_desk_is_for_staff_only(client, login_as, make_user, make_card):
    patron = make_user()
    card = make_card(patron)
    for role in ("resident", "instructor"):
        login_as(role)
        for url in (
            "/staff/library/cards",
            f"/staff/library/cards/{card.id}",
            "/staff/library/cards/new",
        ):
            assert client.get(url).status_code == 403, (role, url)
        assert (
            client.submit(f"/staff/library/cards/{card.id}/block", {"reason": "x"}).status_code
            == 403
        )


def test_a_typed_pin_must_be_repeated(app, client, login_as, make_user, card_of_user):
    login_as("staff")
    patron = make_user()
    resp = client.submit(
        f"/staff/library/cards/new/{patron.id}", {"pin": "2580", "pin_confirm": ""}
    )
    assert resp.status_code == 422 and "stimmen nicht überein" in text(resp)
    assert card_of_user(patron.id) is None


def test_an_answer_with_a_made_up_pin_is_not_cached(app, client, login_as, make_user, api_token):
    staff = login_as("staff")
    resp = client.submit(
        f"/staff/library/cards/new/{make_user().id}", {"pin": "", "pin_confirm": ""}
    )
    assert resp.status_code == 201 and resp.headers["Cache-Control"] == "no-store"
    api = client.post(
        "/api/v1/staff/library/cards", json={"user_id": make_user().id}, headers=api_token(staff)
    )
    assert api.status_code == 201 and api.headers["Cache-Control"] == "no-store"
