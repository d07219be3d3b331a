"""OPDS 1.2: feeds and entries as Atom, built with lxml (never by gluing strings).

Namespaces as OPDS 1.2 and Palace's circulation server use them: Atom, ``opds``
(availability, holds, copies, indirect acquisition, facets), ``dcterms`` (language,
identifier, publisher, issued), ``opensearch`` (result counts), ``thr`` (facet counts),
``schema`` (series) and ``opf`` (contributor roles).
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from lxml import etree

from library import rules
from library.access.labels import external_label
from library.opds import feeds
from library.opds.feeds import Entry, Feed, Link, NavEntry
from media.catalogue.services import cover_url
from media.models import ContributorRole, IdentifierScheme, MediaItem
from vhs.i18n import page_locale

ATOM = "http://www.w3.org/2005/Atom"
OPDS = "http://opds-spec.org/2010/catalog"
DCTERMS = "http://purl.org/dc/terms/"
OPENSEARCH = "http://a9.com/-/spec/opensearch/1.1/"
THR = "http://purl.org/syndication/thread/1.0"
SCHEMA = "http://schema.org/"
OPF = "http://www.idpf.org/2007/opf"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NSMAP = {
    None: ATOM,
    "opds": OPDS,
    "dcterms": DCTERMS,
    "opensearch": OPENSEARCH,
    "thr": THR,
    "schema": SCHEMA,
    "opf": OPF,
}
SUBJECT_SCHEME = "http://vhs-platform.example/terms/subject"
# MARC relator codes of the roles that are not authors (OPF role attribute, as Palace writes).
ROLE_CODES = {
    ContributorRole.NARRATOR: "nrt",
    ContributorRole.EDITOR: "edt",
    ContributorRole.TRANSLATOR: "trl",
    ContributorRole.ILLUSTRATOR: "ill",
}


def _a(tag: str) -> str:
    return f"{{{ATOM}}}{tag}"


def _o(tag: str) -> str:
    return f"{{{OPDS}}}{tag}"


def _d(tag: str) -> str:
    return f"{{{DCTERMS}}}{tag}"


def timestamp(value: datetime) -> str:
    """An RFC 3339 time in UTC, as Atom wants it (``2026-11-02T09:30:00Z``)."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _text(parent: etree._Element, tag: str, text: str, **attrib: str) -> etree._Element:
    element = etree.SubElement(parent, tag, attrib)
    element.text = text
    return element


def _link(parent: etree._Element, link: Link) -> etree._Element:
    attrib = {"rel": link.rel, "href": link.href, "type": link.type}
    if link.title:
        attrib["title"] = link.title
    element = etree.SubElement(parent, _a("link"), attrib)
    if link.facet_group:
        element.set(_o("facetGroup"), link.facet_group)
        if link.active:
            element.set(_o("activeFacet"), "true")
        if link.count is not None:
            element.set(f"{{{THR}}}count", str(link.count))
    return element


def tostring(root: etree._Element) -> bytes:
    """A document's bytes, with the XML declaration."""
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# --- feeds ----------------------------------------------------------------------------------


def feed(data: Feed) -> bytes:
    """The feed as an OPDS 1.2 Atom document."""
    root = etree.Element(_a("feed"), nsmap=NSMAP)
    root.set(XML_LANG, page_locale())
    _text(root, _a("id"), data.self_href)
    _text(root, _a("title"), data.title)
    _text(root, _a("updated"), timestamp(data.updated))
    author = etree.SubElement(root, _a("author"))
    _text(author, _a("name"), rules.library_name())
    _text(author, _a("uri"), url_for("main.home", _external=True))
    _link(root, Link(data.self_href, "self", feeds.feed_type(data.kind, 1)))
    for link in [*data.links, *data.facets]:
        _link(root, link)
    if data.total is not None and data.per_page:
        _text(root, f"{{{OPENSEARCH}}}totalResults", str(data.total))
        _text(root, f"{{{OPENSEARCH}}}itemsPerPage", str(data.per_page))
        start = ((data.page or 1) - 1) * data.per_page + 1
        _text(root, f"{{{OPENSEARCH}}}startIndex", str(start))
    for nav in data.navigation:
        _navigation_entry(root, nav, data.updated)
    for entry in data.entries:
        root.append(entry_element(entry))
    return tostring(root)


