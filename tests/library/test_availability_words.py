"""An item's availability in words: "2 von 3 verfügbar", "3 Vormerkungen, ca. 4 Wochen
Wartezeit" — on the lending page and in the availability API, German and English."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask_babel import force_locale

from library.circulation import services as circulation
from library.circulation.labels import availability_words
from library.circulation.services import Wait, expected_wait
from tests.library.seed import give_card, item_with_licence
from vhs.accounts.models import User
from vhs.db import db
from vhs.uow import unit_of_work

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("span", "wait"),
    [
        (timedelta(0), Wait(days=1, weeks=None)),  # a copy is about to be handed on
        (timedelta(hours=5), Wait(days=1, weeks=None)),
        (timedelta(days=1, hours=1), Wait(days=2, weeks=None)),
        (timedelta(days=13, hours=12), Wait(days=14, weeks=None)),  # under two weeks: days
        (timedelta(days=14), Wait(days=14, weeks=2)),
        (timedelta(days=17), Wait(days=17, weeks=2)),
        (timedelta(days=18), Wait(days=18, weeks=3)),
        (timedelta(days=28), Wait(days=28, weeks=4)),
    ],
)
def test_the_wait_is_rounded_for_people(span: timedelta, wait: Wait) -> None:
    assert expected_wait(NOW + span, NOW) == wait


def test_no_estimate_no_wait() -> None:
    assert expected_wait(None, NOW) is None


def lent_with_queue(make_patron, make_item, make_licence, clock, waiting: int):
    """A video (a week's loan) whose one copy is lent for 7 days, with ``waiting`` holds."""
    item = make_item("Sturmflut", kind="video")
    make_licence(item)
    circulation.borrow(make_patron(), item.id, days=7, now=clock.now)
    for _ in range(waiting):
        circulation.place_hold(make_patron(), item.id, now=clock.now)
        clock.advance(seconds=1)
    return item


@pytest.mark.parametrize(
    ("locale", "copies", "queue"),
    [
        ("de", "0 von 1 verfügbar", "3 Vormerkungen, ca. 4 Wochen Wartezeit"),
        ("en", "0 of 1 available", "3 reservations, about 4 weeks' wait"),
    ],
)
def test_words_for_a_queue(
    make_patron, make_item, make_licence, clock, locale, copies, queue
) -> None:
    item = lent_with_queue(make_patron, make_item, make_licence, clock, waiting=3)
    offer = circulation.availability(item.id, now=clock.now)
    # Each of the three ahead keeps the copy a week after the loan's 7 days: 28 days.
    assert offer.wait == Wait(days=28, weeks=4)
    with force_locale(locale):
        words = availability_words(offer)
    assert (words.copies, words.queue) == (copies, queue)


def test_words_for_one_reservation_and_for_none(make_patron, make_item, make_licence, clock):
    item = lent_with_queue(make_patron, make_item, make_licence, clock, waiting=1)
    with force_locale("de"):
        words = availability_words(circulation.availability(item.id, now=clock.now))
        assert words.queue == "1 Vormerkung, ca. 14 Tage Wartezeit"
    other = lent_with_queue(make_patron, make_item, make_licence, clock, waiting=0)
    with force_locale("en"):
        words = availability_words(circulation.availability(other.id, now=clock.now))
        assert words.queue == "no reservations, about 7 days' wait"


def test_free_copies_need_no_queue_line(make_patron, make_item, make_licence, clock) -> None:
    item = make_item()
    make_licence(item, concurrency=3)
    circulation.borrow(make_patron(), item.id, now=clock.now)
    with force_locale("de"):
        words = availability_words(circulation.availability(item.id, now=clock.now))
    assert (words.copies, words.queue) == ("2 von 3 verfügbar", None)
    bare = make_item("Ohne Lizenz")
    with force_locale("de"):
        words = availability_words(circulation.availability(bare.id, now=clock.now))
    assert words.copies.startswith("Dieses Medium kann") and words.queue is None


def _queue_through_services(app: Flask, make_user, item_id: int, waiting: int) -> None:
    """Committed: a 7-day loan of the item's one copy and ``waiting`` holds behind it."""
    people = [make_user() for _ in range(waiting + 1)]
    for person in people:
        give_card(app, person)
    with app.app_context(), unit_of_work():
        circulation.borrow(db.session.get(User, people[0].id), item_id, days=7)
    for person in people[1:]:
        with app.app_context(), unit_of_work():
            circulation.place_hold(db.session.get(User, person.id), item_id)


def test_the_lending_page_and_the_api_say_it(app: Flask, client, make_user) -> None:
    free_id, _ = item_with_licence(app, "Drei Exemplare", concurrency=3)
    _queue_through_services(app, make_user, free_id, waiting=0)
    page = client.get(f"/library/media/{free_id}").get_data(as_text=True)
    assert "2 von 3 verfügbar" in page and "Wartezeit" not in page

    queued_id, _ = item_with_licence(app, "Sturmflut", kind="video")
    _queue_through_services(app, make_user, queued_id, waiting=3)
    page = client.get(f"/library/media/{queued_id}").get_data(as_text=True)
    assert "0 von 1 verfügbar" in page
    assert "3 Vormerkungen, ca. 4 Wochen Wartezeit" in page

    answer = client.get(f"/api/v1/media/{queued_id}/availability").json
    assert answer["summary"] == "0 von 1 verfügbar"
    assert answer["queue_summary"] == "3 Vormerkungen, ca. 4 Wochen Wartezeit"
    assert answer["wait_days"] == 28 and answer["holds"] == 3
    english = client.get(
        f"/api/v1/media/{queued_id}/availability", headers={"Accept-Language": "en"}
    ).json
    assert english["queue_summary"] == "3 reservations, about 4 weeks' wait"
    free = client.get(f"/api/v1/media/{free_id}/availability").json
    assert (free["summary"], free["queue_summary"], free["wait_days"]) == (
        "2 von 3 verfügbar",
        None,
        None,
    )
