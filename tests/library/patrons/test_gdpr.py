"""The card in "download my data", and gone with the account (its number kept alone)."""

from __future__ import annotations

import json

from library.models import LibraryCardFee, RetiredCardNumber
from tests.conftest import PASSWORD
from tests.library.conftest import text
from vhs.db import db


def test_the_export_holds_the_card_but_never_the_pin(app, client, login_as, make_card):
    user = login_as()
    card = make_card(user)
    with app.app_context():
        db.session.add(
            LibraryCardFee(card_id=card.id, period_until=card.valid_until, amount_cents=1200)
        )
        db.session.commit()
    data = json.loads(client.get("/account/export").data)
    exported = data["library_card"]
    assert exported["number"] == card.number and exported["state"] == "active"
    assert exported["valid_until"] == card.valid_until.isoformat() and exported["has_pin"] is True
    assert exported["fees"][0]["amount_cents"] == 1200
    assert card.pin_hash not in json.dumps(data) and "argon2" not in json.dumps(data)
    assert client.get("/api/v1/me/export").json["library_card"]["number"] == card.number


def test_no_card_no_section_content(client, login_as):
    login_as()
    assert json.loads(client.get("/account/export").data)["library_card"] is None


def test_erasure_removes_the_card_and_keeps_the_number_apart(
    app, client, login_as, make_card, card_of_user
):
    user = login_as()
    card = make_card(user)
    page = text(client.get("/account/delete"))
    assert "Die Nummer Ihres Bibliotheksausweises" in page  # what stays, and why
    resp = client.submit("/account/delete", {"password": PASSWORD, "confirm": "y"})
    assert resp.status_code == 302
    assert card_of_user(user.id) is None
    with app.app_context():
        assert db.session.get(RetiredCardNumber, card.number) is not None
        assert db.session.scalar(db.select(db.func.count(LibraryCardFee.id))) == 0
