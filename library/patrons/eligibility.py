"""Who may borrow: a user with an active, valid library card whose fee (if any) is paid.

A minimal version for the circulation services; the patrons work (cards, PINs, fees) brings
the full one with the same function and codes.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from library import rules
from library.models import CardState, LibraryCard
from vhs.accounts.models import User
from vhs.db import db, utcnow
from vhs.errors import Conflict
from vhs.i18n import local_zone


def card_of(user: User) -> LibraryCard | None:
    """The user's library card, if they have one."""
    return db.session.execute(
        sa.select(LibraryCard).where(LibraryCard.user_id == user.id)
    ).scalar_one_or_none()


def require_borrower(user: User, now: datetime | None = None) -> LibraryCard:
    """The user's card if it may borrow now; else a ``Conflict`` saying why.

    Codes: ``no_library_card``, ``card_not_active`` (applied for, or blocked by staff),
    ``card_expired`` (valid until yesterday or earlier, in the configured time zone) and
    ``fee_unpaid`` (a fee is configured and not paid up to today).
    """
    card = card_of(user)
    if card is None:
        raise Conflict(
            _l("You need a library card to borrow or reserve media."), code="no_library_card"
        )
    if card.state is not CardState.ACTIVE:
        raise Conflict(
            _l("Your library card is not active. Please contact the library."),
            code="card_not_active",
        )
    today = (now or utcnow()).astimezone(local_zone()).date()
    if card.valid_until is None or card.valid_until < today:
        raise Conflict(
            _l("Your library card has expired. Please renew it at the library."),
            code="card_expired",
        )
    if rules.card_fee_cents() > 0 and (card.fee_paid_until is None or card.fee_paid_until < today):
        raise Conflict(_l("The annual fee of your library card is not paid."), code="fee_unpaid")
    return card
