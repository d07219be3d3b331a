"""How the library domain plugs into the core: its tables, pages, API, jobs and registrations."""

from __future__ import annotations

from flask import Flask

import library.access.api  # the routes attach to the blueprints on import
import library.access.views
import library.circulation.api
import library.circulation.calendar  # the personal feed's loan and hold dates
import library.circulation.gdpr  # lending's export and erasure
import library.circulation.staff_api
import library.circulation.staff_views
import library.circulation.views
import library.dedications.api
import library.dedications.jobs
import library.dedications.staff_views
import library.demo  # the demo data (flask demo seed)
import library.distributors.api
import library.distributors.demo  # the demo distributor (off by default)
import library.distributors.jobs  # jobs register on import
import library.distributors.provider  # the "odl" licence provider registers on import
import library.distributors.staff_views
import library.distributors.views
import library.holds.jobs  # jobs register on import
import library.holds.services  # holds answer copies_freed: a copy never sits idle
import library.loans.jobs
import library.models  # the tables, for migrations
import library.reader.api
import library.reader.gdpr  # the reading positions in "download my data"
import library.reader.views  # noqa: F401  (routes attach on import)
from library.blueprints import APIS, PAGES
from library.licences.catalogue import plug_into_catalogue
from library.opds import views as opds_views  # noqa: F401  (OPDS for reading apps)
from library.patrons import api as patrons_api  # noqa: F401  (routes attach on import)
from library.patrons import fees as patrons_fees  # noqa: F401  (payment receivers)
from library.patrons import gdpr as patrons_gdpr  # noqa: F401  (export and erasure)
from library.patrons import staff_views as patrons_staff_views  # noqa: F401
from library.patrons import views as patrons_views  # noqa: F401
from vhs.domains import Domain
from vhs.extensions import api


def register(app: Flask) -> None:
    """Register the domain's pages and API with ``app``, and its part of the catalogue."""
    for bp in PAGES:
        if bp.deferred_functions:
            app.register_blueprint(bp)
    for bp in APIS:
        if bp.deferred_functions:
            api.register_blueprint(bp)
    plug_into_catalogue()


domain = Domain(name="library", register=register, after=("media",))
