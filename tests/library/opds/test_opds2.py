"""OPDS 2.0 feeds and publications, member by member as the OPDS 2.0 draft and its JSON
schemas (feed, publication, link, properties) ask: types, required members, rels."""

from __future__ import annotations

from tests.library.opds.conftest import path_of

OPDS2 = "application/opds+json"
PUB = "application/opds-publication+json"
BORROW = "http://opds-spec.org/acquisition/borrow"
ACQUISITION_RELS = {
    "preview",
    "http://opds-spec.org/acquisition",
    "http://opds-spec.org/acquisition/buy",
    "http://opds-spec.org/acquisition/open-access",
    BORROW,
    "http://opds-spec.org/acquisition/sample",
    "http://opds-spec.org/acquisition/subscribe",
}


def _rels(links):
    return {link["rel"]: link for link in links}


def _check_link(link):
    assert isinstance(link["href"], str) and link["href"].startswith("http")
    assert isinstance(link["type"], str)
    if "templated" in link:
        assert link["templated"] is True and "{" in link["href"]


def _check_publication(pub):
    assert set(pub) >= {"metadata", "links", "images"}
    assert isinstance(pub["metadata"]["title"], str)
    assert pub["metadata"]["@type"].startswith("http://schema.org/")
    for link in pub["links"]:
        _check_link(link)
    rels = [link["rel"] for link in pub["links"]]
    assert "self" in rels
    assert ACQUISITION_RELS & set(rels)
    assert pub["images"] and any(
        i["type"] in ("image/jpeg", "image/png", "image/gif") for i in pub["images"]
    )


def test_the_root_navigation(client, stock):
    stock("JSON-Wurzel")
    resp = client.get("/opds/v2/")
    assert resp.status_code == 200 and resp.mimetype == OPDS2
    feed = resp.get_json()
    assert isinstance(feed["metadata"]["title"], str)
    assert feed["links"][0]["rel"] == "self" and feed["links"][0]["type"] == OPDS2
    for link in feed["links"]:
        _check_link(link)
    rels = _rels(feed["links"])
    assert rels["search"]["templated"] is True and rels["search"]["href"].endswith(
        "/opds/v2/search{?query}"
    )
    assert rels["alternate"]["type"] == "application/atom+xml;profile=opds-catalog;kind=navigation"
    assert rels["http://opds-spec.org/shelf"]["href"].endswith("/opds/v2/shelf")
    assert "publications" not in feed
    titles = {nav["title"]: nav for nav in feed["navigation"]}
    assert {"Neu im Katalog", "E-Books", "Nach Reihe", "Mein Regal"} <= set(titles)
    for nav in feed["navigation"]:
        assert nav["type"] == OPDS2 and nav["href"].startswith("http://localhost/opds/v2/")


def test_a_publication(client, stock):
    stock(
        "JSON-Flut",
        authors=("Brandt, Hanna",),
        narrators=("Weiß, Jonas",),
        isbn="9783161484100",
        subjects=("Krimi",),
        series="Die JSON-Reihe",
        number=2,
        description="Beschreibung.",
    )
    feed = client.get("/opds/v2/catalogue?series=Die JSON-Reihe").get_json()
    assert feed["metadata"]["numberOfItems"] == 1
    assert feed["metadata"]["itemsPerPage"] == 50 and feed["metadata"]["currentPage"] == 1
    (pub,) = feed["publications"]
    _check_publication(pub)
    meta = pub["metadata"]
    assert meta["@type"] == "http://schema.org/EBook"
    assert meta["identifier"] == "urn:isbn:9783161484100"
    assert meta["author"] == [{"name": "Brandt, Hanna"}]
    assert meta["narrator"] == [{"name": "Weiß, Jonas"}]
    assert meta["language"] == "de" and meta["publisher"] == "Seilersee Verlag"
    assert meta["subject"] == [{"name": "Krimi"}]
    assert meta["belongsTo"] == {"series": [{"name": "Die JSON-Reihe", "position": 2}]}
    assert meta["modified"].endswith("Z")
    links = _rels(pub["links"])
    assert links["self"]["type"] == PUB
    borrow = links[BORROW]
    assert borrow["type"] == PUB
    props = borrow["properties"]
    assert props["indirectAcquisition"] == [{"type": "application/epub+zip"}]
    assert props["availability"] == {"state": "available"}
    assert props["holds"] == {"total": 0}
    assert props["copies"] == {"total": 1, "available": 1}
    # No cover: the placeholder, a PNG that is served.
    (image,) = pub["images"]
    assert image["type"] == "image/png"
    picture = client.get(path_of(image["href"]))
    assert picture.status_code == 200 and picture.get_data()[:8] == b"\x89PNG\r\n\x1a\n"
    # The single publication and its Atom alternate.
    single = client.get(path_of(links["self"]["href"]))
    assert single.mimetype == PUB and single.get_json()["metadata"]["title"] == "JSON-Flut"


def test_facets_and_pages(client, stock):
    for n in range(3):
        stock(f"JSON-Seite {n}", subjects=("JSON-Blättern",))
    feed = client.get("/opds/v2/catalogue?subject=JSON-Blättern&per_page=2").get_json()
    rels = _rels(feed["links"])
    assert rels["next"]["href"].endswith("page=2") and "previous" not in rels
    assert rels["first"]["type"] == OPDS2 and rels["last"]["type"] == OPDS2
    groups = {group["metadata"]["title"]: group["links"] for group in feed["facets"]}
    assert {"Sortierung", "Art", "Sprache"} <= set(groups)
    active = [link for link in groups["Sortierung"] if link.get("rel") == "self"]
    assert [link["title"] for link in active] == ["Neu im Bestand"]
    assert groups["Art"][0]["properties"] == {"numberOfItems": 3}


def test_search_uses_the_template(client, stock):
    stock("Der JSON-Leuchtturm")
    root = client.get("/opds/v2/").get_json()
    template = _rels(root["links"])["search"]["href"]
    found = client.get(path_of(template.replace("{?query}", "?query=JSON-Leuchtturm"))).get_json()
    assert [p["metadata"]["title"] for p in found["publications"]] == ["Der JSON-Leuchtturm"]


def test_the_shelf_and_borrowing_in_json(client, stock, opds_patron):
    item_id = stock("JSON-Ausleihe")
    patron = opds_patron()
    resp = client.put(f"/opds/v2/works/{item_id}/borrow", headers=patron.auth)
    assert resp.status_code == 201 and resp.mimetype == PUB
    pub = resp.get_json()
    acquire = _rels(pub["links"])["http://opds-spec.org/acquisition"]
    assert acquire["type"] == "application/epub+zip"
    assert acquire["properties"]["availability"]["state"] == "available"
    assert set(acquire["properties"]["availability"]) == {"state", "since", "until"}
    revoke = _rels(pub["links"])["http://librarysimplified.org/terms/rel/revoke"]
    shelf = client.get("/opds/v2/shelf", headers=patron.auth)
    assert shelf.headers["Cache-Control"] == "private, no-store"
    assert [p["metadata"]["title"] for p in shelf.get_json()["publications"]] == ["JSON-Ausleihe"]
    back = client.put(path_of(revoke["href"]), headers=patron.auth)
    assert back.status_code == 200
    assert _rels(back.get_json()["links"])[BORROW]["properties"]["availability"] == {
        "state": "available"
    }
