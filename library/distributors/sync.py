"""Importing a distributor's ODL feed (OPDS 2.0 with ``publications[].licenses``).

The whole feed is read first, page after page along its ``next`` links; only a complete read
changes anything, so a distributor that fails half-way leaves the catalogue as it was and the
sync is recorded as failed. Then, per publication, in a savepoint of its own (one bad record
does not stop the rest):

- its item is found by the publication's identifier (from an earlier sync) or its ISBN, or
  created and published through media's services, as staff would (metadata, then the cover
  fetched from the feed's image link); unchanged metadata leaves the item alone;
- each of its ``licenses`` becomes a licence of provider ``odl`` with the feed's terms
  (``concurrency``, ``checkouts``, ``expires``, ``length``), through the licence service, so
  waiting holds get its copies at once; a known licence takes the feed's concurrency (never
  below the copies in use) and expiry, and its links;
- licences of this distributor that the feed no longer lists stop lending (they expire now;
  running loans go on to their due time).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import sqlalchemy as sa
from flask_babel import gettext as _

from library import rules
from library.distributors import client
from library.distributors.client import DistributorError
from library.distributors.convergence import stop_lending
from library.distributors.models import Distributor, OdlLicence
from library.licences.services import add_licence, lock_item, lock_licence
from library.licences.signals import announce_copies_freed
from media import rules as media_rules
from media.catalogue import services as catalogue
from media.files import services as files
from media.imports.runs import system_actor
from media.models import Identifier, IdentifierScheme, MediaItem, MediaKind
from media.rules import IdentifierError, normalise_isbn
from vhs.accounts.models import User
from vhs.audit import audit
from vhs.db import db, lock, utcnow
from vhs.errors import VhsError

log = logging.getLogger(__name__)

MAX_PAGES = 500  # a feed that pages on for ever is cut off here (and the sync fails)
KINDS = {
    "http://schema.org/EBook": MediaKind.EBOOK,
    "http://schema.org/Audiobook": MediaKind.AUDIOBOOK,
    "http://schema.org/Periodical": MediaKind.EMAGAZINE,
}


@dataclass
class SyncResult:
    """What one sync did."""

    items_created: int = 0
    items_updated: int = 0
    licences_added: int = 0
    licences_updated: int = 0
    licences_removed: int = 0
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for staff, in their language."""
        text = _(
            "%(new)d new, %(changed)d changed media; %(added)d licences added, "
            "%(updated)d updated, %(removed)d no longer offered",
            new=self.items_created,
            changed=self.items_updated,
            added=self.licences_added,
            updated=self.licences_updated,
            removed=self.licences_removed,
        )
        if self.skipped:
            text += "; " + _("skipped: %(what)s", what="; ".join(self.skipped[:5]))
        return text


# --- reading the feed ------------------------------------------------------------------------


def read_feed(distributor: Distributor) -> list[tuple[dict[str, Any], str]]:
    """Every publication of the feed with the URL of its page (relative links resolve
    against it); DistributorError when any page cannot be read."""
    publications: list[tuple[dict[str, Any], str]] = []
    url: str | None = distributor.feed_url
    seen: set[str] = set()
    while url is not None:
        if url in seen or len(seen) >= MAX_PAGES:
            raise client.DistributorDown(f"the feed pages in a loop or past {MAX_PAGES} pages")
        seen.add(url)
        page = client.get_json(distributor, url, client.OPDS_JSON)
        if not isinstance(page, dict) or not isinstance(page.get("publications", []), list):
            raise client.DistributorDown(f"GET {url}: not an OPDS 2.0 feed")
        publications.extend((p, url) for p in page.get("publications", []) if isinstance(p, dict))
        nxt = _link(page.get("links"), "next")
        url = urljoin(url, nxt["href"]) if nxt else None
    return publications


def _link(links: Any, rel: str, type_: str | None = None) -> dict[str, Any] | None:
    for link in links if isinstance(links, list) else []:
        if not isinstance(link, dict) or not isinstance(link.get("href"), str):
            continue
        rels = link.get("rel")
        if rel in (rels if isinstance(rels, list) else [rels]) and (
            type_ is None or str(link.get("type", "")).startswith(type_)
        ):
            return link
    return None


