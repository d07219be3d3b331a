"""Translated labels and messages of library cards, shared by pages, forms, schemas, services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from library import rules
from library.models import CardState

STATE_LABELS = {
    CardState.APPLIED: _l("Applied for"),
    CardState.ACTIVE: _l("Active"),
    CardState.BLOCKED: _l("Blocked"),
}
EXPIRED_LABEL = lazy_pgettext("library card", "Expired")

PIN_MESSAGES = {
    rules.PIN_NOT_DIGITS: _l("A PIN has 4 to 8 digits."),
    rules.PIN_TOO_WEAK: _l(
        "This PIN is too easy to guess. Avoid one digit repeated and runs like 1234."
    ),
}
PINS_DIFFER = _l("The two PINs differ.")
PIN_HINT = _l("4 to 8 digits; not one digit repeated, not a run like 1234.")
