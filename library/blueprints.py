"""Every blueprint of the library domain, in one place; the sub-packages attach their routes."""

from __future__ import annotations

from flask import Blueprint

from vhs.db import set_write_intent
from vhs.extensions import Blueprint as ApiBlueprint

# --- pages -----------------------------------------------------------------------------------
library = Blueprint("library", __name__)
staff = Blueprint("library_staff", __name__, url_prefix="/staff/library")

# --- API (/api/v1) ---------------------------------------------------------------------------
api = ApiBlueprint(
    "library_api", __name__, url_prefix="/api/v1", description="Library: cards, loans and holds"
)
staff_api = ApiBlueprint(
    "library_staff_api", __name__, url_prefix="/api/v1", description="Library desk (staff)"
)

PAGES = (library, staff)
APIS = (api, staff_api)


def _lending_writes() -> None:
    """Every lending request may write, reads included: an overdue loan is closed (and the
    next hold made ready) before any answer about it. On SQLite the transaction then starts
    with BEGIN IMMEDIATE, so such a read never fails to upgrade to a writer."""
    set_write_intent(True)


for _bp in (*PAGES, *APIS):
    _bp.before_request(_lending_writes)
