"""Finding media: full-text search with German stemming, filters, facets, ranking and pages.

The same quality as the course catalogue (``courses/catalogue/search.py``), for the item texts
the services keep (``search_head``: title, subtitle, series, people; ``search_document``:
keywords, classification, publisher, description):

- PostgreSQL: the weighted German ``tsvector`` of migration 0007 with a GIN index; the query's
  words lose common German endings and become prefix terms (``krimi:*``), so "Krimis" finds
  "Krimi" and "Krimi" finds "Krimis". Ranked by ``ts_rank`` with the head (weight A) far
  above the document (B).
- SQLite: FTS5 (``unicode61 remove_diacritics 2``: "Marchen" finds "Märchen") with the same
  stems as prefix terms, ranked by ``bm25`` with the head column weighted ten to one.

A page costs three statements whatever its size: the facets with the ids of the page (one
pass over the matching items: their counts also give the total), the page's items, and
their people.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from media import rules
from media.models import (
    Contributor,
    Identifier,
    IdentifierScheme,
    MediaItem,
    MediaKind,
    PublicationState,
    Subject,
)
from vhs.db import db, utcnow

SORTS = ("relevance", "new", "title", "year")
FACETS = ("kind", "language", "subject", "audience", "decade")
SUBJECT_FACETS = 12  # the most frequent keywords of the results
PER_PAGE_MAX = 100
QUERY_MAX = 200
_SUFFIXES = ("ern", "en", "er", "es", "e", "n", "s")
_MAX_WORDS = 12

# Column weights: a word in the head (title, series, people) counts ten times a word in the
# document (bm25 on SQLite); on PostgreSQL ts_rank's weights {D, C, B, A}.
_BM25_WEIGHTS = (10.0, 1.0)
_TS_RANK_WEIGHTS = "'{0.0, 0.0, 0.2, 1.0}'::float4[]"


@dataclass
class MediaQuery:
    """What a visitor asks the catalogue for (unknown values are dropped before this)."""

    q: str = ""
    kind: MediaKind | None = None
    language: str | None = None
    subject: str | None = None
    # The age of the reader: items rated for this age or younger (unrated ones are left out).
    audience: int | None = None
    year_from: int | None = None
    year_to: int | None = None
    series: str | None = None
    contributor: str | None = None
    # Only items a patron can borrow right now (the lending domain says what that means).
    available: bool = False
    sort: str = ""  # "" = best match when searching, else series order or newest first
    page: int = 1
    per_page: int = 20
    states: tuple[PublicationState, ...] = (PublicationState.PUBLISHED,)

    def effective_sort(self) -> str:
        """The order used: the one asked for, else best match for a search, series order
        within a series, newest first otherwise."""
        if self.sort in SORTS and (self.sort != "relevance" or self.q.strip()):
            return self.sort
        if self.q.strip():
            return "relevance"
        return "series" if self.series else "new"


@dataclass(frozen=True)
class FacetValue:
    """One value of a facet and how many results have it (for "audience": at most this age)."""

    value: Any
    count: int


@dataclass
class Page:
    """One page of results with the facets of the whole result."""

    items: list[MediaItem]
    total: int
    page: int
    per_page: int
    facets: dict[str, list[FacetValue]]
    query: MediaQuery = field(repr=False, default_factory=MediaQuery)

    @property
    def pages(self) -> int:
        """Number of pages (at least one)."""
        return max(1, math.ceil(self.total / self.per_page))


# --- "available now": an extension point for the lending domain --------------------------------

# A condition over ``media_items`` for a moment: "this item can be borrowed then". Media knows
# nothing of licences and loans; the library registers the condition when it plugs in.
AvailableCondition = Callable[[datetime], Any]
_available: list[AvailableCondition] = []


def register_availability(condition: AvailableCondition) -> None:
    """Say what "available now" means (the library does, once; a second one replaces it)."""
    _available[:] = [condition]


def available_condition(now: datetime) -> Any:
    """The registered "available now" condition; RuntimeError when nobody registered one."""
    if not _available:
        raise RuntimeError("no lending domain registered what 'available now' means")
    return _available[0](now)


# --- full text -------------------------------------------------------------------------------


def stems(q: str) -> list[str]:
    """Search words with common German endings taken off (a prefix search adds them back)."""
    out = []
    for token in re.findall(r"\w+", q.lower())[:_MAX_WORDS]:
        stem = token
        for suffix in _SUFFIXES:
            if len(token) - len(suffix) >= 4 and token.endswith(suffix):
                stem = token[: -len(suffix)]
                break
        out.append(stem)
    return out


def _isbn(q: str) -> str | None:
    """The ISBN-13 a query is, if it is one (typed with or without hyphens, 10 or 13 digits)."""
    try:
        return rules.normalise_isbn(q)
    except rules.IdentifierError:
        return None


def _matching(query: MediaQuery) -> sa.CTE:
    """The items that match, as a CTE: their ids with a rank (lower is better), the columns
    the facets count (kind, language, age, decade) and those the pages sort by.

    Everything of a search reads only this CTE (materialised once, as it is used more than
    once), never the items table again: one pass over the matches instead of a scan of the
    whole catalogue per facet and another for the page.
    """
    conds: list[Any] = [MediaItem.state.in_(query.states)]
    if query.kind is not None:
        conds.append(MediaItem.kind == query.kind)
    if query.language:
        conds.append(MediaItem.language == query.language)
    if query.subject:
        conds.append(
            MediaItem.id.in_(sa.select(Subject.item_id).where(Subject.term == query.subject))
        )
    if query.audience is not None:
        conds.append(MediaItem.min_age <= query.audience)
    if query.year_from is not None:
        conds.append(MediaItem.year >= query.year_from)
    if query.year_to is not None:
        conds.append(MediaItem.year <= query.year_to)
    if query.series:
        conds.append(MediaItem.series_title == query.series)
    if query.contributor:
        conds.append(
            MediaItem.id.in_(
                sa.select(Contributor.item_id).where(Contributor.name == query.contributor)
            )
        )
    if query.available:
        conds.append(available_condition(utcnow()))
    rank: Any = sa.literal(0.0, sa.Float)
    source: Any = MediaItem.__table__
    q = query.q.replace("\x00", "").strip()[:QUERY_MAX]
    isbn = _isbn(q) if q else None
    if isbn is not None:
        conds.append(
            MediaItem.id.in_(
                sa.select(Identifier.item_id).where(
                    Identifier.scheme == IdentifierScheme.ISBN, Identifier.value == isbn
                )
            )
        )
    elif q:
        words = stems(q)
        if not words:
            conds.append(sa.false())  # only punctuation: nothing to look for
        elif db.engine.dialect.name == "postgresql":
            vector = sa.literal_column("media_items.search_vector")
            tsquery = sa.func.to_tsquery("german", " & ".join(f"{w}:*" for w in words))
            conds.append(vector.op("@@")(tsquery))
            rank = -sa.func.ts_rank(sa.literal_column(_TS_RANK_WEIGHTS), vector, tsquery)
        else:
            fts = (
                sa.text(
                    "SELECT rowid AS id, bm25(media_items_fts, :head, :document) AS rank "
                    "FROM media_items_fts WHERE media_items_fts MATCH :fts"
                )
                .bindparams(
                    head=_BM25_WEIGHTS[0],
                    document=_BM25_WEIGHTS[1],
                    fts=" ".join(f'"{w}"*' for w in words),
                )
                .columns(id=sa.Integer, rank=sa.Float)
                .subquery("fts")
            )
            source = source.join(fts, fts.c.id == MediaItem.id)
            rank = fts.c.rank
    columns = [
        MediaItem.id.label("id"),
        rank.label("rank"),
        MediaItem.kind.label("kind"),
        MediaItem.language.label("language"),
        MediaItem.min_age.label("audience"),
        ((MediaItem.year // 10) * 10).label("decade"),
        MediaItem.year.label("year"),
        MediaItem.title.label("title"),
        MediaItem.series_number.label("series_number"),
        MediaItem.published_at.label("published_at"),
    ]
    return sa.select(*columns).select_from(source).where(*conds).cte("matching")


# --- facets ----------------------------------------------------------------------------------


def _facet_statement(matching: sa.CTE, subject_limit: int, page: Any = None) -> Any:
    """One statement counting every facet of the matching items (UNION ALL of GROUP BYs), and
    with ``page`` (a select of ids in page order) the page's ids as ("page", id, position)."""

    def grouped(name: str) -> Any:
        """Counts per value of the CTE's column ``name`` among the matching items."""
        value = sa.cast(matching.c[name], sa.String)
        return (
            sa.select(
                sa.literal(name).label("facet"), value.label("value"), sa.func.count().label("n")
            )
            .select_from(matching)
            .group_by(value)  # the very expression selected (PostgreSQL compares them)
        )

    subjects = (
        sa.select(
            sa.literal("subject").label("facet"),
            Subject.term.label("value"),
            sa.func.count().label("n"),
        )
        .select_from(Subject.__table__.join(matching, matching.c.id == Subject.item_id))
        .group_by(Subject.term)
        .order_by(sa.func.count().desc(), Subject.term)
        .limit(subject_limit)
        .subquery("top_subjects")
    )
    parts = [
        grouped("kind"),
        grouped("language"),
        grouped("audience"),
        grouped("decade"),
        sa.select(subjects.c.facet, subjects.c.value, subjects.c.n),
    ]
    if page is not None:
        ordered = page.subquery("page_ids")
        parts.append(
            sa.select(
                sa.literal("page").label("facet"),
                sa.cast(ordered.c.id, sa.String).label("value"),
                # The rows come from the ordered, limited subquery in its order.
                sa.func.row_number().over().label("n"),
            ).select_from(ordered)
        )
    return sa.union_all(*parts)


