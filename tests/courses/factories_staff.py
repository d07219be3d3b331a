"""Fixtures for the staff page tests (tests/courses/conftest.py holds the shared factories).

Imported by ``test_staff_views.py``; each fixture is registered under its short ``name`` so the
import does not shadow the test parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from vhs.accounts.models import Role, User
from vhs.audit import AuditEntry
from vhs.db import db


@pytest.fixture(name="staff")
def staff_fixture(make_user: Callable[..., User], login: Callable[..., Any]) -> User:
    """A member of staff who reads English (the msgids), logged in on the test client."""
    user = make_user(Role.STAFF, name="Sabine Sachbearbeiterin", locale="en")
    login(user)
    return user


@pytest.fixture(name="audit_actions")
def audit_actions_fixture(app: Flask) -> Callable[..., list[tuple[str, int | None, dict]]]:
    """The audit log as (action, actor id, details), oldest first, optionally one action."""

    def _actions(action: str | None = None) -> list[tuple[str, int | None, dict]]:
        with app.app_context():
            query = sa.select(AuditEntry).order_by(AuditEntry.id)
            if action:
                query = query.where(AuditEntry.action == action)
            return [(e.action, e.actor_id, dict(e.details)) for e in db.session.scalars(query)]

    return _actions


@pytest.fixture(name="query")
def query_fixture(app: Flask) -> Callable[..., list[Any]]:
    """Run a select in a fresh app context and hand back detached rows."""

    def _query(stmt: Any) -> list[Any]:
        with app.app_context():
            rows = list(db.session.scalars(stmt))
            for row in rows:
                db.session.expunge(row)
            return rows

    return _query
