"""Issue 3: the public catalogue under load, against a bare /healthz of the same server."""

from __future__ import annotations

from bench.scenarios import Context, Outcome, Target, scenario

P99 = Target("p99_ms", "<", 100, source="issue 3")


@scenario("healthz", title="GET /healthz (baseline)", targets=[P99], order=0, baseline=True)
def healthz(ctx: Context) -> Outcome:
    """The bare route: what the server stack alone can do."""
    return ctx.http("/healthz")


@scenario(
    "catalogue_api",
    title="Catalogue API, search",
    targets=[Target("ratio_to_healthz", ">=", 0.5, source="issue 3"), P99],
    order=10,
)
def catalogue_api(ctx: Context) -> Outcome:
    """Full-text search through the JSON API, first page."""
    return ctx.http("/api/v1/courses?q=englisch&page=1")


@scenario(
    "catalogue_html",
    title="Catalogue page (HTML)",
    targets=[Target("ratio_to_healthz", ">=", 0.35, source="issue 3"), P99],
    order=20,
)
def catalogue_html(ctx: Context) -> Outcome:
    """The resident's first page: filters and the first 20 courses."""
    return ctx.http("/courses")


@scenario("course_page", title="Course page (HTML)", targets=[P99], order=30)
def course_page(ctx: Context) -> Outcome:
    """A published course from the middle of the data set, with its 10 sessions."""
    course_id = ctx.facts.get("course_id")
    if course_id is None:
        published = ctx.scalar("SELECT count(*) FROM courses WHERE status = 'published'")
        course_id = ctx.scalar(
            "SELECT id FROM courses WHERE status = 'published' ORDER BY id LIMIT 1 OFFSET :n",
            n=max(0, int(published or 0) // 2),
        )
        if course_id is None:
            raise RuntimeError("no published course in the benchmark database")
        ctx.facts["course_id"] = int(course_id)
    return ctx.http(f"/courses/{course_id}")
