"""Every blueprint of the library domain, in one place; the sub-packages attach their routes."""

from __future__ import annotations

from flask import Blueprint

from vhs.db import set_write_intent
from vhs.extensions import Blueprint as ApiBlueprint
from vhs.extensions import csrf

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

# --- OPDS for reading apps (library/opds): feeds, not pages; HTTP Basic, never the session,
# so CSRF tokens do not apply. Not a lending blueprint: feeds are reads and stay readers.
opds = Blueprint("opds", __name__, url_prefix="/opds")
csrf.exempt(opds)

PAGES = (library, staff, opds)
APIS = (api, staff_api)
LENDING = (library, staff, api, staff_api)


def _lending_writes() -> None:
    """Every lending request may write, reads included: an overdue loan is closed (and the
    next hold made ready) before any answer about it. On SQLite the transaction then starts
    with BEGIN IMMEDIATE, so such a read never fails to upgrade to a writer."""
    set_write_intent(True)


for _bp in LENDING:
    _bp.before_request(_lending_writes)
