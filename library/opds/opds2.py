"""OPDS 2.0: the same feeds and publications as JSON (``application/opds+json``).

Members as the OPDS 2.0 draft and its JSON schemas name them: a feed has ``metadata`` (title,
``numberOfItems``, ``itemsPerPage``, ``currentPage``), ``links`` (a ``self`` link first),
``facets``, ``navigation`` and ``publications``; a publication has ``metadata`` (the
Readium Web Publication Manifest's), ``links`` with a ``self`` link and at least one
acquisition link, and ``images`` (at least one JPEG, PNG or GIF: a placeholder when the item
has no cover). Availability, holds and copies sit in the acquisition link's ``properties``.
"""

from __future__ import annotations

import json
from typing import Any

from flask import request, url_for

from library.access.labels import external_label
from library.opds import feeds
from library.opds.atom import timestamp
from library.opds.feeds import Entry, Feed, Link, NavEntry
from media.catalogue.services import cover_url
from media.models import ContributorRole, IdentifierScheme, MediaItem, MediaKind

# schema.org types of the kinds (Readium's metadata ``@type``).
TYPES = {
    MediaKind.EBOOK: "http://schema.org/EBook",
    MediaKind.AUDIOBOOK: "http://schema.org/Audiobook",
    MediaKind.EMAGAZINE: "http://schema.org/PublicationIssue",
    MediaKind.VIDEO: "http://schema.org/VideoObject",
    MediaKind.DOCUMENT: "http://schema.org/DigitalDocument",
}
ROLES = {
    ContributorRole.AUTHOR: "author",
    ContributorRole.NARRATOR: "narrator",
    ContributorRole.EDITOR: "editor",
    ContributorRole.TRANSLATOR: "translator",
    ContributorRole.ILLUSTRATOR: "illustrator",
}


def _link(link: Link) -> dict[str, Any]:
    out: dict[str, Any] = {"rel": link.rel, "href": link.href, "type": link.type}
    if link.title:
        out["title"] = link.title
    if link.templated:
        out["templated"] = True
    return out


def feed(data: Feed) -> dict[str, Any]:
    """The feed as an OPDS 2.0 document."""
    metadata: dict[str, Any] = {"title": data.title, "modified": timestamp(data.updated)}
    if data.total is not None:
        metadata["numberOfItems"] = data.total
    if data.per_page:
        metadata["itemsPerPage"] = data.per_page
        metadata["currentPage"] = data.page or 1
    out: dict[str, Any] = {
        "metadata": metadata,
        "links": [_link(Link(data.self_href, "self", feeds.OPDS2)), *map(_link, data.links)],
    }
    if data.facets:
        out["facets"] = _facets(data.facets)
    if data.kind == "navigation":
        out["navigation"] = [_navigation(nav) for nav in data.navigation]
    else:
        out["publications"] = [publication(entry) for entry in data.entries]
    return out


def _facets(links: list[Link]) -> list[dict[str, Any]]:
    """Facet groups: each a title and its links; the active one has ``rel: self``."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for link in links:
        entry: dict[str, Any] = {"href": link.href, "type": feeds.OPDS2, "title": link.title}
        if link.active:
            entry["rel"] = "self"
        if link.count is not None:
            entry["properties"] = {"numberOfItems": link.count}
        groups.setdefault(link.facet_group or "", []).append(entry)
    return [{"metadata": {"title": title}, "links": group} for title, group in groups.items()]


def _navigation(nav: NavEntry) -> dict[str, Any]:
    out: dict[str, Any] = {
        "href": nav.href,
        "title": nav.title,
        "type": feeds.OPDS2,
        "rel": nav.rel,
    }
    if nav.count is not None:
        out["properties"] = {"numberOfItems": nav.count}
    return out


def _identifier(item: MediaItem) -> str:
    """The publication's identifier: its ISBN as a URN, else its ISSN, else our item URL."""
    for scheme, prefix in (
        (IdentifierScheme.ISBN, "urn:isbn:"),
        (IdentifierScheme.ISSN, "urn:issn:"),
    ):
        for identifier in item.identifiers:
            if identifier.scheme is scheme:
                return prefix + identifier.value
    return url_for("media.item", item_id=item.id, _external=True)


