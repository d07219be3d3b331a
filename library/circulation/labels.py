"""Translated labels of lending's enums and an item's availability, shared by pages, the API
and mails."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from library.circulation.services import Availability, Wait
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


def wait_words(wait: Wait) -> str:
    """ "ca. 5 Tage Wartezeit", "ca. 4 Wochen Wartezeit"."""
    if wait.weeks is None:
        return ngettext("about %(num)d day's wait", "about %(num)d days' wait", wait.days)
    return ngettext("about %(num)d week's wait", "about %(num)d weeks' wait", wait.weeks)


@dataclass(frozen=True)
class AvailabilityWords:
    """An item's availability in two short lines: copies ("2 von 3 verfügbar"), and the queue
    with the expected wait ("3 Vormerkungen, ca. 4 Wochen Wartezeit"; None while a copy is
    free or nothing lends)."""

    copies: str
    queue: str | None


def availability_words(offer: Availability) -> AvailabilityWords:
    """The words for an item's availability, in the current language."""
    if not offer.copies.lendable:
        return AvailabilityWords(
            copies=_("This medium cannot be borrowed at the moment."), queue=None
        )
    copies = _(
        "%(free)d of %(copies)d available", free=offer.copies.available, copies=offer.copies.copies
    )
    if offer.copies.available > 0:
        return AvailabilityWords(copies=copies, queue=None)
    if offer.holds:
        holds = ngettext("%(num)d reservation", "%(num)d reservations", offer.holds)
    else:
        holds = _("no reservations")
    if offer.wait is None:
        return AvailabilityWords(copies=copies, queue=holds)
    return AvailabilityWords(
        copies=copies,
        queue=_("%(holds)s, %(wait)s", holds=holds, wait=wait_words(offer.wait)),
    )
