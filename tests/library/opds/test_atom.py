"""OPDS 1.2 feeds element by element, as the specification (opds-1.2.md) and Palace write them:
well-formed Atom in the right namespaces, the required elements and attributes, link rels and
media types, facets, pagination, OpenSearch, and availability on the borrow link."""

from __future__ import annotations

import re

from tests.library.opds.conftest import NS, atom, entry_titled, link, path_of

NAV = "application/atom+xml;profile=opds-catalog;kind=navigation"
ACQ = "application/atom+xml;profile=opds-catalog;kind=acquisition"
ENTRY = "application/atom+xml;type=entry;profile=opds-catalog"
BORROW = "http://opds-spec.org/acquisition/borrow"


def _required_feed_elements(feed):
    assert feed.tag == "{http://www.w3.org/2005/Atom}feed"
    for name in ("id", "title", "updated"):
        assert feed.findtext(f"atom:{name}", namespaces=NS), name
    assert feed.find("atom:author/atom:name", NS).text == "Stadtbibliothek Iserlohn"
    assert feed.findtext("atom:updated", namespaces=NS).endswith("Z")
    assert link(feed, "http://opds-spec.org/auth/document").get("type") == (
        "application/vnd.opds.authentication.v1.0+json"
    )
    assert link(feed, "start").get("type") == NAV
    assert link(feed, "search").get("type") == "application/opensearchdescription+xml"
    assert link(feed, "http://opds-spec.org/shelf").get("type") == ACQ


def test_the_root_is_a_navigation_feed(client, stock):
    stock("Atom-Wurzel")
    resp = client.get("/opds/")
    assert resp.status_code == 200
    assert resp.content_type == NAV + ";charset=utf-8"
    feed = atom(resp)
    assert feed.nsmap[None] == NS["atom"] and feed.nsmap["opds"] == NS["opds"]
    _required_feed_elements(feed)
    self_link = link(feed, "self")
    assert self_link.get("type") == NAV and self_link.get("href") == "http://localhost/opds/"
    alternate = link(feed, "alternate")
    assert alternate.get("type") == "application/opds+json"
    assert alternate.get("href").endswith("/opds/v2/")
    entries = feed.xpath("atom:entry", namespaces=NS)
    by_title = {e.findtext("atom:title", namespaces=NS): e for e in entries}
    assert {
        "Neu im Katalog",
        "E-Books",
        "Hörbücher",
        "Nach Schlagwort",
        "Nach Reihe",
        "Mein Regal",
    } <= set(by_title)
    for entry in entries:
        assert entry.findtext("atom:id", namespaces=NS) and entry.findtext(
            "atom:updated", namespaces=NS
        )
        assert entry.find("atom:content", NS).get("type") == "text"
        target = entry.find("atom:link", NS)
        assert target.get("type") in (NAV, ACQ)
    assert link(by_title["Neu im Katalog"], "http://opds-spec.org/sort/new").get("type") == ACQ
    assert link(by_title["Nach Schlagwort"], "subsection").get("type") == NAV


