"""Every blueprint of the library domain, in one place; the sub-packages attach their routes."""

from __future__ import annotations

from flask import Blueprint

from vhs.extensions import Blueprint as ApiBlueprint

# --- pages -----------------------------------------------------------------------------------
library = Blueprint("library", __name__)
staff = Blueprint("library_staff", __name__, url_prefix="/staff/library")

# --- API (/api/v1) ---------------------------------------------------------------------------
api = ApiBlueprint("library_api", __name__, url_prefix="/api/v1", description="Library")
staff_api = ApiBlueprint(
    "library_staff_api", __name__, url_prefix="/api/v1", description="Library desk (staff)"
)

PAGES = (library, staff)
APIS = (api, staff_api)