def _facets(rows: list[Any]) -> tuple[dict[str, list[FacetValue]], int]:
    """The facets in display order, and the total (every item has exactly one kind)."""
    raw: dict[str, list[tuple[Any, int]]] = {name: [] for name in FACETS}
    for facet, value, n in rows:
        if facet in raw:
            raw[facet].append((value, int(n)))
    kinds = dict(raw["kind"])
    total = sum(kinds.values())
    # Ages count cumulatively: "up to 12" holds everything rated 0, 6 and 12.
    rated = {int(v): n for v, n in raw["audience"] if v is not None}
    audience, running = [], 0
    for age in rules.AGE_RATINGS:
        running += rated.get(age, 0)
        if running:
            audience.append(FacetValue(age, running))
    facets = {
        "kind": [FacetValue(k, kinds[k.value]) for k in MediaKind if kinds.get(k.value)],
        "language": [
            FacetValue(v, n) for v, n in sorted(raw["language"], key=lambda p: (-p[1], p[0]))
        ],
        "subject": [FacetValue(v, n) for v, n in raw["subject"]],
        "audience": audience,
        "decade": [
            FacetValue(int(v), n)
            for v, n in sorted(
                (p for p in raw["decade"] if p[0] is not None), key=lambda p: -int(p[0])
            )
        ],
    }
    facets["subject"].sort(key=lambda f: (-f.count, f.value.casefold()))
    return facets, total


