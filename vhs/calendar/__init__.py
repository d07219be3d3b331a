"""Calendar: ICS building and feeds. Domains register their event sources here."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

EventSource = Callable[..., Iterable[Any]]

_sources: dict[str, EventSource] = {}


def register_source(name: str, func: EventSource) -> None:
    """Register a function giving a user's calendar events (courses, later library loans)."""
    _sources[name] = func


def sources() -> dict[str, EventSource]:
    """All registered event sources by name."""
    return dict(_sources)
