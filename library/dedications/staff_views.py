"""Staff pages of dedications: a licence's copies set aside for courses."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from library.blueprints import staff as bp
from library.dedications import services as dedications
from library.dedications.forms import DedicationForm
from library.licences import services as licences
from library.licences.availability import free_copies, is_running
from vhs.auth import require_user, staff_required
from vhs.db import db, utcnow
from vhs.errors import Conflict, Invalid
from vhs.forms import EmptyForm, apply_errors


def _page(licence_id: int, form: DedicationForm | None = None, status: int = 200) -> Any:
    licence = licences.get_licence(require_user(), licence_id)
    now = utcnow()
    rows = [
        {
            "dedication": d,
            "group": dedications.group_title(d),
            "running": is_running(d, now),
        }
        for d in dedications.dedications_of(licence)
    ]
    page = render_template(
        "library/staff/dedications.html",
        licence=licence,
        item=licence.item,
        rows=rows,
        free=free_copies(licence, now),
        form=form or DedicationForm(formdata=None),
        action_form=EmptyForm(formdata=None),
    )
    return page, status


@bp.route("/licences/<int:licence_id>/dedications")
@staff_required
def licence_dedications(licence_id: int) -> Any:
    """A licence's copies dedicated to courses, and the form to dedicate more."""
    return _page(licence_id)


@bp.route("/licences/<int:licence_id>/dedications", methods=["POST"])
@staff_required
def dedicate(licence_id: int) -> Any:
    """Set copies aside for a course until its last session ends."""
    actor = require_user()
    licence = licences.get_licence(actor, licence_id)
    form = DedicationForm()
    if form.validate_on_submit():
        try:
            dedications.dedicate(actor, licence, form.to_data())
        except (Invalid, Conflict) as exc:
            db.session.rollback()
            apply_errors(form, Invalid(exc.detail, errors=exc.errors))
            if isinstance(exc, Conflict):
                form.form_errors.append(str(exc.detail))
        else:
            flash(_("The copies are set aside for the course."), "success")
            return redirect(url_for(".licence_dedications", licence_id=licence_id))
    return _page(licence_id, form, 422)


@bp.route("/dedications/<int:dedication_id>/end", methods=["POST"])
@staff_required
def end_dedication(dedication_id: int) -> Any:
    """End a dedication now; its free copies go back to the general pool."""
    form = EmptyForm()
    dedication = dedications.get_dedication(require_user(), dedication_id)
    licence_id = dedication.licence_id
    if form.validate_on_submit():
        dedications.end_dedication(require_user(), dedication_id)
        flash(_("The copies are back in the general pool."), "success")
    return redirect(url_for(".licence_dedications", licence_id=licence_id))
