"""How the library domain plugs into the core: its tables, pages, API and registrations."""

from __future__ import annotations

from flask import Flask

import library.models  # noqa: F401  (the tables, for migrations)
from vhs.domains import Domain


def register(app: Flask) -> None:
    """Register the domain's pages and API with ``app`` (they arrive with the lending issue)."""


domain = Domain(name="library", register=register, after=("media",))
