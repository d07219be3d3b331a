"""The library card's part of "download my data" and of account erasure."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from library.patrons.eligibility import card_of
from library.patrons.services import retire_card
from vhs import gdpr
from vhs.accounts.models import User


def export_card(user: User) -> dict[str, Any] | None:
    """The card: number, state, validity, fee periods (never the PIN or its hash)."""
    card = card_of(user)
    if card is None:
        return None
    return {
        "number": card.number,
        "state": card.state.value,
        "valid_until": card.valid_until.isoformat() if card.valid_until else None,
        "fee_paid_until": card.fee_paid_until.isoformat() if card.fee_paid_until else None,
        "applied_or_created_at": card.created_at.isoformat(),
        "issued_at": card.issued_at.isoformat() if card.issued_at else None,
        "blocked_reason": card.blocked_reason or None,
        "has_pin": card.pin_hash is not None,
        "fees": [
            {
                "period_until": f.period_until.isoformat(),
                "amount_cents": f.amount_cents,
                "currency": f.currency,
                "paid_at": f.paid_at.isoformat() if f.paid_at else None,
            }
            for f in card.fees
        ],
    }


def erase_card(user: User) -> None:
    """The card and its fee periods go; its number is kept, alone, so it is never reissued."""
    card = card_of(user)
    if card is not None:
        retire_card(card)


gdpr.register_exporter("library_card", export_card)
gdpr.register_eraser(
    "library_card",
    erase_card,
    gdpr.Retention(
        what=_l("The number of your library card, without your name or anything else."),
        why=_l("A card number is never given to anyone else, so an old card opens no account."),
    ),
)
