"""The patron's own state on the public feeds: a reading app sends its Basic credentials with
every request once logged in, and then sees its loans (acquisition links, ``available`` with
the loan's dates), its holds (``reserved`` with its position, ``ready`` with its deadline) and
the copies, in OPDS 1.2 and 2.0; element by element as the specifications name them. Such
answers are private; the anonymous answer stays the same and cached; wrong credentials are a
401 with the authentication document."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from lxml import etree

from tests.library.opds.conftest import NS, Patron, atom, basic, entry_titled, link, path_of
from tests.library.test_queries import counted

BORROW = "http://opds-spec.org/acquisition/borrow"
ACQUISITION = "http://opds-spec.org/acquisition"
REVOKE = "http://librarysimplified.org/terms/rel/revoke"
AUTH = "application/vnd.opds.authentication.v1.0+json"
FEED = "/opds/catalogue?subject=Eigenstand&sort=title"
FEED2 = "/opds/v2/catalogue?subject=Eigenstand&sort=title"
LENT, QUEUED, READY, FREE = "Eigen-Geliehen", "Eigen-Wartend", "Eigen-Bereit", "Eigen-Frei"


@dataclass(frozen=True)
class States:
    """A reader with an item on loan, a place in a queue (2 of 2) and a copy kept for them,
    and an item they have nothing to do with; all under the subject "Eigenstand"."""

    reader: Patron
    lent: int
    queued: int
    ready: int
    free: int


@pytest.fixture
def states(client, stock, opds_patron) -> States:
    reader, lender, other = opds_patron(), opds_patron(), opds_patron()
    ids = {title: stock(title, subjects=("Eigenstand",)) for title in (LENT, QUEUED, READY, FREE)}

    def borrow(patron: Patron, title: str) -> None:
        assert (
            client.get(f"/opds/works/{ids[title]}/borrow", headers=patron.auth).status_code == 201
        )

    borrow(reader, LENT)
    borrow(lender, QUEUED)
    borrow(other, QUEUED)  # waits first
    borrow(reader, QUEUED)  # waits second
    borrow(lender, READY)
    borrow(reader, READY)
    assert client.get(f"/opds/loans/{ids[READY]}/revoke", headers=lender.auth).status_code == 200
    return States(reader, ids[LENT], ids[QUEUED], ids[READY], ids[FREE])


def _shelf_availability(client, patron: Patron) -> dict[str, dict[str, str]]:
    """The shelf's availability of each title (what the feed must say as well)."""
    shelf = atom(client.get("/opds/shelf", headers=patron.auth))
    out = {}
    for entry in shelf.findall("atom:entry", NS):
        found = entry.xpath(".//opds:availability", namespaces=NS)
        out[entry.findtext("atom:title", namespaces=NS)] = dict(found[0].attrib)
    return out


def _private(resp) -> None:
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.headers["Cache-Control"] == "private, no-store"
    assert "ETag" not in resp.headers and "Last-Modified" not in resp.headers


