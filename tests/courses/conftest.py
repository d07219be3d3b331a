"""Factories for the courses domain: fixtures that return callables (STYLE rule 12).

Every ``make_*`` factory builds its rows in its own app context, commits (a savepoint inside
the test's rolled-back transaction) and returns a *detached* object whose columns are loaded,
so tests can read ``course.id``, ``course.code``, ``enrolment.status`` freely. Relationships
that tests usually need are loaded too: a course's ``term``, ``category``, ``instructors`` and
``sessions``, an enrolment's ``course`` and ``user``. To see later changes, call ``load``:

    course = make_course(capacity=1, fee_cents=7900, instructors=[teacher])
    enrolment = make_enrolment(course, resident)           # through services.enrol
    waiting = make_enrolment(course, status="waitlisted")  # written directly, counters kept
    assert load(Course, course.id).waitlist_count == 1

The builders behind them live in ``tests/courses/factories.py`` (plain functions that work in
the caller's session), for code that already holds an app context. Also here: ``login_as``
(a new account of a role, logged in) and ``count_sql`` (the SQL statements a request sends).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import selectinload

from courses.models import Category, Course, Enrolment, Term
from tests.courses import factories
from vhs.db import db
from vhs.uow import unit_of_work

# What each model brings along when a factory or ``load`` hands it to a test.
_LOAD_OPTIONS: dict[type, tuple[Any, ...]] = {
    Course: (
        selectinload(Course.term),
        selectinload(Course.category),
        selectinload(Course.instructors),
        selectinload(Course.sessions),
    ),
    Enrolment: (selectinload(Enrolment.course), selectinload(Enrolment.user)),
    Category: (selectinload(Category.parent),),
}


def detach(model: type, ident: int) -> Any:
    """Reload one row with its usual relationships and detach it (inside an app context)."""
    obj = db.session.execute(
        db.select(model)
        .where(model.id == ident)
        .options(*_LOAD_OPTIONS.get(model, ()))
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if obj is not None:
        db.session.expunge_all()
    return obj


def _factory(app: Flask, build: Callable[..., Any], model: type) -> Callable[..., Any]:
    def make(*args: Any, **kw: Any) -> Any:
        with app.app_context():
            with unit_of_work():
                obj = build(*args, **kw)
            return detach(model, obj.id)

    make.__doc__ = build.__doc__
    return make


@pytest.fixture
def make_term(app: Flask) -> Callable[..., Term]:
    """Factory: ``make_term(name=..., starts_on=..., enrolment_opens_at=..., status=...)``.

    Defaults: published, started today, open for booking since ten days ago.
    """
    return _factory(app, factories.new_term, Term)


@pytest.fixture
def make_category(app: Flask) -> Callable[..., Category]:
    """Factory: ``make_category(slug=None, name_de=..., name_en=..., parent=None)``."""
    return _factory(app, factories.new_category, Category)


@pytest.fixture
def make_course(app: Flask) -> Callable[..., Course]:
    """Factory: a course with dated sessions and consistent denormalised fields.

    ``make_course(capacity=20, fee_cents=0, sessions=3, status="published", instructors=[],
    starts_in_days=30, term=None, category=None, code=None, title=..., start_time=18:00,
    duration_minutes=90, interval_days=7, **course_columns)``; ``instructors``, ``term`` and
    ``category`` take objects or ids. Sessions are weekly at ``start_time`` Berlin time.
    """
    return _factory(app, factories.new_course, Course)


@pytest.fixture
def make_enrolment(app: Flask) -> Callable[..., Enrolment]:
    """Factory: ``make_enrolment(course, user=None, status=None, reduction=None, created_at=None)``.

    Without ``status`` it books through ``services.enrol`` (the rules decide the status and
    mails are queued); with ``status`` the row is written directly, counters kept in step.
    ``user=None`` books a fresh verified resident.
    """
    return _factory(app, factories.new_enrolment, Enrolment)


@pytest.fixture
def load(app: Flask) -> Callable[[type, int], Any]:
    """Fetch the current state of a row (detached, with its usual relationships) or None."""

    def _load(model: type, ident: int) -> Any:
        with app.app_context():
            return detach(model, ident)

    return _load


@pytest.fixture
def login_as(app: Flask, make_user: Callable[..., Any], login: Callable[..., Any]) -> Any:
    """Log the test client in as a new account of ``role`` (or as ``user``) and return it."""

    def _login_as(role: str = "resident", *, user: Any = None, **kw: Any) -> Any:
        account = user or make_user(role, **kw)
        login(account)
        return account

    return _login_as


# Statements the test harness adds around every unit of work (the per-test savepoints), and
# SQLite's explicit BEGIN: transaction control, not queries of the code under test.
_CONTROL = re.compile(r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT|BEGIN)\b", re.I)


@pytest.fixture
def count_sql(app: Flask) -> Callable[[], Any]:
    """``with count_sql() as statements:`` collects the SQL sent meanwhile (no transaction
    control), via the engine's ``before_cursor_execute`` event."""

    @contextmanager
    def _count() -> Iterator[list[str]]:
        statements: list[str] = []

        def before_cursor_execute(*args: Any) -> None:
            statement = args[2]
            if not _CONTROL.match(statement):
                statements.append(statement)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", before_cursor_execute)
        try:
            yield statements
        finally:
            event.remove(engine, "before_cursor_execute", before_cursor_execute)

    return _count
