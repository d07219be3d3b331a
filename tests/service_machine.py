"""A skeleton for stateful property tests of the services (Hypothesis ``RuleBasedStateMachine``).

A ``ServiceMachine`` drives services the way the app does, one unit of work per call
(``vhs.uow.unit_of_work``: commit at the end, after-commit work runs, an error rolls back), and
checks ``assert_invariants`` after every step in a unit of its own that is rolled back, so a
check can never change what it checks. Subclasses add rules (a domain's verbs) and invariants;
the courses' booking and payment machine is ``tests/courses/test_invariants.py``, and a library
machine (loans, holds) can be built the same way.

Clean and fast examples. A state machine runs many examples inside one pytest test, and the
suite gives each test one outer transaction on one connection, the session joining it through
savepoints (``tests/conftest.py``). Everything a test builds before the run (accounts, courses)
is committed into that transaction once. Each example then opens a SAVEPOINT on the same
connection when the machine is created and rolls back to it in ``teardown`` (which Hypothesis
runs even after a failure), so every example starts from exactly the state the test built, with
no schema work and no deletes: one ``SAVEPOINT`` and one ``ROLLBACK TO SAVEPOINT`` per example,
on SQLite and PostgreSQL alike. Outside state the rollback cannot reach (a Stripe stand-in, a
clock) is reset by the subclass in its ``__init__``.

Rules must be repeatable: Hypothesis replays an example to shrink it, so a rule picks among
things in the order they were made (or by bundle), never by a random id or the wall clock.

Budgets come from the environment, so CI stays short and a long run is one command:
``VHS_PROPERTY_EXAMPLES`` (examples per machine, default 25) and ``VHS_PROPERTY_STEPS`` (steps
per example, default 40).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant
from sqlalchemy.engine import Connection

from vhs.db import db
from vhs.errors import VhsError
from vhs.uow import UnitOfWork, unit_of_work

T = TypeVar("T")


def property_settings(**overrides: Any) -> settings:
    """Hypothesis settings with the budget read from ``VHS_PROPERTY_EXAMPLES``/``_STEPS``."""
    values: dict[str, Any] = {
        "max_examples": int(os.environ.get("VHS_PROPERTY_EXAMPLES", "25")),
        "stateful_step_count": int(os.environ.get("VHS_PROPERTY_STEPS", "40")),
        # Database round trips vary with the machine's load; a slow step is not a failure.
        "deadline": None,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
        "print_blob": True,
        # Explaining a failure traces every line of every later run, which makes shrinking a
        # long machine run take many minutes; the shrunk steps explain enough.
        "phases": [phase for phase in Phase if phase is not Phase.explain],
        # One minimal failing run is what a developer needs; shrinking two takes twice as long.
        "report_multiple_bugs": False,
    }
    values.update(overrides)
    return settings(**values)


class ServiceMachine(RuleBasedStateMachine):
    """A state machine over services: one savepoint per example, one unit of work per call."""

    def __init__(self) -> None:
        super().__init__()
        bind = db.session().bind  # the test's connection (tests/conftest.py binds it)
        if not isinstance(bind, Connection):
            raise RuntimeError(
                "a ServiceMachine runs inside the suite's per-test transaction: "
                "use the `app` fixture and run it from an app context"
            )
        db.session.remove()
        self._savepoint = bind.begin_nested()
        self.refusals: list[str] = []

    def teardown(self) -> None:
        """Roll the example back to where the test left the database."""
        db.session.remove()
        if self._savepoint.is_active:
            self._savepoint.rollback()

    # --- calling services ----------------------------------------------------------------

    @contextmanager
    def unit(self) -> Iterator[UnitOfWork]:
        """One unit of work, as a request opens it; ``after_unit`` runs once it has ended."""
        try:
            with unit_of_work() as uow:
                yield uow
        finally:
            self.after_unit()

    def call(self, func: Callable[[], T], *, refusals: tuple[str, ...] = ()) -> T | None:
        """Run ``func`` in a unit of work; a domain error whose code is in ``refusals`` is an
        allowed answer (the unit rolls back, ``None`` is returned), any other error fails."""
        try:
            with self.unit():
                return func()
        except VhsError as exc:
            if exc.code not in refusals:
                raise
            self.refusals.append(exc.code)
            return None

    @contextmanager
    def reading(self) -> Iterator[None]:
        """A unit of work that only looks: rolled back at its end, whatever happened in it."""
        with unit_of_work() as uow:
            uow.discard()
            yield

    def after_unit(self) -> None:
        """Hook: runs after every unit of work (e.g. to note what an outside service did)."""

    # --- invariants ----------------------------------------------------------------------

    def assert_invariants(self) -> None:
        """Assert the machine's invariants against the database (subclasses override)."""

    @invariant()
    def invariants_hold(self) -> None:
        """After every step: the invariants hold, read in a unit that is rolled back."""
        db.session.expire_all()
        with self.reading():
            self.assert_invariants()