def test_an_acquisition_entry_says_everything(client, stock):
    stock(
        "Tödliche Flut",
        authors=("Brandt, Hanna",),
        narrators=("Weiß, Jonas",),
        isbn="9783161484100",
        subjects=("Krimi", "Nordsee"),
        series="Kommissarin Brandt ermittelt",
        number=3,
        description="Ein Fall an der Küste.",
    )
    resp = client.get("/opds/catalogue?series=Kommissarin Brandt ermittelt")
    assert resp.content_type == ACQ + ";charset=utf-8"
    feed = atom(resp)
    _required_feed_elements(feed)
    assert feed.findtext("opensearch:totalResults", namespaces=NS) == "1"
    assert feed.findtext("opensearch:itemsPerPage", namespaces=NS) == "50"
    entry = entry_titled(feed, "Tödliche Flut")
    assert entry.findtext("atom:id", namespaces=NS).startswith("http://localhost/media/")
    assert entry.findtext("atom:updated", namespaces=NS).endswith("Z")
    assert entry.findtext("atom:author/atom:name", namespaces=NS) == "Brandt, Hanna"
    narrator = entry.find("atom:contributor", NS)
    assert narrator.get(f"{{{NS['opf']}}}role") == "nrt"
    assert narrator.findtext("atom:name", namespaces=NS) == "Weiß, Jonas"
    assert entry.find("atom:summary", NS).get("type") == "text"
    assert entry.findtext("atom:summary", namespaces=NS) == "Ein Fall an der Küste."
    assert entry.findtext("dcterms:language", namespaces=NS) == "de"
    assert entry.findtext("dcterms:identifier", namespaces=NS) == "urn:isbn:9783161484100"
    assert entry.findtext("dcterms:publisher", namespaces=NS) == "Seilersee Verlag"
    assert entry.findtext("dcterms:issued", namespaces=NS) == "2024"
    assert sorted(c.get("term") for c in entry.findall("atom:category", NS)) == ["Krimi", "Nordsee"]
    series = entry.find("schema:Series", NS)
    assert series.get(f"{{{NS['schema']}}}name") == "Kommissarin Brandt ermittelt"
    assert series.get(f"{{{NS['schema']}}}position") == "3"
    assert link(entry, "alternate").get("type") in ("text/html", ENTRY)
    assert {a.get("type") for a in entry.xpath("atom:link[@rel='alternate']", namespaces=NS)} == {
        "text/html",
        ENTRY,
    }
    borrow = link(entry, BORROW)
    assert borrow.get("type") == ENTRY
    assert borrow.get("href").endswith("/borrow")
    assert borrow.find("opds:indirectAcquisition", NS).get("type") == "application/epub+zip"
    assert borrow.find("opds:availability", NS).get("status") == "available"
    assert borrow.find("opds:holds", NS).get("total") == "0"
    copies = borrow.find("opds:copies", NS)
    assert (copies.get("total"), copies.get("available")) == ("1", "1")


def test_a_lent_item_is_unavailable_with_its_queue(client, stock, opds_patron):
    item_id = stock("Verliehen am Deich", subjects=("Warteschlange-Atom",))
    first, second, third = opds_patron(), opds_patron(), opds_patron()
    assert client.get(f"/opds/works/{item_id}/borrow", headers=first.auth).status_code == 201
    assert client.put(f"/opds/works/{item_id}/borrow", headers=second.auth).status_code == 201
    assert client.put(f"/opds/works/{item_id}/borrow", headers=third.auth).status_code == 201
    entry = entry_titled(
        atom(client.get("/opds/catalogue?subject=Warteschlange-Atom")), "Verliehen am Deich"
    )
    borrow = link(entry, BORROW)
    assert borrow.find("opds:availability", NS).get("status") == "unavailable"
    assert borrow.find("opds:holds", NS).get("total") == "2"
    copies = borrow.find("opds:copies", NS)
    assert (copies.get("total"), copies.get("available")) == ("1", "0")


