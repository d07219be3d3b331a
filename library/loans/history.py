"""The reading history: not kept, unless the library offers it and the patron asks for it.

Libraries do not keep who read what after a loan ends (their privacy practice; GDPR Art. 5
(1)(c) and (e)). A patron who wants a "read before" list opts in on "Mein Konto" (the card's
``keep_history``, off by default), and only where the library offers it
(``VHS_LIBRARY_KEEP_HISTORY``). An ended loan of anyone else forgets its patron at once
(``Loan.user_id`` NULL): the library keeps that a copy was lent, not to whom.

Opting out forgets the kept list at once; the ``library_forget_history`` job forgets the lists
of patrons who no longer keep one (the library stopped offering it, the card is gone), so
switching the setting off leaves nothing behind.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from library import rules
from library.models import LibraryCard, Loan
from library.patrons.eligibility import card_of
from vhs.accounts.models import User
from vhs.db import db
from vhs.errors import Conflict


def keeps_history(patron_id: int | None) -> bool:
    """Whether the patron's ended loans stay with them (offered, and they opted in)."""
    if patron_id is None or not rules.history_offered():
        return False
    return bool(
        db.session.scalar(
            sa.select(LibraryCard.keep_history).where(LibraryCard.user_id == patron_id)
        )
    )


def forget_history(patron_id: int) -> int:
    """The patron's ended loans forget them (all of them); how many did."""
    result = db.session.execute(
        sa.update(Loan)
        .where(Loan.user_id == patron_id, Loan.ended_at.is_not(None))
        .values(user_id=None)
        .execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def set_keep_history(patron: User, keep: bool) -> LibraryCard:
    """The patron opts in to a "read before" list, or out (which forgets the list kept).

    Refusals (409): ``no_card``; ``history_not_offered`` (opting in where the library does not
    offer it; opting out always works).
    """
    card = card_of(patron)
    if card is None:
        raise Conflict(_l("You do not have a library card yet."), code="no_card")
    if keep and not rules.history_offered():
        raise Conflict(
            _l("The library does not keep reading histories."), code="history_not_offered"
        )
    card.keep_history = keep
    if not keep:
        forget_history(patron.id)
    db.session.flush()
    return card


def forget_unwanted_history() -> int:
    """Ended loans whose patron does not keep a history forget them (the daily job)."""
    keeping = sa.select(LibraryCard.user_id).where(LibraryCard.keep_history.is_(True))
    query = sa.update(Loan).where(Loan.ended_at.is_not(None), Loan.user_id.is_not(None))
    if rules.history_offered():
        query = query.where(Loan.user_id.not_in(keeping))
    result = db.session.execute(
        query.values(user_id=None).execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