def _navigation_entry(parent: etree._Element, nav: NavEntry, updated: datetime) -> None:
    element = etree.SubElement(parent, _a("entry"))
    _text(element, _a("title"), nav.title)
    _text(element, _a("id"), nav.href)
    _text(element, _a("updated"), timestamp(updated))
    summary = nav.title
    if nav.count is not None:
        summary = ngettext("%(num)d medium", "%(num)d media", nav.count)
    _text(element, _a("content"), summary, type="text")
    _link(element, Link(nav.href, nav.rel, feeds.feed_type(nav.kind, 1), nav.title))
    if nav.count is not None:
        element[-1].set(f"{{{THR}}}count", str(nav.count))


def entry_document(entry: Entry) -> bytes:
    """One entry on its own (a complete entry, and the answer to borrow and revoke)."""
    element = entry_element(entry, nsmap=NSMAP)
    element.set(XML_LANG, page_locale())
    return tostring(element)


# --- entries --------------------------------------------------------------------------------


def entry_element(entry: Entry, nsmap: dict | None = None) -> etree._Element:
    """An acquisition entry: metadata, cover, and the borrow, acquisition or revoke links."""
    item = entry.item
    element = etree.Element(_a("entry"), nsmap=nsmap)
    _text(element, _a("id"), url_for("media.item", item_id=item.id, _external=True))
    _text(element, _a("title"), item.title)
    _text(element, _a("updated"), timestamp(item.updated_at))
    if item.published_at is not None:
        _text(element, _a("published"), timestamp(item.published_at))
    for contributor in item.contributors:
        if contributor.role is ContributorRole.AUTHOR:
            _text(etree.SubElement(element, _a("author")), _a("name"), contributor.name)
    for contributor in item.contributors:
        code = ROLE_CODES.get(contributor.role)
        if code is not None:
            person = etree.SubElement(element, _a("contributor"), {f"{{{OPF}}}role": code})
            _text(person, _a("name"), contributor.name)
    summary = " ".join(p for p in (item.subtitle, item.description) if p).strip()
    if summary:
        _text(element, _a("summary"), summary, type="text")
    _text(element, _d("language"), item.language)
    for identifier in item.identifiers:
        _text(element, _d("identifier"), _urn(identifier.scheme, identifier.value))
    if item.publisher:
        _text(element, _d("publisher"), item.publisher)
    if item.year is not None:
        _text(element, _d("issued"), str(item.year))
    for subject in item.subjects:
        etree.SubElement(
            element,
            _a("category"),
            {"scheme": SUBJECT_SCHEME, "term": subject.term, "label": subject.term},
        )
    if item.series_title:
        series = etree.SubElement(element, f"{{{SCHEMA}}}Series")
        series.set(f"{{{SCHEMA}}}name", item.series_title)
        if item.series_number is not None:
            series.set(f"{{{SCHEMA}}}position", str(item.series_number))
    for rel, width in ((feeds.REL_IMAGE, 480), (feeds.REL_THUMBNAIL, 160)):
        cover = cover_url(item, width)
        if cover is not None:
            _link(element, Link(_absolute(cover), rel, "image/jpeg"))
    _link(
        element,
        Link(url_for("media.item", item_id=item.id, _external=True), "alternate", "text/html"),
    )
    _link(element, Link(feeds.url("work", 1, item_id=item.id), "alternate", feeds.ENTRY))
    _acquisition_links(element, entry)
    return element


def _urn(scheme: IdentifierScheme, value: str) -> str:
    """An identifier as a URN: ``urn:isbn:…`` and ``urn:issn:…``; others as they are."""
    if scheme is IdentifierScheme.ISBN:
        return f"urn:isbn:{value}"
    if scheme is IdentifierScheme.ISSN:
        return f"urn:issn:{value}"
    return value


