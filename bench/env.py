"""The benchmark's database and machine: choose, create, migrate, seed, count, describe."""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

REPO_ROOT = Path(__file__).resolve().parent.parent
WORK_DIR = Path(__file__).resolve().parent / "_work"

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"
# BENCH_PG_DATABASE names another database, for two benchmarks on one server at a time.
PG_DATABASE = os.environ.get("BENCH_PG_DATABASE") or "vhs_bench"

# A fixed, non-secret key: the benchmark runs in development mode and only needs it stable.
BENCH_SECRET_KEY = "bench-only-not-a-secret-0123456789abcdef"


@dataclass
class Database:
    """Where the benchmark's data lives."""

    kind: str  # "postgresql" | "sqlite"
    url: str
    description: str
    version: str = ""


@dataclass
class SeedReport:
    """How long ``flask demo seed`` took and what it produced."""

    scale: int
    seconds: float | None  # None when an existing database was reused
    counts: dict[str, int] = field(default_factory=dict)


def log(message: str) -> None:
    """Progress on stderr, so stdout keeps only the table."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def postgres_answers(timeout: float = 2.0) -> bool:
    """Whether a PostgreSQL server accepts us (user postgres, no password) on 127.0.0.1:5432."""
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=timeout):
            pass
    except OSError:
        return False
    try:
        import psycopg

        psycopg.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", connect_timeout=5
        ).close()
    except Exception as exc:
        log(f"PostgreSQL listens on {PG_HOST}:{PG_PORT} but refused us ({exc}); using SQLite")
        return False
    return True


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def choose_database(kind: str) -> Database:
    """``auto`` prefers PostgreSQL when a server answers, else SQLite."""
    if kind == "auto":
        kind = "postgresql" if postgres_answers() else "sqlite"
    if kind == "postgresql":
        url = f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{PG_DATABASE}"
        return Database(
            "postgresql", url, f"PostgreSQL on {PG_HOST}:{PG_PORT}, database {PG_DATABASE}"
        )
    path = WORK_DIR / "vhs_bench.sqlite3"
    return Database("sqlite", f"sqlite:///{path}", f"SQLite file {path.relative_to(REPO_ROOT)}")


def app_env(database: Database) -> dict[str, str]:
    """Environment for every subprocess (flask CLI, gunicorn): development mode, quiet."""
    env = dict(os.environ)
    for key in list(env):
        # Start from the embedded defaults, whatever the caller's shell exports.
        if key.startswith("VHS_") or key.startswith("FLASK_"):
            del env[key]
    env.update(
        {
            "FLASK_APP": "wsgi.py",
            "VHS_SECRET_KEY": BENCH_SECRET_KEY,
            "VHS_DATABASE_URL": database.url,
            "VHS_INSTANCE_PATH": str(WORK_DIR / "instance"),
            # The feed scenario polls one calendar token far faster than any client may.
            "VHS_CALENDAR_FEED_RATE_LIMIT": "1000000 per minute",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def _flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "flask", *args]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise RuntimeError(f"{' '.join(cmd[2:])} failed with exit code {proc.returncode}")
    return proc


def has_data(database: Database) -> bool:
    """Whether the database exists and holds seeded courses (for ``--reuse``)."""
    try:
        engine = sa.create_engine(database.url)
        try:
            with engine.connect() as conn:
                return bool(conn.execute(sa.text("SELECT count(*) FROM courses")).scalar())
        finally:
            engine.dispose()
    except Exception:
        return False


def prepare(database: Database, scale: int, reuse: bool) -> SeedReport:
    """Fresh database, ``flask db upgrade``, timed ``flask demo seed --scale N``."""
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    (WORK_DIR / "instance").mkdir(exist_ok=True)
    env = app_env(database)
    if reuse and has_data(database):
        log(f"reusing the seeded {database.description}")
        return SeedReport(scale=scale, seconds=None, counts=count_rows(database))
    if database.kind == "postgresql":
        log(f"creating a fresh database {PG_DATABASE}")
        _pg_admin(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
        _pg_admin(f'CREATE DATABASE "{PG_DATABASE}"')
    else:
        path = Path(database.url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{path}{suffix}").unlink()
    log("flask db upgrade")
    _flask(env, "db", "upgrade")
    log(f"flask demo seed --scale {scale} (this takes a while)")
    started = time.perf_counter()
    _flask(env, "demo", "seed", "--scale", str(scale))
    seconds = time.perf_counter() - started
    log(f"seeded in {seconds:.1f} s")
    if database.kind == "postgresql":
        _analyze(database)
    return SeedReport(scale=scale, seconds=seconds, counts=count_rows(database))


def _analyze(database: Database) -> None:
    """Fresh statistics, as autovacuum would have them on a live server after a while."""
    engine = sa.create_engine(database.url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    finally:
        engine.dispose()


COUNT_QUERIES = {
    "users": "SELECT count(*) FROM users",
    "residents": "SELECT count(*) FROM users WHERE role = 'resident'",
    "instructors": "SELECT count(*) FROM users WHERE role = 'instructor'",
    "courses": "SELECT count(*) FROM courses",
    "published_courses": "SELECT count(*) FROM courses WHERE status = 'published'",
    "sessions": "SELECT count(*) FROM course_sessions",
    "enrolments": "SELECT count(*) FROM enrolments",
    "active_enrolments": (
        "SELECT count(*) FROM enrolments "
        "WHERE status IN ('pending_payment', 'confirmed', 'waitlisted')"
    ),
    "media_items": "SELECT count(*) FROM media_items",
    "published_media_items": "SELECT count(*) FROM media_items WHERE state = 'published'",
    "media_files": "SELECT count(*) FROM media_files",
    "library_cards": "SELECT count(*) FROM library_cards",
    "licences": "SELECT count(*) FROM library_licences",
    "loans": "SELECT count(*) FROM library_loans",
    "open_loans": "SELECT count(*) FROM library_loans WHERE ended_at IS NULL",
    "holds": "SELECT count(*) FROM library_holds",
}


def count_rows(database: Database) -> dict[str, int]:
    """Row counts of the seeded data set."""
    engine = sa.create_engine(database.url)
    try:
        with engine.connect() as conn:
            return {
                name: int(conn.execute(sa.text(q)).scalar() or 0)
                for name, q in COUNT_QUERIES.items()
            }
    finally:
        engine.dispose()


def server_version(database: Database) -> str:
    """The database server's version string."""
    if database.kind == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    engine = sa.create_engine(database.url)
    try:
        with engine.connect() as conn:
            return str(conn.execute(sa.text("SHOW server_version")).scalar())
    finally:
        engine.dispose()


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    info: dict[str, Any] = {
        "nproc": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "memory_gib": None,
        "os": platform.platform(),
        "python": platform.python_version(),
        "hostname": platform.node(),
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["memory_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    return info


def tool_version(*cmd: str) -> str:
    """First line of ``cmd --version`` (or empty)."""
    if shutil.which(cmd[0]) is None:
        return ""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else ""
