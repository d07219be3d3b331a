"""The catalogue's caches (courses/cache.py, vhs/cache.py) never show an old answer.

Issue 3: "a booking or an edit must show in the very next response". The caches are off in
tests by default (rolled-back transactions share one connection); these tests switch them on.
Also: a list page issues at most 6 SQL statements whatever its page size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from courses.catalogue import cache as catalogue_cache
from courses.models import Course
from vhs.cache import CacheVersion, current_version
from vhs.db import db


@pytest.fixture
def cached(app: Flask) -> Iterator[None]:
    """Response caches on, and empty, for one test."""
    app.config["RESPONSE_CACHE"] = True
    catalogue_cache.api_pages.clear()
    catalogue_cache.html_fragments.clear()
    try:
        yield
    finally:
        app.config.pop("RESPONSE_CACHE", None)
        catalogue_cache.api_pages.clear()
        catalogue_cache.html_fragments.clear()


@contextmanager
def count_statements(app: Flask) -> Iterator[list[str]]:
    """Collect every SQL statement the app's engine runs inside the block."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def _queries(statements: list[str]) -> list[str]:
    """Statements that read or write data (not SAVEPOINT/RELEASE/BEGIN bookkeeping)."""
    skip = ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")
    return [s for s in statements if not s.lstrip().upper().startswith(skip)]


def test_api_page_comes_from_the_cache_until_a_booking(
    cached: None, client: Any, make_course: Callable[..., Course], make_user: Any, api_token: Any
) -> None:
    course = make_course(capacity=5, title="Cachekurs Spanisch")
    url = "/api/v1/courses?q=Cachekurs"
    first = client.get(url)
    assert first.status_code == 200
    assert first.json["items"][0]["seats_left"] == 5
    hits = catalogue_cache.api_pages.hits
    again = client.get(url)
    assert again.data == first.data
    assert catalogue_cache.api_pages.hits == hits + 1

    resident = make_user("resident")
    booked = client.post(
        f"/api/v1/courses/{course.id}/enrolments", json={}, headers=api_token(resident)
    )
    assert booked.status_code == 201, booked.json
    after = client.get(url)
    assert after.json["items"][0]["seats_left"] == 4


def test_html_catalogue_shows_an_edit_in_the_next_response(
    cached: None,
    app: Flask,
    client: Any,
    make_course: Callable[..., Course],
    make_user: Any,
    api_token: Any,
) -> None:
    course = make_course(title="Aquarell am Seilersee")
    assert "Aquarell am Seilersee" in client.get("/courses").get_data(as_text=True)
    hits = catalogue_cache.pages.hits
    assert "Aquarell am Seilersee" in client.get("/courses").get_data(as_text=True)
    assert catalogue_cache.pages.hits == hits + 1

    staff = make_user("staff")
    resp = client.patch(
        f"/api/v1/staff/courses/{course.id}",
        json={"title": "Aquarell im Stadtgarten"},
        headers=api_token(staff),
    )
    assert resp.status_code == 200, resp.json
    page = client.get("/courses").get_data(as_text=True)
    assert "Aquarell im Stadtgarten" in page
    assert "Aquarell am Seilersee" not in page


def test_instructor_rename_and_category_rename_change_the_version(
    cached: None, app: Flask, make_course: Callable[..., Course], make_user: Any
) -> None:
    teacher = make_user("instructor", name="Ingrid Alt")
    course = make_course(instructors=[teacher])
    with app.test_request_context():
        before = current_version(catalogue_cache.CATALOGUE)
    with app.app_context():
        from vhs.accounts.models import User

        user = db.session.get(User, teacher.id)
        user.name = "Ingrid Neu"
        db.session.commit()
    with app.test_request_context():
        renamed = current_version(catalogue_cache.CATALOGUE)
    assert renamed != before
    with app.app_context():
        c = db.session.get(Course, course.id)
        c.category.name_de = "Neue Kategorie"
        db.session.commit()
    with app.test_request_context():
        assert current_version(catalogue_cache.CATALOGUE) != renamed


