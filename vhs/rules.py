"""Pieces the domains' rule modules share (``courses/rules.py``, ``media/rules.py``, ...).

Plain Python: no Flask, no database, so forms, schemas, services and migrations can all read
the rules.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bounds:
    """A closed range of whole numbers, both ends allowed."""

    lo: int
    hi: int

    def __contains__(self, value: object) -> bool:
        """Whether ``value`` is a whole number inside the range (``bool`` is not a number)."""
        return (
            isinstance(value, int) and not isinstance(value, bool) and self.lo <= value <= self.hi
        )