# --- the page --------------------------------------------------------------------------------


def _order(sort: str, matching: sa.CTE) -> list[Any]:
    """The ORDER BY of a sort (ties broken by id, so pages never overlap)."""
    m = matching.c
    if sort == "relevance":
        return [m.rank, m.id.desc()]
    if sort == "title":
        return [m.title, m.id]
    if sort == "year":
        return [m.year.desc().nulls_last(), m.id.desc()]
    if sort == "series":
        return [m.series_number.asc().nulls_last(), m.title, m.id]
    return [m.published_at.desc().nulls_last(), m.id.desc()]


def search(query: MediaQuery, *, subject_facets: int = SUBJECT_FACETS) -> Page:
    """Run a catalogue query: facets with the total and the page's ids, the page's items, its
    people (3 statements)."""
    per_page = min(max(query.per_page, 1), PER_PAGE_MAX)
    page = max(query.page, 1)
    matching = _matching(query)
    page_ids = (
        sa.select(matching.c.id)
        .order_by(*_order(query.effective_sort(), matching))
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    rows = list(db.session.execute(_facet_statement(matching, subject_facets, page_ids)))
    facets, total = _facets(rows)
    order = [
        int(value)
        for _facet, value, _n in sorted(
            (r for r in rows if r[0] == "page"), key=lambda r: int(r[2])
        )
    ]
    items: list[MediaItem] = []
    if order:
        found = {
            item.id: item
            for item in db.session.execute(
                sa.select(MediaItem)
                .where(MediaItem.id.in_(order))
                .options(selectinload(MediaItem.contributors))
            ).scalars()
        }
        items = [found[i] for i in order if i in found]
    return Page(items=items, total=total, page=page, per_page=per_page, facets=facets, query=query)
