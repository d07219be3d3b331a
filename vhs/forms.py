"""Small helpers shared by HTML views: service errors onto form fields, safe redirects."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask_wtf import FlaskForm

from vhs.errors import Invalid


class EmptyForm(FlaskForm):
    """A button that changes state: only the CSRF token."""


def apply_errors(form: FlaskForm, exc: Invalid) -> None:
    """Show a service's field errors next to the matching form fields."""
    placed = False
    for name, messages in exc.errors.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            msgs = messages if isinstance(messages, list | tuple) else [messages]
            field.errors = [*list(field.errors or []), *[str(m) for m in msgs]]
            placed = True
    if not placed:
        form.form_errors.append(str(exc.detail))


def safe_next(target: str | None) -> str | None:
    """Only follow ``next=`` to a path on this site (no open redirects)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target
