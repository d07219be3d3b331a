"""vhs-platform: the online home of a town's Volkshochschule and public library."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["create_app"]


def create_app(config: Any = None) -> Flask:
    """Build the Flask application (see ``vhs.app.create_app``)."""
    # Deferred: importing any vhs module (vhs.db, say) must not build the whole app graph.
    from vhs.app import create_app as _create_app

    return _create_app(config)