def _absolute(path: str) -> str:
    """A path of this site as an absolute URL (reading apps resolve nothing relative)."""
    return request.host_url.rstrip("/") + path


def _formats(item: MediaItem) -> list[str]:
    """The media types the item's files come in, each once, in the files' order."""
    seen: list[str] = []
    for media_file in item.files:
        if media_file.media_type not in seen:
            seen.append(media_file.media_type)
    return seen


def _acquisition_links(element: etree._Element, entry: Entry) -> None:
    item = entry.item
    if entry.loan is not None:
        on_loan = {
            "status": "available",
            "since": timestamp(entry.loan.started_at),
            "until": timestamp(entry.loan.due_at),
        }
        acquisitions = [
            Link(
                file_link.url,
                feeds.REL_ACQUISITION,
                file_link.file.media_type,
                file_link.file.label or None,
            )
            for file_link in entry.files
        ]
        # A distributor's loan: its LCP licence (the app fetches the book with it).
        acquisitions += [
            Link(ext.href, feeds.REL_ACQUISITION, ext.media_type, str(external_label(ext)))
            for ext in entry.external
        ]
        for acquisition in acquisitions:
            etree.SubElement(_link(element, acquisition), _o("availability"), on_loan)
        _link(element, Link(feeds.url("revoke", 1, item_id=item.id), feeds.REL_REVOKE, feeds.ENTRY))
        return
    link = _link(
        element, Link(feeds.url("borrow", 1, item_id=item.id), feeds.REL_BORROW, feeds.ENTRY)
    )
    for media_type in _formats(item):
        etree.SubElement(link, _o("indirectAcquisition"), {"type": media_type})
    if entry.hold is not None:
        hold, place = entry.hold.hold, entry.hold.place
        attrib = {"status": "ready" if place.position is None else "reserved"}
        since = hold.ready_at if place.position is None else hold.placed_at
        if since is not None:
            attrib["since"] = timestamp(since)
        if place.position is None and hold.ready_until is not None:
            attrib["until"] = timestamp(hold.ready_until)
        etree.SubElement(link, _o("availability"), attrib)
        holds = {"total": str(place.length)}
        if place.position is not None:
            holds["position"] = str(place.position)
        etree.SubElement(link, _o("holds"), holds)
        if entry.offer is not None:  # a feed's entry: the copies as the public entry has them
            _copies(link, entry.offer)
        _link(element, Link(feeds.url("revoke", 1, item_id=item.id), feeds.REL_REVOKE, feeds.ENTRY))
        return
    assert entry.offer is not None
    offer = entry.offer
    etree.SubElement(link, _o("availability"), {"status": offer.status})
    etree.SubElement(link, _o("holds"), {"total": str(offer.holds)})
    _copies(link, offer)


def _copies(link: etree._Element, offer: feeds.Offer) -> None:
    etree.SubElement(
        link,
        _o("copies"),
        {"total": str(offer.copies.copies), "available": str(offer.copies.available)},
    )


# --- OpenSearch -----------------------------------------------------------------------------


def opensearch_description() -> bytes:
    """The OpenSearch description document: how to search the catalogue (OPDS 1.2 §3)."""
    ns = OPENSEARCH
    root = etree.Element(f"{{{ns}}}OpenSearchDescription", nsmap={None: ns})
    _text(root, f"{{{ns}}}ShortName", rules.library_name()[:16])
    _text(root, f"{{{ns}}}LongName", rules.library_name())
    _text(
        root,
        f"{{{ns}}}Description",
        _("Search the library's e-media by title, author, series or keyword."),
    )
    _text(root, f"{{{ns}}}Language", page_locale())
    _text(root, f"{{{ns}}}InputEncoding", "UTF-8")
    _text(root, f"{{{ns}}}OutputEncoding", "UTF-8")
    etree.SubElement(
        root,
        f"{{{ns}}}Url",
        {
            "type": feeds.ACQUISITION,
            "rel": "results",
            "template": feeds.url("search", 1) + "?q={searchTerms}",
        },
    )
    return tostring(root)
