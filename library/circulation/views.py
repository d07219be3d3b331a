"""Patron pages: an item's lending page (borrow, reserve) and "Mein Konto → Ausleihen /
Vormerkungen" (return with a confirmation, renew, cancel). They work without JavaScript;
refusals are the services' (an error page with the reason)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from wtforms import SelectChoice

from library import rules
from library.access.labels import external_facts, external_label, file_facts, link_label
from library.access.services import links_of_loans
from library.blueprints import library as bp
from library.circulation import services
from library.circulation.forms import BorrowForm, HistoryForm
from library.circulation.labels import HOLD_LABELS, availability_words
from library.loans.services import get_own_loan
from library.reader.labels import reader_label
from library.reader.services import readable
from media.catalogue.labels import KIND_LABELS
from media.catalogue.views import register_item_action
from vhs.auth import current, require_user, user_required
from vhs.errors import Invalid
from vhs.forms import EmptyForm
from vhs.i18n import fmt_datetime
from vhs.main import register_nav


def _period_choices(view: services.ItemForPatron) -> list[SelectChoice]:
    default = view.default_days
    first = SelectChoice(
        "",
        ngettext(
            "%(num)d day (usual for this medium)", "%(num)d days (usual for this medium)", default
        ),
    )
    return [first] + [
        SelectChoice(str(d), _("%(num)d days", num=d)) for d in view.periods if d != default
    ]


@bp.route("/library/media/<int:item_id>")
def item(item_id: int) -> Any:
    """Copies, queue and expected wait of an item; borrow or reserve it."""
    view = services.item_for_patron(current(), item_id)
    form = BorrowForm(formdata=None)
    form.days.choices = _period_choices(view)
    return render_template(
        "library/item.html",
        view=view,
        words=availability_words(view.availability),
        item=view.item,
        form=form,
        action_form=EmptyForm(formdata=None),
        kind_labels=KIND_LABELS,
    )


@bp.route("/library/media/<int:item_id>/loans", methods=["POST"])
@user_required
def borrow(item_id: int) -> Any:
    """Borrow the item for the period chosen."""
    form = BorrowForm()
    if not form.validate_on_submit():
        raise Invalid(errors=form.errors)
    loan = services.borrow(require_user(), item_id, days=form.chosen_days())
    flash(_("You have borrowed it until %(when)s.", when=_local(loan.due_at)), "success")
    return redirect(url_for(".account"))


@bp.route("/library/media/<int:item_id>/holds", methods=["POST"])
@user_required
def place_hold(item_id: int) -> Any:
    """Reserve the item."""
    if not EmptyForm().validate_on_submit():
        raise Invalid()
    services.place_hold(require_user(), item_id)
    flash(_("Reserved. We will write to you when a copy is kept for you."), "success")
    return redirect(url_for(".account"))


@bp.route("/library/account")
@user_required
def account() -> Any:
    """ "Mein Konto": current loans (due date, files, return, renew) and reservations (position,
    wait). The file links are signed afresh at every view, so the page is never stored."""
    patron = require_user()
    account = services.my_account(patron)  # brought up to date once, for loans and holds
    history = services.history_choice(patron)
    links = links_of_loans(account.loans)
    page = render_template(
        "library/account.html",
        loans=account.loans,
        links=links,
        readers={loan_id: readable(made) for loan_id, made in links.items()},
        reader_label=reader_label,
        link_label=link_label,
        file_facts=file_facts,
        external_label=external_label,
        external_facts=external_facts,
        link_minutes=int(rules.link_lifetime().total_seconds() // 60),
        holds=account.holds,
        past=services.my_past_loans(patron) if history.keep else [],
        history=history,
        history_form=HistoryForm(formdata=None, keep=history.keep),
        action_form=EmptyForm(formdata=None),
        hold_labels=HOLD_LABELS,
        kind_labels=KIND_LABELS,
        renewals_max=rules.RENEWALS_MAX,
    )
    return page, 200, {"Cache-Control": "private, no-store"}


@bp.route("/library/account/history", methods=["POST"])
@user_required
def history() -> Any:
    """Opt in to a "read before" list, or out (which forgets the list at once)."""
    form = HistoryForm()
    if not form.validate_on_submit():
        raise Invalid(errors=form.errors)
    keep = bool(form.keep.data)
    services.set_keep_history(require_user(), keep)
    if keep:
        flash(_("From now on, what you return stays on your list."), "success")
    else:
        flash(_("Your list of borrowed media has been deleted and is no longer kept."), "success")
    return redirect(url_for(".account"))


@bp.route("/library/loans/<int:loan_id>/return", methods=["GET", "POST"])
@user_required
def return_loan(loan_id: int) -> Any:
    """Ask first, then give the loan back early."""
    patron = require_user()
    form = EmptyForm()
    if form.validate_on_submit():
        services.return_loan(patron, loan_id)
        flash(_("Returned. Thank you!"), "success")
        return redirect(url_for(".account"))
    loan = get_own_loan(patron, loan_id)
    return render_template("library/return.html", loan=loan, item=loan.item, form=form)


@bp.route("/library/loans/<int:loan_id>/renew", methods=["POST"])
@user_required
def renew(loan_id: int) -> Any:
    """Renew a loan (once, while nobody waits)."""
    if not EmptyForm().validate_on_submit():
        raise Invalid()
    loan = services.renew(require_user(), loan_id)
    flash(_("Renewed until %(when)s.", when=_local(loan.due_at)), "success")
    return redirect(url_for(".account"))


@bp.route("/library/holds/<int:hold_id>/cancel", methods=["POST"])
@user_required
def cancel_hold(hold_id: int) -> Any:
    """Cancel a reservation."""
    if not EmptyForm().validate_on_submit():
        raise Invalid()
    services.cancel_hold(require_user(), hold_id)
    flash(_("Your reservation has been cancelled."), "success")
    return redirect(url_for(".account"))


def _local(when: Any) -> str:
    return fmt_datetime(when, "short")


register_nav("library.account", _l("My loans"), who="user")
register_item_action("library.item", _l("Borrow or reserve"))
