"""Database plumbing: the model base, UTC time type, SQLite pragmas and row locks."""

from __future__ import annotations

import contextvars
import enum
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

T = TypeVar("T")

# Whether the current unit of work writes: SQLite then starts with BEGIN IMMEDIATE so two
# writers queue on the busy timeout instead of failing with "database is locked".
_sqlite_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "sqlite_write_intent", default=True
)


def enum_type(cls: type[enum.Enum], length: int = 20) -> sa.Enum:
    """A column type for a string enum: stored as its values in a VARCHAR with a CHECK (no
    native database enum, so adding a member needs no ALTER TYPE)."""
    return sa.Enum(
        cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp stored in UTC that always comes back timezone-aware."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        """Refuse naive datetimes and normalise to UTC before storing."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use aware datetimes (UTC)")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        """Attach UTC to what SQLite returns naive; convert PostgreSQL values to UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention Alembic can diff."""

    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


class VhsSession(FlaskSession):
    """Flask-SQLAlchemy session that honours an explicit ``bind`` (tests join a transaction)."""

    def get_bind(self, mapper: Any = None, clause: Any = None, bind: Any = None, **kw: Any) -> Any:
        """Prefer a connection given to the session factory over the app's engine."""
        if bind is None and self.bind is not None:
            return self.bind
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kw)


db = SQLAlchemy(model_class=Base, session_options={"class_": VhsSession})


@contextmanager
def write_intent(value: bool = True) -> Iterator[None]:
    """Declare whether the transactions started inside this block will write."""
    token = _sqlite_write_intent.set(value)
    try:
        yield
    finally:
        _sqlite_write_intent.reset(token)


def set_write_intent(value: bool) -> None:
    """Set the write intent for the rest of this context (one request)."""
    _sqlite_write_intent.set(value)


def configure_engine(engine: Engine, *, busy_timeout_ms: int, lock_timeout_ms: int) -> None:
    """Install the per-connection settings each database needs."""
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
            # Hand transaction control to SQLAlchemy (pysqlite's own is broken for SAVEPOINT).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            if engine.url.database not in (None, "", ":memory:"):
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: sa.Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if _sqlite_write_intent.get() else "BEGIN")

    elif engine.dialect.name == "postgresql":

        @event.listens_for(engine, "connect")
        def _pg_connect(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            # A row lock we cannot get quickly becomes a 503, never a hung worker.
            cur.execute(f"SET lock_timeout = {int(lock_timeout_ms)}")
            cur.execute("SET statement_timeout = 30000")
            cur.close()
            dbapi_conn.commit()


def lock(stmt_or_model: Any, ident: Any) -> Any:
    """Load one row by primary key under ``SELECT ... FOR UPDATE`` (no-op lock on SQLite).

    On SQLite the write transaction (BEGIN IMMEDIATE) already serialises writers.
    """
    query = (
        sa.select(stmt_or_model)
        .where(sa.inspect(stmt_or_model).primary_key[0] == ident)
        .with_for_update()
    )
    return db.session.execute(query.execution_options(populate_existing=True)).scalar_one_or_none()


def lock_counter(model: Any, year: int) -> Any:
    """The year's row of a gapless number series (``model(year=, last_sequence=)``: invoices,
    credit notes, fee statements), locked; created first for the year's first number (a
    creation at the same moment by another transaction is taken as it is)."""
    counter = lock(model, year)
    if counter is None:
        try:
            with db.session.begin_nested():
                db.session.add(model(year=year, last_sequence=0))
        except sa.exc.IntegrityError:
            pass  # created at the same moment by another transaction
        counter = lock(model, year)
    assert counter is not None
    return counter


def is_postgres() -> bool:
    """Whether the bound database is PostgreSQL."""
    return db.engine.dialect.name == "postgresql"


# Search structures that differ per database (SQLite FTS5 tables, PostgreSQL tsvector
# columns and their GIN indexes) live only in the migrations, not in the models.
SEARCH_ONLY_NAMES = (
    "search_vector",
    "ix_courses_search_vector",
    "ix_courses_code_lower",
    "ix_media_items_search_vector",
)


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic filter: leave database-specific search structures out of autogenerate."""
    name = name or ""
    if type_ == "table" and (name.endswith("_fts") or "_fts_" in name):
        return False
    return name not in SEARCH_ONLY_NAMES
