"""Home page, language switch and health check."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
)
from flask_babel import gettext as _

from vhs.auth import current
from vhs.db import db
from vhs.forms import safe_next
from vhs.i18n import refresh_locale

bp = Blueprint("main", __name__)

# Domains add blocks to the home page (e.g. the term's highlights) without the core importing
# them: each provider returns (template name, context) or None.
_home_sections: list[Any] = []


_nav: list[tuple[str, Any, str]] = []


def register_nav(endpoint: str, label: Any, who: str = "all") -> None:
    """Add a link to the main navigation (``who``: all, user, instructor, staff, admin)."""
    if all(existing != endpoint for existing, _label, _who in _nav):
        _nav.append((endpoint, label, who))


def nav_items() -> list[tuple[str, Any]]:
    """The navigation links the current visitor may see."""
    user = current()
    items = []
    for endpoint, label, who in _nav:
        if who == "all" or (
            user is not None
            and (
                who == "user"
                or (who == "instructor" and (user.is_instructor or user.is_staff))
                or (who == "staff" and user.is_staff)
                or (who == "admin" and user.is_admin)
            )
        ):
            items.append((endpoint, label))
    return items


def register_home_section(func: Any) -> None:
    """Let a domain contribute a section to the home page."""
    _home_sections.append(func)


@bp.route("/")
def home() -> str:
    """The home page: what the VHS offers this term."""
    sections = [s for s in (f() for f in _home_sections) if s]
    return render_template("main/home.html", sections=sections)


@bp.route("/language", methods=["POST"])
def set_language() -> Any:
    """Switch the interface language (kept in the profile when logged in)."""
    lang = request.form.get("lang", "de")
    if lang not in ("de", "en"):
        lang = "de"
    session["locale"] = lang
    user = current()
    if user is not None:
        user.locale = lang

    refresh_locale()
    flash(_("Language changed."), "success")
    return redirect(safe_next(request.form.get("next")) or "/")


@bp.route("/privacy")
def privacy() -> str:
    """The privacy notice (Datenschutzerklärung)."""
    return render_template("main/privacy.html")


@bp.route("/healthz")
def healthz() -> Response:
    """Liveness for load balancers; does not touch the database (see /readyz)."""
    return Response("ok", mimetype="text/plain")


@bp.route("/readyz")
def readyz() -> Response:
    """Readiness: the database answers."""
    db.session.execute(db.text("SELECT 1"))
    return Response("ready", mimetype="text/plain")


@bp.app_context_processor
def _inject() -> dict[str, Any]:
    return {
        "settings": current_app.config["VHS"],
        "current_account": current(),
        "nav_items": nav_items(),
    }
