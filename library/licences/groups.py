"""Closed groups that copies can be dedicated to (a course), without the library knowing them.

The domain that owns a kind of group registers it once, when it plugs in::

    register_group("course", is_member=..., ends_at=..., title=..., label=_l("Course"))

- ``is_member(user_id, group_id, now) -> bool``: who may borrow the group's copies (a course:
  its confirmed participants);
- ``ends_at(group_id) -> datetime | None``: when the group stops (a course: the end of its last
  session); dedicated loans end by then at the latest. None: the group has no end (yet), so
  nothing can be dedicated to it;
- ``title(group_id) -> str | None``: the group's name for staff pages; None: no such group.

Asking about a kind nobody registered fails loudly (:class:`UnknownGroupType`): a dedication
of an unknown kind would lock copies away from everyone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


class UnknownGroupType(LookupError):
    """No domain registered this kind of group."""


@dataclass(frozen=True)
class GroupType:
    """A kind of group copies can be dedicated to, as its domain registered it."""

    key: str
    is_member: Callable[[int, int, datetime], bool]
    ends_at: Callable[[int], datetime | None]
    title: Callable[[int], str | None]
    label: Any  # translatable name of the kind ("Kurs")


_registry: dict[str, GroupType] = {}


def register_group(
    key: str,
    *,
    is_member: Callable[[int, int, datetime], bool],
    ends_at: Callable[[int], datetime | None],
    title: Callable[[int], str | None],
    label: Any,
) -> GroupType:
    """Register a kind of group (once per key; the same functions again are a no-op)."""
    group = GroupType(key, is_member, ends_at, title, label)
    known = _registry.get(key)
    if known is not None and known != group:
        raise ValueError(f"group type {key!r} is registered already")
    _registry[key] = group
    return group


def group_type(key: str) -> GroupType:
    """The registered kind ``key``; :class:`UnknownGroupType` when nobody registered it."""
    try:
        return _registry[key]
    except KeyError:
        raise UnknownGroupType(f"no domain registered the group type {key!r}") from None


def group_keys() -> tuple[str, ...]:
    """The registered kinds (for validating input)."""
    return tuple(sorted(_registry))


def is_member(key: str, group_id: int, user_id: int, now: datetime) -> bool:
    """Whether ``user_id`` belongs to the group now."""
    return group_type(key).is_member(user_id, group_id, now)
