"""Public pages of the media catalogue (/media, /media/<id>), the nav entry and the home page."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from media.catalogue import cache as media_cache
from media.models import MediaItem
from tests.vhs.conftest import shows, tr

SHA = "ab" * 32


def text(resp: Any) -> str:
    """The page as text, non-breaking spaces made plain."""
    return resp.get_data(as_text=True).replace("\xa0", " ")


@pytest.fixture
def shelf(make_item: Callable[..., MediaItem]) -> dict[str, MediaItem]:
    """Published items of two kinds, a series volume, a draft and a withdrawn item."""
    return {
        "krimi": make_item(
            "Tod am Deich",
            authors=["Anna Berg"],
            narrators=["Jens Wawrczeck"],
            kind="audiobook",
            subjects=["Krimi", "Nordsee"],
            series_title="Deich-Krimis",
            series_number=3,
            year=2021,
            min_age=12,
            duration_seconds=27_900,
            isbn="978-3-16-148410-0",
            publisher="Deichverlag",
            description="Ein Mord am Deich.\n\nKommissarin Ahlers ermittelt.",
            cover_sha256=SHA,
        ),
        "other": make_item("Sturm am Deich", authors=["Anna Berg"], year=2019, pages=320),
        "maerchen": make_item("Märchen", authors=["Jacob Grimm"], subjects=["Märchen"]),
        "draft": make_item("Geheimer Entwurf", state="draft"),
        "withdrawn": make_item("Zurückgezogen", state="withdrawn"),
    }


# --- the catalogue ---------------------------------------------------------------------------


def test_catalogue_lists_published_items_with_facets(app: Flask, client: Any, shelf: dict) -> None:
    resp = client.get("/media")
    assert resp.status_code == 200
    page = text(resp)
    for key in ("krimi", "other", "maerchen"):
        assert shows(resp, shelf[key].title)
    assert "Geheimer Entwurf" not in page and "Zurückgezogen" not in page
    assert "3 Medien gefunden" in page
    # facets are plain links (no JavaScript), with counts
    assert 'href="/media?kind=audiobook"' in page
    assert 'href="/media?subject=Krimi"' in page
    assert re.search(r"Hörbuch</a> <span class=\"count\">\(1\)</span>", page)
    # the cover thumbnail where there is one, a placeholder otherwise
    assert f'src="/media/covers/{SHA}-160.jpg"' in page
    assert 'class="cover-placeholder"' in page
    assert shows(resp, tr(app, "Volume %(n)d of %(series)s", n=3, series="Deich-Krimis")[:4])


def test_catalogue_search_and_filters(client: Any, shelf: dict) -> None:
    page = text(client.get("/media?q=Krimis"))
    assert "Tod am Deich" in page and "Märchen" not in page
    page = text(client.get("/media?kind=ebook"))
    assert "Sturm am Deich" in page and "Tod am Deich" not in page
    # an active filter is shown, with a link that removes it (keeping the search)
    page = text(client.get("/media?q=Deich&kind=ebook"))
    assert 'href="/media?q=Deich"' in page
    page = text(client.get("/media?audience=12"))
    assert "Tod am Deich" in page and "Sturm am Deich" not in page  # not rated
    page = text(client.get("/media?series=Deich-Krimis"))
    assert "Reihe: Deich-Krimis" in page and "Sturm am Deich" not in page
    page = text(client.get("/media?contributor=Jacob+Grimm"))
    assert "Medien von Jacob Grimm" in page and "Tod am Deich" not in page


@pytest.mark.parametrize(
    "query",
    [
        "kind=vinyl",
        "audience=7",
        "audience=-1",
        "year_from=abc",
        "year_to=99999999999999",
        "language=klingon",
        "page=0",
        "page=999999999",
        "sort=random",
        "q=" + "x" * 5000,
        "subject=" + "y" * 5000,
    ],
)
def test_malformed_filters_are_ignored(client: Any, shelf: dict, query: str) -> None:
    assert client.get(f"/media?{query}").status_code == 200


def test_catalogue_pages(client: Any, make_item: Callable[..., MediaItem]) -> None:
    for n in range(23):
        make_item(f"Band {n:02d}")
    first = text(client.get("/media"))
    assert 'href="/media?page=2"' in first and "Seite 1 von 2" in first
    second = text(client.get("/media?page=2"))
    assert "Seite 2 von 2" in second and 'href="/media?page=1"' in second
    assert "Keine weiteren Ergebnisse" not in second
    beyond = text(client.get("/media?page=5"))
    assert 'href="/media"' in beyond


def test_nothing_found_says_so(app: Flask, client: Any, shelf: dict) -> None:
    resp = client.get("/media?q=Zauberei")
    assert shows(resp, tr(app, "No medium matches your search. Try fewer filters or another word."))


# --- the item page ---------------------------------------------------------------------------


def test_item_page_shows_everything(app: Flask, client: Any, shelf: dict) -> None:
    item = shelf["krimi"]
    resp = client.get(f"/media/{item.id}")
    assert resp.status_code == 200
    page = text(resp)
    assert "<h1>Tod am Deich</h1>" in page
    assert f'src="/media/covers/{SHA}-480.jpg"' in page
    assert 'alt="Cover von „Tod am Deich“"' in page
    assert 'Band 3 von <a href="/media?series=Deich-Krimis">Deich-Krimis</a>' in page
    assert '<a href="/media?contributor=Anna+Berg">Anna Berg</a>' in page
    assert "Jens Wawrczeck" in page and "Sprecher" in page
    assert "Deichverlag" in page and "9783161484100" in page
    assert "Deutsch" in page and "7 Std. 45 Min." in page
    assert tr(app, "Age %(n)d and over", n=12) in page
    assert "<p>Ein Mord am Deich.</p>" in page and "<p>Kommissarin Ahlers ermittelt.</p>" in page
    assert 'href="/media?subject=Nordsee"' in page
    # more by the same author
    assert "Mehr von Anna Berg" in page and "Sturm am Deich" in page
    assert "Bearbeiten" not in page  # no staff link for visitors


def test_item_without_cover_shows_a_placeholder(client: Any, shelf: dict) -> None:
    page = text(client.get(f"/media/{shelf['other'].id}"))
    cover = page.split('<div class="item-cover">')[1].split("</div>")[0]
    assert cover == '<span class="cover-placeholder large" aria-hidden="true">E-Book</span>'

    assert "320 Seiten" in page


def test_item_page_in_english(client: Any, shelf: dict) -> None:
    client.submit("/language", {"lang": "en"})
    page = text(client.get(f"/media/{shelf['krimi'].id}"))
    assert "Volume 3 of" in page and "German" in page and "Narrator" in page
    assert "7 h 45 min" in page


def test_drafts_and_withdrawn_items_are_404_to_the_public(
    client: Any, shelf: dict, login: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    for key in ("draft", "withdrawn"):
        assert client.get(f"/media/{shelf[key].id}").status_code == 404
    assert client.get("/media/999999").status_code == 404
    login(make_user("resident"))
    for key in ("draft", "withdrawn"):
        assert client.get(f"/media/{shelf[key].id}").status_code == 404


def test_staff_see_drafts_with_their_state_and_an_edit_link(
    client: Any, shelf: dict, login: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    login(make_user("staff"))
    page = text(client.get(f"/media/{shelf['draft'].id}"))
    assert "Geheimer Entwurf" in page and "Entwurf</span>" in page
    assert f'href="/staff/media/{shelf["draft"].id}/edit"' in page
    # the public catalogue stays the public one, also for staff
    assert "Geheimer Entwurf" not in text(client.get("/media"))


# --- navigation and the home page ------------------------------------------------------------


def test_nav_and_home_page_lead_to_the_catalogue(client: Any, shelf: dict) -> None:
    home = text(client.get("/"))
    assert '<a href="/media">Medien</a>' in home
    assert "Medien ausleihen" in home
    assert 'class="button primary" href="/media"' in home
    assert f'href="/media/{shelf["krimi"].id}"' in home
    assert "Geheimer Entwurf" not in home


def test_staff_nav_has_the_media_stock(
    client: Any, login: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    assert 'href="/staff/media"' not in text(client.get("/"))
    login(make_user("staff"))
    assert '<a href="/staff/media">Medienbestand</a>' in text(client.get("/"))


# --- caching: never stale ------------------------------------------------------------------


@pytest.fixture
def cached(app: Flask) -> Iterator[None]:
    """Response caches on, and empty, for one test."""
    app.config["RESPONSE_CACHE"] = True
    media_cache.pages.clear()
    media_cache.api_pages.clear()
    try:
        yield
    finally:
        app.config.pop("RESPONSE_CACHE", None)
        media_cache.pages.clear()
        media_cache.api_pages.clear()


def test_cached_pages_show_an_edit_and_a_withdrawal_at_once(
    cached: None,
    client: Any,
    shelf: dict,
    make_user: Callable[..., Any],
    api_token: Callable[..., dict[str, str]],
) -> None:
    item = shelf["krimi"]
    assert "Tod am Deich" in text(client.get("/media"))
    hits = media_cache.pages.hits
    assert "Tod am Deich" in text(client.get("/media"))
    assert media_cache.pages.hits == hits + 1
    assert client.get(f"/media/{item.id}").status_code == 200

    headers = api_token(make_user("staff"))
    resp = client.patch(
        f"/api/v1/staff/media/{item.id}", json={"title": "Tod im Watt"}, headers=headers
    )
    assert resp.status_code == 200, resp.json
    page = text(client.get("/media"))
    assert "Tod im Watt" in page and "Tod am Deich" not in page

    resp = client.post(f"/api/v1/staff/media/{item.id}/withdraw", headers=headers)
    assert resp.status_code == 200, resp.json
    assert client.get(f"/media/{item.id}").status_code == 404
    assert "Tod im Watt" not in text(client.get("/media"))


def test_cached_pages_carry_each_visitors_own_form_token(
    cached: None, app: Flask, shelf: dict
) -> None:
    tokens = set()
    for _ in range(2):
        app.test_client_class = None
        with app.test_client() as visitor:
            page = visitor.get("/media").get_data(as_text=True)
            assert media_cache.TOKEN_SLOT not in page
            tokens.add(re.search(r'name="csrf_token" value="([^"]+)"', page).group(1))
    assert len(tokens) == 2


def test_pages_cost_few_statements(
    client: Any, make_item: Callable[..., MediaItem], count_sql: Callable[[], Any]
) -> None:
    """Without the cache: a catalogue page 3 statements whatever its size, an item page 6."""
    items = [
        make_item(f"Krimi {n}", subjects=["Krimi", f"Ort {n}"], authors=[f"Autor {n}", "Anna Berg"])
        for n in range(12)
    ]
    for url, most in (
        ("/media", 3),
        ("/media?q=Krimi&kind=ebook", 3),
        (f"/media/{items[0].id}", 6),
    ):
        with count_sql() as statements:
            assert client.get(url).status_code == 200
        assert len(statements) <= most, (url, statements)
