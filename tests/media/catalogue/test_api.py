"""The media API: public catalogue (list with facets, item) and staff stocking."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from media import rules
from media.models import MediaItem

Headers = dict[str, str]


@pytest.fixture
def staff_headers(make_user: Callable[..., Any], api_token: Callable[..., Headers]) -> Headers:
    return api_token(make_user("staff"))


@pytest.fixture
def resident_headers(make_user: Callable[..., Any], api_token: Callable[..., Headers]) -> Headers:
    return api_token(make_user("resident"))


def _new(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "ebook",
        "title": "Tod am Deich",
        "contributors": [{"name": "Anna Berg"}],
        "identifiers": [{"value": "978-3-16-148410-0"}],
        "subjects": ["Krimi"],
    }
    body.update(overrides)
    return body


# --- public catalogue ------------------------------------------------------------------------


def test_list_with_search_filters_and_facets(
    client: Any, make_item: Callable[..., MediaItem]
) -> None:
    krimi = make_item(
        "Drei Krimis", subjects=["Krimi"], year=2021, min_age=12, cover_sha256="c" * 64
    )
    make_item("Hörspiel", kind="audiobook", subjects=["Hörspiel"], language="en")
    make_item("Entwurf Krimi", state="draft")
    resp = client.get("/api/v1/media?q=krimi")
    assert resp.status_code == 200
    body = resp.json
    assert body["total"] == 1 and body["pages"] == 1
    item = body["items"][0]
    assert item["id"] == krimi.id and item["title"] == "Drei Krimis"
    assert item["contributors"] == [{"name": "Anna Berg", "role": "author"}]
    assert item["cover"] == {
        "small": f"/media/covers/{'c' * 64}-160.jpg",
        "large": f"/media/covers/{'c' * 64}-480.jpg",
    }
    assert body["facets"]["kind"] == [{"value": "ebook", "count": 1}]
    assert body["facets"]["decade"] == [{"value": 2020, "count": 1}]
    assert body["facets"]["audience"] == [
        {"value": 12, "count": 1},
        {"value": 16, "count": 1},
        {"value": 18, "count": 1},
    ]
    every = client.get("/api/v1/media").json
    assert every["total"] == 2
    assert {f["value"]: f["count"] for f in every["facets"]["subject"]} == {
        "Krimi": 1,
        "Hörspiel": 1,
    }
    assert client.get("/api/v1/media?kind=audiobook").json["items"][0]["title"] == "Hörspiel"
    # ISO 639-2/B codes as MARC records carry them mean the same language
    assert client.get("/api/v1/media?language=eng").json["total"] == 1
    assert client.get("/api/v1/media?per_page=1&page=2").json["items"][0]["title"] in {
        "Drei Krimis",
        "Hörspiel",
    }


@pytest.mark.parametrize(
    "query",
    [
        "kind=vinyl",
        "audience=7",
        "audience=1.5",
        "year_from=1399",
        "year_to=abc",
        "language=klingon",
        "per_page=101",
        "page=0",
        "sort=random",
        "q=" + "x" * 201,
    ],
)
def test_list_refuses_malformed_arguments(client: Any, query: str) -> None:
    resp = client.get(f"/api/v1/media?{query}")
    assert resp.status_code == 422, resp.json
    assert resp.mimetype == "application/problem+json"


def test_list_answers_304_while_nothing_changed(
    client: Any, make_item: Callable[..., MediaItem]
) -> None:
    make_item()
    first = client.get("/api/v1/media")
    assert first.headers["Cache-Control"] == "no-cache"
    again = client.get("/api/v1/media", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_item_detail(client: Any, make_item: Callable[..., MediaItem]) -> None:
    item = make_item(
        isbn="3-16-148410-X",
        subjects=["Krimi", "Nordsee"],
        series_title="Deich-Krimis",
        series_number=3,
        pages=320,
        description="Ein Mord.",
    )
    body = client.get(f"/api/v1/media/{item.id}").json
    assert body["state"] == "published"
    assert body["identifiers"] == [{"scheme": "isbn", "value": "9783161484100"}]
    assert body["subjects"] == ["Krimi", "Nordsee"]
    assert (body["series_title"], body["series_number"], body["pages"]) == ("Deich-Krimis", 3, 320)
    assert body["description"] == "Ein Mord." and body["cover"] is None
    assert body["published_at"]


def test_drafts_and_withdrawn_items_are_404_except_to_staff(
    client: Any,
    make_item: Callable[..., MediaItem],
    staff_headers: Headers,
    resident_headers: Headers,
) -> None:
    for state in ("draft", "withdrawn"):
        item = make_item(f"Nicht öffentlich ({state})", state=state)
        url = f"/api/v1/media/{item.id}"
        assert client.get(url).status_code == 404
        resp = client.get(url, headers=resident_headers)
        assert resp.status_code == 404 and resp.json["code"] == "media_not_found"
        assert client.get(url, headers=staff_headers).json["state"] == state
    assert client.get("/api/v1/media/99999").status_code == 404


# --- staff -----------------------------------------------------------------------------------


def test_staff_create_edit_publish_withdraw(
    client: Any, staff_headers: Headers, load_item: Callable[[int], Any]
) -> None:
    resp = client.post("/api/v1/staff/media", json=_new(), headers=staff_headers)
    assert resp.status_code == 201, resp.json
    item_id = resp.json["id"]
    assert resp.json["state"] == "draft"
    assert resp.json["identifiers"] == [{"scheme": "isbn", "value": "9783161484100"}]
    assert client.get(f"/api/v1/media/{item_id}").status_code == 404

    resp = client.patch(
        f"/api/v1/staff/media/{item_id}",
        json={"year": 2022, "subjects": ["Krimi", "Watt"], "min_age": None},
        headers=staff_headers,
    )
    assert resp.status_code == 200, resp.json
    assert resp.json["year"] == 2022 and resp.json["subjects"] == ["Krimi", "Watt"]
    assert resp.json["title"] == "Tod am Deich"

    resp = client.post(f"/api/v1/staff/media/{item_id}/publish", headers=staff_headers)
    assert resp.status_code == 200 and resp.json["state"] == "published"
    assert client.get(f"/api/v1/media/{item_id}").status_code == 200
    again = client.post(f"/api/v1/staff/media/{item_id}/publish", headers=staff_headers)
    assert again.status_code == 409 and again.json["code"] == "already_published"

    resp = client.post(f"/api/v1/staff/media/{item_id}/withdraw", headers=staff_headers)
    assert resp.status_code == 200 and resp.json["state"] == "withdrawn"
    assert client.get(f"/api/v1/media/{item_id}").status_code == 404
    again = client.post(f"/api/v1/staff/media/{item_id}/withdraw", headers=staff_headers)
    assert again.status_code == 409 and again.json["code"] == "not_published"
    assert load_item(item_id).title == "Tod am Deich"  # the record stays


def test_staff_writes_refuse_others(
    client: Any, make_item: Callable[..., MediaItem], resident_headers: Headers
) -> None:
    item = make_item(state="draft")
    calls = [
        ("post", "/api/v1/staff/media", _new()),
        ("patch", f"/api/v1/staff/media/{item.id}", {"title": "Neu"}),
        ("post", f"/api/v1/staff/media/{item.id}/publish", None),
        ("post", f"/api/v1/staff/media/{item.id}/withdraw", None),
    ]
    for method, url, body in calls:
        assert getattr(client, method)(url, json=body).status_code == 401
        resp = getattr(client, method)(url, json=body, headers=resident_headers)
        assert resp.status_code == 403, url


def test_staff_an_isbn_of_another_item_is_409(
    client: Any, make_item: Callable[..., MediaItem], staff_headers: Headers
) -> None:
    other = make_item(isbn="9783161484100")
    resp = client.post(
        "/api/v1/staff/media",
        json=_new(identifiers=[{"value": "3-16-148410-X"}]),
        headers=staff_headers,
    )
    assert resp.status_code == 409
    assert resp.json["code"] == "identifier_taken" and resp.json["item_id"] == other.id


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": ""}, "title"),
        ({"kind": "vinyl"}, "kind"),
        ({"year": 1399}, "year"),
        ({"year": 2000.5}, "year"),
        ({"min_age": 14}, "min_age"),
        ({"language": "klingon"}, "language"),
        ({"series_number": -1}, "series_number"),
        ({"pages": 0}, "pages"),
        ({"identifiers": [{"value": "978-3-16-148410-1"}]}, "identifiers"),
        ({"identifiers": [{"scheme": "issn", "value": "0317-8472"}]}, "identifiers"),
        ({"contributors": [{"name": "A", "role": "singer"}]}, "contributors"),
        ({"subjects": ["x" * (rules.SUBJECT_MAX + 1)]}, "subjects"),
        ({"cover_sha256": "a" * 64}, "cover_sha256"),  # set by the upload, not the API
    ],
)
def test_staff_create_refuses_invalid_bodies(
    client: Any, staff_headers: Headers, overrides: dict[str, Any], field: str
) -> None:
    resp = client.post("/api/v1/staff/media", json=_new(**overrides), headers=staff_headers)
    assert resp.status_code == 422, resp.json
    assert field in str(resp.json["errors"]), resp.json


def test_staff_a_volume_without_series_is_refused_by_the_service(
    client: Any, staff_headers: Headers
) -> None:
    resp = client.post("/api/v1/staff/media", json=_new(series_number=2), headers=staff_headers)
    assert resp.status_code == 422
    assert set(resp.json["errors"]) == {"series_title"}


@pytest.mark.parametrize(
    ("field", "ok", "too_much"),
    [
        ("title", "x" * rules.TITLE_MAX, "x" * (rules.TITLE_MAX + 1)),
        ("year", rules.YEAR.hi, rules.YEAR.hi + 1),
        ("pages", rules.PAGES.hi, rules.PAGES.hi + 1),
        ("duration_seconds", rules.DURATION_SECONDS.hi, rules.DURATION_SECONDS.hi + 1),
        ("series_number", rules.SERIES_NUMBER.hi, rules.SERIES_NUMBER.hi + 1),
    ],
)
def test_schema_and_service_share_each_limit(
    client: Any, staff_headers: Headers, field: str, ok: Any, too_much: Any
) -> None:
    extra = {"series_title": "Reihe"} if field == "series_number" else {}
    good = client.post(
        "/api/v1/staff/media",
        json=_new(identifiers=[], **extra, **{field: ok}),
        headers=staff_headers,
    )
    assert good.status_code == 201, good.json
    bad = client.patch(
        f"/api/v1/staff/media/{good.json['id']}", json={field: too_much}, headers=staff_headers
    )
    assert bad.status_code == 422 and field in bad.json["errors"]


def test_staff_patch_of_a_missing_item_is_404(client: Any, staff_headers: Headers) -> None:
    resp = client.patch("/api/v1/staff/media/99999", json={"title": "x"}, headers=staff_headers)
    assert resp.status_code == 404
    assert (
        client.post("/api/v1/staff/media/99999/publish", headers=staff_headers).status_code == 404
    )


def test_answers_cost_few_statements(
    client: Any, make_item: Callable[..., MediaItem], count_sql: Callable[[], Any]
) -> None:
    """Without the cache: a page of 50 items 3 statements, an item 2 (people and numbers
    joined to it, keywords by IN)."""
    items = [make_item(f"Krimi {n}", subjects=["Krimi"], isbn=None) for n in range(50)]
    with count_sql() as statements:
        assert len(client.get("/api/v1/media?q=krimi&per_page=50").json["items"]) == 50
    assert len(statements) == 3, statements
    with count_sql() as statements:
        assert client.get(f"/api/v1/media/{items[0].id}").status_code == 200
    assert len(statements) == 2, statements
