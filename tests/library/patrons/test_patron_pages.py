"""The resident's "My library card": apply online, see the card, change the PIN; navigation."""

from __future__ import annotations

from library.models import CardState
from tests.conftest import PASSWORD
from tests.library.conftest import PIN, text


def test_apply_online_then_the_card_waits_for_staff(app, client, login_as, card_of_user):
    user = login_as()
    page = client.get("/me/library")
    assert page.status_code == 200 and "Bibliotheksausweis beantragen" in text(page)
    resp = client.submit("/me/library/apply", {"pin": "2580", "pin_confirm": "2580"})
    assert resp.status_code == 302
    card = card_of_user(user.id)
    assert card.state is CardState.APPLIED and card.valid_until is None
    assert card.pin_hash.startswith("$argon2id$")
    page = text(client.get("/me/library"))
    assert card.number in page and "Beantragt" in page
    again = client.submit("/me/library/apply", {"pin": "2580", "pin_confirm": "2580"})
    assert again.status_code == 409


def test_an_application_needs_a_good_pin_typed_twice(app, client, login_as, card_of_user):
    user = login_as()
    for pin, confirm in (("123", "123"), ("4444", "4444"), ("9876", "9876"), ("2580", "0852")):
        resp = client.submit("/me/library/apply", {"pin": pin, "pin_confirm": confirm})
        assert resp.status_code == 422, pin
        assert 'aria-invalid="true"' in text(resp)
    assert card_of_user(user.id) is None


def test_an_unconfirmed_address_cannot_apply(app, client, login_as, card_of_user):
    user = login_as(verified=False)
    assert "bestätigen Sie zuerst Ihre E-Mail-Adresse" in text(client.get("/me/library"))
    resp = client.submit("/me/library/apply", {"pin": "2580", "pin_confirm": "2580"})
    assert resp.status_code == 403
    assert card_of_user(user.id) is None


def test_the_card_page_says_what_stands_in_the_way(app, client, login_as, make_card, settings):
    from datetime import date, timedelta

    user = login_as()
    make_card(user, valid_until=date.today() - timedelta(days=1))
    page = text(client.get("/me/library"))
    assert "Abgelaufen" in page and "abgelaufen" in page  # label and the reason
    with settings(library_card_fee_cents=1200):
        assert "Jahresgebühr" in text(client.get("/me/library"))


def test_change_the_pin_with_the_current_pin_or_the_password(
    app, client, login_as, make_card, new_client
):
    user = login_as()
    card = make_card(user)
    resp = client.submit(
        "/me/library/pin", {"current": PIN, "new_pin": "97531", "new_pin_confirm": "97531"}
    )
    assert resp.status_code == 302
    assert client.get("/me/library").status_code == 200  # this session continues
    resp = client.submit(
        "/me/library/pin", {"current": PASSWORD, "new_pin": "86420", "new_pin_confirm": "86420"}
    )
    assert resp.status_code == 302
    browser = new_client("10.30.0.1")
    token = browser.get("/login/card")
    assert token.status_code == 200
    from tests.library.patrons.test_desk import csrf

    ok = browser.post(
        "/login/card", data={"number": card.number, "pin": "86420", "csrf_token": csrf(browser)}
    )
    assert ok.status_code == 302


def test_a_wrong_proof_or_a_weak_new_pin_is_refused(app, client, login_as, make_card):
    user = login_as()
    make_card(user)
    wrong = client.submit(
        "/me/library/pin", {"current": "0815", "new_pin": "97531", "new_pin_confirm": "97531"}
    )
    assert wrong.status_code == 422 and "weder Ihre PIN noch Ihr Passwort" in text(wrong)
    weak = client.submit(
        "/me/library/pin", {"current": PIN, "new_pin": "2222", "new_pin_confirm": "2222"}
    )
    assert weak.status_code == 422


def test_changing_the_pin_ends_other_sessions(app, client, login_as, make_card, new_client, login):
    user = login_as()
    make_card(user)
    other = new_client()
    login(user, c=other)
    client.submit(
        "/me/library/pin", {"current": PIN, "new_pin": "97531", "new_pin_confirm": "97531"}
    )
    assert other.get("/me/library").status_code == 302


def test_changing_the_pin_without_a_card_is_not_found(client, login_as):
    login_as()
    resp = client.submit(
        "/me/library/pin", {"current": PIN, "new_pin": "97531", "new_pin_confirm": "97531"}
    )
    assert resp.status_code == 404


def test_navigation_links(client, login_as):
    assert "/me/library" not in text(client.get("/"))
    login_as()
    home = text(client.get("/"))
    assert '<a href="/me/library">Mein Bibliotheksausweis</a>' in home
    assert "/staff/library/cards" not in home
    login_as("staff")
    assert '<a href="/staff/library/cards">Ausweise</a>' in text(client.get("/"))


def test_the_login_page_offers_the_card_login(client):
    page = text(client.get("/account/login?next=/me/library"))
    assert "Mit Ausweisnummer anmelden" in page and "/login/card?next=/me/library" in page
    assert "Mit E-Mail-Adresse anmelden" in text(client.get("/login/card"))


def test_pages_need_a_login(client):
    assert client.get("/me/library").status_code == 302
    assert client.post("/me/library/apply").status_code in (400, 401)
