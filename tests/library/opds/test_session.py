"""A reading app's session end to end, as the issue asks: the root without credentials -> 401
with the authentication document -> Basic login -> borrow from a feed -> the shelf lists the
loan -> download the file (the watermarked EPUB, checked) -> return."""

from __future__ import annotations

import io
import zipfile
from urllib.parse import urlsplit

from lxml import etree

from library.opds.feeds import AUTH_DOCUMENT
from tests.library.opds.conftest import NS, atom

BORROW = "http://opds-spec.org/acquisition/borrow"
ACQUIRE = "http://opds-spec.org/acquisition"
REVOKE = "http://librarysimplified.org/terms/rel/revoke"
SHELF = "http://opds-spec.org/shelf"


def _path(href: str) -> str:
    parts = urlsplit(href)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _link(element: etree._Element, rel: str) -> etree._Element:
    found = element.xpath(f"atom:link[@rel='{rel}']", namespaces=NS)
    assert found, f"no link rel={rel}"
    return found[0]


def test_a_reading_apps_session(client, opds_patron, stock):
    item_id = stock("Nebel über dem Seilersee", authors=("Brandt, Hanna",), subjects=("Krimi",))
    patron = opds_patron()

    # 1. The app asks for the shelf without credentials: 401 with the document.
    resp = client.get("/opds/shelf")
    assert resp.status_code == 401
    assert resp.mimetype == AUTH_DOCUMENT
    assert resp.headers["WWW-Authenticate"].startswith('Basic realm="')
    document = resp.get_json()
    basic = document["authentication"][0]
    assert basic["type"] == "http://opds-spec.org/auth/basic"
    assert basic["labels"] == {"login": "Ausweisnummer", "password": "PIN"}

    # 2. The root feed (public) leads to the catalogue; the item's borrow link is there.
    root = atom(client.get("/opds/", headers=patron.auth))
    assert _link(root, SHELF).get("href").endswith("/opds/shelf")
    feed = atom(client.get("/opds/catalogue?subject=Krimi", headers=patron.auth))
    entry = next(
        e
        for e in feed.xpath("atom:entry", namespaces=NS)
        if e.findtext("atom:title", namespaces=NS) == "Nebel über dem Seilersee"
    )
    borrow = _link(entry, BORROW)
    assert borrow.find("opds:availability", NS).get("status") == "available"

    # 3. Wrong PIN: 401 with the document again.
    wrong = client.get(_path(borrow.get("href")), headers={**patron.auth, **_wrong(patron)})
    assert wrong.status_code == 401 and wrong.mimetype == AUTH_DOCUMENT

    # 4. Borrow (Palace's apps follow the link with GET): 201 with the entry.
    resp = client.get(_path(borrow.get("href")), headers=patron.auth)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    lent = atom(resp)
    acquisition = _link(lent, ACQUIRE)
    assert acquisition.get("type") == "application/epub+zip"
    assert _link(lent, REVOKE) is not None

    # 5. The shelf lists the loan with a plain acquisition link (KOReader downloads it).
    resp = client.get("/opds/shelf", headers=patron.auth)
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "private, no-store"
    shelf = atom(resp)
    entries = shelf.xpath("atom:entry", namespaces=NS)
    assert [e.findtext("atom:title", namespaces=NS) for e in entries] == [
        "Nebel über dem Seilersee"
    ]
    download = _link(entries[0], ACQUIRE)

    # 6. Download: the watermarked EPUB.
    resp = client.get(_path(download.get("href")))
    assert resp.status_code == 200
    assert resp.mimetype == "application/epub+zip"
    with zipfile.ZipFile(io.BytesIO(resp.get_data())) as epub:
        assert epub.namelist()[0] == "mimetype"
        assert epub.read("mimetype") == b"application/epub+zip"
        package = next(n for n in epub.namelist() if n.endswith(".opf"))
        opf = epub.read(package).decode()
    assert "vhs:watermark" in opf and "Ausgeliehen bei" in opf

    # 7. Return through the revoke link: the entry offers borrowing again.
    resp = client.put(_path(_link(entries[0], REVOKE).get("href")), headers=patron.auth)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    after = atom(resp)
    assert _link(after, BORROW).find("opds:availability", NS).get("status") == "available"
    assert (
        atom(client.get("/opds/shelf", headers=patron.auth)).xpath("atom:entry", namespaces=NS)
        == []
    )
    assert item_id


def _wrong(patron):
    from tests.library.opds.conftest import basic

    return basic(patron.number, "97531")
