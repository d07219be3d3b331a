"""``python -m bench [options]``: prepare the data, serve, run the scenarios, report.

Exit code 0 whenever the benchmark ran, even when targets are missed (it is a report: missed
targets are printed as MISSED); 1 when it could not run at all (no database, server won't start).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
import traceback
from typing import Any

from bench import report
from bench.env import (
    REPO_ROOT,
    Database,
    app_env,
    choose_database,
    log,
    machine,
    postgres_answers,
    prepare,
    server_version,
)
from bench.load import Driver, LoadSpec, try_install_wrk, wrk_available
from bench.scenarios import Context, Outcome, Scenario, all_scenarios
from bench.server import ServerSpec, serve


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    p.add_argument(
        "--db",
        choices=["auto", "postgresql", "sqlite", "all"],
        default="auto",
        help="auto: PostgreSQL when a server answers on 127.0.0.1:5432, else SQLite; "
        "all: PostgreSQL (when available), then SQLite",
    )
    p.add_argument("--scale", type=int, default=100, help="flask demo seed --scale (100)")
    p.add_argument("--reuse", action="store_true", help="keep an already seeded bench database")
    p.add_argument("--duration", type=float, default=10.0, help="seconds measured per scenario")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of discarded warm-up")
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--wrk-threads", type=int, default=2)
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run the HTTP scenarios N times, interleaved, and report medians "
        "(steadier figures on a busy machine)",
    )
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    p.add_argument("--worker-class", choices=["gthread", "sync"], default="gthread")
    p.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    p.add_argument(
        "--only", default="", help="comma-separated scenario names (healthz always runs)"
    )
    p.add_argument("--list", action="store_true", help="list the scenarios and exit")
    return p


def _commit() -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return ""
    return f"{sha}{' + uncommitted changes' if dirty else ''}" if sha else ""


def _select(only: str) -> list[Scenario]:
    scenarios = all_scenarios()
    if not only:
        return scenarios
    wanted = {n.strip() for n in only.split(",") if n.strip()}
    unknown = wanted - {s.name for s in scenarios}
    if unknown:
        raise SystemExit(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    return [s for s in scenarios if s.name in wanted or s.baseline]


def _run_one(sc: Scenario, ctx: Context) -> tuple[Outcome | None, str | None]:
    log(f"scenario {sc.name}: {sc.title}")
    try:
        outcome = sc.func(ctx)
    except Exception as exc:  # a broken scenario is reported, the others still run
        traceback.print_exc(file=sys.stderr)
        return None, f"{type(exc).__name__}: {exc}"
    m = outcome.metrics
    if m.get("rps") is not None:
        log(
            f"  {m['rps']:.0f} req/s, p50 {m['p50_ms']:.1f} ms, p99 {m['p99_ms']:.1f} ms"
            + (f", {m['errors']} errors" if m.get("errors") else "")
        )
    return outcome, None


def run_database(database: Database, args: argparse.Namespace, driver: Driver) -> dict[str, Any]:
    """One complete run on one database; answers the run's document."""
    seed = prepare(database, args.scale, args.reuse)
    load_before = _loadavg()
    database.version = server_version(database)
    env = app_env(database)
    scenarios = _select(args.only)
    spec = ServerSpec(workers=args.workers, worker_class=args.worker_class, threads=args.threads)
    ctx = Context(database=database, env=env, driver=driver)
    outcomes: dict[str, tuple[Outcome | None, str | None]] = {}
    try:
        in_process = [s for s in scenarios if not s.needs_server]
        over_http = [s for s in scenarios if s.needs_server]
        if over_http:
            with serve(env, spec) as server:
                ctx.base_url = server.base_url
                ctx.server_pid = server.pid
                rounds: list[dict[str, tuple[Outcome | None, str | None]]] = []
                for r in range(args.rounds):
                    if args.rounds > 1:
                        log(f"round {r + 1} of {args.rounds}")
                    done = {sc.name: _run_one(sc, ctx) for sc in over_http}
                    _add_ratios(scenarios, done)
                    rounds.append(done)
                outcomes.update(_combine(rounds))
            ctx.base_url = None
            ctx.server_pid = None
        for sc in in_process:
            outcomes[sc.name] = _run_one(sc, ctx)
    finally:
        ctx.close()
    if args.rounds == 1 or not any(s.needs_server for s in scenarios):
        _add_ratios(scenarios, outcomes)
    entries = [report.scenario_entry(s, *outcomes[s.name]) for s in scenarios]
    miss = report.missed(entries)
    return {
        "generated_at": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "status": "all targets met" if not miss else "MISSED",
        "missed": miss,
        "commit": _commit(),
        "database": {
            "kind": database.kind,
            "description": database.description,
            "version": database.version,
        },
        "machine": {**machine(), "load_average": [load_before, _loadavg()]},
        "seed": {"scale": seed.scale, "seconds": _r(seed.seconds), "counts": seed.counts},
        "server": {
            "description": spec.describe(),
            "workers": spec.workers,
            "worker_class": spec.worker_class,
            "threads": spec.threads if spec.worker_class == "gthread" else 1,
            "vhs_env": "development (unset)",
        },
        "load": {
            "tool": driver.tool,
            "connections": args.connections,
            "threads": min(args.wrk_threads, args.connections)
            if driver.use_wrk
            else args.connections,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "rounds": args.rounds,
        },
        "scenarios": entries,
    }


