"""Staff pages of lending: an item's licences, loans and queue; expiring licences; long queues.

Each write is a POST that parses the form, calls one service and redirects with a
confirmation; refused input shows the page again (422) with the messages next to the fields.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from library.blueprints import staff as bp
from library.circulation.labels import KIND_OF_LICENCE
from library.holds import reports
from library.licences import services as licences
from library.licences.forms import LicenceForm, LicenceTermsForm
from library.loans import services as loans
from media.catalogue.labels import KIND_LABELS
from media.catalogue.staff_views import register_item_link
from vhs.auth import require_user, staff_required
from vhs.db import db
from vhs.errors import Conflict, Invalid
from vhs.forms import EmptyForm, apply_errors
from vhs.main import register_nav


def _refused(form: Any, exc: Invalid | Conflict) -> None:
    """Undo the attempt and put the service's messages next to the form's fields."""
    db.session.rollback()  # the 422 commits nothing; the page shows the stored state
    apply_errors(form, Invalid(exc.detail, errors=exc.errors))
    if isinstance(exc, Conflict):
        form.form_errors.append(str(exc.detail))


def _item_page(item_id: int, form: LicenceForm | None = None, status: int = 200) -> Any:
    lending = reports.item_lending(require_user(), item_id)
    page = render_template(
        "library/staff/item.html",
        lending=lending,
        item=lending.item,
        form=form or LicenceForm(formdata=None),
        action_form=EmptyForm(formdata=None),
        kind_labels=KIND_LABELS,
        licence_kinds=KIND_OF_LICENCE,
    )
    return page, status


@bp.route("/items/<int:item_id>/licences")
@staff_required
def item_licences(item_id: int) -> Any:
    """An item's licences (bought, used, left, expiring), its loans and its queue."""
    return _item_page(item_id)


@bp.route("/items/<int:item_id>/licences", methods=["POST"])
@staff_required
def add_licence(item_id: int) -> Any:
    """Add a licence; waiting holds get its copies at once."""
    actor = require_user()
    item = licences.get_stock_item(actor, item_id)
    form = LicenceForm()
    if form.validate_on_submit():
        try:
            licences.add_licence(actor, item, form.to_data())
        except (Invalid, Conflict) as exc:
            _refused(form, exc)
        else:
            flash(_("The licence has been added."), "success")
            return redirect(url_for(".item_licences", item_id=item_id))
    return _item_page(item_id, form, 422)


@bp.route("/licences/<int:licence_id>/edit", methods=["GET", "POST"])
@staff_required
def edit_licence(licence_id: int) -> Any:
    """Change a licence's copies at once, longest loan, protection terms and note."""
    actor = require_user()
    licence = licences.get_licence(actor, licence_id)
    form = LicenceTermsForm() if request.method == "POST" else LicenceTermsForm.of(licence)
    if form.validate_on_submit():
        try:
            licences.update_licence(actor, licence, form.to_data())
        except (Invalid, Conflict) as exc:
            _refused(form, exc)
            licence = licences.get_licence(actor, licence_id)
        else:
            flash(_("The licence has been saved."), "success")
            return redirect(url_for(".item_licences", item_id=licence.item_id))
    page = render_template(
        "library/staff/licence_edit.html",
        licence=licence,
        item=licence.item,
        form=form,
        licence_kinds=KIND_OF_LICENCE,
    )
    return page, 422 if request.method == "POST" else 200


@bp.route("/loans/<int:loan_id>/revoke", methods=["POST"])
@staff_required
def revoke_loan(loan_id: int) -> Any:
    """End a loan now (misuse, a licence withdrawn); its copy goes to the queue."""
    form = EmptyForm()
    if not form.validate_on_submit():
        return redirect(url_for("library_staff.hold_queues"))
    loan = loans.revoke_loan(require_user(), loan_id)
    flash(_("The loan has been ended."), "success")
    return redirect(url_for(".item_licences", item_id=loan.item_id))


@bp.route("/licences/expiring")
@staff_required
def expiring() -> Any:
    """Licences that stop lending within 30 days, soonest first."""
    rows = licences.expiring_licences(require_user())
    return render_template(
        "library/staff/expiring.html", licences=rows, licence_kinds=KIND_OF_LICENCE
    )


@bp.route("/reports/holds")
@staff_required
def hold_queues() -> Any:
    """Items with patrons waiting, longest queue per copy first: where to buy more."""
    rows = reports.hold_queues(require_user())
    return render_template(
        "library/staff/hold_queues.html",
        rows=rows,
        kind_labels=KIND_LABELS,
        format_decimal=format_decimal,
    )


register_nav("library_staff.hold_queues", _l("Lending"), who="staff")
register_item_link("library_staff.item_licences", _l("Licences and loans"))
