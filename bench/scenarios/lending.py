"""Issue 12: lending at scale (``--scale 100``: 2,000 patrons with cards, 15,000 licences,
50,000 loans of which 4,000 are open; seeded by ``library/demo.py``).

- **Borrow + return round trip** through the API: each connection is a virtual patron with
  an API token of its own, who borrows an item (``POST /api/v1/media/{id}/loans``) and gives
  it back (``DELETE /api/v1/loans/{id}``), over and over, each patron on items of their own
  (free copies, nobody waiting), so the patrons do not queue for one item's lock. p50 and p99
  of the round trip (both requests); server CPU per request from ``/proc`` as for the other
  scenarios; then one patron alone for a few seconds (``solo_p50_ms``: the round trip's own
  latency, without queueing behind the others for the server's CPUs). wrk cannot chain a request to the answer of the one before on the same
  connection, so the Python client drives this one (a thread per patron).
- **"My loans"** of the patron with the most open loans (as many as ``VHS_LIBRARY_MAX_LOANS``
  allows), as a page (``/library/account``, logged in through the login form) and through
  the API (``GET /api/v1/me/loans``, a token): p99 under load, and the SQL statements of one
  request, counted in process on the same database (``sql_statements``; the target is the
  issue's "at most 6, whatever the number of loans", which ``tests/library/test_queries.py``
  holds for 1 and for 30 loans).
"""

from __future__ import annotations

import http.client
import http.cookiejar
import json
import re
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from bench.load import _percentile
from bench.scenarios import Context, Outcome, Target, scenario

PATRONS = 8  # virtual patrons of the round trip (one per connection at the default 8)
ITEMS_PER_PATRON = 5
SOLO_SECONDS = 5.0  # one patron alone after the loaded run
MANY_LOANS_PATRON = "person1@example.org"
SQL = Target("sql_statements", "<=", 6, source="issue 12")
P99 = Target("p99_ms", "<", 100, source="issue 12")


# --- the round-trip driver (also run against a stand-in server by tests/test_bench.py) ---------


@dataclass
class RoundTrips:
    """What the round-trip driver measured: latencies of whole borrow + return cycles."""

    cycles: int
    seconds: float
    latencies_ms: list[float]
    errors: int
    error_samples: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        """HTTP requests made (two per cycle)."""
        return self.cycles * 2


def borrow_return_cycles(
    base_url: str,
    patrons: list[tuple[str, list[int]]],
    seconds: float,
    *,
    days: int = 7,
) -> RoundTrips:
    """Each patron (API token, item ids) borrows an item and returns it, in a closed loop on
    a keep-alive connection of their own, for ``seconds``."""
    parts = urllib.parse.urlsplit(base_url)
    latencies: list[list[float]] = [[] for _ in patrons]
    errors = [0] * len(patrons)
    samples: list[str] = []
    stop_at = time.perf_counter() + seconds

    def request(
        conn: http.client.HTTPConnection, method: str, path: str, token: str, body: bytes | None
    ) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()

    def patron(i: int) -> None:
        token, items = patrons[i]
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        turn = 0
        while time.perf_counter() < stop_at:
            item_id = items[turn % len(items)]
            turn += 1
            t0 = time.perf_counter()
            try:
                status, body = request(
                    conn,
                    "POST",
                    f"/api/v1/media/{item_id}/loans",
                    token,
                    json.dumps({"days": days}).encode(),
                )
                if status != 201:
                    raise RuntimeError(f"borrow answered {status}: {body[:200]!r}")
                loan_id = json.loads(body)["id"]
                status, body = request(conn, "DELETE", f"/api/v1/loans/{loan_id}", token, None)
                if status != 200:
                    raise RuntimeError(f"return answered {status}: {body[:200]!r}")
            except (OSError, http.client.HTTPException, RuntimeError, ValueError) as exc:
                errors[i] += 1
                if len(samples) < 5:
                    samples.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
                continue
            latencies[i].append((time.perf_counter() - t0) * 1000)
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=patron, args=(i,)) for i in range(len(patrons))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    values = sorted(x for per in latencies for x in per)
    return RoundTrips(
        cycles=len(values),
        seconds=time.perf_counter() - started,
        latencies_ms=values,
        errors=sum(errors),
        error_samples=samples,
    )


# --- facts from the benchmark database ---------------------------------------------------------


def _token_for(email: str) -> str:
    """A fresh API token of the account (in the app's context, committed)."""
    from vhs.accounts.models import User
    from vhs.accounts.services import create_api_token
    from vhs.db import db

    user = db.session.execute(sa.select(User).where(User.email == email)).scalar_one()
    _token, plaintext = create_api_token(user, "bench")
    return plaintext