def test_opds1_feed_overlays_loans_holds_and_ready_copies(client, states):
    anonymous = client.get(FEED)
    resp = client.get(FEED, headers=states.reader.auth)
    _private(resp)
    assert resp.mimetype == "application/atom+xml"
    assert "kind=acquisition" in resp.headers["Content-Type"]
    assert b"ns0:" not in resp.get_data()  # replaced entries keep the feed's prefixes
    feed, public = atom(resp), atom(anonymous)
    titles = [e.findtext("atom:title", namespaces=NS) for e in feed.findall("atom:entry", NS)]
    assert titles == [
        e.findtext("atom:title", namespaces=NS) for e in public.findall("atom:entry", NS)
    ]
    assert titles == [READY, FREE, LENT, QUEUED]
    shelf = _shelf_availability(client, states.reader)

    lent = entry_titled(feed, LENT)
    assert not lent.xpath(f"atom:link[@rel='{BORROW}']", namespaces=NS)
    [acquisition] = lent.xpath(f"atom:link[@rel='{ACQUISITION}']", namespaces=NS)
    assert acquisition.get("type") == "application/epub+zip"
    assert path_of(acquisition.get("href")).startswith("/library/files/")
    availability = acquisition.find("opds:availability", NS)
    assert dict(availability.attrib) == shelf[LENT]
    assert availability.get("status") == "available"
    assert availability.get("since") < availability.get("until")
    assert path_of(link(lent, REVOKE).get("href")) == f"/opds/loans/{states.lent}/revoke"
    assert link(lent, REVOKE).get("type") == "application/atom+xml;type=entry;profile=opds-catalog"

    queued = link(entry_titled(feed, QUEUED), BORROW)
    availability = queued.find("opds:availability", NS)
    assert availability.get("status") == "reserved" and availability.get("since")
    assert availability.get("until") is None
    assert dict(availability.attrib) == shelf[QUEUED]
    assert dict(queued.find("opds:holds", NS).attrib) == {"total": "2", "position": "2"}
    assert dict(queued.find("opds:copies", NS).attrib) == {"total": "1", "available": "0"}
    assert link(entry_titled(feed, QUEUED), REVOKE) is not None

    ready = link(entry_titled(feed, READY), BORROW)
    availability = ready.find("opds:availability", NS)
    assert availability.get("status") == "ready"
    assert availability.get("since") < availability.get("until")
    assert dict(availability.attrib) == shelf[READY]
    assert dict(ready.find("opds:holds", NS).attrib) == {"total": "0"}
    assert dict(ready.find("opds:copies", NS).attrib) == {"total": "1", "available": "0"}

    # The item the reader has nothing to do with is the public entry, byte for byte.
    assert etree.tostring(entry_titled(feed, FREE)) == etree.tostring(entry_titled(public, FREE))
    # Anonymous, the same items are the public offer.
    public_lent = link(entry_titled(public, LENT), BORROW)
    assert public_lent.find("opds:availability", NS).get("status") == "unavailable"
    assert public_lent.find("opds:holds", NS).get("position") is None


def test_opds2_feed_overlays_loans_holds_and_ready_copies(client, states):
    anonymous = client.get(FEED2).get_json()
    resp = client.get(FEED2, headers=states.reader.auth)
    _private(resp)
    assert resp.mimetype == "application/opds+json"
    feed = resp.get_json()
    assert feed["metadata"] == anonymous["metadata"] and feed["links"] == anonymous["links"]
    pubs = {p["metadata"]["title"]: p for p in feed["publications"]}
    assert list(pubs) == [READY, FREE, LENT, QUEUED]
    shelf = _shelf_availability(client, states.reader)

    def rel(pub, name):
        return [x for x in pub["links"] if x["rel"] == name]

    lent = pubs[LENT]
    assert rel(lent, BORROW) == []
    [acquisition] = rel(lent, ACQUISITION)
    assert acquisition["type"] == "application/epub+zip"
    assert path_of(acquisition["href"]).startswith("/library/files/")
    since, until = shelf[LENT]["since"], shelf[LENT]["until"]
    assert acquisition["properties"] == {
        "availability": {"state": "available", "since": since, "until": until}
    }
    [revoke] = rel(lent, REVOKE)
    assert path_of(revoke["href"]) == f"/opds/v2/loans/{states.lent}/revoke"
    assert revoke["type"] == "application/opds-publication+json"

    [queued] = rel(pubs[QUEUED], BORROW)
    assert queued["properties"]["availability"] == {
        "state": "reserved",
        "since": shelf[QUEUED]["since"],
    }
    assert queued["properties"]["holds"] == {"total": 2, "position": 2}
    assert queued["properties"]["copies"] == {"total": 1, "available": 0}
    assert queued["properties"]["indirectAcquisition"] == [{"type": "application/epub+zip"}]
    assert len(rel(pubs[QUEUED], REVOKE)) == 1

    [ready] = rel(pubs[READY], BORROW)
    assert ready["properties"]["availability"] == {
        "state": "ready",
        "since": shelf[READY]["since"],
        "until": shelf[READY]["until"],
    }
    assert ready["properties"]["holds"] == {"total": 0}
    assert ready["properties"]["copies"] == {"total": 1, "available": 0}

    public = {p["metadata"]["title"]: p for p in anonymous["publications"]}
    assert pubs[FREE] == public[FREE]
    assert rel(public[LENT], BORROW)[0]["properties"]["availability"] == {"state": "unavailable"}