def _add_ratios(
    scenarios: list[Scenario], outcomes: dict[str, tuple[Outcome | None, str | None]]
) -> None:
    """requests/s of each HTTP outcome over the baseline's (/healthz) of the same round."""
    baseline = next(
        (outcomes[s.name][0] for s in scenarios if s.baseline and outcomes.get(s.name, (None,))[0]),
        None,
    )
    base_rps = baseline.metrics.get("rps") if baseline else None
    base_cpu = baseline.metrics.get("cpu_ms_per_request") if baseline else None
    for outcome, _error in outcomes.values():
        if outcome and outcome.metrics.get("rps") is not None and base_rps:
            outcome.metrics["ratio_to_healthz"] = outcome.metrics["rps"] / base_rps
        if outcome and outcome.metrics.get("cpu_ms_per_request") and base_cpu:
            # The same ratio from server CPU per request: requests/s the server could answer
            # with the CPUs to itself, relative to /healthz.
            outcome.metrics["cpu_ratio_to_healthz"] = (
                base_cpu / outcome.metrics["cpu_ms_per_request"]
            )


MEDIAN_KEYS = (
    "rps",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "max_ms",
    "ratio_to_healthz",
    "kb_per_response",
    "cpu_ms_per_request",
    "cpu_ratio_to_healthz",
)


def _combine(
    rounds: list[dict[str, tuple[Outcome | None, str | None]]],
) -> dict[str, tuple[Outcome | None, str | None]]:
    """Several interleaved rounds into one outcome per scenario: the median of each figure
    (ratios are taken within a round first, so slow drifts of the machine's load cancel)."""
    if len(rounds) == 1:
        return rounds[0]
    combined: dict[str, tuple[Outcome | None, str | None]] = {}
    for name in rounds[0]:
        runs = [r[name][0] for r in rounds if r[name][0] is not None]
        errors = [r[name][1] for r in rounds if r[name][1]]
        if not runs:
            combined[name] = (None, errors[0] if errors else "no result")
            continue
        metrics: dict[str, Any] = {}
        for key in MEDIAN_KEYS:
            values = [o.metrics[key] for o in runs if o.metrics.get(key) is not None]
            if values:
                metrics[key] = statistics.median(values)
        for key in {k for o in runs for k in o.metrics} - set(MEDIAN_KEYS) - {"requests"}:
            # Other figures of the scenario (SQL statements, round trips): their median too.
            values = [o.metrics[key] for o in runs if isinstance(o.metrics.get(key), int | float)]
            if values:
                metrics[key] = statistics.median(values)
        metrics["requests"] = sum(o.metrics.get("requests", 0) for o in runs)
        metrics["errors"] = sum(o.metrics.get("errors", 0) for o in runs)
        metrics["rounds"] = [
            {
                k: round(o.metrics[k], 3)
                for k in (
                    "rps",
                    "p50_ms",
                    "p99_ms",
                    "ratio_to_healthz",
                    "cpu_ms_per_request",
                    "cpu_ratio_to_healthz",
                )
                if o.metrics.get(k) is not None
            }
            for o in runs
        ]
        notes = sorted({n for o in runs for n in o.notes})
        per_round = "; ".join(
            f"{o.metrics['rps']:.0f} req/s, p99 {o.metrics['p99_ms']:.0f} ms"
            for o in runs
            if o.metrics.get("rps") is not None and o.metrics.get("p99_ms") is not None
        )
        notes.append(f"median of {len(runs)} interleaved rounds ({per_round})")
        combined[name] = (Outcome(metrics=metrics, path=runs[0].path, notes=notes), None)
    return combined


def _loadavg() -> float | None:
    """The 1-minute load average (how busy the machine was besides us)."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m bench``."""
    args = _parser().parse_args(argv)
    if args.list:
        for sc in all_scenarios():
            targets = "; ".join(t.describe() for t in sc.targets) or "no target"
            print(f"{sc.name:<18} {sc.title} ({targets})")
        return 0
    use_wrk = wrk_available() or try_install_wrk()
    if not use_wrk:
        log("wrk is not available and could not be installed: using the Python load client")
    driver = Driver(
        LoadSpec(
            duration_s=args.duration,
            warmup_s=args.warmup,
            connections=args.connections,
            threads=args.wrk_threads,
        ),
        use_wrk=use_wrk,
    )
    if args.db == "all":
        kinds = (["postgresql"] if postgres_answers() else []) + ["sqlite"]
    else:
        kinds = [args.db]
    status = 0
    for kind in kinds:
        database = choose_database(kind)
        log(f"database: {database.description}")
        started = time.perf_counter()
        try:
            run = run_database(database, args, driver)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            print(f"\nBenchmark on {database.kind} could not run: {exc}", file=sys.stderr)
            status = 1
            continue
        report.write(run)
        print()
        print(
            f"Benchmark on {database.description} ({database.version}), {run['server']['description']}"
        )
        print(f"load: {run['load']['tool']}, {args.connections} connections, {args.duration:g} s")
        print()
        print(report.table(run["scenarios"]))
        print()
        if run["missed"]:
            print("MISSED targets:")
            for line in run["missed"]:
                print(f"  MISSED  {line}")
        else:
            print("All targets met.")
        print(
            f"({time.perf_counter() - started:.0f} s; written to bench/results.json and bench/results.md)"
        )
        print()
    return status