def _names(value: Any) -> list[str]:
    """Contributors as OPDS 2.0 writes them: a string, an object with a name, or a list."""
    values = value if isinstance(value, list) else [value]
    out = []
    for v in values:
        name = v.get("name") if isinstance(v, dict) else v
        if isinstance(name, dict):  # a language map
            name = next(iter(name.values()), None)
        if isinstance(name, str) and name.strip():
            out.append(name.strip())
    return out


def _text(value: Any, limit: int) -> str:
    if isinstance(value, dict):  # a language map
        value = value.get("de") or next(iter(value.values()), "")
    return value.strip()[:limit] if isinstance(value, str) else ""


def item_data(meta: dict[str, Any]) -> dict[str, Any]:
    """A publication's metadata as the catalogue's item data (``catalogue.save_item``)."""
    data: dict[str, Any] = {
        "kind": KINDS.get(str(meta.get("@type", "")), MediaKind.EBOOK).value,
        "title": _text(meta.get("title"), media_rules.TITLE_MAX),
        "subtitle": _text(meta.get("subtitle"), media_rules.SUBTITLE_MAX),
        "publisher": ", ".join(_names(meta.get("publisher")))[: media_rules.PUBLISHER_MAX],
        "description": _text(meta.get("description"), media_rules.DESCRIPTION_MAX),
    }
    language = meta.get("language")
    language = language[0] if isinstance(language, list) and language else language
    if isinstance(language, str) and media_rules.normalise_language(language):
        data["language"] = language
    published = meta.get("published")
    if isinstance(published, str) and published[:4].isdigit():
        year = int(published[:4])
        if year in media_rules.YEAR:
            data["year"] = year
    people = [{"name": n[:200], "role": "author"} for n in _names(meta.get("author"))]
    people += [{"name": n[:200], "role": "narrator"} for n in _names(meta.get("narrator"))]
    people += [{"name": n[:200], "role": "translator"} for n in _names(meta.get("translator"))]
    data["contributors"] = people[:20]
    isbn = _isbn(meta.get("identifier"))
    data["identifiers"] = [{"scheme": "isbn", "value": isbn}] if isbn else []
    data["subjects"] = [s[:100] for s in _names(meta.get("subject"))][:20]
    return data


def _isbn(identifier: Any) -> str | None:
    if isinstance(identifier, str) and identifier.lower().startswith("urn:isbn:"):
        try:
            return normalise_isbn(identifier[9:])
        except IdentifierError:
            return None  # a wrong number is left out, not the publication
    return None


@dataclass(frozen=True)
class FeedLicence:
    """One of a publication's ``licenses``, as the sync needs it."""

    identifier: str
    checkout_template: str
    info_url: str
    data: dict[str, Any]  # the licence service's terms


def feed_licence(doc: dict[str, Any], base: str, now: datetime) -> FeedLicence | str:
    """A feed licence, or why it is skipped."""
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    identifier = meta.get("identifier")
    if not isinstance(identifier, str) or not identifier.strip():
        return "a licence without identifier"
    borrow = _link(doc.get("links"), client.BORROW_REL)
    info = _link(doc.get("links"), "self", client.INFO_TYPE) or _link(doc.get("links"), "self")
    if borrow is None or info is None:
        return f"{identifier}: no checkout or status link"
    terms = meta.get("terms") if isinstance(meta.get("terms"), dict) else {}
    concurrency = terms.get("concurrency")
    checkouts = terms.get("checkouts")
    length = terms.get("length")
    data: dict[str, Any] = {
        "provider": "odl",
        "external_id": identifier.strip(),
        # An ODL licence without concurrency lends one copy at a time (one-copy-one-user).
        "concurrency": concurrency if isinstance(concurrency, int) else 1,
        "checkouts_total": checkouts if isinstance(checkouts, int) else None,
        "expires_at": client.parse_time(terms.get("expires")),
        "max_loan_days": (
            min(max(math.ceil(length / 86400), rules.MAX_LOAN_DAYS.lo), rules.MAX_LOAN_DAYS.hi)
            if isinstance(length, int) and length > 0
            else rules.MAX_LOAN_DAYS_DEFAULT
        ),
    }
    if data["expires_at"] is not None and data["expires_at"] <= now:
        return f"{identifier}: expired"
    return FeedLicence(
        identifier=identifier.strip(),
        checkout_template=urljoin(base, borrow["href"]),
        info_url=urljoin(base, info["href"]),
        data=data,
    )