def _round_trip_patrons(ctx: Context) -> list[tuple[str, list[int]]]:
    """Patrons with a card and no open loan, each with items of their own that have a free
    copy and nobody waiting (made once per run)."""
    if "lending_patrons" in ctx.facts:
        return ctx.facts["lending_patrons"]
    from library.licences.availability import item_copies
    from library.models import Hold, HoldState, LibraryCard, Licence, Loan
    from vhs.accounts.models import User
    from vhs.db import db, utcnow

    app = ctx.app()
    with app.app_context():
        now = utcnow()
        emails = list(
            db.session.execute(
                sa.select(User.email)
                .join(LibraryCard, LibraryCard.user_id == User.id)
                .where(
                    User.email.like("person%@example.org"),
                    User.email != MANY_LOANS_PATRON,
                    ~sa.exists().where(Loan.user_id == User.id, Loan.ended_at.is_(None)),
                )
                .order_by(User.id)
                .limit(PATRONS)
            ).scalars()
        )
        if len(emails) < PATRONS:
            raise RuntimeError(
                f"only {len(emails)} patrons without open loans: seed with --scale 100"
            )
        candidates = db.session.execute(
            sa.select(Licence.item_id)
            .where(
                Licence.checkouts_total.is_(None),
                Licence.expires_at.is_(None),
                Licence.active_loans == 0,
                Licence.reserved == 0,
                ~sa.exists().where(Hold.item_id == Licence.item_id, Hold.state != HoldState.ENDED),
            )
            .order_by(Licence.item_id)
            .limit(PATRONS * ITEMS_PER_PATRON * 2)
        ).scalars()
        items = [i for i in candidates if item_copies(i, now).available > 0]
        items = items[: PATRONS * ITEMS_PER_PATRON]
        if len(items) < PATRONS * ITEMS_PER_PATRON:
            raise RuntimeError("not enough items with a free copy for the round trips")
        patrons = []
        for n, email in enumerate(emails):
            own = items[n * ITEMS_PER_PATRON : (n + 1) * ITEMS_PER_PATRON]
            patrons.append((_token_for(email), own))
        db.session.commit()
        db.session.remove()
    ctx.facts["lending_patrons"] = patrons
    return patrons


def _many_loans(ctx: Context) -> dict[str, Any]:
    """The patron with the most open loans: an API token, a session cookie (logged in through
    the form, as a browser) and the number of loans (made once per run)."""
    if "many_loans" in ctx.facts:
        return ctx.facts["many_loans"]
    from library.models import Loan
    from vhs.accounts.models import User
    from vhs.db import db, utcnow

    app = ctx.app()
    with app.app_context():
        user = db.session.execute(
            sa.select(User).where(User.email == MANY_LOANS_PATRON)
        ).scalar_one_or_none()
        if user is None:
            raise RuntimeError(f"{MANY_LOANS_PATRON} is missing: seed the demo data first")
        loans = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Loan)
            .where(Loan.user_id == user.id, Loan.ended_at.is_(None), Loan.due_at > utcnow())
        )
        token = _token_for(MANY_LOANS_PATRON)
        db.session.commit()
        db.session.remove()
    ctx.facts["many_loans"] = {"token": token, "loans": int(loans or 0)}
    return ctx.facts["many_loans"]


