"""How the courses domain plugs into the core: its blueprints and its registrations.

Importing the route modules attaches their routes to the blueprints of ``courses.blueprints``
and registers the domain's GDPR parts, calendar sources, jobs, payment purposes, demo seeder
and navigation with the core's registries.
"""

from __future__ import annotations

from flask import Flask

import courses.calendar.api
import courses.calendar.sources
import courses.calendar.views
import courses.catalogue.api
import courses.catalogue.views
import courses.certificates.api
import courses.certificates.views
import courses.demo
import courses.enrolment.api
import courses.enrolment.gdpr
import courses.enrolment.jobs
import courses.enrolment.payment_views
import courses.enrolment.payments
import courses.enrolment.staff_views
import courses.enrolment.views
import courses.office.api
import courses.office.gdpr
import courses.office.views
import courses.planning.api
import courses.planning.session_views
import courses.planning.views
import courses.reading_lists.api
import courses.reading_lists.groups
import courses.reading_lists.views
import courses.teaching.api
import courses.teaching.views
import courses.webinars.api
import courses.webinars.gdpr
import courses.webinars.jobs
import courses.webinars.views  # noqa: F401  (each import above attaches routes or registers)
from courses.blueprints import APIS, PAGES
from courses.labels import format_units, units_plural
from vhs.domains import Domain
from vhs.extensions import api


def register(app: Flask) -> None:
    """Register the domain's pages and API with ``app``, and its template filters."""
    app.jinja_env.filters["units"] = format_units
    app.jinja_env.filters["units_plural"] = units_plural
    for bp in PAGES:
        app.register_blueprint(bp)
    for bp in APIS:
        api.register_blueprint(bp)


domain = Domain(name="courses", register=register)