def test_a_login_does_not_invalidate_the_catalogue(
    cached: None, app: Flask, client: Any, make_course: Any, make_user: Any, login: Any
) -> None:
    """Only what the catalogue shows counts: a user's other columns do not."""
    make_course()
    user = make_user("resident")
    with app.test_request_context():
        before = current_version(catalogue_cache.CATALOGUE)
    login(user)
    with app.test_request_context():
        assert current_version(catalogue_cache.CATALOGUE) == before


def test_conditional_get_answers_304_until_something_changes(
    cached: None, client: Any, make_course: Callable[..., Course], make_enrolment: Any
) -> None:
    course = make_course(capacity=3, title="Etag-Kurs")
    url = "/api/v1/courses?q=Etag"
    first = client.get(url)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "no-cache"
    same = client.get(url, headers={"If-None-Match": etag})
    assert same.status_code == 304
    assert same.data == b""
    make_enrolment(course)
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.json["items"][0]["seats_left"] == 2


def test_a_transaction_that_changed_the_catalogue_bypasses_the_cache(
    cached: None, app: Flask, make_course: Callable[..., Course]
) -> None:
    """Uncommitted changes are seen by their own transaction only: never cached for others."""
    course = make_course(title="Vorher")
    calls: list[int] = []
    with app.test_request_context():
        catalogue_cache.api_pages.get_or_set("k", lambda: calls.append(1) or "old")
        c = db.session.get(Course, course.id)
        c.title = "Nachher"
        db.session.flush()
        value = catalogue_cache.api_pages.get_or_set("k", lambda: calls.append(2) or "new")
        assert value == "new"
        db.session.rollback()
    assert calls == [1, 2]


def test_the_version_row_is_created_on_first_bump(app: Flask, make_course: Any) -> None:
    make_course()
    with app.app_context():
        row = db.session.get(CacheVersion, catalogue_cache.CATALOGUE)
        assert row is not None and row.version != 0


@pytest.mark.parametrize("cache_on", [False, True])
def test_list_pages_issue_at_most_six_statements_whatever_the_page_size(
    app: Flask, client: Any, make_course: Callable[..., Course], make_user: Any, cache_on: bool
) -> None:
    teacher = make_user("instructor")
    for n in range(12):
        make_course(title=f"Zählkurs {n}", instructors=[teacher])
    app.config["RESPONSE_CACHE"] = cache_on
    catalogue_cache.api_pages.clear()
    catalogue_cache.html_fragments.clear()
    try:
        for url in (
            "/api/v1/courses?per_page=1",
            "/api/v1/courses?per_page=100",
            "/api/v1/courses?q=Zählkurs&per_page=100",
            "/courses",
            "/courses?q=Zählkurs",
        ):
            with count_statements(app) as statements:
                assert client.get(url).status_code == 200
            queries = _queries(statements)
            assert len(queries) <= 6, (url, queries)
    finally:
        app.config.pop("RESPONSE_CACHE", None)
        catalogue_cache.api_pages.clear()
        catalogue_cache.html_fragments.clear()


def test_course_page_fragments_follow_edits_and_stay_per_visitor(
    cached: None,
    app: Flask,
    client: Any,
    make_course: Callable[..., Course],
    make_user: Any,
    api_token: Any,
    login: Any,
) -> None:
    course = make_course(title="Töpfern für alle", capacity=4)
    url = f"/courses/{course.id}"
    first = client.get(url).get_data(as_text=True)
    assert "Töpfern für alle" in first
    assert "Log in to book" in first or "Zum Buchen anmelden" in first
    hits = catalogue_cache.pages.hits
    client.get(url)
    assert catalogue_cache.pages.hits == hits + 1  # the whole page, for visitors without account

    staff = make_user("staff")
    session_id = course.sessions[0].id
    resp = client.patch(
        f"/api/v1/staff/sessions/{session_id}",
        json={"room": "Werkraum 7"},
        headers=api_token(staff),
    )
    assert resp.status_code == 200, resp.json
    resp = client.patch(
        f"/api/v1/staff/courses/{course.id}",
        json={"title": "Töpfern am Abend"},
        headers=api_token(staff),
    )
    assert resp.status_code == 200, resp.json
    page = client.get(url).get_data(as_text=True)
    assert "Töpfern am Abend" in page
    assert "Werkraum 7" in page

    # The booking part is per visitor: a resident who booked sees it, the cache does not leak it.
    resident = make_user("resident")
    login(resident)
    booked = client.post(
        f"/api/v1/courses/{course.id}/enrolments", json={}, headers=api_token(resident)
    )
    assert booked.status_code == 201, booked.json
    mine = client.get(url).get_data(as_text=True)
    assert "Ihre Anmeldung" in mine or "Your booking" in mine
    assert "Töpfern am Abend" in mine
    hits = catalogue_cache.fragments.hits
    again = client.get(url).get_data(as_text=True)
    assert catalogue_cache.fragments.hits == hits + 3  # head, about, dates: the same for all
    assert "Ihre Anmeldung" in again or "Your booking" in again
    anonymous = app.test_client().get(url).get_data(as_text=True)
    assert "Ihre Anmeldung" not in anonymous and "Your booking" not in anonymous