def metadata(item: MediaItem) -> dict[str, Any]:
    """Readium Web Publication Manifest metadata of an item."""
    out: dict[str, Any] = {
        "@type": TYPES[item.kind],
        "title": item.title,
        "identifier": _identifier(item),
        "language": item.language,
        "modified": timestamp(item.updated_at),
    }
    if item.subtitle:
        out["subtitle"] = item.subtitle
    for role, member in ROLES.items():
        names = item.names(role)
        if names:
            out[member] = [{"name": name} for name in names]
    if item.publisher:
        out["publisher"] = item.publisher
    if item.description:
        out["description"] = item.description
    if item.subjects:
        out["subject"] = [{"name": s.term} for s in item.subjects]
    if item.series_title:
        series: dict[str, Any] = {"name": item.series_title}
        if item.series_number is not None:
            series["position"] = item.series_number
        out["belongsTo"] = {"series": [series]}
    if item.pages:
        out["numberOfPages"] = item.pages
    if item.duration_seconds:
        out["duration"] = item.duration_seconds
    return out


def _images(item: MediaItem) -> list[dict[str, Any]]:
    images = []
    for width in (480, 160):
        cover = cover_url(item, width)
        if cover is not None:
            href = request.host_url.rstrip("/") + cover
            images.append({"href": href, "type": "image/jpeg", "width": width})
    if not images:
        placeholder = url_for("opds.placeholder_cover", _external=True)
        images.append({"href": placeholder, "type": "image/png"})
    return images


def publication(entry: Entry) -> dict[str, Any]:
    """One publication with its acquisition links (borrow, or the loan's files) and revoke."""
    item = entry.item
    links: list[dict[str, Any]] = [
        {"rel": "self", "href": feeds.url("work", 2, item_id=item.id), "type": feeds.PUBLICATION2},
        {
            "rel": "alternate",
            "href": url_for("media.item", item_id=item.id, _external=True),
            "type": "text/html",
        },
        {"rel": "alternate", "href": feeds.url("work", 1, item_id=item.id), "type": feeds.ENTRY},
    ]
    links += _acquisition(entry)
    return {"metadata": metadata(item), "links": links, "images": _images(item)}


def _acquisition(entry: Entry) -> list[dict[str, Any]]:
    item = entry.item
    revoke = {
        "rel": feeds.REL_REVOKE,
        "href": feeds.url("revoke", 2, item_id=item.id),
        "type": feeds.PUBLICATION2,
    }
    if entry.loan is not None:
        availability = {
            "state": "available",
            "since": timestamp(entry.loan.started_at),
            "until": timestamp(entry.loan.due_at),
        }
        out = []
        for file_link in entry.files:
            link: dict[str, Any] = {
                "rel": feeds.REL_ACQUISITION,
                "href": file_link.url,
                "type": file_link.file.media_type,
                "properties": {"availability": availability},
            }
            if file_link.file.label:
                link["title"] = file_link.file.label
            out.append(link)
        # A distributor's loan: its LCP licence (the app fetches the book with it).
        out += [
            {
                "rel": feeds.REL_ACQUISITION,
                "href": ext.href,
                "type": ext.media_type,
                "title": str(external_label(ext)),
                "properties": {"availability": availability},
            }
            for ext in entry.external
        ]
        return [*out, revoke]
    properties: dict[str, Any] = {}
    formats = []
    for media_file in item.files:
        if {"type": media_file.media_type} not in formats:
            formats.append({"type": media_file.media_type})
    if formats:
        properties["indirectAcquisition"] = formats
    borrow = {
        "rel": feeds.REL_BORROW,
        "href": feeds.url("borrow", 2, item_id=item.id),
        "type": feeds.PUBLICATION2,
        "properties": properties,
    }
    if entry.hold is not None:
        hold, place = entry.hold.hold, entry.hold.place
        ready = place.position is None
        state: dict[str, Any] = {"state": "ready" if ready else "reserved"}
        since = hold.ready_at if ready else hold.placed_at
        if since is not None:
            state["since"] = timestamp(since)
        if ready and hold.ready_until is not None:
            state["until"] = timestamp(hold.ready_until)
        properties["availability"] = state
        properties["holds"] = {"total": place.length}
        if place.position is not None:
            properties["holds"]["position"] = place.position
        if entry.offer is not None:  # a feed's entry: the copies as the public entry has them
            properties["copies"] = _copies(entry.offer)
        return [borrow, revoke]
    assert entry.offer is not None
    offer = entry.offer
    properties["availability"] = {"state": offer.status}
    properties["holds"] = {"total": offer.holds}
    properties["copies"] = _copies(offer)
    return [borrow]


def _copies(offer: feeds.Offer) -> dict[str, int]:
    return {"total": offer.copies.copies, "available": offer.copies.available}


def dumps(document: Any) -> bytes:
    """A JSON document's bytes: UTF-8, compact."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
