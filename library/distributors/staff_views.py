"""Staff pages of distributors: the list with the form to add one, edit, delete (with a
confirmation page), sync now. Each write is a POST that calls one service and redirects;
refused input shows the page again (422) with the messages next to the fields."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from library.blueprints import staff as bp
from library.distributors import services
from library.distributors.forms import DistributorForm
from vhs.auth import require_user, staff_required
from vhs.db import db
from vhs.errors import Conflict, Invalid
from vhs.forms import EmptyForm, apply_errors


def _list_page(form: DistributorForm | None = None, status: int = 200) -> Any:
    page = render_template(
        "library/distributors/list.html",
        distributors=services.list_distributors(require_user()),
        form=form or DistributorForm(formdata=None),
        action_form=EmptyForm(formdata=None),
    )
    return page, status


@bp.route("/distributors")
@staff_required
def distributors() -> Any:
    """The distributors, their last sync, and the form to add one."""
    return _list_page()


@bp.route("/distributors", methods=["POST"])
@staff_required
def add_distributor() -> Any:
    """Add a distributor."""
    form = DistributorForm()
    if form.validate_on_submit():
        try:
            services.add_distributor(require_user(), form.to_data())
        except Invalid as exc:
            db.session.rollback()
            apply_errors(form, exc)
        else:
            flash(_("The distributor has been added. Sync it to import its feed."), "success")
            return redirect(url_for(".distributors"))
    return _list_page(form, 422)


@bp.route("/distributors/<int:distributor_id>/edit", methods=["GET", "POST"])
@staff_required
def edit_distributor(distributor_id: int) -> Any:
    """Change a distributor's name, feed or account."""
    actor = require_user()
    distributor = services.get_distributor(actor, distributor_id)
    form = DistributorForm() if request.method == "POST" else DistributorForm.of(distributor)
    if form.validate_on_submit():
        try:
            services.update_distributor(actor, distributor, form.to_data())
        except Invalid as exc:
            db.session.rollback()
            apply_errors(form, exc)
            distributor = services.get_distributor(actor, distributor_id)
        else:
            flash(_("The distributor has been saved."), "success")
            return redirect(url_for(".distributors"))
    page = render_template("library/distributors/edit.html", distributor=distributor, form=form)
    return page, 422 if request.method == "POST" else 200


@bp.route("/distributors/<int:distributor_id>/delete", methods=["GET", "POST"])
@staff_required
def delete_distributor(distributor_id: int) -> Any:
    """Ask, then delete a distributor (its licences stop lending)."""
    actor = require_user()
    distributor = services.get_distributor(actor, distributor_id)
    form = EmptyForm()
    error = None
    if request.method == "POST" and form.validate_on_submit():
        name = distributor.name
        try:
            services.delete_distributor(actor, distributor)
        except Conflict as exc:
            db.session.rollback()
            error = str(exc.detail)
            distributor = services.get_distributor(actor, distributor_id)
        else:
            flash(_("The distributor “%(name)s” has been deleted.", name=name), "success")
            return redirect(url_for(".distributors"))
    page = render_template(
        "library/distributors/delete.html",
        distributor=distributor,
        form=EmptyForm(formdata=None),
        in_use=services.in_use(distributor),
        error=error,
    )
    return page, 409 if error else (422 if request.method == "POST" else 200)


@bp.route("/distributors/<int:distributor_id>/sync", methods=["POST"])
@staff_required
def sync_distributor(distributor_id: int) -> Any:
    """Sync the feed now; the list shows the outcome."""
    form = EmptyForm()
    if form.validate_on_submit():
        actor = require_user()
        services.request_sync(actor, services.get_distributor(actor, distributor_id))
        flash(_("The feed is being synced; the list shows the outcome."), "success")
    return redirect(url_for(".distributors"))
