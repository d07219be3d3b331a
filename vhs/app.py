"""The composition root: ``create_app`` builds config, extensions, blueprints, CLI and errors."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, g, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l

import vhs.auth
import vhs.demo
import vhs.mail.jobs
import vhs.payments.jobs
import vhs.payments.providers.manual
import vhs.payments.providers.stripe
import vhs.payments.receivers  # noqa: F401  (each registers a loader, seeder, job, provider or receiver)
from vhs import gdpr, main
from vhs.accounts import api as accounts_api
from vhs.accounts import views as accounts_views
from vhs.auth import current
from vhs.calendar import api as calendar_api
from vhs.calendar import views as calendar_views
from vhs.cli import register_cli
from vhs.config import REPO_ROOT, Settings, flask_config
from vhs.db import configure_engine, db, set_write_intent
from vhs.domains import installed_domains
from vhs.edge import init_edge
from vhs.errors import register_error_handlers
from vhs.extensions import api, babel, bearer_token, csrf, limiter, login_manager, migrate
from vhs.i18n import install_gettext, register_filters, select_locale
from vhs.main import register_nav
from vhs.payments import api as payments_api
from vhs.payments import services as payments_services
from vhs.payments import views as payments_views
from vhs.translations import compile_catalogs
from vhs.uow import unit_of_work

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Blueprints whose POSTs come from machines that sign their requests instead (webhooks, and
# ODL distributors' notifications, whose URL carries a signed token: library.distributors).
CSRF_EXEMPT_PREFIXES = ("/webhooks/", "/library/odl/notify/")


class VhsFlask(Flask):
    """Flask whose views each run as one unit of work (``vhs.uow``)."""

    def dispatch_request(self) -> ResponseReturnValue:  # type: ignore[override]
        """Run the view in a unit of work: commit once after it, unless it answered >= 400.

        A refused request (a form shown again with 422, an API 4xx) and an exception roll back
        and drop the after-commit work; the error handlers then render the answer.
        """
        with unit_of_work() as uow:
            response = self.make_response(super().dispatch_request())
            if response.status_code >= 400:
                uow.discard()
        return response


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application; ``config`` overrides settings (tests pass their own)."""
    app = VhsFlask(
        "vhs",
        instance_relative_config=True,
        instance_path=os.environ.get("VHS_INSTANCE_PATH") or str(REPO_ROOT / "instance"),
        template_folder=str(REPO_ROOT / "templates"),
        static_folder=str(Path(__file__).parent / "static"),
    )
    config = dict(config or {})
    overrides = {
        key: config.pop(key) for key in list(config) if key in Settings.__dataclass_fields__
    }
    settings = Settings.from_env(overrides=overrides)
    settings.validate()
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(flask_config(settings, app.instance_path))
    app.config.update(config)

    _configure_logging(app)
    _ensure_catalogs()
    _init_extensions(app)
    init_edge(app)
    _register_blueprints(app)
    _register_hooks(app)

    register_cli(app)
    register_filters(app)
    register_error_handlers(app)
    return app


def _configure_logging(app: Flask) -> None:
    if not app.debug and not app.testing:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )


def _ensure_catalogs() -> None:
    """Compile translation catalogs when missing or stale (the build does this too)."""
    with contextlib.suppress(OSError):  # read-only install: the build compiled them
        compile_catalogs(only_stale=True)


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    with app.app_context():
        settings = app.config["VHS"]
        configure_engine(
            db.engine,
            busy_timeout_ms=settings.sqlite_busy_timeout_ms,
            lock_timeout_ms=settings.lock_timeout_ms,
        )
    migrate.init_app(
        app, db, directory=str(REPO_ROOT / "migrations"), render_as_batch=True, compare_type=True
    )
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    login_manager.login_view = "accounts.login"
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    install_gettext(app)
    limiter.init_app(app)
    api.init_app(app)


def _register_blueprints(app: Flask) -> None:
    # Core first, then the domains (which register their GDPR, calendar, demo and home-page
    # parts with the core's registries as they are imported).
    app.register_blueprint(main.bp)
    app.register_blueprint(accounts_views.bp)
    app.register_blueprint(accounts_views.admin_bp)
    api.register_blueprint(accounts_api.bp)

    app.register_blueprint(calendar_views.bp)
    api.register_blueprint(calendar_api.bp)

    register_nav("payments.mine", _l("My payments"), who="user")
    register_nav("payments.staff_list", _l("Payments"), who="staff")
    app.register_blueprint(payments_views.bp)
    app.register_blueprint(payments_views.webhooks)
    api.register_blueprint(payments_api.bp)
    gdpr.register_exporter("payments", payments_services.export_payments)
    gdpr.register_eraser(
        "payments",
        payments_services.erase_payments,
        gdpr.Retention(
            what=_l("Payments, refunds and invoices, with the amounts and dates."),
            why=_l(
                "Tax law requires invoices to be kept for ten years; the name and address "
                "on them are removed."
            ),
        ),
    )

    for domain in installed_domains():
        domain.register(app)


def _register_hooks(app: Flask) -> None:
    @app.before_request
    def _begin() -> None:
        set_write_intent(request.method not in SAFE_METHODS)
        if request.method in SAFE_METHODS:
            return
        if request.routing_exception is not None:
            return  # nothing will run: answer the honest 404/405 (with Allow), not a CSRF 400
        if request.path.startswith(CSRF_EXEMPT_PREFIXES):
            return
        if request.path.startswith("/api/"):
            if bearer_token():
                return  # tokens are not sent by browsers on their own: no CSRF risk
            if current() is None:
                return  # nothing to forge: the endpoint answers 401 itself
        # Views and blueprints marked ``csrf.exempt`` (OPDS: HTTP Basic only, no session) pass.
        csrf.protect(apply_exemptions=True)

    @app.after_request
    def _security_headers(response: Any) -> Any:
        csp = {
            "default-src": "'self'",
            "img-src": "'self' data:",
            "style-src": "'self'",
            "script-src": "'self'",
            "frame-ancestors": "'self'",
            "form-action": "'self' https://checkout.stripe.com",
            "base-uri": "'self'",
            "object-src": "'none'",
        }
        for directive, extra in (g.get("csp_extra") or {}).items():
            csp[directive] = f"{csp.get(directive, '')} {extra}".strip()
        response.headers.setdefault(
            "Content-Security-Policy", "; ".join(f"{k} {v}" for k, v in csp.items())
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        response.headers.setdefault("Permissions-Policy", "geolocation=(), payment=()")
        if app.config["VHS"].production:
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        if request.path.startswith("/account") or request.path.startswith("/api/v1/me"):
            response.headers.setdefault("Cache-Control", "private, no-store")
        response.headers.add("Vary", "Cookie")
        return response