def test_a_fragment_expires_when_its_clock_says_so(cached: None, app: Flask) -> None:
    """``until`` in the past: the value is not kept (e.g. the next session just ended)."""
    from datetime import UTC, datetime, timedelta

    calls: list[int] = []
    past = datetime.now(UTC) - timedelta(seconds=1)
    future = datetime.now(UTC) + timedelta(hours=1)
    with app.test_request_context():
        cache = catalogue_cache.fragments
        cache.get_or_set("x", lambda: calls.append(1) or "a", lambda: past)
        cache.get_or_set("x", lambda: calls.append(2) or "b", lambda: future)
        assert cache.get_or_set("x", lambda: calls.append(3) or "c") == "b"
    assert calls == [1, 2]


def _without_tokens(html: str) -> str:
    import re

    return re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token" value=""', html)


@pytest.mark.parametrize("path", ["/courses", "/courses?q=Seite", "/courses/{id}"])
def test_anonymous_pages_from_the_cache_equal_fresh_ones_with_their_own_token(
    cached: None, app: Flask, make_course: Callable[..., Course], path: str
) -> None:
    course = make_course(title="Seitenkurs")
    url = path.format(id=course.id)
    fresh = app.test_client().get(url)
    hits = catalogue_cache.pages.hits
    first, second = app.test_client(), app.test_client()
    one = first.get(url).get_data(as_text=True)
    two = second.get(url).get_data(as_text=True)
    assert catalogue_cache.pages.hits >= hits + 2
    assert catalogue_cache.TOKEN_SLOT not in one
    assert _without_tokens(one) == _without_tokens(two) == _without_tokens(fresh.get_data(True))
    token_one = one.split('name="csrf_token" value="')[1].split('"')[0]
    token_two = two.split('name="csrf_token" value="')[1].split('"')[0]
    assert token_one != token_two  # each visitor gets a token of their own session
    # ... which their session accepts: the language switch works from a cached page.
    switched = first.post("/language", data={"lang": "en", "next": url, "csrf_token": token_one})
    assert switched.status_code == 302
    english = first.get(url).get_data(as_text=True)
    assert 'lang="en"' in english


def test_logged_in_visitors_and_flashes_get_fresh_pages(
    cached: None, client: Any, make_course: Callable[..., Course], login_as: Any
) -> None:
    make_course(title="Frischer Kurs")
    hits = catalogue_cache.pages.hits
    login_as("resident")
    page = client.get("/courses").get_data(as_text=True)
    assert "Frischer Kurs" in page
    assert catalogue_cache.pages.hits == hits


def test_repeated_api_queries_skip_parsing_but_invalid_ones_are_still_refused(
    cached: None, client: Any, make_course: Callable[..., Course]
) -> None:
    make_course(title="Prüfkurs")
    assert client.get("/api/v1/courses?q=Prüfkurs&per_page=5").status_code == 200
    hits = catalogue_cache.api_pages.hits
    assert client.get("/api/v1/courses?q=Prüfkurs&per_page=5").status_code == 200
    assert catalogue_cache.api_pages.hits == hits + 1
    assert client.get("/api/v1/courses?q=Prüfkurs&per_page=0").status_code == 422
    assert client.get("/api/v1/courses?q=Prüfkurs&per_page=0").status_code == 422
    assert client.get("/api/v1/courses?sort=nonsense").status_code == 422
