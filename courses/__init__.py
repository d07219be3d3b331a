"""Courses: terms, categories, courses, sessions, enrolment, webinars."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Wire the courses domain into the app (models, blueprints, registries, jobs)."""
    from courses import demo, gdpr, jobs, models, payments  # noqa: F401  (register with the core)

    try:
        from courses import api, views
    except ImportError:  # pragma: no cover - during the build-up of the package
        return
    from vhs.extensions import api as smorest_api

    for bp in views.blueprints():
        app.register_blueprint(bp)
    for bp in api.blueprints():
        smorest_api.register_blueprint(bp)

    from courses import calendar_api, calendar_views

    app.register_blueprint(calendar_views.bp)
    for bp in calendar_api.blueprints():
        smorest_api.register_blueprint(bp)

    # Webinars: models, GDPR registry, pages, webhook and API (courses/webinar_*.py).
    from courses import webinar_api, webinar_models, webinar_views, webinars  # noqa: F401

    for bp in webinar_views.blueprints():
        app.register_blueprint(bp)
    for bp in webinar_api.blueprints():
        smorest_api.register_blueprint(bp)
