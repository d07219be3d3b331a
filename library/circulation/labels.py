"""Translated labels of lending's enums, shared by pages and mails."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from library.models import HoldEnd, HoldState, LicenceKind, LoanEnd

KIND_OF_LICENCE = {
    LicenceKind.PERPETUAL: _l("perpetual"),
    LicenceKind.TIME_LIMITED: _l("time-limited"),
    LicenceKind.METERED: _l("metered (checkouts)"),
    LicenceKind.METERED_TIME_LIMITED: _l("metered and time-limited"),
}

END_LABELS = {
    LoanEnd.RETURNED: _l("returned"),
    LoanEnd.EXPIRED: _l("expired"),
    LoanEnd.REVOKED: _l("ended by the library"),
}

HOLD_LABELS = {
    HoldState.WAITING: _l("waiting"),
    HoldState.READY: _l("ready to borrow"),
    HoldState.ENDED: _l("ended"),
}

HOLD_END_LABELS = {
    HoldEnd.BORROWED: _l("borrowed"),
    HoldEnd.CANCELLED: _l("cancelled"),
    HoldEnd.EXPIRED: _l("not picked up in time"),
}
