"""The patron's own state on a public feed: a reading app that is logged in sends its Basic
credentials with every request, and then sees, in the catalogue and search feeds and on a
publication's page, which titles it has borrowed or reserved.

The public answer stays as it is (cached per data version, the same for everyone); the
patron's answer is that cached document with the entries of *their* items replaced:

- an item on loan to them: the loan's acquisition links (signed downloads, or the
  distributor's LCP licence), each with ``opds:availability status="available"`` and the
  loan's ``since``/``until``, and the revoke link — as on the shelf;
- an item they reserved: the borrow link with ``status="reserved"`` and their ``position``
  in ``opds:holds``, or ``status="ready"`` with its ``until`` while a copy is kept for them;
  the copies as in the public entry.

It costs two statements (the patron's current loans and open holds: bounded by the loan and
hold limits, whatever the page) and a parse of the cached document only when the patron has
any; entries are rendered anew only for the patron's own items on the page (their details in
five statements together, the copies and queues in two, a waiting hold's position in one). Such answers are
``private, no-store``; they never enter the shared cache.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import url_for
from lxml import etree

from library.access.services import links_of_loans
from library.circulation.services import HoldView
from library.holds.queue import QueuePlace, position_of
from library.holds.services import open_holds_of
from library.loans.services import current_loans
from library.models import Hold, Loan
from library.opds import atom, feeds, opds2
from library.opds.feeds import Entry
from library.opds.shelf import acquisition_files
from vhs.accounts.models import User
from vhs.db import utcnow


@dataclass(frozen=True)
class PatronState:
    """The patron's current loans and open holds, by item."""

    loans: dict[int, Loan]
    holds: dict[int, Hold]

    @property
    def empty(self) -> bool:
        """Nothing to overlay: the public document is the patron's answer too."""
        return not self.loans and not self.holds


def patron_state(patron: User, now: datetime) -> PatronState:
    """What the patron has borrowed (not overdue) and reserved (waiting, or ready and still
    kept), in two statements; nothing is brought up to date here (a feed only reads)."""
    loans = {loan.item_id: loan for loan in current_loans(patron.id, now)}
    holds = {hold.item_id: hold for hold in open_holds_of(patron.id, now)}
    return PatronState(loans=loans, holds=holds)


def _entries(item_ids: list[int], state: PatronState, now: datetime) -> dict[int, Entry]:
    """The patron's entries of those items (each borrowed or reserved by them): the items'
    details, the loans' links and the holds' offers and places, a statement or a few each."""
    items = feeds.items_with_details(item_ids)
    lent = [state.loans[item_id] for item_id in item_ids if item_id in state.loans]
    made = links_of_loans(lent, now)
    out = {
        loan.item_id: Entry(
            item=items[loan.item_id],
            loan=loan,
            files=acquisition_files(made[loan.id]),
            external=made[loan.id].external,
        )
        for loan in lent
    }
    held = [items[i] for i in item_ids if i in state.holds and i not in out]
    for entry in feeds.offered(held, now):
        hold = state.holds[entry.item.id]
        assert entry.offer is not None
        # The queue's length is the offer's; a feed shows no expected wait (the shelf does).
        place = QueuePlace(position=position_of(hold), length=entry.offer.holds, expected_at=None)
        entry.hold = HoldView(hold=hold, place=place)
        out[entry.item.id] = entry
    return out


def _item_paths(state: PatronState, endpoint: str, **values: Any) -> dict[str, int]:
    """The path that names each of the patron's items in a document (compared without the
    host: a cached document may have been made for another host name)."""
    ids = set(state.loans) | set(state.holds)
    return {url_for(endpoint, item_id=item_id, **values): item_id for item_id in ids}


def _path(href: str | None) -> str:
    return urlsplit(href or "").path


def overlay_atom(data: bytes, state: PatronState, now: datetime, *, entry: bool) -> bytes:
    """An OPDS 1.2 feed (or, ``entry``, a single entry) with the patron's entries."""
    paths = _item_paths(state, "media.item")
    root = etree.fromstring(data)
    elements = [root] if entry else root.findall(f"{{{atom.ATOM}}}entry")
    found = {}
    for element in elements:
        item_id = paths.get(_path(element.findtext(f"{{{atom.ATOM}}}id")))
        if item_id is not None:
            found[item_id] = element
    if not found:
        return data
    mine = _entries(list(found), state, now)
    if entry:
        return atom.entry_document(mine[next(iter(found))])
    for item_id, element in found.items():
        root.replace(element, atom.entry_element(mine[item_id]))
    return atom.tostring(root)


def overlay_json(data: bytes, state: PatronState, now: datetime, *, entry: bool) -> bytes:
    """An OPDS 2.0 feed (or, ``entry``, a single publication) with the patron's entries."""
    paths = _item_paths(state, feeds.endpoint("work", 2))
    document = json.loads(data)
    publications = [document] if entry else document.get("publications", [])
    found = {}
    for index, publication in enumerate(publications):
        self_href = next(
            (
                link.get("href")
                for link in publication.get("links", [])
                if link.get("rel") == "self"
            ),
            None,
        )
        item_id = paths.get(_path(self_href))
        if item_id is not None:
            found[item_id] = index
    if not found:
        return data
    mine = _entries(list(found), state, now)
    if entry:
        return opds2.dumps(opds2.publication(mine[next(iter(found))]))
    for item_id, index in found.items():
        publications[index] = opds2.publication(mine[item_id])
    return opds2.dumps(document)


def overlay(
    data: bytes, patron: User, version: int, *, entry: bool, now: datetime | None = None
) -> bytes:
    """The public document ``data`` as ``patron`` sees it (unchanged when they have borrowed
    or reserved nothing on it)."""
    now = now or utcnow()
    state = patron_state(patron, now)
    if state.empty:
        return data
    if version == 2:
        return overlay_json(data, state, now, entry=entry)
    return overlay_atom(data, state, now, entry=entry)
