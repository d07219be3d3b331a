"""Personal feeds: the secret token, HTTP caching, revoke/regenerate, API, GDPR, rate limit.

The events come from a source registered the way a domain registers one, so these tests stay
inside the core; tests/courses/calendar/test_courses_calendar.py covers the real course source.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import sqlalchemy as sa

import vhs.calendar
from tests.ics_parsers import read_icalendar, read_vobject
from vhs.accounts.models import User
from vhs.calendar import CalendarEvent, EventStatus
from vhs.calendar.models import CalendarToken
from vhs.db import db

WHEN = datetime(2027, 3, 2, 17, 0, tzinfo=UTC)


@pytest.fixture
def agenda(monkeypatch):
    """A calendar source for tests: ``agenda[user_id] = [CalendarEvent, ...]``."""
    items: dict[int, list[CalendarEvent]] = {}
    monkeypatch.setitem(vhs.calendar._sources, "test", lambda user: list(items.get(user.id, [])))
    return items


def item(uid: str, title: str = "Termin", **kw) -> CalendarEvent:
    return CalendarEvent(
        uid=f"{uid}@vhs.test",
        start=kw.pop("start", WHEN),
        end=kw.pop("end", WHEN + timedelta(hours=1)),
        summary=title,
        last_modified=kw.pop("last_modified", datetime(2027, 1, 1, tzinfo=UTC)),
        **kw,
    )


def feed_path(client, headers) -> str:
    """The path of the caller's feed, asked for through the API (made on first use)."""
    resp = client.get("/api/v1/me/calendar", headers=headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    url = resp.json["url"]
    assert url.startswith("http://vhs.test/calendar/") and url.endswith(".ics")
    assert resp.json["webcal_url"] == "webcal://" + url.removeprefix("http://")
    return url.removeprefix("http://vhs.test")


def test_feed_is_public_by_secret_url_and_well_formed(client, make_user, api_token, agenda):
    user = make_user()
    agenda[user.id] = [
        item("a", "Yoga am Morgen"),
        item("b", "Abgesagt", status=EventStatus.CANCELLED),
    ]
    path = feed_path(client, api_token(user))
    token = path.removeprefix("/calendar/").removesuffix(".ics")
    assert len(token) >= 43  # 32 random-looking bytes, base64url

    resp = client.get(path)  # no login, no cookie
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert resp.headers["ETag"]
    assert resp.headers["Last-Modified"]
    cache = resp.headers["Cache-Control"]
    assert "private" in cache and "max-age=300" in cache
    body = resp.get_data()
    cal, vcal = read_icalendar(body), read_vobject(body)
    assert {str(e["UID"]) for e in cal.walk("VEVENT")} == {"a@vhs.test", "b@vhs.test"}
    assert {e.summary.value for e in vcal.vevent_list} == {"Yoga am Morgen", "Abgesagt"}
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H" in body


def test_the_same_url_serves_the_same_feed(client, make_user, api_token, agenda):
    user = make_user()
    headers = api_token(user)
    assert feed_path(client, headers) == feed_path(client, headers)


def test_only_a_digest_and_a_salt_are_stored(app, client, make_user, api_token, agenda):
    user = make_user()
    path = feed_path(client, api_token(user))
    token = path.removeprefix("/calendar/").removesuffix(".ics")
    with app.app_context():
        row = db.session.execute(
            sa.select(CalendarToken).where(CalendarToken.user_id == user.id)
        ).scalar_one()
        assert row.token_hash == CalendarToken.digest(token)
        assert token not in (row.salt, row.token_hash)


def test_a_feed_shows_only_its_owners_items(client, make_user, api_token, agenda):
    anna, bernd = make_user(name="Anna"), make_user(name="Bernd")
    agenda[anna.id] = [item("anna-1", "Annas Kurs")]
    agenda[bernd.id] = [item("bernd-1", "Bernds Kurs")]
    anna_feed = client.get(feed_path(client, api_token(anna))).get_data()
    bernd_feed = client.get(feed_path(client, api_token(bernd))).get_data()
    assert b"Annas Kurs" in anna_feed and b"Bernd" not in anna_feed
    assert b"Bernds Kurs" in bernd_feed and b"Anna" not in bernd_feed


def test_unknown_and_malformed_tokens_are_404(client):
    for path in ("/calendar/" + "A" * 43 + ".ics", "/calendar/x.ics", "/calendar/%00.ics"):
        assert client.get(path).status_code == 404


def test_etag_and_if_none_match(client, make_user, api_token, agenda):
    user = make_user()
    agenda[user.id] = [item("a")]
    path = feed_path(client, api_token(user))
    first = client.get(path)
    etag = first.headers["ETag"]
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == etag
    agenda[user.id].append(item("b"))
    changed = client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_if_modified_since_follows_content_changes_including_removals(
    client, make_user, api_token, agenda
):
    user = make_user()
    agenda[user.id] = [item("a"), item("b")]
    path = feed_path(client, api_token(user))
    first = client.get(path)
    since = first.headers["Last-Modified"]
    assert client.get(path, headers={"If-Modified-Since": since}).status_code == 304
    # An item disappears (a booking cancelled): nothing left carries a newer timestamp, but the
    # feed changed, so it must not answer 304.
    agenda[user.id].pop()
    after = client.get(path, headers={"If-Modified-Since": since})
    assert after.status_code == 200
    assert b"b@vhs.test" not in after.get_data()
    last = datetime.strptime(after.headers["Last-Modified"], "%a, %d %b %Y %H:%M:%S GMT")
    assert last > datetime.strptime(since, "%a, %d %b %Y %H:%M:%S GMT")
    old = format_datetime(datetime(2000, 1, 1, tzinfo=UTC), usegmt=True)
    assert client.get(path, headers={"If-Modified-Since": old}).status_code == 200


def test_regenerating_kills_the_old_url(client, make_user, api_token, agenda):
    user = make_user()
    headers = api_token(user)
    old = feed_path(client, headers)
    resp = client.post("/api/v1/me/calendar/token", headers=headers)
    assert resp.status_code == 201
    new = resp.json["url"].removeprefix("http://vhs.test")
    assert new != old
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    assert feed_path(client, headers) == new


def test_revoking_switches_the_feed_off(client, make_user, api_token, agenda):
    user = make_user()
    headers = api_token(user)
    path = feed_path(client, headers)
    assert client.delete("/api/v1/me/calendar/token", headers=headers).status_code == 204
    assert client.get(path).status_code == 404
    fresh = feed_path(client, headers)  # asking again makes a new address
    assert fresh != path and client.get(fresh).status_code == 200


def test_html_buttons_create_regenerate_and_revoke(client, make_user, login, agenda):
    user = make_user()
    login(user)
    resp = client.submit("/account/calendar/regenerate", {"next": "/me/courses"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/me/courses")
    page = client.get("/me/courses").get_data(as_text=True)
    assert "webcal://vhs.test/calendar/" in page
    first = page.split("webcal://vhs.test", 1)[1].split('"', 1)[0]
    client.submit("/account/calendar/regenerate", {"next": "/me/courses"})
    page = client.get("/me/courses").get_data(as_text=True)
    second = page.split("webcal://vhs.test", 1)[1].split('"', 1)[0]
    assert first != second
    assert client.get(first).status_code == 404 and client.get(second).status_code == 200
    client.submit("/account/calendar/revoke", {"next": "//evil.example/"})
    assert client.get(second).status_code == 404


def test_html_buttons_need_csrf_and_login(client, make_user, login):
    assert client.post("/account/calendar/regenerate").status_code in (400, 401)
    login(make_user())
    assert client.post("/account/calendar/regenerate").status_code == 400  # no CSRF token


def test_api_needs_a_login(client):
    assert client.get("/api/v1/me/calendar").status_code == 401
    assert client.post("/api/v1/me/calendar/token").status_code == 401


def test_one_active_token_per_person_is_guarded_by_the_database(app, make_user):
    user = make_user()
    with app.app_context():
        db.session.add_all(
            [
                CalendarToken(user_id=user.id, salt="00" * 32, token_hash="a" * 64),
                CalendarToken(user_id=user.id, salt="11" * 32, token_hash="b" * 64),
            ]
        )
        with pytest.raises(sa.exc.IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_gdpr_export_says_whether_a_feed_exists_but_not_its_address(
    client, make_user, api_token, agenda
):
    user = make_user()
    headers = api_token(user)
    assert client.get("/api/v1/me/export", headers=headers).json["calendar_feed"] == {
        "feed_active": False,
        "created_at": None,
    }
    path = feed_path(client, headers)
    export = client.get("/api/v1/me/export", headers=headers)
    assert export.json["calendar_feed"]["feed_active"] is True
    token = path.removeprefix("/calendar/").removesuffix(".ics")
    assert token not in export.get_data(as_text=True)


def test_erasing_the_account_revokes_the_feed(app, client, make_user, api_token, login, agenda):
    user = make_user()
    path = feed_path(client, api_token(user))
    login(user)
    resp = client.submit("/account/delete", {"password": "correct horse battery", "confirm": "y"})
    assert resp.status_code == 302
    assert client.get(path).status_code == 404
    with app.app_context():
        assert db.session.get(User, user.id).erased_at is not None


def test_feed_requests_are_rate_limited_per_token(client, make_user, api_token, agenda):
    path = feed_path(client, api_token(make_user()))
    other = feed_path(client, api_token(make_user()))
    codes = [client.get(path).status_code for _ in range(61)]
    assert codes[:60] == [200] * 60 and codes[60] == 429
    assert client.get(other).status_code == 200  # another feed has its own budget