# --- applying it -----------------------------------------------------------------------------


def sync_distributor(distributor_id: int, now: datetime | None = None) -> SyncResult | None:
    """Read the distributor's feed and bring the catalogue and its licences in line; the
    outcome is recorded on the distributor. None when the feed could not be read."""
    now = now or utcnow()
    distributor = lock(Distributor, distributor_id)
    if distributor is None:
        return None
    distributor.sync_requested_at = None
    distributor.last_synced_at = now
    try:
        publications = read_feed(distributor)
    except DistributorError as exc:
        log.warning("sync of distributor %s failed: %s", distributor.id, exc)
        distributor.last_sync_ok = False
        distributor.last_sync_summary = _("The feed could not be read: %(error)s", error=str(exc))[
            :2000
        ]
        return None
    actor = system_actor()
    result = SyncResult()
    seen: set[str] = set()
    for pub, base in publications:
        try:
            with db.session.begin_nested():
                _publication(distributor, pub, base, actor, now, result, seen)
        except (VhsError, sa.exc.IntegrityError, sa.exc.DataError) as exc:
            meta = pub.get("metadata") if isinstance(pub.get("metadata"), dict) else {}
            result.skipped.append(f"{_text(meta.get('title'), 80) or '?'}: {exc}")
    _remove_missing(distributor, seen, now, result)
    distributor.last_sync_ok = True
    distributor.last_sync_summary = result.summary()[:2000]
    audit(None, "library.distributor_synced", distributor, summary=distributor.last_sync_summary)
    return result


def _publication(
    distributor: Distributor,
    pub: dict[str, Any],
    base: str,
    actor: User,
    now: datetime,
    result: SyncResult,
    seen: set[str],
) -> None:
    meta = pub.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("identifier"), str):
        result.skipped.append("a publication without identifier")
        return
    publication_id = meta["identifier"][:500]
    licences = [
        feed_licence(doc, base, now) for doc in pub.get("licenses") or [] if isinstance(doc, dict)
    ]
    result.skipped.extend(x for x in licences if isinstance(x, str))
    wanted = [x for x in licences if isinstance(x, FeedLicence)]
    seen.update(x.identifier for x in wanted)
    data = item_data(meta)
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    known = (
        db.session.execute(
            sa.select(OdlLicence).where(
                OdlLicence.distributor_id == distributor.id,
                OdlLicence.publication_id == publication_id,
            )
        )
        .scalars()
        .all()
    )
    item = known[0].licence.item if known else _item_by_isbn(data)
    if item is None:
        if not wanted:
            return  # nothing to lend: not worth a catalogue entry
        item = catalogue.save_item(actor, data)
        catalogue.publish_item(actor, item)
        result.items_created += 1
    elif not known or known[0].metadata_digest != digest:
        update = {k: v for k, v in data.items() if k != "identifiers" or v}
        catalogue.save_item(actor, update, item)
        result.items_updated += 1
    image = _link(pub.get("images"), "cover") or next(
        (
            i
            for i in pub.get("images") or []
            if isinstance(i, dict) and isinstance(i.get("href"), str)
        ),
        None,
    )
    cover_href = urljoin(base, image["href"])[:1000] if image else ""
    if cover_href and (not known or known[0].cover_href != cover_href or not item.cover_sha256):
        _cover(distributor, item, cover_href, actor, result)
    by_id = {row.licence.external_id: row for row in known}
    for lic in wanted:
        row = by_id.get(lic.identifier)
        if row is None:
            row = _add(distributor, item, lic, publication_id, actor, now)
            result.licences_added += 1
        elif _update(row, lic, now):
            result.licences_updated += 1
        row.metadata_digest = digest
        row.cover_href = cover_href
    for row in known:
        row.metadata_digest = digest
        row.cover_href = cover_href


