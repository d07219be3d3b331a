"""``require_borrower``: who may borrow, and the stable code of every refusal (409)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from library.models import LibraryCard
from library.patrons.eligibility import CODES, refusal, require_borrower, today
from vhs.accounts.models import User
from vhs.db import db
from vhs.errors import Conflict

TODAY = date(2027, 3, 10)


def borrower(app, user, on=TODAY):
    with app.app_context():
        return require_borrower(db.session.get(User, user.id), on=on)


def refused(app, user, on=TODAY):
    with app.app_context(), app.test_request_context():
        with pytest.raises(Conflict) as exc:
            require_borrower(db.session.get(User, user.id), on=on)
        assert exc.value.status == 409
        return exc.value.code, str(exc.value.detail)


def test_an_active_valid_card_may_borrow(app, make_user, make_card):
    user = make_user()
    card = make_card(user, valid_until=TODAY)  # the last valid day counts
    got = borrower(app, user)
    assert isinstance(got, LibraryCard) and got.id == card.id


def test_without_a_card(app, make_user):
    code, detail = refused(app, make_user())
    assert code == "no_card"
    assert "Bibliotheksausweis" in detail  # translated (German by default)


def test_an_application_not_yet_confirmed(app, make_user, make_card):
    user = make_user()
    make_card(user, state="applied")
    assert refused(app, user)[0] == "card_applied"


def test_a_blocked_card_even_when_valid_and_paid(app, make_user, make_card, settings):
    user = make_user()
    make_card(user, state="blocked", blocked_reason="verloren", fee_paid_until=TODAY)
    with settings(library_card_fee_cents=1200):
        assert refused(app, user)[0] == "card_blocked"


def test_an_expired_card_from_the_day_after_its_last_valid_day(app, make_user, make_card):
    user = make_user()
    make_card(user, valid_until=TODAY - timedelta(days=1))
    code, detail = refused(app, user)
    assert code == "card_expired"
    assert "09.03.2027" in detail


def test_an_unpaid_fee_refuses_only_when_a_fee_is_configured(app, make_user, make_card, settings):
    user = make_user()
    make_card(user, fee_paid_until=None)
    assert borrower(app, user)  # free cards (the default)
    with settings(library_card_fee_cents=1200):
        assert refused(app, user)[0] == "fee_unpaid"


def test_a_fee_paid_until_yesterday_is_unpaid_today(app, make_user, make_card, settings):
    user = make_user()
    make_card(user, fee_paid_until=TODAY - timedelta(days=1))
    with settings(library_card_fee_cents=1200):
        assert refused(app, user)[0] == "fee_unpaid"
        assert borrower(app, user, on=TODAY - timedelta(days=1))


def test_every_code_is_named_and_each_has_its_own_message(app, make_user, make_card, settings):
    """One refusal per code, each with a different message (all translated)."""
    seen = {}
    with settings(library_card_fee_cents=500):
        seen.update([refused(app, make_user())])
        for kw in (
            {"state": "applied"},
            {"state": "blocked"},
            {"valid_until": TODAY - timedelta(days=30)},
            {"fee_paid_until": None},
        ):
            user = make_user()
            make_card(user, **kw)
            seen.update([refused(app, user)])
    assert tuple(seen) == CODES
    assert len(set(seen.values())) == len(CODES)


def test_the_order_of_refusals(app, make_user, make_card, settings):
    """Several things wrong at once: the one the patron must fix first is named."""
    user = make_user()
    make_card(user, state="blocked", valid_until=TODAY - timedelta(days=1))
    with settings(library_card_fee_cents=500):
        assert refused(app, user)[0] == "card_blocked"


def test_today_is_the_local_day(app):
    with app.app_context():
        assert abs((today() - date.today()).days) <= 1


def test_refusal_without_a_card_object(app):
    with app.app_context(), app.test_request_context():
        assert refusal(None, TODAY).code == "no_card"
