"""Shared parts of the staff pages ("Verwaltung"): labels, loading, refused forms.

Each write is a POST that parses the form, calls ONE service and redirects with a
confirmation; refused input re-renders the form with 422 and the messages next to the fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import render_template, request

from courses.labels import (
    COURSE_STATUS_LABELS,
    FORMAT_LABELS,
    REDUCTION_LABELS,
    SESSION_STATUS_LABELS,
    STATUS_LABELS,
    TERM_STATUS_LABELS,
    WEEKDAYS,
)
from courses.models import (
    Category,
    Term,
)
from vhs.db import db
from vhs.errors import Invalid, NotFound
from vhs.forms import apply_errors
from vhs.i18n import local_zone, page_locale

Page = tuple[str, int]


# --- helpers ----------------------------------------------------------------------------------


def get_or_404(model: type, ident: int) -> Any:
    obj = db.session.get(model, ident)
    if obj is None:
        raise NotFound()
    return obj


def discard_changes() -> None:
    """Forget what a refused service call left in the session before the form is shown again.

    The 422 answer commits nothing anyway (the unit of work rolls back on 4xx); rolling back
    now also expires half-made objects, so the page shows the stored state, not the attempt.
    """
    db.session.rollback()


def show_refusal(form: Any, exc: Invalid, rename: dict[str, str] | None = None) -> None:
    """Undo the attempt and put the service's messages next to the form's fields."""
    discard_changes()
    if rename:
        exc = Invalid(
            exc.detail,
            code=exc.code,
            errors={rename.get(k, k): v for k, v in exc.errors.items()},
        )
    apply_errors(form, exc)


def form_status() -> int:
    """A page shown again after a POST shows refused input."""
    return 422 if request.method == "POST" else 200


def staff_page(template: str, status: int = 200, **context: Any) -> Page:
    return render_template(f"courses/staff/{template}", **staff_labels(), **context), status


def staff_labels() -> dict[str, Any]:
    return {
        "course_status_labels": COURSE_STATUS_LABELS,
        "term_status_labels": TERM_STATUS_LABELS,
        "session_status_labels": SESSION_STATUS_LABELS,
        "status_labels": STATUS_LABELS,
        "reduction_labels": REDUCTION_LABELS,
        "format_labels": FORMAT_LABELS,
        "weekdays": WEEKDAYS,
    }


def local_or_none(dt: datetime | None) -> datetime | None:
    """``dt_local`` for optional times."""
    return dt_local(dt) if dt else None


def dt_local(dt: datetime) -> datetime:
    """A stored UTC time as Berlin wall-clock time without zone, as the form fields show it."""
    return dt.astimezone(local_zone()).replace(tzinfo=None)


def terms_newest_first() -> list[Term]:
    return list(db.session.execute(sa.select(Term).order_by(Term.starts_on.desc())).scalars())


def category_tree() -> list[tuple[Category, int]]:
    """Every category with its depth, parents before their children, in position order."""
    rows = db.session.execute(
        sa.select(Category).order_by(Category.position, Category.name_de, Category.id)
    ).scalars()
    children: dict[int | None, list[Category]] = {}
    for cat in rows:
        children.setdefault(cat.parent_id, []).append(cat)
    out: list[tuple[Category, int]] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for cat in children.get(parent_id, []):
            out.append((cat, depth))
            walk(cat.id, depth + 1)

    walk(None, 0)
    return out


def category_label(cat: Category, depth: int) -> str:
    return "– " * depth + cat.name(page_locale())
