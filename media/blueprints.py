"""Every blueprint of the media domain, in one place; the sub-packages attach their routes."""

from __future__ import annotations

from flask import Blueprint

from vhs.extensions import Blueprint as ApiBlueprint

# --- pages -----------------------------------------------------------------------------------
media = Blueprint("media", __name__)
staff = Blueprint("media_staff", __name__, url_prefix="/staff/media")

# --- API (/api/v1) ---------------------------------------------------------------------------
api = ApiBlueprint("media_api", __name__, url_prefix="/api/v1", description="E-media catalogue")
staff_api = ApiBlueprint(
    "media_staff_api", __name__, url_prefix="/api/v1", description="E-media stocking (staff)"
)

PAGES = (media, staff)
APIS = (api, staff_api)
