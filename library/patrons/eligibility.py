"""Who may borrow: a patron with an active, valid card whose fee (if any) is paid.

``require_borrower`` is what the loans and holds services call before they lend; the pages
and the API use ``refusal`` to say in advance what stands in the way. Stable codes:
``no_card``, ``card_applied``, ``card_blocked``, ``card_expired``, ``fee_unpaid`` (409).
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from library.models import CardState, LibraryCard
from vhs.accounts.models import User
from vhs.db import db
from vhs.errors import Conflict
from vhs.i18n import fmt_date, local_zone

CODES = ("no_card", "card_applied", "card_blocked", "card_expired", "fee_unpaid")


def today() -> date:
    """Today in the configured time zone: a card's days are local days."""
    return datetime.now(local_zone()).date()


def card_of(user: User | None) -> LibraryCard | None:
    """The user's library card, if they have one."""
    if user is None:
        return None
    return db.session.execute(
        sa.select(LibraryCard).where(LibraryCard.user_id == user.id)
    ).scalar_one_or_none()


def fee_cents() -> int:
    """The annual fee in cents (0: cards are free)."""
    return int(current_app.config["VHS"].library_card_fee_cents)


def is_expired(card: LibraryCard, on: date | None = None) -> bool:
    """Whether the card's last valid day has passed (a card without one is not valid yet)."""
    return card.valid_until is None or card.valid_until < (on or today())


def fee_paid(card: LibraryCard, on: date | None = None) -> bool:
    """Whether the fee allows borrowing on ``on``: no fee, or paid up to that day at least."""
    if fee_cents() <= 0:
        return True
    return card.fee_paid_until is not None and card.fee_paid_until >= (on or today())


def refusal(card: LibraryCard | None, on: date | None = None) -> Conflict | None:
    """What stands in the way of borrowing with ``card``, as the error to raise; None if nothing."""
    on = on or today()
    if card is None:
        return Conflict(
            _l("You need a library card to borrow. You can apply for one under “My library card”."),
            code="no_card",
        )
    if card.state is CardState.APPLIED:
        return Conflict(
            _l("Your library card has not been confirmed yet. The library will do so shortly."),
            code="card_applied",
        )
    if card.state is CardState.BLOCKED:
        return Conflict(
            _l("Your library card is blocked. Please contact the library."), code="card_blocked"
        )
    if is_expired(card, on):
        return Conflict(
            _l(
                "Your library card expired on %(date)s. The library can extend it.",
                date=fmt_date(card.valid_until) if card.valid_until else "–",
            ),
            code="card_expired",
        )
    if not fee_paid(card, on):
        return Conflict(
            _l("The annual fee for your library card has not been paid yet."), code="fee_unpaid"
        )
    return None


def require_borrower(user: User, *, on: date | None = None) -> LibraryCard:
    """The user's card if they may borrow now; else a 409 ``Conflict`` with one of ``CODES``."""
    card = card_of(user)
    problem = refusal(card, on)
    if problem is not None:
        raise problem
    assert card is not None
    return card
