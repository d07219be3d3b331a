"""Lending's dates in the personal calendar feed: loan ends and pick-up deadlines, stable UIDs,
only one's own, gone when they end, and a cached feed that sees a borrow at the next poll."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask

from library.circulation import services as circulation
from library.models import Loan
from tests.ics_parsers import read_icalendar, read_vobject
from tests.library.seed import give_card, item_with_licence
from vhs.accounts.models import User
from vhs.calendar import services as calendar_services
from vhs.db import db
from vhs.i18n import local
from vhs.uow import unit_of_work


@pytest.fixture
def feed_cache(app: Flask) -> Iterator[object]:
    """Rendered feeds cached as in production (tests run without caches otherwise)."""
    app.config["RESPONSE_CACHE"] = True
    calendar_services._rendered.clear()
    try:
        yield calendar_services._rendered
    finally:
        app.config.pop("RESPONSE_CACHE", None)
        calendar_services._rendered.clear()


def feed_path(client, headers) -> str:
    url = client.get("/api/v1/me/calendar", headers=headers).json["url"]
    return url.removeprefix("http://vhs.test")


def events(body: bytes) -> dict[str, object]:
    """The feed's VEVENTs by UID."""
    return {str(e["UID"]): e for e in read_icalendar(body).walk("VEVENT")}


def test_loan_end_and_pick_up_deadline_in_the_feed(
    app: Flask, client, make_user, api_token
) -> None:
    item_id, _ = item_with_licence(app, "Tod am Deich")
    reader, waiting = make_user(), make_user(locale="en")
    for user in (reader, waiting):
        give_card(app, user)
    a, b = api_token(reader), api_token(waiting)
    loan = client.post(f"/api/v1/media/{item_id}/loans", json={"days": 14}, headers=a).json
    hold = client.post(f"/api/v1/media/{item_id}/holds", headers=b).json

    body = client.get(feed_path(client, a)).get_data()
    found = events(body)
    uid = f"loan-{loan['id']}@vhs.test"
    assert list(found) == [uid]
    event = found[uid]
    assert str(event["SUMMARY"]) == "Ausleihe endet: Tod am Deich"
    with app.app_context():
        due = local(db.session.get(Loan, loan["id"]).due_at)
    assert event.decoded("DTSTART") == due.date()
    assert event.decoded("DTEND") == due.date() + timedelta(days=1)
    assert due.strftime("%H:%M") in str(event["DESCRIPTION"])
    assert "automatisch" in str(event["DESCRIPTION"])
    assert str(event["URL"]) == "http://vhs.test/library/account"
    assert read_vobject(body).vevent.summary.value == "Ausleihe endet: Tod am Deich"

    waiting_feed = feed_path(client, b)
    assert events(client.get(waiting_feed).get_data()) == {}  # waiting: no date yet, nor A's loan
    assert client.delete(f"/api/v1/loans/{loan['id']}", headers=a).status_code == 200
    assert events(client.get(feed_path(client, a)).get_data()) == {}  # the ended loan is gone

    found = events(client.get(waiting_feed).get_data())
    ready = found[f"hold-{hold['id']}@vhs.test"]
    summary = str(ready["SUMMARY"])
    assert summary.startswith("Borrow your reservation by ") and summary.endswith(
        ": Tod am Deich"
    )  # in the owner's language
    assert len(found) == 1


def test_a_renewal_moves_the_event_under_the_same_uid(app: Flask, client, make_user, api_token):
    item_id, _ = item_with_licence(app)
    user = make_user()
    give_card(app, user)
    headers = api_token(user)
    loan = client.post(f"/api/v1/media/{item_id}/loans", json={"days": 7}, headers=headers).json
    path = feed_path(client, headers)
    before = events(client.get(path).get_data())[f"loan-{loan['id']}@vhs.test"]
    assert client.post(f"/api/v1/loans/{loan['id']}/renewals", headers=headers).status_code == 201
    after = events(client.get(path).get_data())[f"loan-{loan['id']}@vhs.test"]
    assert int(after["SEQUENCE"]) == int(before.get("SEQUENCE", 0)) + 1
    assert after.decoded("DTSTART") >= before.decoded("DTSTART")


def test_a_cached_feed_sees_a_borrow_and_a_return_at_the_next_poll(
    app: Flask, client, make_user, api_token, feed_cache
) -> None:
    item_id, _ = item_with_licence(app, "Sturmflut")
    user = make_user()
    give_card(app, user)
    headers = api_token(user)
    path = feed_path(client, headers)
    first = client.get(path)
    assert client.get(path).get_data() == first.get_data()
    assert feed_cache.hits >= 1  # the second poll came from the cache

    with app.app_context(), unit_of_work():  # a borrow, as any page or job commits one
        loan = circulation.borrow(db.session.get(User, user.id), item_id)
        loan_id = loan.id
    after = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert after.status_code == 200 and b"Sturmflut" in after.get_data()

    with app.app_context(), unit_of_work():
        circulation.return_loan(db.session.get(User, user.id), loan_id)
    assert b"Sturmflut" not in client.get(path).get_data()
