"""GDPR registry: each domain contributes its part of a user's data export and erasure.

Domains register at import time (``register_exporter`` / ``register_eraser``) so the core
never needs to know what a course or a loan is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vhs.accounts.models import User

Exporter = Callable[["User"], Any]
Eraser = Callable[["User"], None]


@dataclass(frozen=True)
class Retention:
    """What stays after erasure, and why (shown on the delete-account page)."""

    what: Any
    why: Any


_exporters: dict[str, Exporter] = {}
_erasers: dict[str, Eraser] = {}
_retentions: list[Retention] = []


def register_exporter(section: str, func: Exporter) -> None:
    """Add a section (``"enrolments"``) to the "download my data" document."""
    _exporters[section] = func


def register_eraser(name: str, func: Eraser, retention: Retention | None = None) -> None:
    """Add a step to account erasure, and say what it keeps for whom."""
    _erasers[name] = func
    if retention is not None and retention not in _retentions:
        _retentions.append(retention)


def export_sections(user: User) -> dict[str, Any]:
    """Every registered section of the user's data."""
    return {section: func(user) for section, func in sorted(_exporters.items())}


def run_erasers(user: User) -> list[str]:
    """Run every registered erasure step in the caller's transaction."""
    for func in _erasers.values():
        func(user)
    return list(_erasers)


def retentions() -> list[Retention]:
    """What is kept after erasure, for the explanation page."""
    return list(_retentions)
