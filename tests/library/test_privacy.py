"""Lending and privacy: no history by default, the patron's own opt-in, holds that forget their
patron, loans and holds in "download my data", and erasure that hands copies on."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from flask import Flask

from library.circulation import services as circulation
from library.circulation.gdpr import end_all_lending, export_lending
from library.loans import history
from library.loans.jobs import forget_history
from library.models import Hold, HoldEnd, HoldState, LibraryCard, Loan, LoanEnd
from tests.conftest import PASSWORD
from tests.library.conftest import holds_of, open_loans, refreshed
from tests.library.seed import give_card, item_with_licence
from tests.library.test_borrowing import refusal
from vhs import gdpr
from vhs.db import db


@pytest.fixture
def offered(app: Flask):
    """The library offers the opt-in (``VHS_LIBRARY_KEEP_HISTORY``)."""
    settings = app.config["VHS"]
    settings.library_keep_history = True
    yield settings
    settings.library_keep_history = False


def patron_of(obj) -> int | None:
    """Who a loan or hold names now, as the database has it."""
    return refreshed(obj).user_id


# --- no history by default, the opt-in --------------------------------------------------------


def test_every_way_a_loan_ends_forgets_its_patron_by_default(
    make_patron, make_item, make_licence, clock, offered
) -> None:
    """Offered by the library is not enough: the patron must opt in."""
    item = make_item()
    make_licence(item, concurrency=2)
    patron = make_patron()
    returned = circulation.borrow(patron, item.id, days=7, now=clock.now)
    circulation.return_loan(patron, returned.id, now=clock.now)
    expiring = circulation.borrow(patron, item.id, days=7, now=clock.now)
    clock.advance(days=8)
    assert circulation.my_loans(patron, now=clock.now) == []
    assert refreshed(expiring).end_reason is LoanEnd.EXPIRED
    assert patron_of(returned) is None and patron_of(expiring) is None
    assert circulation.my_past_loans(patron) == []


def test_opting_in_keeps_the_list_and_opting_out_deletes_it(
    make_patron, make_item, make_licence, clock, offered
) -> None:
    item = make_item()
    make_licence(item)
    patron = make_patron()
    assert circulation.history_choice(patron) == circulation.HistoryChoice(offered=True, keep=False)
    assert circulation.set_keep_history(patron, True).keep is True
    loan = circulation.borrow(patron, item.id, now=clock.now)
    circulation.return_loan(patron, loan.id, now=clock.now)
    assert [p.id for p in circulation.my_past_loans(patron)] == [loan.id]

    assert circulation.set_keep_history(patron, False).keep is False
    assert patron_of(loan) is None and circulation.my_past_loans(patron) == []


def test_the_opt_in_is_refused_where_the_library_does_not_offer_it(make_patron) -> None:
    patron = make_patron()
    assert circulation.history_choice(patron).offered is False
    assert refusal(lambda: circulation.set_keep_history(patron, True)) == "history_not_offered"
    assert circulation.set_keep_history(patron, False).keep is False  # opting out always works
    assert refusal(lambda: circulation.set_keep_history(make_patron(card=False), False)) == (
        "no_card"
    )


def test_the_job_forgets_lists_the_library_no_longer_offers(
    make_patron, make_item, make_licence, clock, offered
) -> None:
    item = make_item()
    make_licence(item, concurrency=2)
    keeper, other = make_patron(), make_patron()
    circulation.set_keep_history(keeper, True)
    kept = circulation.borrow(keeper, item.id, now=clock.now)
    circulation.return_loan(keeper, kept.id, now=clock.now)
    assert forget_history() == 0 and patron_of(kept) == keeper.id  # still wanted and offered

    offered.library_keep_history = False
    assert history.keeps_history(keeper.id) is False
    assert forget_history() == 1
    assert patron_of(kept) is None
    assert refreshed(db.session.get(LibraryCard, _card_id(keeper))).keep_history is True
    assert other.id  # the other patron never had anything kept


def _card_id(user) -> int:
    return db.session.scalar(sa.select(LibraryCard.id).where(LibraryCard.user_id == user.id))


# --- holds forget their patron ---------------------------------------------------------------


def test_ended_holds_forget_their_patron_however_they_end(
    make_patron, make_item, make_licence, clock, outbox
) -> None:
    item = make_item()
    licence = make_licence(item)
    lender, borrows, lapses, cancels = (make_patron() for _ in range(4))
    loan = circulation.borrow(lender, item.id, now=clock.now)
    placed = []
    for patron in (lapses, borrows, cancels):
        placed.append(circulation.place_hold(patron, item.id, now=clock.now))
        clock.advance(seconds=1)
    lapsed, borrowed, cancelled = placed
    circulation.return_loan(lender, loan.id, now=clock.now)
    assert refreshed(lapsed).state is HoldState.READY
    clock.advance(hours=49)  # the pick-up window (48 h) passes
    circulation.my_holds(lapses, now=clock.now)
    assert refreshed(lapsed).end_reason is HoldEnd.EXPIRED and lapsed.user_id is None
    db.session.flush()
    assert [m.template for m in outbox(lapses.email)][-1] == "library_hold_expired"
    circulation.borrow(borrows, item.id, now=clock.now)
    assert refreshed(borrowed).end_reason is HoldEnd.BORROWED and borrowed.user_id is None
    circulation.cancel_hold(cancels, cancelled.id, now=clock.now)
    assert refreshed(cancelled).end_reason is HoldEnd.CANCELLED and cancelled.user_id is None
    assert refreshed(licence).reserved == 0
    named = db.session.scalar(
        sa.select(sa.func.count()).select_from(Hold).where(Hold.user_id.is_not(None))
    )
    assert named == 0


# --- export ----------------------------------------------------------------------------------


def test_the_export_holds_open_loans_and_holds_and_only_a_kept_history(
    make_patron, make_item, make_licence, clock, offered
) -> None:
    book, other = make_item("Tod am Deich"), make_item("Sturmflut")
    make_licence(book, concurrency=2)
    make_licence(other)
    patron = make_patron()
    ended = circulation.borrow(patron, book.id, now=clock.now)
    circulation.return_loan(patron, ended.id, now=clock.now)
    circulation.borrow(patron, book.id, days=14, now=clock.now)
    circulation.borrow(make_patron(), other.id, now=clock.now)
    circulation.place_hold(patron, other.id, now=clock.now)

    data = export_lending(patron)
    assert data["keeps_history"] is False
    assert [(x["item"]["title"], x["ended_at"]) for x in data["loans"]] == [("Tod am Deich", None)]
    assert [(x["item"]["title"], x["state"]) for x in data["holds"]] == [("Sturmflut", "waiting")]
    json.dumps(data)  # a JSON document

    circulation.set_keep_history(patron, True)
    current = circulation.my_loans(patron, now=clock.now)[0]
    circulation.return_loan(patron, current.id, now=clock.now)
    data = gdpr.export_sections(patron)["library_lending"]
    assert data["keeps_history"] is True
    assert [x["end_reason"] for x in data["loans"]] == ["returned"]


# --- erasure ---------------------------------------------------------------------------------


def test_erasure_returns_loans_cancels_holds_and_hands_the_copies_on(
    make_patron, make_item, make_licence, clock, outbox, offered
) -> None:
    """A patron with a loan (others wait), a ready hold (someone waits behind), a waiting hold
    and a kept history is erased: each copy goes to the next in line at once."""
    lent, kept, waited = make_item("Geliehen"), make_item("Bereit"), make_item("Wartend")
    lent_licence = make_licence(lent)
    kept_licence = make_licence(kept)
    make_licence(waited)
    leaving, after_loan, after_ready, someone = (make_patron() for _ in range(4))
    circulation.set_keep_history(leaving, True)
    read_before = circulation.borrow(leaving, waited.id, now=clock.now)
    circulation.return_loan(leaving, read_before.id, now=clock.now)

    loan = circulation.borrow(leaving, lent.id, now=clock.now)
    waiting_for_loan = circulation.place_hold(after_loan, lent.id, now=clock.now)
    first = circulation.borrow(someone, kept.id, now=clock.now)
    ready = circulation.place_hold(leaving, kept.id, now=clock.now)
    clock.advance(seconds=1)
    behind = circulation.place_hold(after_ready, kept.id, now=clock.now)
    circulation.return_loan(someone, first.id, now=clock.now)
    assert refreshed(ready).state is HoldState.READY
    circulation.borrow(someone, waited.id, now=clock.now)
    waiting = circulation.place_hold(leaving, waited.id, now=clock.now)

    end_all_lending(leaving, now=clock.now)
    db.session.flush()

    assert refreshed(loan).end_reason is LoanEnd.RETURNED and loan.user_id is None
    assert refreshed(waiting_for_loan).state is HoldState.READY
    assert refreshed(lent_licence).active_loans == 0 and lent_licence.reserved == 1
    assert refreshed(ready).end_reason is HoldEnd.CANCELLED and ready.user_id is None
    assert refreshed(behind).state is HoldState.READY and behind.licence_id == kept_licence.id
    assert refreshed(kept_licence).reserved == 1
    assert refreshed(waiting).state is HoldState.ENDED and waiting.user_id is None
    assert holds_of(waited, HoldState.WAITING) == [] and open_loans(waited)[0].user_id == someone.id
    assert patron_of(read_before) is None
    left = export_lending(leaving)
    assert (left["loans"], left["holds"]) == ([], [])
    ready_mails = [m.template for m in outbox(after_ready.email)]
    assert ready_mails[-1] == "library_hold_ready"
    assert outbox(after_loan.email)[-1].template == "library_hold_ready"


def test_deleting_the_account_erases_lending_and_says_what_stays(
    app: Flask, client, login, make_user
) -> None:
    item_id, licence_id = item_with_licence(app)
    user, next_in_line = make_user(), make_user()
    for person in (user, next_in_line):
        give_card(app, person)
    login(user)
    assert client.submit(f"/library/media/{item_id}/loans", {"days": "7"}).status_code == 302
    with app.app_context():
        from library.circulation.services import place_hold

        place_hold(db.session.get(type(next_in_line), next_in_line.id), item_id)
        db.session.commit()
    exported = json.loads(client.get("/account/export").data)["library_lending"]
    assert [loan["item"]["id"] for loan in exported["loans"]] == [item_id]

    page = client.get("/account/delete").get_data(as_text=True)
    assert "ausgeliehen und vorgemerkt wurden – ohne Ihren Namen" in page
    resp = client.submit("/account/delete", {"password": PASSWORD, "confirm": "y"})
    assert resp.status_code == 302
    with app.app_context():
        loans = list(db.session.execute(sa.select(Loan).where(Loan.item_id == item_id)).scalars())
        assert [(x.user_id, x.end_reason) for x in loans] == [(None, LoanEnd.RETURNED)]
        hold = db.session.execute(sa.select(Hold).where(Hold.item_id == item_id)).scalar_one()
        assert (hold.user_id, hold.state) == (next_in_line.id, HoldState.READY)
        assert hold.licence_id == licence_id


# --- the opt-in on "Mein Konto" and in the API ---------------------------------------------------


def test_the_account_page_offers_the_list_and_keeps_it_by_choice(
    app: Flask, client, login, make_user, offered
) -> None:
    item_id, _ = item_with_licence(app, "Deichgraf")
    user = make_user()
    login(user)
    assert "Schon gelesen" not in client.get("/library/account").get_data(as_text=True)  # no card
    give_card(app, user)
    page = client.get("/library/account").get_data(as_text=True)
    assert "Schon gelesen" in page and 'name="keep"' in page and "checked" not in page

    resp = client.submit("/library/account/history", {"keep": "y"})
    assert resp.status_code == 302 and resp.location.endswith("/library/account")
    client.submit(f"/library/media/{item_id}/loans", {"days": "7"})
    with app.app_context():
        loan_id = db.session.scalar(sa.select(Loan.id).where(Loan.item_id == item_id))
    client.submit(f"/library/loans/{loan_id}/return")
    page = client.get("/library/account").get_data(as_text=True)
    assert "Deichgraf" in page and "checked" in page

    client.submit("/library/account/history", {})  # unticked: forget
    page = client.get("/library/account").get_data(as_text=True)
    assert "Deichgraf" not in page and "gelöscht" in page
    with app.app_context():
        assert db.session.get(Loan, loan_id).user_id is None


def test_the_page_is_silent_where_the_library_does_not_offer_it(
    app: Flask, client, login, make_user
) -> None:
    user = make_user()
    give_card(app, user)
    login(user)
    assert "Schon gelesen" not in client.get("/library/account").get_data(as_text=True)
    resp = client.submit("/library/account/history", {"keep": "y"})
    assert resp.status_code == 409 and "keine Leselisten" in resp.get_data(as_text=True)


def test_the_history_api(app: Flask, client, make_user, api_token, offered) -> None:
    with_card, without = make_user(), make_user()
    give_card(app, with_card)
    a, b = api_token(with_card), api_token(without)
    assert client.get("/api/v1/me/loans/history", headers=a).json == {
        "offered": True,
        "keep": False,
    }
    resp = client.put("/api/v1/me/loans/history", json={"keep": True}, headers=a)
    assert resp.status_code == 200 and resp.json["keep"] is True
    resp = client.put("/api/v1/me/loans/history", json={"keep": "maybe"}, headers=a)
    assert resp.status_code == 422
    assert client.put("/api/v1/me/loans/history", json={}, headers=a).status_code == 422
    resp = client.put("/api/v1/me/loans/history", json={"keep": True}, headers=b)
    assert (resp.status_code, resp.json["code"]) == (409, "no_card")
    assert client.get("/api/v1/me/loans/history", headers=b).json == {
        "offered": False,
        "keep": False,
    }
    offered.library_keep_history = False
    resp = client.put("/api/v1/me/loans/history", json={"keep": True}, headers=a)
    assert (resp.status_code, resp.json["code"]) == (409, "history_not_offered")
    # Opted in before the library stopped: still offered, so the patron can opt out.
    assert client.get("/api/v1/me/loans/history", headers=a).json == {
        "offered": True,
        "keep": False,
    }
    resp = client.put("/api/v1/me/loans/history", json={"keep": False}, headers=a)
    assert resp.json == {"offered": False, "keep": False}
