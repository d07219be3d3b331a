"""Every blueprint of the courses domain, in one place; the sub-packages attach their routes.

Pages and API endpoints of one URL space are spread over sub-packages (a course page lives in
``catalogue``, its booking form in ``enrolment``), so the blueprints live below all of them and
keep the endpoint names (``courses.detail``, ``staff.terms``) that templates and clients use.
"""

from __future__ import annotations

from flask import Blueprint

from vhs.extensions import Blueprint as ApiBlueprint

# --- pages -----------------------------------------------------------------------------------
courses = Blueprint("courses", __name__)
pay = Blueprint("courses_pay", __name__)
staff = Blueprint("staff", __name__, url_prefix="/staff")
teaching = Blueprint("teaching", __name__, url_prefix="/teaching")
webinars = Blueprint("webinars", __name__)
calendar = Blueprint("course_calendar", __name__)
jitsi_webhooks = Blueprint("jitsi_webhooks", __name__, url_prefix="/webhooks")

# --- API (/api/v1) ---------------------------------------------------------------------------
api = ApiBlueprint(
    "courses_api", __name__, url_prefix="/api/v1", description="Courses and enrolment"
)
staff_api = ApiBlueprint(
    "courses_staff_api", __name__, url_prefix="/api/v1", description="Course planning (staff)"
)
calendar_api = ApiBlueprint(
    "calendar_exports_api", __name__, url_prefix="/api/v1", description="Session exports (staff)"
)
webinars_api = ApiBlueprint(
    "webinars_api",
    __name__,
    url_prefix="/api/v1",
    description="Webinars (Jitsi), attendance and certificates",
)

PAGES = (courses, pay, teaching, staff, calendar, webinars, jitsi_webhooks)
APIS = (api, staff_api, calendar_api, webinars_api)
