"""Issue 11: the media catalogue under load (20,000 items at ``--scale 100``), against a bare
/healthz of the same server.

The catalogue's answers are cached until the catalogue changes (``media/catalogue/cache.py``),
as the course catalogue's are, so the search scenarios measure what a popular search costs.
Two more drive many different URLs in turn, so that (nearly) every request is computed: item
pages (1,000 items, more than a worker's page cache holds) and searches (different words and
pages).
"""

from __future__ import annotations

from urllib.parse import quote

from bench.scenarios import Context, Outcome, Target, scenario

P99 = Target("p99_ms", "<", 100, source="issue 11")
ITEMS = 1000  # more than the page cache of a worker holds (media/catalogue/cache.py: 512)
WORDS = [
    "krimi",
    "roman",
    "kinder",
    "sauerland",
    "seilersee",
    "wandern",
    "hörbuch",
    "yoga",
    "garten",
    "geschichte",
    "iserlohn",
    "natur",
    "kochen",
    "familie",
    "spannung",
    "abenteuer",
    "zeitschrift",
    "programmheft",
    "vögel",
    "excel",
    "märchen",
    "reisen",
    "thriller",
    "tod",
]


@scenario(
    "media_api",
    title="Media API, search",
    targets=[Target("ratio_to_healthz", ">=", 0.5, source="issue 11"), P99],
    order=40,
)
def media_api(ctx: Context) -> Outcome:
    """Full-text search through the JSON API, first page with facets."""
    return ctx.http("/api/v1/media?q=krimi")


@scenario(
    "media_api_filtered",
    title="Media API, search with filters",
    targets=[Target("ratio_to_healthz", ">=", 0.5, source="issue 11"), P99],
    order=41,
)
def media_api_filtered(ctx: Context) -> Outcome:
    """A search narrowed by kind, language and audience (the facet links' queries)."""
    return ctx.http("/api/v1/media?q=krimi&kind=ebook&language=de&audience=16")


@scenario(
    "media_html",
    title="Media catalogue page (HTML), search",
    targets=[Target("ratio_to_healthz", ">=", 0.35, source="issue 11"), P99],
    order=42,
)
def media_html(ctx: Context) -> Outcome:
    """The public catalogue page with a search: results, facets, filters."""
    return ctx.http("/media?q=krimi")


@scenario("media_item", title="Media item page (HTML), 1,000 items", targets=[P99], order=43)
def media_item(ctx: Context) -> Outcome:
    """Item pages of 1,000 published items spread over the catalogue, in turn."""
    ids = ctx.facts.get("media_item_ids")
    if ids is None:
        published = int(
            ctx.scalar("SELECT count(*) FROM media_items WHERE state = 'published'") or 0
        )
        if not published:
            raise RuntimeError("no published media item in the benchmark database")
        step = max(1, published // ITEMS)
        with ctx.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT id FROM media_items WHERE state = 'published' ORDER BY id"
            ).scalars()
            ids = [int(i) for n, i in enumerate(rows) if n % step == 0][:ITEMS]
        ctx.facts["media_item_ids"] = ids
    return ctx.http(f"/media/{{id}} ({len(ids):,} items)", paths=[f"/media/{i}" for i in ids])


@scenario("media_api_varied", title="Media API, 360 different searches", targets=[P99], order=44)
def media_api_varied(ctx: Context) -> Outcome:
    """Searches that miss the cache: 24 words, alone and with a kind, pages 1 to 5 (more
    URLs than a worker's API cache holds, requested in turn: every answer is computed)."""
    paths = [
        f"/api/v1/media?q={quote(word)}&page={page}" + (f"&kind={kind}" if kind else "")
        for page in range(1, 6)
        for kind in ("", "ebook", "audiobook")
        for word in WORDS
    ]
    return ctx.http("/api/v1/media?q={word}&page={n} (360 URLs)", paths=paths)