def test_pages_and_facets(client, stock):
    for n in range(3):
        stock(f"Seitenband {n}", subjects=("Blätterprobe",), kind="ebook" if n else "audiobook")
    feed = atom(client.get("/opds/catalogue?subject=Blätterprobe&per_page=1&page=2"))
    assert feed.findtext("opensearch:totalResults", namespaces=NS) == "3"
    assert feed.findtext("opensearch:startIndex", namespaces=NS) == "2"
    assert len(feed.xpath("atom:entry", namespaces=NS)) == 1
    for rel, page in (("first", None), ("previous", None), ("next", "3"), ("last", "3")):
        href = link(feed, rel).get("href")
        assert link(feed, rel).get("type") == ACQ
        found = re.search(r"[?&]page=(\d+)", href)
        assert (found.group(1) if found else None) == page, (rel, href)
    facets = feed.xpath("atom:link[@rel='http://opds-spec.org/facet']", namespaces=NS)
    groups = {f.get(f"{{{NS['opds']}}}facetGroup") for f in facets}
    assert {"Sortierung", "Art", "Sprache"} <= groups
    kinds = {f.get("title"): f for f in facets if f.get(f"{{{NS['opds']}}}facetGroup") == "Art"}
    assert kinds["E-Book"].get(f"{{{NS['thr']}}}count") == "2"
    assert kinds["Hörbuch"].get(f"{{{NS['thr']}}}count") == "1"
    active = [f for f in facets if f.get(f"{{{NS['opds']}}}activeFacet") == "true"]
    assert [f.get("title") for f in active] == ["Neu im Bestand"]
    # Following a facet keeps the subject and starts at page 1.
    chosen = atom(client.get(path_of(kinds["Hörbuch"].get("href"))))
    assert chosen.findtext("opensearch:totalResults", namespaces=NS) == "1"
    assert not re.search(r"[?&]page=", kinds["Hörbuch"].get("href"))
    last_page = atom(client.get("/opds/catalogue?subject=Blätterprobe&per_page=1&page=3"))
    assert not last_page.xpath("atom:link[@rel='next']", namespaces=NS)


def test_search_and_its_opensearch_description(client, stock):
    stock("Der Gespensterleuchtturm", authors=("Okonkwo, Ada",))
    resp = client.get("/opds/opensearch.xml")
    assert resp.content_type == "application/opensearchdescription+xml;charset=utf-8"
    description = atom(resp)
    assert description.tag == "{http://a9.com/-/spec/opensearch/1.1/}OpenSearchDescription"
    url = description.find("opensearch:Url", NS)
    assert url.get("type") == ACQ
    template = url.get("template")
    assert template.endswith("/opds/search?q={searchTerms}")
    found = atom(client.get(path_of(template.replace("{searchTerms}", "Gespensterleuchttürme"))))
    assert [
        e.findtext("atom:title", namespaces=NS) for e in found.xpath("atom:entry", namespaces=NS)
    ] == ["Der Gespensterleuchtturm"]
    assert found.findtext("atom:title", namespaces=NS) == "Suche: Gespensterleuchttürme"


def test_navigation_by_subject_and_series(client, stock):
    stock("Reihenband", subjects=("Navigationsprobe",), series="Die Navigationsreihe", number=1)
    subjects = atom(client.get("/opds/subjects"))
    entry = entry_titled(subjects, "Navigationsprobe")
    target = link(entry, "subsection")
    assert target.get("type") == ACQ and target.get(f"{{{NS['thr']}}}count") == "1"
    assert "subject=Navigationsprobe" in target.get("href")
    series = atom(client.get("/opds/series"))
    entry = entry_titled(series, "Die Navigationsreihe")
    feed = atom(client.get(path_of(link(entry, "subsection").get("href"))))
    assert [
        e.findtext("atom:title", namespaces=NS) for e in feed.xpath("atom:entry", namespaces=NS)
    ] == ["Reihenband"]


def test_one_work_is_a_complete_entry(client, stock):
    item_id = stock("Einzeleintrag")
    resp = client.get(f"/opds/works/{item_id}")
    assert resp.content_type == ENTRY + ";charset=utf-8"
    entry = atom(resp)
    assert entry.tag == "{http://www.w3.org/2005/Atom}entry"
    assert entry.findtext("atom:title", namespaces=NS) == "Einzeleintrag"
    assert link(entry, BORROW) is not None


def test_bad_parameters_are_refused_as_problems(client):
    for query in (
        "kind=comic",
        "page=0",
        "per_page=101",
        "page=x",
        "sort=random",
        "subject=" + "x" * 201,
    ):
        resp = client.get(f"/opds/catalogue?{query}")
        assert resp.status_code == 422, query
        assert resp.mimetype == "application/problem+json"
        assert resp.get_json()["code"] == "invalid"
    assert client.get("/opds/search").get_json()["errors"]["q"]
    missing = client.get("/opds/works/2147483000")
    assert missing.status_code == 404 and missing.get_json()["code"] == "media_not_found"