@pytest.mark.parametrize("version", [1, 2])
def test_a_publication_page_shows_the_patrons_loan(client, states, version):
    prefix = "/opds" if version == 1 else "/opds/v2"
    path = f"{prefix}/works/{states.lent}"
    mine = client.get(path, headers=states.reader.auth)
    _private(mine)
    anonymous = client.get(path)
    assert anonymous.headers["Cache-Control"] == "no-cache"
    if version == 1:
        entry = atom(mine)
        assert entry.tag == "{http://www.w3.org/2005/Atom}entry"
        availability = link(entry, ACQUISITION).find("opds:availability", NS)
        assert availability.get("status") == "available"
        assert link(atom(anonymous), BORROW) is not None
    else:
        assert mine.mimetype == "application/opds-publication+json"
        rels = [x["rel"] for x in mine.get_json()["links"]]
        assert ACQUISITION in rels and REVOKE in rels and BORROW not in rels
        assert BORROW in [x["rel"] for x in anonymous.get_json()["links"]]


def test_the_anonymous_answer_stays_public_and_cached(client, states, opds_patron, cached, app):
    first = client.get(FEED)
    assert first.headers["Cache-Control"] == "no-cache"
    assert "Authorization" in first.headers["Vary"]
    hits, misses = cached.hits, cached.misses
    with counted(app) as statements:
        mine = client.get(FEED, headers=states.reader.auth)
    _private(mine)
    # The patron's answer is made from the cached document: a hit, nothing new kept.
    assert (cached.hits, cached.misses) == (hits + 1, misses)
    assert mine.get_data() != first.get_data()
    again = client.get(FEED, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    plain = client.get(FEED)
    assert plain.get_data() == first.get_data() and plain.headers["ETag"] == first.headers["ETag"]
    assert cached.misses == misses
    # Cheap: the login (the PIN's fast path: 2), the cache's version (1), the patron's loans
    # and holds (2), and their three items on the page: details (5), copies and queues (2),
    # the waiting hold's position (1).
    assert len(statements) <= 13, statements

    # A patron who borrowed nothing gets the public document itself, privately.
    nobody = opds_patron()
    json_first = client.get(FEED2)
    json_theirs = client.get(FEED2, headers=nobody.auth)  # the full PIN check, once
    _private(json_theirs)
    assert json_theirs.get_data() == json_first.get_data()
    with counted(app) as statements:
        theirs = client.get(FEED, headers=nobody.auth)
    _private(theirs)
    assert theirs.get_data() == first.get_data()
    assert len(statements) <= 5, statements  # the login, the version, their loans and holds


@pytest.mark.parametrize(
    "path", ["/opds/", "/opds/catalogue", "/opds/v2/search?query=Eigen", "/opds/works/1"]
)
def test_wrong_credentials_on_a_feed_are_a_401_with_the_document(client, opds_patron, path):
    patron = opds_patron()
    env = {"REMOTE_ADDR": "10.62.0.1"}
    for headers in (basic(patron.number, "97531"), {"Authorization": 'Digest username="x"'}):
        resp = client.get(path, headers=headers, environ_base=env)
        assert resp.status_code == 401
        assert resp.mimetype == AUTH
        assert resp.get_json()["authentication"][0]["type"] == "http://opds-spec.org/auth/basic"
        assert resp.headers["WWW-Authenticate"].startswith("Basic realm=")
        assert resp.headers["Cache-Control"] == "private, no-store"


def test_navigation_feeds_with_credentials_are_private_and_the_same(client, opds_patron, states):
    for path in ("/opds/", "/opds/v2/", "/opds/subjects", "/opds/v2/series"):
        public = client.get(path)
        mine = client.get(path, headers=states.reader.auth)
        _private(mine)
        assert mine.get_data() == public.get_data()
