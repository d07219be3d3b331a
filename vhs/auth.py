"""Who is asking: session or API token, and the role checks views and endpoints share."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from vhs.accounts.models import Role, User
from vhs.accounts.services import user_for_token
from vhs.db import db
from vhs.errors import Forbidden, Unauthorized, wants_json
from vhs.extensions import bearer_token, login_manager

F = TypeVar("F", bound=Callable[..., Any])


def current() -> User | None:
    """The logged-in user, or None for anonymous visitors."""
    user = current_user._get_current_object()
    return cast(User, user) if getattr(user, "is_authenticated", False) else None


def require_user() -> User:
    """The logged-in user, or a 401 refusal."""
    user = current()
    if user is None:
        raise Unauthorized()
    return user


def require_role(*roles: Role) -> User:
    """The logged-in user if they hold one of ``roles`` (admin always passes), else 401/403."""
    user = require_user()
    if user.role is Role.ADMIN or user.role in roles:
        return user
    raise Forbidden(_l("This area is for VHS staff only."), code="forbidden_role")


def staff_required(view: F) -> F:
    """Decorator for staff pages and endpoints."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        require_role(Role.STAFF)
        return view(*args, **kwargs)

    return cast(F, wrapper)


def admin_required(view: F) -> F:
    """Decorator for administrator pages and endpoints."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        require_role(Role.ADMIN)
        return view(*args, **kwargs)

    return cast(F, wrapper)


def user_required(view: F) -> F:
    """Decorator: any logged-in account (HTML visitors are sent to the login page)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        require_user()
        return view(*args, **kwargs)

    return cast(F, wrapper)


@login_manager.user_loader
def _load_user(identity: str) -> User | None:
    user_id, _, session_token = identity.partition(":")
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.is_active or user.session_token != session_token:
        return None
    return user


@login_manager.request_loader
def _load_user_from_token(_request: Any) -> User | None:
    if not request.path.startswith("/api/"):
        return None
    token = bearer_token()
    if not token:
        return None

    return user_for_token(token)


@login_manager.unauthorized_handler
def _unauthorized() -> Any:
    if wants_json():
        raise Unauthorized()
    return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
