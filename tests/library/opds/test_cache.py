"""Cheap feeds: conditional GET (ETag and Last-Modified, 304), cached public feeds that a
borrow renews at once, gzip only when asked for, and a shelf that is never kept."""

from __future__ import annotations

import gzip

from tests.library.opds.conftest import NS, atom, entry_titled, link

BORROW = "http://opds-spec.org/acquisition/borrow"


def _copies(resp, title):
    borrow = link(entry_titled(atom(resp), title), BORROW)
    return borrow.find("opds:copies", NS).get("available"), borrow.find(
        "opds:availability", NS
    ).get("status")


def test_if_none_match_and_if_modified_since_get_304(client, stock, cached):
    stock("Bedingt-Probe", subjects=("Bedingt",))
    first = client.get("/opds/catalogue?subject=Bedingt")
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "no-cache"
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    again = client.get("/opds/catalogue?subject=Bedingt", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    since = client.get("/opds/catalogue?subject=Bedingt", headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    json_first = client.get("/opds/v2/catalogue?subject=Bedingt")
    json_again = client.get(
        "/opds/v2/catalogue?subject=Bedingt", headers={"If-None-Match": json_first.headers["ETag"]}
    )
    assert json_again.status_code == 304


def test_a_borrow_shows_in_the_very_next_feed(client, stock, opds_patron, cached):
    item_id = stock("Frisch-Probe", subjects=("Frische",))
    patron = opds_patron()
    before = client.get("/opds/catalogue?subject=Frische")
    assert _copies(before, "Frisch-Probe") == ("1", "available")
    hits = cached.hits
    assert client.get("/opds/catalogue?subject=Frische").headers["ETag"] == before.headers["ETag"]
    assert cached.hits == hits + 1
    assert client.get(f"/opds/works/{item_id}/borrow", headers=patron.auth).status_code == 201
    after = client.get(
        "/opds/catalogue?subject=Frische", headers={"If-None-Match": before.headers["ETag"]}
    )
    assert after.status_code == 200
    assert _copies(after, "Frisch-Probe") == ("0", "unavailable")
    json_after = client.get("/opds/v2/catalogue?subject=Frische").get_json()
    assert json_after["publications"][0]["links"][-1]["properties"]["copies"]["available"] == 0


def test_identity_is_plain_and_gzip_is_asked_for(client, stock, cached):
    stock("Kompressions-Probe", subjects=("Kompression",))
    plain = client.get(
        "/opds/catalogue?subject=Kompression", headers={"Accept-Encoding": "identity"}
    )
    assert "Content-Encoding" not in plain.headers
    assert plain.get_data().startswith(b"<?xml")
    assert "Accept-Encoding" in plain.headers["Vary"]
    nothing = client.get("/opds/catalogue?subject=Kompression")
    assert "Content-Encoding" not in nothing.headers
    zipped = client.get(
        "/opds/catalogue?subject=Kompression", headers={"Accept-Encoding": "gzip, deflate"}
    )
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.get_data()) == plain.get_data()
    assert zipped.headers["ETag"] != plain.headers["ETag"]
    refused = client.get(
        "/opds/catalogue?subject=Kompression", headers={"Accept-Encoding": "gzip;q=0"}
    )
    assert "Content-Encoding" not in refused.headers


def test_the_shelf_is_never_kept(client, opds_patron, cached):
    patron = opds_patron()
    counts = (cached.hits, cached.misses)
    resp = client.get("/opds/shelf", headers=patron.auth)
    assert resp.headers["Cache-Control"] == "private, no-store"
    assert "ETag" not in resp.headers
    assert (cached.hits, cached.misses) == counts