def _item_by_isbn(data: dict[str, Any]) -> MediaItem | None:
    for ident in data.get("identifiers", []):
        value = ident["value"]
        found = db.session.execute(
            sa.select(MediaItem)
            .join(Identifier, Identifier.item_id == MediaItem.id)
            .where(Identifier.scheme == IdentifierScheme.ISBN, Identifier.value == value)
        ).scalar_one_or_none()
        if found is not None:
            return found
    return None


def _cover(
    distributor: Distributor, item: MediaItem, href: str, actor: User, result: SyncResult
) -> None:
    try:
        answer = client.call(distributor, "GET", href, accept="image/*", follow=True)
        if answer.status != 200:
            raise client.DistributorDown(f"GET {href}: {answer.status}")
        files.set_cover(actor, item, io.BytesIO(answer.body))
    except (DistributorError, VhsError) as exc:
        result.skipped.append(f"{item.title}: cover {exc}")


def _add(
    distributor: Distributor,
    item: MediaItem,
    lic: FeedLicence,
    publication_id: str,
    actor: User,
    now: datetime,
) -> OdlLicence:
    licence = add_licence(actor, item, lic.data, now)
    row = OdlLicence(
        licence_id=licence.id,
        distributor_id=distributor.id,
        publication_id=publication_id,
        checkout_template=lic.checkout_template[:2000],
        info_url=lic.info_url[:1000],
        status="available",
    )
    db.session.add(row)
    db.session.flush()
    return row


def _update(row: OdlLicence, lic: FeedLicence, now: datetime) -> bool:
    """Take the feed's terms and links for a known licence; True when anything changed."""
    item = lock_item(row.licence.item_id)
    licence = lock_licence(row.licence_id)
    in_use = licence.active_loans + licence.reserved
    before = (
        licence.concurrency,
        licence.expires_at,
        licence.max_loan_days,
        row.checkout_template,
        row.info_url,
        row.removed_at,
    )
    concurrency = max(lic.data["concurrency"], in_use, 1)
    raised = concurrency > licence.concurrency
    licence.concurrency = min(concurrency, rules.CONCURRENCY.hi)
    licence.expires_at = lic.data["expires_at"]
    licence.max_loan_days = lic.data["max_loan_days"]
    row.checkout_template = lic.checkout_template[:2000]
    row.info_url = lic.info_url[:1000]
    row.removed_at = None
    after = (
        licence.concurrency,
        licence.expires_at,
        licence.max_loan_days,
        row.checkout_template,
        row.info_url,
        row.removed_at,
    )
    db.session.flush()
    if raised:
        announce_copies_freed(item, now)
    return before != after


def _remove_missing(
    distributor: Distributor, seen: set[str], now: datetime, result: SyncResult
) -> None:
    rows = (
        db.session.execute(
            sa.select(OdlLicence).where(
                OdlLicence.distributor_id == distributor.id, OdlLicence.removed_at.is_(None)
            )
        )
        .scalars()
        .all()
    )
    for row in rows:
        if row.licence.external_id in seen:
            continue
        lock_item(row.licence.item_id)
        stop_lending(lock_licence(row.licence_id), now)
        row.removed_at = now
        result.licences_removed += 1


def due_distributors(now: datetime, every_minutes: int) -> list[int]:
    """Distributors whose sync was asked for, or whose last one is older than the interval."""
    stale = now - timedelta(minutes=every_minutes)
    return list(
        db.session.execute(
            sa.select(Distributor.id)
            .where(
                sa.or_(
                    Distributor.sync_requested_at.is_not(None),
                    Distributor.last_synced_at.is_(None),
                    Distributor.last_synced_at <= stale,
                )
            )
            .order_by(Distributor.id)
        ).scalars()
    )
