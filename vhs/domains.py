"""Domains plug into the core through the ``vhs.domains`` entry points, as Indico finds plugins.

The core never imports a domain: ``create_app`` asks the installed package metadata for the
domains (``pyproject.toml`` declares them), orders them so that a domain registers after those
it builds on, and calls each one's ``register(app)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points

from flask import Flask

ENTRY_POINT_GROUP = "vhs.domains"


@dataclass(frozen=True)
class Domain:
    """A domain package: its name, how it registers with an app, and what it builds on."""

    name: str
    register: Callable[[Flask], None]
    after: tuple[str, ...] = field(default=())


class DomainError(RuntimeError):
    """The installed domains cannot be wired (none found, a missing or circular dependency)."""


def installed_domains() -> list[Domain]:
    """Every domain declared in the installed package metadata, in registration order."""
    found = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        domain = ep.load()
        if not isinstance(domain, Domain):
            raise DomainError(f"entry point {ep.name!r} ({ep.value}) is not a vhs Domain")
        found.append(domain)
    if not found:
        raise DomainError(
            f"no '{ENTRY_POINT_GROUP}' entry points found: install the project "
            "(`pip install -e .`, which `make` does) so its domains can be found"
        )
    return ordered(found)


def ordered(domains: Iterable[Domain]) -> list[Domain]:
    """Domains sorted so each comes after those it names in ``after`` (stable by name)."""
    by_name = {d.name: d for d in domains}
    result: list[Domain] = []
    state: dict[str, str] = {}

    def visit(d: Domain) -> None:
        if state.get(d.name) == "done":
            return
        if state.get(d.name) == "visiting":
            raise DomainError(f"domains depend on each other in a circle at {d.name!r}")
        state[d.name] = "visiting"
        for dep in d.after:
            if dep not in by_name:
                raise DomainError(f"domain {d.name!r} builds on {dep!r}, which is not installed")
            visit(by_name[dep])
        state[d.name] = "done"
        result.append(d)

    for name in sorted(by_name):
        visit(by_name[name])
    return result
