"""Benchmark scenarios: a registry of functions, each measuring one thing.

Adding a scenario means adding a function in a module of this package (and importing the
module at the bottom of this file)::

    from bench.scenarios import Context, Outcome, Target, scenario

    @scenario(
        "feed_personal",
        title="Personal calendar feed (20 courses)",
        targets=[Target("p50_ms", "<=", 30)],
        order=60,
    )
    def feed_personal(ctx: Context) -> Outcome:
        token = ctx.scalar("SELECT ... FROM ...")          # facts from the seeded database
        return ctx.http(f"/calendar/feed/{token}.ics")     # wrk against the running gunicorn

An in-process scenario (no HTTP; e.g. "export 10,000 sessions as .ics, time and peak memory")
passes ``server=False`` and measures a call inside the app with :func:`bench.measure.measure`::

    @scenario("export_ics", title="Staff export .ics", server=False,
              targets=[Target("seconds", "<=", 1.0), Target("peak_mb", "<", 50)])
    def export_ics(ctx: Context) -> Outcome:
        app = ctx.app()
        with app.app_context():
            m = measure(lambda: build_export(...))
        return Outcome(metrics={"seconds": m.seconds, "peak_mb": m.peak_mb})

Every HTTP outcome gets ``ratio_to_healthz`` (its requests/s over the bare ``/healthz`` of the
same server in the same run). Targets compare one metric each; the report marks them pass or
MISSED and never fails the run.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from flask import Flask

    from bench.env import Database
    from bench.load import Driver

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}
_UNITS = {"p50_ms": " ms", "p90_ms": " ms", "p99_ms": " ms", "seconds": " s", "peak_mb": " MB"}
_LABELS = {"ratio_to_healthz": "× /healthz", "rps": "req/s", "peak_mb": "peak memory"}


@dataclass(frozen=True)
class Target:
    """One goal: ``metric op limit``, e.g. ``Target("p99_ms", "<", 100)``."""

    metric: str
    op: str
    limit: float
    source: str = ""  # where the goal comes from, e.g. "issue 3"

    def check(self, metrics: dict[str, Any]) -> bool | None:
        """True/False, or None when the metric was not measured."""
        value = metrics.get(self.metric)
        if value is None:
            return None
        return _OPS[self.op](float(value), self.limit)

    def describe(self) -> str:
        """Human form: "≥ 0.5 × /healthz", "p99 < 100 ms"."""
        op = {">=": "≥", "<=": "≤"}.get(self.op, self.op)
        limit = f"{self.limit:g}"
        if self.metric == "ratio_to_healthz":
            return f"{op} {limit} × /healthz"
        name = _LABELS.get(self.metric, self.metric.removesuffix("_ms"))
        return f"{name} {op} {limit}{_UNITS.get(self.metric, '')}"


@dataclass
class Outcome:
    """What a scenario measured: standard keys are rps, p50_ms, p90_ms, p99_ms, errors,
    seconds, peak_mb; anything else is kept as an extra metric."""

    metrics: dict[str, Any]
    path: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Scenario:
    """A registered measurement."""

    name: str
    title: str
    func: Callable[[Context], Outcome]
    needs_server: bool
    targets: tuple[Target, ...]
    order: int
    baseline: bool = False


@dataclass
class Context:
    """What a scenario may use: the database, the running server, the load driver."""

    database: Database
    env: dict[str, str]
    driver: Driver | None = None
    base_url: str | None = None
    server_pid: int | None = None  # the gunicorn master (for the CPU probe)
    facts: dict[str, Any] = field(default_factory=dict)
    _engine: sa.Engine | None = None
    _app: Flask | None = None

    @property
    def engine(self) -> sa.Engine:
        """A SQLAlchemy engine on the benchmark database (outside the app)."""
        if self._engine is None:
            self._engine = sa.create_engine(self.database.url)
        return self._engine

    def scalar(self, sql: str, **params: Any) -> Any:
        """One value from the benchmark database."""
        with self.engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()

    def http(
        self, path: str, headers: dict[str, str] | None = None, *, paths: list[str] | None = None
    ) -> Outcome:
        """Drive ``path`` on the running server with the load generator.

        With ``paths`` the load goes to each of them in turn (many different pages, so no
        single cached answer serves the run); ``path`` then only names them in the report.
        """
        if self.driver is None or self.base_url is None:
            raise RuntimeError("this scenario needs the server (register it with server=True)")
        for checked in (paths or [path])[:5]:
            self._check_answers(checked, headers)
        probe = None
        if self.server_pid is not None:
            from bench import cpu

            if cpu.available():
                probe = cpu.CpuProbe(self.server_pid, self.engine)
        r = self.driver.run(self.base_url + (paths or [path])[0], headers, probe=probe, paths=paths)
        metrics: dict[str, Any] = {
            "rps": r.rps,
            "p50_ms": r.p50_ms,
            "p90_ms": r.p90_ms,
            "p99_ms": r.p99_ms,
            "max_ms": r.max_ms,
            "requests": r.requests,
            "errors": r.errors,
            "kb_per_response": round(r.bytes_per_request / 1024, 1),
        }
        notes = list(r.notes)
        if r.mean_ms is not None and r.rps:
            # Little's law: with N connections each waiting for its answer, the mean latency
            # cannot exceed N / throughput. When the generator's mean does, its own threads
            # were held up (a busy machine) and its latency figures overstate the server's.
            implied = self.driver.spec.connections * 1000 / r.rps
            metrics["mean_ms"] = r.mean_ms
            metrics["implied_mean_ms"] = implied
            if r.mean_ms > 1.5 * implied:
                notes.append(
                    f"latencies overstated: mean {r.mean_ms:.1f} ms measured, at most "
                    f"{implied:.1f} ms possible at this throughput (load generator held up)"
                )
        if r.server.get("server_cpu_s") and r.requests:
            # Server-side CPU (workers + database backends) per request: steady on a busy
            # machine, unlike requests/s (see bench/cpu.py).
            metrics["cpu_ms_per_request"] = r.server["server_cpu_s"] * 1000 / r.requests
        return Outcome(path=path, metrics=metrics, notes=notes)

    def _check_answers(self, path: str, headers: dict[str, str] | None) -> None:
        """A benchmark of an error page is worthless: require a 200 first."""
        import urllib.request

        req = urllib.request.Request(self.base_url + path, headers=headers or {})  # type: ignore[operator]
        with urllib.request.urlopen(req, timeout=30) as resp:
            if resp.status != 200:
                raise RuntimeError(f"GET {path} answered {resp.status}, not 200")

    def app(self) -> Flask:
        """The app in this process, configured like the server (for in-process scenarios)."""
        if self._app is None:
            import os

            for key, value in self.env.items():
                if key.startswith("VHS_"):
                    os.environ[key] = value
            os.environ.pop("VHS_ENV", None)
            from vhs import create_app

            self._app = create_app()
        return self._app

    def close(self) -> None:
        """Release the engine."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


_registry: dict[str, Scenario] = {}


def scenario(
    name: str,
    *,
    title: str,
    targets: list[Target] | tuple[Target, ...] = (),
    server: bool = True,
    order: int = 100,
    baseline: bool = False,
) -> Callable[[Callable[[Context], Outcome]], Callable[[Context], Outcome]]:
    """Register a scenario; lower ``order`` runs first (the /healthz baseline is 0)."""

    def decorator(func: Callable[[Context], Outcome]) -> Callable[[Context], Outcome]:
        if name in _registry:
            raise ValueError(f"scenario {name!r} registered twice")
        _registry[name] = Scenario(
            name=name,
            title=title,
            func=func,
            needs_server=server,
            targets=tuple(targets),
            order=order,
            baseline=baseline,
        )
        return func

    return decorator


def all_scenarios() -> list[Scenario]:
    """Every registered scenario in run order."""
    return sorted(_registry.values(), key=lambda s: (s.order, s.name))


# Scenario modules register themselves on import.
from bench.scenarios import (  # noqa: E402, F401
    calendar,
    catalogue,
    lending,
    media,
    media_import,
    opds,
)
