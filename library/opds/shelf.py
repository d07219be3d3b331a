"""The patron's side of OPDS: the shelf, borrowing from a feed, returning or leaving a queue.

Everything goes through the circulation services, which hold every rule (the card, limits,
copies under the item's lock, the queue); this module only decides what an app's request means
and what entry answers it, as Palace's loan controller does:

- **borrow** (the ``http://opds-spec.org/acquisition/borrow`` link, GET or PUT): a free copy
  is lent (201 with the entry and its acquisition links); with none free the patron joins the
  queue (201, the entry says ``reserved`` and the position); an item already on loan or held
  answers 200 with that entry (an app retrying after a lost answer gets what it asked for);
- **revoke** (``http://librarysimplified.org/terms/rel/revoke``): returns the patron's loan
  of the item, or cancels their hold on it; the answer is the item's public entry again;
- **shelf**: current loans with plain acquisition links to the signed downloads (KOReader
  cannot follow borrow links, but downloads from a shelf) or to a distributor's LCP licence,
  then holds with their position.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l

from library.access.links import Action
from library.access.services import FileLink, LoanLinks, links_of_loans
from library.circulation import services as circulation
from library.holds import services as holds
from library.holds.queue import place_in_queue
from library.loans import services as loans
from library.models import Loan
from library.opds import feeds
from library.opds.feeds import Entry, Feed
from vhs.accounts.models import User
from vhs.db import db, utcnow
from vhs.errors import Conflict, NotFound


def acquisition_files(links: LoanLinks) -> tuple[FileLink, ...]:
    """One link per file: the download where the licence allows it, else the stream."""
    by_file: dict[int, FileLink] = {}
    for link in links.links:
        kept = by_file.get(link.file.id)
        if kept is None or (link.action is Action.DOWNLOAD and kept.action is not Action.DOWNLOAD):
            by_file[link.file.id] = link
    return tuple(by_file.values())


def loan_entry(loan: Loan, now: datetime) -> Entry:
    """The entry of one's own loan: its files' signed links and the revoke link."""
    made = links_of_loans([loan], now).get(loan.id)
    files = acquisition_files(made) if made is not None else ()
    external = made.external if made is not None else ()
    return Entry(item=feeds.item_details(loan.item_id), loan=loan, files=files, external=external)


def shelf(patron: User, version: int, now: datetime | None = None) -> Feed:
    """The patron's shelf: current loans (due soonest first), then open holds (ready first)."""
    now = now or utcnow()
    account = circulation.my_account(patron, now)
    made = links_of_loans(account.loans, now)
    entries = [
        Entry(
            item=loan.item,
            loan=loan,
            files=acquisition_files(made[loan.id]),
            external=made[loan.id].external,
        )
        for loan in account.loans
    ]
    entries += [Entry(item=view.hold.item, hold=view) for view in account.holds]
    feeds.with_details([entry.item for entry in entries])
    links = [*feeds.common_links(version), feeds.alternate(version, "shelf")]
    return Feed(
        self_href=feeds.url("shelf", version),
        title=str(_l("My shelf")),
        kind="acquisition",
        version=version,
        updated=now,
        links=links,
        entries=entries,
        total=len(entries),
    )


def borrow(patron: User, item_id: int, now: datetime | None = None) -> tuple[Entry, bool]:
    """Borrow the item, or join its queue when no copy is free; (the entry, whether new)."""
    now = now or utcnow()
    current = loans.open_loan(patron.id, item_id, now)
    if current is not None:
        return loan_entry(current, now), False
    try:
        loan = circulation.borrow(patron, item_id, now=now)
    except Conflict as refusal:
        if refusal.code != "no_copies_available":
            raise
        hold = holds.open_hold(patron.id, item_id)
        created = hold is None
        if hold is None:
            hold = circulation.place_hold(patron, item_id, now)
        view = circulation.HoldView(hold=hold, place=place_in_queue(hold, now))
        return Entry(item=feeds.published_item(item_id), hold=view), created
    db.session.flush()
    return loan_entry(loan, now), True


def revoke(patron: User, item_id: int, now: datetime | None = None) -> Entry:
    """Return one's loan of the item, or leave its queue; the item's public entry after it."""
    now = now or utcnow()
    loan = loans.open_loan(patron.id, item_id, now)
    if loan is not None:
        circulation.return_loan(patron, loan.id, now)
    else:
        hold = holds.open_hold(patron.id, item_id)
        if hold is None:
            raise NotFound(
                _l("You have neither borrowed nor reserved this medium."), code="loan_not_found"
            )
        circulation.cancel_hold(patron, hold.id, now)
    db.session.flush()
    return feeds.public_entries([feeds.item_details(item_id)], now)[0]


def work(item_id: int) -> Entry:
    """The public entry of one published item (its permalink)."""
    return feeds.public_entries([feeds.published_item(item_id)])[0]
