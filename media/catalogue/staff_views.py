"""Staff pages for stocking the catalogue: list, create, edit, publish, withdraw.

Each write is a POST that parses the form, calls ONE service and redirects with a confirmation;
refused input shows the form again (422) with the messages next to the fields. Withdrawing asks
first, on a page of its own, saying what happens (works without JavaScript).
"""

from __future__ import annotations

from math import ceil
from typing import Any

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from media import rules
from media.blueprints import staff as bp
from media.catalogue import services
from media.catalogue.forms import MediaFilterForm, item_form
from media.catalogue.labels import labels
from media.models import Contributor, Identifier, IdentifierScheme, MediaItem, PublicationState
from vhs.auth import require_user, staff_required
from vhs.db import db
from vhs.errors import Conflict, Invalid, NotFound
from vhs.forms import EmptyForm, apply_errors
from vhs.main import register_nav

PER_PAGE = 25

# Pages of other domains about one item (the library's licences), linked from its staff page:
# (endpoint taking ``item_id``, label). Media knows their names, not their code.
_item_links: list[tuple[str, Any]] = []


def register_item_link(endpoint: str, label: Any) -> None:
    """Link a page about an item (an endpoint with an ``item_id``) from the item's staff page."""
    if all(existing != endpoint for existing, _label in _item_links):
        _item_links.append((endpoint, label))


def _page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    """Render a staff page with the catalogue's labels, and its status."""
    return render_template(f"media/staff/{template}", **labels(), **context), status


def _get(item_id: int) -> MediaItem:
    """Any item with its lists (drafts and withdrawn ones too), or 404."""
    item = (
        db.session.execute(
            sa.select(MediaItem).where(MediaItem.id == item_id).options(*services.ITEM_DETAILS)
        )
        .unique()
        .scalar_one_or_none()
    )
    if item is None:
        raise NotFound(_l("This medium does not exist."), code="media_not_found")
    return item


def _refused(form: Any, exc: Invalid | Conflict) -> None:
    """Undo the attempt and put the service's messages next to the form's fields."""
    db.session.rollback()  # the 422 commits nothing; the page shows the stored state
    errors = {("duration" if k == "duration_seconds" else k): v for k, v in exc.errors.items()}
    apply_errors(form, Invalid(exc.detail, errors=errors))
    if isinstance(exc, Conflict):
        form.form_errors.append(str(exc.detail))


def _search_condition(q: str) -> Any:
    """Title or subtitle containing ``q``, a person's name containing it, or its ISBN."""
    pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    conds = [
        MediaItem.title.ilike(pattern, escape="\\"),
        MediaItem.id.in_(
            sa.select(Contributor.item_id).where(Contributor.name.ilike(pattern, escape="\\"))
        ),
    ]
    try:
        isbn = rules.normalise_isbn(q)
    except rules.IdentifierError:
        isbn = None
    if isbn is not None:
        conds.append(
            MediaItem.id.in_(
                sa.select(Identifier.item_id).where(
                    Identifier.scheme == IdentifierScheme.ISBN, Identifier.value == isbn
                )
            )
        )
    return sa.or_(*conds)


@bp.route("")
@staff_required
def items() -> tuple[str, int]:
    """Every item, drafts and withdrawn ones included: search and filter by state."""
    filters = MediaFilterForm(formdata=request.args)
    query = sa.select(MediaItem)
    state = request.args.get("state", "")
    if state in {s.value for s in PublicationState}:
        query = query.where(MediaItem.state == PublicationState(state))
    q = (request.args.get("q") or "").replace("\x00", "").strip()[:200]
    if q:
        query = query.where(_search_condition(q))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    pages = max(ceil(total / PER_PAGE), 1)
    page_arg = request.args.get("page", "1")
    page = min(max(int(page_arg), 1), pages) if page_arg.isdigit() and len(page_arg) < 7 else 1
    rows = list(
        db.session.execute(
            query.options(selectinload(MediaItem.contributors))
            .order_by(MediaItem.updated_at.desc(), MediaItem.id.desc())
            .offset((page - 1) * PER_PAGE)
            .limit(PER_PAGE)
        ).scalars()
    )
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return _page(
        "items.html", filters=filters, items=rows, total=total, page=page, pages=pages, args=args
    )


@bp.route("/new", methods=["GET", "POST"])
@staff_required
def new() -> Any:
    """Describe a new item; it starts as a draft."""
    form = item_form()
    if form.validate_on_submit():
        try:
            item = services.save_item(require_user(), form.to_data())
        except (Invalid, Conflict) as exc:
            _refused(form, exc)
        else:
            flash(_("“%(title)s” has been saved as a draft.", title=item.title), "success")
            return redirect(url_for("media_staff.edit", item_id=item.id))
    return _page("new.html", 422 if request.method == "POST" else 200, form=form)


@bp.route("/<int:item_id>/edit", methods=["GET", "POST"])
@staff_required
def edit(item_id: int) -> Any:
    """Every field of an item, its state and what can be done with it, and its files."""
    item = _get(item_id)
    form = item_form(item)
    if form.validate_on_submit():
        try:
            services.save_item(require_user(), form.to_data(), services.lock_item(item.id))
        except (Invalid, Conflict) as exc:
            _refused(form, exc)
            item = _get(item_id)
        else:
            flash(_("“%(title)s” has been saved.", title=item.title), "success")
            return redirect(url_for("media_staff.edit", item_id=item.id))
    return _page(
        "edit.html",
        422 if request.method == "POST" else 200,
        item=item,
        form=form,
        action_form=EmptyForm(),
        can_publish=item.state is not PublicationState.PUBLISHED,
        can_withdraw=item.state is PublicationState.PUBLISHED,
        item_links=list(_item_links),
    )


@bp.route("/<int:item_id>/publish", methods=["POST"])
@staff_required
def publish(item_id: int) -> Any:
    """Put the item into the public catalogue."""
    item = services.publish_item(require_user(), services.lock_item(item_id))
    flash(_("“%(title)s” is now in the catalogue.", title=item.title), "success")
    return redirect(url_for("media_staff.edit", item_id=item.id))


@bp.route("/<int:item_id>/withdraw", methods=["GET", "POST"])
@staff_required
def withdraw(item_id: int) -> Any:
    """Ask first, then take the item out of the catalogue (the record and history stay)."""
    item = _get(item_id)
    form = EmptyForm()
    if form.validate_on_submit():
        services.withdraw_item(require_user(), services.lock_item(item.id))
        flash(_("“%(title)s” has been withdrawn from the catalogue.", title=item.title), "success")
        return redirect(url_for("media_staff.edit", item_id=item.id))
    return _page(
        "withdraw.html",
        422 if request.method == "POST" else 200,
        item=item,
        form=form,
        can_withdraw=item.state is PublicationState.PUBLISHED,
    )


register_nav("media_staff.items", _l("Media stock"), who="staff")
