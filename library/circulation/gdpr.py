"""Lending's part of "download my data" and of account erasure.

**Export** (section ``library_lending``): the open loans and, for a patron who keeps a "read
before" list, the ended ones; the open holds; whether the history is kept. Ended holds and
ended loans of everyone else are not the patron's any more (they forgot their patron when they
ended), so there is nothing else to give.

**Erasure** runs in the deleting transaction: the open loans are returned and the open holds
cancelled, item by item under the item's lock (ascending ids, as everyone locks), and every
copy that comes free goes to the next patron in line at once (mailed as usual); then the ended
loans and holds that still name the patron forget them. What stays is that copies were lent
and reserved and when — the counts a library needs for its licences and statistics.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from library.holds import services as holds
from library.licences.services import lock_item
from library.licences.signals import announce_copies_freed
from library.loans import services as loans
from library.loans.history import forget_history, keeps_history
from library.models import Hold, HoldState, Loan
from vhs import gdpr
from vhs.accounts.models import User
from vhs.db import db, utcnow


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _item(obj: Loan | Hold) -> dict[str, Any]:
    return {"id": obj.item_id, "title": obj.item.title, "kind": obj.item.kind.value}


def export_lending(user: User) -> dict[str, Any]:
    """The patron's loans (open, and ended ones kept by their choice) and open holds."""
    loan_rows = db.session.execute(
        sa.select(Loan).where(Loan.user_id == user.id).order_by(Loan.started_at, Loan.id)
    ).scalars()
    hold_rows = db.session.execute(
        sa.select(Hold).where(Hold.user_id == user.id).order_by(Hold.placed_at, Hold.id)
    ).scalars()
    return {
        "keeps_history": keeps_history(user.id),
        "loans": [
            {
                "item": _item(loan),
                "started_at": _iso(loan.started_at),
                "due_at": _iso(loan.due_at),
                "renewals": loan.renewals,
                "ended_at": _iso(loan.ended_at),
                "end_reason": loan.end_reason.value if loan.end_reason else None,
            }
            for loan in loan_rows
        ],
        "holds": [
            {
                "item": _item(hold),
                "state": hold.state.value,
                "placed_at": _iso(hold.placed_at),
                "ready_until": _iso(hold.ready_until),
                "ended_at": _iso(hold.ended_at),
                "end_reason": hold.end_reason.value if hold.end_reason else None,
            }
            for hold in hold_rows
        ],
    }


def end_all_lending(user: User, now: datetime | None = None) -> None:
    """Return the patron's open loans and cancel their open holds, handing every freed copy
    to the next in line in this transaction; then their ended loans and holds forget them."""
    now = now or utcnow()
    loan_items = db.session.execute(
        sa.select(Loan.item_id).where(Loan.user_id == user.id, Loan.ended_at.is_(None))
    ).scalars()
    hold_items = db.session.execute(
        sa.select(Hold.item_id).where(Hold.user_id == user.id, Hold.state.in_(holds.OPEN_STATES))
    ).scalars()
    for item_id in sorted({*loan_items, *hold_items}):
        item = lock_item(item_id)
        # Holds first: a copy this patron returns must not be handed to their own hold.
        freed = holds.cancel_all(user.id, item, now)
        freed = loans.return_all(user.id, item, now) > 0 or freed
        db.session.flush()
        if freed:
            announce_copies_freed(item, now)
    forget_history(user.id)
    db.session.execute(
        sa.update(Hold)
        .where(Hold.user_id == user.id, Hold.state == HoldState.ENDED)
        .values(user_id=None)
        .execution_options(synchronize_session="fetch")
    )


gdpr.register_exporter("library_lending", export_lending)
gdpr.register_eraser(
    "library_lending",
    end_all_lending,
    gdpr.Retention(
        what=_l(
            "That copies of media were lent and reserved, and when — without your name. "
            "Your loans are returned and your reservations cancelled."
        ),
        why=_l("The library counts how its licences are used, as its licence terms require."),
    ),
)
