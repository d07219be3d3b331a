"""How the media domain plugs into the core: its blueprints and its registrations."""

from __future__ import annotations

from flask import Flask

import media.demo.scale  # the demo data (flask demo seed)
import media.demo.seed
import media.files.api  # the routes
import media.files.views
import media.imports.api  # import routes
import media.imports.jobs  # the import runner job
import media.imports.models  # import runs' tables
import media.imports.views
import media.models  # noqa: F401  (the tables, for migrations and the other domains)
from media.blueprints import APIS, PAGES
from media.catalogue import api as catalogue_api  # noqa: F401  (routes attach on import)
from media.catalogue import staff_views as catalogue_staff_views  # noqa: F401
from media.catalogue import views as catalogue_views  # noqa: F401
from media.imports.cli import media_cli
from vhs.domains import Domain
from vhs.extensions import api


def register(app: Flask) -> None:
    """Register the domain's pages and API with ``app`` (routes arrive with the catalogue)."""
    for bp in PAGES:
        if bp.deferred_functions:
            app.register_blueprint(bp)
    for bp in APIS:
        if bp.deferred_functions:
            api.register_blueprint(bp)
    app.cli.add_command(media_cli)


domain = Domain(name="media", register=register)