def _session_cookie(base_url: str, email: str, password: str) -> str:
    """Log in through the login form; the session cookie as a ``Cookie`` header value."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base_url + "/account/login", timeout=30).read().decode()
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if match is None:
        raise RuntimeError("no CSRF token on the login form")
    data = urllib.parse.urlencode(
        {"csrf_token": match.group(1), "email": email, "password": password}
    ).encode()
    opener.open(base_url + "/account/login", data=data, timeout=30).read()
    cookies = "; ".join(f"{c.name}={c.value}" for c in jar)
    if "session=" not in cookies:
        raise RuntimeError("the login form set no session cookie")
    return cookies


def count_statements(ctx: Context, path: str, headers: dict[str, str]) -> int:
    """SQL statements of one GET ``path`` in process, on the benchmark database (the second
    of two requests: templates compiled, translations loaded)."""
    from vhs.db import db

    app = ctx.app()
    client = app.test_client()
    # The test client sends the cookies of its own jar, not a Cookie header: put them there.
    for pair in headers.pop("Cookie", "").split(";"):
        name, _, value = pair.strip().partition("=")
        if name:
            client.set_cookie(name, value)
    statements: list[str] = []

    def before(*args: Any) -> None:
        statements.append(args[2])

    with app.app_context():
        engine = db.engine
    client.get(path, headers=headers)
    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        resp = client.get(path, headers=headers)
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
    if resp.status_code != 200:
        raise RuntimeError(f"GET {path} answered {resp.status_code} in process")
    return len(statements)


def _with_statements(outcome: Outcome, count: int, loans: int) -> Outcome:
    outcome.metrics["sql_statements"] = count
    outcome.metrics["open_loans"] = loans
    outcome.notes.append(f"{loans} open loans; {count} SQL statements per request")
    return outcome


# --- the scenarios -----------------------------------------------------------------------------


@scenario(
    "lending_round_trip",
    title="Borrow + return round trip (API)",
    targets=[Target("p50_ms", "<=", 20, source="issue 12")],
    order=50,
)
def lending_round_trip(ctx: Context) -> Outcome:
    """Virtual patrons borrow and return, each on items of their own."""
    if ctx.driver is None or ctx.base_url is None:
        raise RuntimeError("this scenario needs the server")
    from bench import cpu

    patrons = _round_trip_patrons(ctx)
    spec = ctx.driver.spec
    patrons = patrons[: max(1, min(spec.connections, len(patrons)))]
    warm = borrow_return_cycles(ctx.base_url, patrons, spec.warmup_s)
    if warm.errors and not warm.cycles:
        raise RuntimeError("no round trip succeeded: " + "; ".join(warm.error_samples))
    probe = cpu.CpuProbe(ctx.server_pid, ctx.engine) if ctx.server_pid and cpu.available() else None
    if probe is not None:
        probe.start()
    run = borrow_return_cycles(ctx.base_url, patrons, spec.duration_s)
    server = probe.stop() if probe is not None else {}
    # The same cycle with the server to one patron: the round trip's own latency, without
    # queueing behind the other patrons' requests for the server's CPUs.
    solo = borrow_return_cycles(ctx.base_url, patrons[:1], min(spec.duration_s, SOLO_SECONDS))
    metrics: dict[str, Any] = {
        "rps": run.cycles / run.seconds if run.seconds else 0.0,
        "p50_ms": _percentile(run.latencies_ms, 50),
        "p90_ms": _percentile(run.latencies_ms, 90),
        "p99_ms": _percentile(run.latencies_ms, 99),
        "max_ms": run.latencies_ms[-1] if run.latencies_ms else 0.0,
        "requests": run.requests,
        "round_trips": run.cycles,
        "errors": run.errors + solo.errors,
        "solo_p50_ms": _percentile(solo.latencies_ms, 50),
        "solo_p99_ms": _percentile(solo.latencies_ms, 99),
        "solo_round_trips": solo.cycles,
    }
    if server.get("server_cpu_s") and run.requests:
        metrics["cpu_ms_per_request"] = server["server_cpu_s"] * 1000 / run.requests
        metrics["cpu_ms_per_round_trip"] = server["server_cpu_s"] * 1000 / run.cycles
    notes = [
        f"{len(patrons)} virtual patrons, {ITEMS_PER_PATRON} items each; req/s, p50 and p99 are "
        "of whole round trips (borrow, then return: two requests); server CPU per request",
        "driven by the Python client (each return needs the loan id the borrow answered)",
        f"one patron alone ({solo.cycles} round trips): p50 {metrics['solo_p50_ms']:.1f} ms, "
        f"p99 {metrics['solo_p99_ms']:.1f} ms",
    ]
    notes += [f"error: {s}" for s in run.error_samples]
    return Outcome(
        path="POST /api/v1/media/{id}/loans + DELETE /api/v1/loans/{id}",
        metrics=metrics,
        notes=notes,
    )


@scenario(
    "my_loans_html",
    title='"My loans" page (HTML), patron with many loans',
    targets=[P99, SQL],
    order=51,
)
def my_loans_html(ctx: Context) -> Outcome:
    """``/library/account`` of the patron with the most open loans, logged in by the form."""
    from vhs.demo import DEMO_PASSWORD

    facts = _many_loans(ctx)
    if "many_loans_cookie" not in ctx.facts:
        assert ctx.base_url is not None
        ctx.facts["many_loans_cookie"] = _session_cookie(
            ctx.base_url, MANY_LOANS_PATRON, DEMO_PASSWORD
        )
    headers = {"Cookie": ctx.facts["many_loans_cookie"]}
    outcome = ctx.http("/library/account", headers)
    # In process the same cookie opens the same session: the app shares the server's key.
    count = count_statements(ctx, "/library/account", dict(headers))
    return _with_statements(outcome, count, facts["loans"])


@scenario(
    "my_loans_api",
    title="GET /api/v1/me/loans, patron with many loans",
    targets=[P99, SQL],
    order=52,
)
def my_loans_api(ctx: Context) -> Outcome:
    """The patron's current loans through the API (a personal API token)."""
    facts = _many_loans(ctx)
    headers = {"Authorization": f"Bearer {facts['token']}"}
    outcome = ctx.http("/api/v1/me/loans", headers)
    count = count_statements(ctx, "/api/v1/me/loans", headers)
    return _with_statements(outcome, count, facts["loans"])
