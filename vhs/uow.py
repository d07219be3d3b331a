"""One unit of work for a request, a CLI command, a job and a Celery task.

``with unit_of_work():`` commits the session once, at its end, and then runs the work
registered with ``on_commit`` (mail delivery, Stripe calls that move money, calls to
distributors). An error, or ``discard()`` (a request answered with a 4xx), rolls back and
drops that work. Nobody else commits: the few places that must record an outside call at once
(a refund Stripe made, a sent e-mail, a checkout row Stripe is about to hear of) commit inside
the unit, and work registered before such a commit is kept and runs when the unit ends.

Units are kept on a context-local stack and matched to the session they commit, so nested app
contexts (each with its own session), jobs and Celery tasks each have their own; ``on_commit``
outside any unit raises instead of running at once or dropping the work.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from vhs.db import db

log = logging.getLogger(__name__)

AfterCommit = Callable[[], object]


class UnitOfWork:
    """An open unit: its session and the work waiting for that session's commit."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.discarded = False
        # Registered in the open transaction: dropped if it rolls back.
        self._waiting: list[AfterCommit] = []
        # Its transaction committed (here or at a commit inside the unit): runs at the end.
        self._due: list[AfterCommit] = []

    def on_commit(self, func: AfterCommit) -> None:
        """Run ``func`` once this unit's transaction has committed (once per unit)."""
        if func not in self._waiting and func not in self._due:
            self._waiting.append(func)

    def discard(self) -> None:
        """Roll back at the end instead of committing, and drop the after-commit work."""
        self.discarded = True

    def _committed(self) -> None:
        self._due.extend(f for f in self._waiting if f not in self._due)
        self._waiting.clear()

    def _rolled_back(self) -> None:
        self._waiting.clear()


_units: contextvars.ContextVar[tuple[UnitOfWork, ...]] = contextvars.ContextVar(
    "vhs_units_of_work", default=()
)


def _unit_for(session: Session) -> UnitOfWork | None:
    for uow in reversed(_units.get()):
        if uow.session is session:
            return uow
    return None


def current_unit() -> UnitOfWork:
    """The unit of work that will commit the current session; RuntimeError outside one."""
    uow = _unit_for(db.session())
    if uow is None:
        raise RuntimeError(
            "no unit of work is open: run this inside vhs.uow.unit_of_work() "
            "(requests, CLI commands, jobs and Celery tasks each open one)"
        )
    return uow


def on_commit(func: AfterCommit) -> None:
    """Run ``func`` after the current unit of work commits; dropped if it rolls back."""
    current_unit().on_commit(func)


@contextmanager
def unit_of_work() -> Iterator[UnitOfWork]:
    """Commit the session once at the end, then run the after-commit work; roll back on error."""
    session = db.session()
    if _unit_for(session) is not None:
        # A nested unit on the same session would commit its parent's half-done work.
        raise RuntimeError("a unit of work is already open for this session")
    uow = UnitOfWork(session)
    token = _units.set((*_units.get(), uow))
    try:
        yield uow
        if uow.discarded:
            _rollback(session)
            uow._rolled_back()
        else:
            session.commit()
            uow._committed()  # also work registered while no transaction was open
    except BaseException:
        _rollback(session)
        uow._rolled_back()
        raise
    finally:
        _units.reset(token)
        _run_after_commit(uow._due)


def _rollback(session: Session) -> None:
    try:
        session.rollback()
    except Exception:  # a dead connection: the pool discards it; nothing was committed
        log.exception("rollback failed")


def _run_after_commit(work: list[AfterCommit]) -> None:
    """Run committed units' work, each in a unit of its own; one failure does not stop the rest.

    The work may write (a refund's outcome) and register work of its own (mail about it).
    """
    for func in work:
        try:
            with unit_of_work():
                func()
        except Exception:  # logged; the jobs retry whatever is still open
            log.exception("after-commit work failed: %r", func)


@event.listens_for(Session, "after_commit")
def _session_committed(session: Session) -> None:
    # Fired for savepoints too; only the whole transaction's commit makes the work due.
    if session.in_nested_transaction():
        return
    uow = _unit_for(session)
    if uow is not None:
        uow._committed()


@event.listens_for(Session, "after_soft_rollback")
def _session_rolled_back(session: Session, previous: SessionTransaction) -> None:
    # A rolled-back savepoint keeps the outer transaction (and its work) alive.
    if previous.parent is not None:
        return
    uow = _unit_for(session)
    if uow is not None:
        uow._rolled_back()
