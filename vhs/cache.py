"""Caches that stay correct: in-process entries keyed by a data version the database keeps.

A *version* is a row in ``cache_versions`` holding a random number. A domain declares which
models feed a cached view (``track("catalogue", Course, Category, ...)``); every transaction of
the ORM session that inserts, changes or deletes one of them sets a new random number **in the
same transaction**, as its last statement before COMMIT. A reader asks for the current number
(one primary-key SELECT, remembered for the rest of the request) and keeps what it computed
under ``(number, key)`` in a small in-process LRU (:class:`VersionedCache`).

Why this is correct across gunicorn workers and machines: the new data and the new number
become visible together, so any request that starts after a booking or an edit has been
answered reads the new number, misses, and computes from the new data. An entry stored under an
old number can only hold data at least as new as that number (it was read after the number).
Random numbers (not a counter) never come back after a rollback or a restored backup.
A transaction that has itself changed a source neither reads nor fills the cache (it sees data
nobody else sees yet). Writes that bypass the ORM session (another program, a raw connection)
are not seen: ``ttl`` bounds how long such a change can stay hidden, and ``bump()`` lets a
script say so. Tests run without caches (their rolled-back transactions share one connection)
unless ``RESPONSE_CACHE`` is set in the app config.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import current_app, g, has_request_context
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, ORMExecuteState, mapped_column
from sqlalchemy.orm import Session as OrmSession

from vhs.db import db

T = TypeVar("T")

_INFO_KEY = "vhs_cache_changed"


class CacheVersion(db.Model):
    """One counter per cached family of views; bumped by every change of its sources."""

    __tablename__ = "cache_versions"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    version: Mapped[int] = mapped_column(sa.BigInteger, default=0)


@dataclass
class _Sources:
    models: dict[type, tuple[str, ...] | None] = field(default_factory=dict)
    tables: set[str] = field(default_factory=set)


_sources: dict[str, _Sources] = {}


def track(name: str, *sources: Any) -> None:
    """Bump version ``name`` whenever one of ``sources`` changes through the ORM session.

    A source is a model class (any insert, update or delete), a ``(Model, ("attr", ...))``
    pair (updates of those attributes, and deletes), or a ``Table`` (bulk statements on it;
    ORM changes of an association table show up as changes of the owning model).
    """
    entry = _sources.setdefault(name, _Sources())
    for source in sources:
        if isinstance(source, sa.Table):
            entry.tables.add(source.name)
        elif isinstance(source, tuple):
            model, attrs = source
            entry.models[model] = tuple(attrs)
            entry.tables.add(model.__table__.name)
        else:
            entry.models[source] = None
            entry.tables.add(source.__table__.name)


def _changed_names(session: OrmSession) -> set[str]:
    """Names whose sources have pending changes in ``session`` (not yet flushed)."""
    names: set[str] = set()
    if not _sources:
        return names
    groups = ((session.new, "new"), (session.deleted, "deleted"), (session.dirty, "dirty"))
    for objects, kind in groups:
        for obj in objects:
            for name, src in _sources.items():
                if name in names:
                    continue
                for model, attrs in src.models.items():
                    if not isinstance(obj, model):
                        continue
                    if kind == "new" and attrs is not None:
                        continue  # a new user is nobody's instructor yet
                    if kind == "dirty":
                        if not session.is_modified(obj):
                            continue
                        if attrs is not None:
                            state = sa.inspect(obj)
                            if not any(state.attrs[a].history.has_changes() for a in attrs):
                                continue
                    names.add(name)
                    break
    return names


def _mark(session: OrmSession, names: set[str]) -> None:
    if names:
        session.info.setdefault(_INFO_KEY, set()).update(names)


@event.listens_for(OrmSession, "before_flush")
def _before_flush(session: OrmSession, _ctx: Any, _instances: Any) -> None:
    _mark(session, _changed_names(session))


_DML_WORDS = ("insert", "update", "delete", "truncate")


@event.listens_for(OrmSession, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    statement = state.statement
    if isinstance(statement, sa.TextClause):
        # Raw SQL through the session: a write that names a source table counts.
        text = statement.text.lower()
        if not text.lstrip().startswith(_DML_WORDS):
            return
        words = set(re.findall(r"[a-z_][a-z0-9_]*", text))
        _mark(state.session, {n for n, src in _sources.items() if src.tables & words})
        return
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table_name = getattr(getattr(statement, "table", None), "name", None)
    if table_name is None:
        return
    _mark(state.session, {n for n, src in _sources.items() if table_name in src.tables})


@event.listens_for(OrmSession, "before_commit")
def _before_commit(session: OrmSession) -> None:
    if session.in_nested_transaction():
        # A savepoint's release: the marks wait for the outer commit, which bumps them once
        # (an import releases a savepoint per record; a bump each cost a third of its time).
        return
    names = set(session.info.get(_INFO_KEY, ())) | _changed_names(session)
    if not names:
        return
    session.info.pop(_INFO_KEY, None)
    _bump_in(session, *names)


@event.listens_for(OrmSession, "after_transaction_end")
def _after_transaction_end(session: OrmSession, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost transaction ended (commit or rollback)
        session.info.pop(_INFO_KEY, None)


def _bump_in(session: OrmSession, *names: str) -> None:
    """One upsert for all ``names`` (PostgreSQL and SQLite both speak ON CONFLICT): no race on
    the first bump, and one statement per commit however many versions it moves. The rows go
    in a fixed order, so two committers never wait on each other."""

    table = CacheVersion.__table__
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table).values(
        [{"name": name, "version": secrets.randbits(62)} for name in sorted(set(names))]
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.name], set_={"version": stmt.excluded.version}
    )
    session.execute(stmt)
    if has_request_context():
        g.pop("_vhs_cache_versions", None)


def bump(name: str) -> None:
    """Declare a change the session could not see (raw SQL); commit it with the session."""
    _bump_in(db.session(), name)


_engine_lock = threading.Lock()


def _version_engine() -> sa.Engine:
    """PostgreSQL: a small autocommit pool without pre-ping, so a version check is one round
    trip (the session would add a ping, BEGIN and COMMIT). A dropped connection is retried."""
    engines = current_app.extensions.setdefault("vhs_cache_engines", {})
    engine = engines.get("version")
    if engine is None:
        with _engine_lock:
            engine = engines.get("version")
            if engine is None:
                engine = sa.create_engine(
                    db.engine.url,
                    isolation_level="AUTOCOMMIT",
                    pool_pre_ping=False,
                    pool_size=4,
                    max_overflow=8,
                )
                engines["version"] = engine
    return engine


_VERSION_QUERY = sa.select(CacheVersion.__table__.c.version).where(
    CacheVersion.__table__.c.name == sa.bindparam("name")
)


def _read_version(name: str) -> int | None:
    session_open = db.session.registry.has() and db.session().in_transaction()
    if (
        db.engine.dialect.name != "postgresql"
        or session_open
        or isinstance(db.session.session_factory.kw.get("bind"), sa.Connection)
    ):
        # In the session's own transaction: SQLite keeps one snapshot per transaction (the
        # data read after the number must not be older than it); a transaction already open
        # costs no extra round trip; a session bound to one connection (tests) sees its own
        # uncommitted numbers.
        return db.session.execute(_VERSION_QUERY, {"name": name}).scalar_one_or_none()
    # PostgreSQL (read committed): every later statement of the session sees at least what
    # this separate read saw.
    # Straight through the driver: this runs on every cached request, and SQLAlchemy's
    # statement machinery costs more client CPU than the query itself.
    engine = _version_engine()
    dbapi = engine.dialect.loaded_dbapi
    for attempt in (1, 2):
        conn = engine.raw_connection()
        try:
            cur = conn.cursor()
            cur.execute("SELECT version FROM cache_versions WHERE name = %s", (name,))
            row = cur.fetchone()
            cur.close()
        except (dbapi.OperationalError, dbapi.InterfaceError):
            conn.invalidate()  # a dropped connection (server restart): retry on a new one
            if attempt == 2:
                raise
            continue
        finally:
            conn.close()
        return int(row[0]) if row else None
    return None  # pragma: no cover


def current_version(name: str) -> int:
    """The version of ``name`` now (one SELECT, remembered until the request ends)."""
    memo: dict[str, int] | None = g.get("_vhs_cache_versions") if has_request_context() else None
    if memo is not None and name in memo:
        return memo[name]
    version = int(_read_version(name) or 0)
    if has_request_context():
        g.setdefault("_vhs_cache_versions", {})[name] = version
    return version


class VersionedCache:
    """A thread-safe LRU whose entries count only while the data version is unchanged."""

    def __init__(self, name: str, maxsize: int = 256, ttl: float = 300.0) -> None:
        self.name = name
        self.maxsize = maxsize
        self.ttl = ttl
        self._data: OrderedDict[Hashable, tuple[int, float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def enabled(self) -> bool:
        """Off in tests (unless ``RESPONSE_CACHE``) and inside a transaction that changed a
        source of this cache (it sees uncommitted data)."""
        if not current_app.config.get("RESPONSE_CACHE", not current_app.testing):
            return False
        if not db.session.registry.has():
            return True  # no session yet in this request: nothing changed
        session = db.session()
        if self.name in session.info.get(_INFO_KEY, ()):
            return False
        return self.name not in _changed_names(session)

    def get(self, key: Hashable) -> Any:
        """The value of ``key`` if cached for the current version, else None (no compute)."""
        if not self.enabled():
            return None
        version = current_version(self.name)
        with self._lock:
            entry = self._data.get(key)
            if entry is not None and entry[0] == version and entry[1] > time.monotonic():
                self._data.move_to_end(key)
                self.hits += 1
                return entry[2]
        return None

    def get_or_set(
        self,
        key: Hashable,
        compute: Callable[[], T],
        until: Callable[[], datetime | None] | None = None,
    ) -> T:
        """The cached value of ``key`` for the current version, computing it on a miss.

        ``until`` (asked after ``compute``) names the moment the value turns stale by the clock
        alone (e.g. "the next session" moves on when a session ends); None: only data changes.
        """
        if not self.enabled():
            return compute()
        version = current_version(self.name)
        now = time.monotonic()
        with self._lock:
            entry = self._data.get(key)
            if entry is not None and entry[0] == version and entry[1] > now:
                self._data.move_to_end(key)
                self.hits += 1
                return entry[2]  # type: ignore[no-any-return]
        self.misses += 1
        value = compute()
        expires = now + self.ttl
        stale_at = until() if until is not None else None
        if stale_at is not None:
            expires = min(expires, now + (stale_at - datetime.now(UTC)).total_seconds())
        with self._lock:
            self._data[key] = (version, expires, value)
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)
        return value

    def version(self) -> int:
        """The current data version (e.g. for an ETag)."""
        return current_version(self.name)

    def clear(self) -> None:
        """Forget every entry (tests)."""
        with self._lock:
            self._data.clear()
