"""One change at the desk from the API (PATCH): state, validity, PIN and fee in one go."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from library.models import CardState, LibraryCard
from library.patrons import fees
from library.patrons.services import (
    Issued,
    block_card,
    confirm_application,
    require_staff,
    reset_pin,
    set_validity,
    unblock_card,
)
from vhs.accounts.models import User
from vhs.errors import Conflict


def update_card(actor: User, card: LibraryCard, data: dict[str, Any]) -> Issued:
    """Apply a staff PATCH in one transaction: state (confirm, block, unblock), validity, PIN,
    fee; a refused part undoes the others (the unit of work rolls back).

    ``state``: ``active`` confirms an application or lifts a block (409 if already active);
    ``blocked`` blocks with ``blocked_reason``. ``valid_until`` sets the validity; ``pin`` sets
    a PIN, ``reset_pin`` makes one up (returned once); ``fee_paid`` records the current
    period's fee as paid at the desk.
    """
    require_staff(actor)
    shown = None
    state = data.get("state")
    if state is CardState.ACTIVE:
        if card.state is CardState.APPLIED:
            confirm_application(actor, card)
        elif card.state is CardState.BLOCKED:
            unblock_card(actor, card)
        else:
            raise Conflict(_l("This card is active already."), code="card_active")
    elif state is CardState.BLOCKED:
        block_card(actor, card, data.get("blocked_reason") or "")
    if "valid_until" in data:
        set_validity(actor, card, data["valid_until"])
    if data.get("pin") or data.get("reset_pin"):
        shown = reset_pin(actor, card, data.get("pin") or None).pin
    if data.get("fee_paid"):
        fees.record_fee_at_desk(actor, card)
    return Issued(card, shown)
