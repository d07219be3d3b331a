"""Search quality of the media catalogue, on SQLite (FTS5) and PostgreSQL (German tsvector).

The same promises as the course catalogue: German word forms ("Krimis" finds "Krimi"),
umlauts, every text searched, ranked (title, people and series above the description),
filters, facets with counts, pages, and few SQL statements per page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from media.catalogue.search import MediaQuery, search, stems
from media.models import MediaItem, MediaKind


@pytest.fixture
def shelf(make_item: Callable[..., MediaItem]) -> dict[str, MediaItem]:
    """A small library with words the German search must find in other forms."""
    return {
        "krimi": make_item(
            "Der Krimi vom Deich",
            authors=["Anna Berg"],
            subjects=["Krimi", "Nordfriesland"],
            year=2019,
            min_age=12,
            isbn="978-3-16-148410-0",
        ),
        "krimis": make_item(
            "Drei Krimis aus Friesland",
            kind="audiobook",
            authors=["Ole Olsen"],
            narrators=["Jens Wawrczeck"],
            subjects=["Kriminalroman"],
            year=2021,
            min_age=16,
            duration_seconds=27_900,
        ),
        "maerchen": make_item(
            "Märchen der Brüder Grimm",
            authors=["Jacob Grimm", "Wilhelm Grimm"],
            subjects=["Märchen"],
            year=1999,
            min_age=6,
        ),
        "garten": make_item(
            "Gärtnern auf dem Balkon",
            authors=["Petra Pflanz"],
            subjects=["Garten"],
            description="Tomaten, Kräuter und Erdbeeren in Kübeln ziehen.",
            year=2023,
            min_age=0,
            classification="Nn 6",
        ),
        "serie": make_item(
            "Ostfriesensturm",
            authors=["Klaus-Peter Wolf"],
            series_title="Ostfriesland-Krimis",
            series_number=5,
            year=2015,
        ),
        "serie1": make_item(
            "Ostfriesenkiller",
            authors=["Klaus-Peter Wolf"],
            series_title="Ostfriesland-Krimis",
            series_number=1,
            year=2007,
        ),
        "english": make_item(
            "A Crime on the Coast", authors=["Jane Doe"], language="en", kind="ebook", year=2010
        ),
        "magazin": make_item("Stadtmagazin Iserlohn", kind="emagazine", authors=[], year=2024),
        # never found by the public:
        "draft": make_item("Krimi im Entwurf", state="draft"),
        "withdrawn": make_item("Zurückgezogener Krimi", state="withdrawn"),
    }


def _found(app: Flask, **kw: Any) -> list[str]:
    """The titles a query finds, in the order it ranks them."""
    with app.test_request_context():
        page = search(MediaQuery(per_page=100, **kw))
        return [item.title for item in page.items]


def _set(app: Flask, q: str) -> set[str]:
    return set(_found(app, q=q))


def _titles(shelf: dict[str, MediaItem], *keys: str) -> set[str]:
    return {shelf[k].title for k in keys}


# --- word forms, umlauts, every text --------------------------------------------------------


def test_stems_take_off_german_endings() -> None:
    assert stems("Krimis Märchen Kurse Bücher Deich") == [
        "krimi",
        "märch",
        "kurs",
        "büch",
        "deich",
    ]


def test_krimis_finds_krimi_and_krimi_finds_krimis(app: Flask, shelf: dict) -> None:
    crime = _titles(shelf, "krimi", "krimis", "serie", "serie1")
    assert _set(app, "Krimis") == crime
    assert _set(app, "Krimi") == crime
    assert _set(app, "KRIMI") == crime


def test_umlauts_in_either_spelling(app: Flask, shelf: dict) -> None:
    fairy = _titles(shelf, "maerchen")
    assert _set(app, "Märchen") == fairy
    assert _set(app, "märchen") == fairy
    assert _set(app, "MÄRCHEN") == fairy
    assert _set(app, "Marchen") == fairy  # typed without the umlaut
    assert _set(app, "Brüder") == fairy
    assert _set(app, "Gärtnern") == _titles(shelf, "garten")


@pytest.mark.parametrize(
    ("q", "key"),
    [
        ("Wawrczeck", "krimis"),  # a narrator
        ("Grimm", "maerchen"),  # authors
        ("Ostfriesland", "serie"),  # the series (and the other volume)
        ("Kriminalroman", "krimis"),  # a keyword
        ("Nordfriesland", "krimi"),  # a keyword
        ("Tomaten", "garten"),  # the description
        ("Kübel", "garten"),  # another form of a word in the description
        ("Nn 6", "garten"),  # the classification
        ("Coast", "english"),
        ("Iserlohn", "magazin"),
    ],
)
def test_every_text_is_searched(app: Flask, shelf: dict, q: str, key: str) -> None:
    assert shelf[key].title in _set(app, q)


def test_nothing_is_found_for_unknown_words_and_punctuation(app: Flask, shelf: dict) -> None:
    assert _set(app, "Zauberei") == set()
    assert _set(app, "!!! ???") == set()
    assert _set(app, "Krimi Zauberei") == set()  # all words must match


def test_drafts_and_withdrawn_items_are_never_found(app: Flask, shelf: dict) -> None:
    assert "Krimi im Entwurf" not in _set(app, "Entwurf Krimi")
    assert _set(app, "Zurückgezogener") == set()
    assert len(_found(app)) == 8


def test_an_isbn_finds_its_item_in_any_spelling(app: Flask, shelf: dict) -> None:
    one = [shelf["krimi"].title]
    assert _found(app, q="978-3-16-148410-0") == one
    assert _found(app, q="9783161484100") == one
    assert _found(app, q="3-16-148410-X") == one  # as ISBN-10
    assert _found(app, q="978-3-16-148410-1") == []  # a wrong check digit finds nothing


# --- ranking ---------------------------------------------------------------------------------


def test_a_title_hit_ranks_above_a_description_hit(
    app: Flask, make_item: Callable[..., MediaItem]
) -> None:
    blurb = make_item(
        "Ferien am Meer",
        description="Die Nordsee ruft: Nordsee-Inseln, Nordsee-Strände und Nordsee-Krabben.",
    )
    by_person = make_item("Gedichte", authors=["Hanna Nordsee"])
    titled = make_item("Sturm über der Nordsee")
    ranked = _found(app, q="Nordsee")
    # title and people are the head: both above four mentions in the description
    assert set(ranked[:2]) == {titled.title, by_person.title}
    assert ranked[2] == blurb.title


def test_a_series_hit_ranks_above_a_keyword_hit(
    app: Flask, make_item: Callable[..., MediaItem]
) -> None:
    keyword = make_item("Tatort Watt", subjects=["Inselkrimi"])
    series = make_item("Band eins", series_title="Inselkrimi", series_number=1)
    assert _found(app, q="Inselkrimi") == [series.title, keyword.title]


# --- filters ---------------------------------------------------------------------------------


def test_filters(app: Flask, shelf: dict) -> None:
    assert _found(app, kind=MediaKind.AUDIOBOOK) == [shelf["krimis"].title]
    assert _found(app, language="en") == [shelf["english"].title]
    assert _found(app, subject="Märchen") == [shelf["maerchen"].title]
    # audience: suitable for a six-year-old (rated 0 or 6; unrated items are left out)
    assert set(_found(app, audience=6)) == _titles(shelf, "maerchen", "garten")
    assert set(_found(app, audience=12)) == _titles(shelf, "maerchen", "garten", "krimi")
    assert set(_found(app, year_from=2015, year_to=2021)) == _titles(
        shelf, "krimi", "krimis", "serie"
    )
    assert set(_found(app, year_from=2023)) == _titles(shelf, "garten", "magazin")
    assert _found(app, contributor="Anna Berg") == [shelf["krimi"].title]
    assert _found(app, q="Krimi", kind=MediaKind.EBOOK, year_to=2010) == [shelf["serie1"].title]


def test_a_series_lists_its_volumes_in_order(app: Flask, shelf: dict) -> None:
    assert _found(app, series="Ostfriesland-Krimis") == [
        shelf["serie1"].title,
        shelf["serie"].title,
    ]


def test_sorting(app: Flask, shelf: dict) -> None:
    by_title = _found(app, sort="title")
    assert by_title == sorted(by_title)
    by_year = _found(app, sort="year")
    assert by_year[:2] == [shelf["magazin"].title, shelf["garten"].title]
    assert _found(app)[0] == shelf["magazin"].title  # newest first without a search
    assert MediaQuery(q="x", sort="relevance").effective_sort() == "relevance"
    assert MediaQuery(sort="relevance").effective_sort() == "new"  # nothing to rank by


# --- facets and pages ------------------------------------------------------------------------


def _facets(app: Flask, **kw: Any) -> dict[str, list[tuple[Any, int]]]:
    with app.test_request_context():
        page = search(MediaQuery(**kw))
        return {k: [(f.value, f.count) for f in v] for k, v in page.facets.items()}


def test_facets_count_the_whole_result(app: Flask, shelf: dict) -> None:
    facets = _facets(app, per_page=1)
    assert facets["kind"] == [
        (MediaKind.EBOOK, 6),
        (MediaKind.AUDIOBOOK, 1),
        (MediaKind.EMAGAZINE, 1),
    ]
    assert facets["language"] == [("de", 7), ("en", 1)]
    # ages count cumulatively: "suitable for 12" holds what is rated 0, 6 and 12
    assert facets["audience"] == [(0, 1), (6, 2), (12, 3), (16, 4), (18, 4)]
    assert facets["decade"] == [(2020, 3), (2010, 3), (2000, 1), (1990, 1)]
    assert ("Märchen", 1) in facets["subject"] and len(facets["subject"]) == 5


def test_facets_follow_the_query(app: Flask, shelf: dict) -> None:
    facets = _facets(app, q="Krimi")
    assert facets["kind"] == [(MediaKind.EBOOK, 3), (MediaKind.AUDIOBOOK, 1)]
    assert facets["decade"] == [(2020, 1), (2010, 2), (2000, 1)]
    assert dict(facets["subject"]) == {"Krimi": 1, "Nordfriesland": 1, "Kriminalroman": 1}
    assert _facets(app, q="Zauberei")["kind"] == []


def test_the_top_subjects_come_first(app: Flask, make_item: Callable[..., MediaItem]) -> None:
    for n in range(3):
        make_item(f"Krimi {n}", subjects=["Krimi", f"Ort {n}"])
    make_item("Noch einer", subjects=["Ort 1"])
    with app.test_request_context():
        page = search(MediaQuery(), subject_facets=2)
    assert [(f.value, f.count) for f in page.facets["subject"]] == [("Krimi", 3), ("Ort 1", 2)]


def test_pages(app: Flask, shelf: dict) -> None:
    with app.test_request_context():
        first = search(MediaQuery(per_page=3))
        third = search(MediaQuery(per_page=3, page=3))
        beyond = search(MediaQuery(per_page=3, page=9))
        huge = search(MediaQuery(per_page=10_000))
    assert (first.total, first.pages, len(first.items)) == (8, 3, 3)
    assert len(third.items) == 2 and third.total == 8
    assert not {i.id for i in first.items} & {i.id for i in third.items}
    assert beyond.items == [] and beyond.total == 8
    assert huge.per_page == 100


def test_a_page_costs_three_statements_whatever_its_size(
    app: Flask, shelf: dict, count_sql: Callable[[], Any]
) -> None:
    for kw in ({}, {"q": "Krimi"}, {"q": "Krimi", "kind": MediaKind.EBOOK, "audience": 16}):
        for per_page in (2, 50):
            with app.test_request_context(), count_sql() as statements:
                page = search(MediaQuery(per_page=per_page, **kw))
                for item in page.items:
                    assert item.contributors is not None  # loaded, no lazy load
            assert len(statements) == 3, statements
