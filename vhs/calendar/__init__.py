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


AttachmentBuilder = Callable[..., list[Any]]
_attachment_builders: dict[str, AttachmentBuilder] = {}


def register_attachment_builder(kind: str, func: AttachmentBuilder) -> None:
    """Register how to build calendar attachments for mails of a kind (e.g. ``course``)."""
    _attachment_builders[kind] = func


def attachments_for(kind: str, **kwargs: Any) -> list[Any]:
    """Calendar files to attach to a mail, or none when no builder is registered."""
    builder = _attachment_builders.get(kind)
    return builder(**kwargs) if builder else []
