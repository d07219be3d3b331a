"""A distributor's loan reaches its patron: the Loan Status Document's LCP licence link, with
its media type, on the account page, in the links API and on the OPDS shelf (1.2 and 2.0) —
read from what we stored at the checkout, never by asking the distributor again.

Against the stand-in distributor (a real HTTP server, ``tests/library/odl_standin.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from library.distributors import services
from library.distributors.provider import fulfilment_links
from library.distributors.sync import sync_distributor
from library.licences.providers import ExternalLink
from tests.library.odl_standin import OdlStandin
from tests.library.opds.conftest import NS, atom, basic, entry_titled, link
from tests.library.patrons.conftest import PIN, new_card
from tests.library.test_odl import item_titled, odl, standin, title_pub  # noqa: F401 (fixtures)
from vhs.accounts.models import Role, User
from vhs.uow import unit_of_work

LCP = "application/vnd.readium.lcp.license.v1.0+json"
ACQUISITION = "http://opds-spec.org/acquisition"
REVOKE = "http://librarysimplified.org/terms/rel/revoke"
TITLE = "Lizenzprobe am Seilersee"
LABEL = "Lizenzdatei für Ihre Lese-App"


@dataclass
class OdlReader:
    """A synced distributor title and a patron with a card and a PIN (committed)."""

    item_id: int
    user: User
    number: str
    headers: dict[str, str]

    @property
    def basic(self) -> dict[str, str]:
        return basic(self.number, PIN)


@pytest.fixture
def odl_reader(
    app: Flask,
    odl: OdlStandin,  # noqa: F811 (the fixture imported above)
    make_user: Callable[..., User],
    api_token: Any,
) -> OdlReader:
    odl.add(title_pub(TITLE))
    with app.app_context(), unit_of_work():
        admin = User(name="System", email="", role=Role.ADMIN)
        distributor = services.add_distributor(
            admin, {"name": "Seilersee-Vertrieb", "feed_url": odl.feed_url}
        )
        sync_distributor(distributor.id)
        item_id = item_titled(TITLE).id
    patron = make_user(Role.RESIDENT)
    with app.app_context(), unit_of_work():
        number = new_card(patron.id).number
    return OdlReader(item_id=item_id, user=patron, number=number, headers=api_token(patron))


def test_an_odl_loan_shows_its_licence_link_everywhere(
    app: Flask,
    client: Any,
    login: Callable[..., Any],
    odl: OdlStandin,  # noqa: F811
    odl_reader: OdlReader,
) -> None:
    """Borrow a distributor's title; the links API, both shelves and the account page give
    the LCP licence with its type, and none of them calls the distributor."""
    resp = client.post(f"/api/v1/media/{odl_reader.item_id}/loans", headers=odl_reader.headers)
    assert resp.status_code == 201, resp.json
    loan_id = resp.json["id"]
    [checkout] = odl.active()
    href = f"{odl.url}/lcp/{checkout.lsd_id}"
    asked = len(odl.requests)

    api = client.get(f"/api/v1/loans/{loan_id}/links", headers=odl_reader.headers)
    assert api.status_code == 200
    assert api.json["links"] == []
    assert api.json["external_links"] == [{"rel": "license", "url": href, "media_type": LCP}]

    got = client.get("/opds/shelf", headers=odl_reader.basic)
    assert got.status_code == 200, got.get_data(as_text=True)
    shelf = atom(got)
    entry = entry_titled(shelf, TITLE)
    [licence] = entry.xpath(f"atom:link[@rel='{ACQUISITION}']", namespaces=NS)
    assert (licence.get("href"), licence.get("type"), licence.get("title")) == (href, LCP, LABEL)
    availability = licence.find("opds:availability", NS)
    assert availability.get("status") == "available"
    assert availability.get("since") < availability.get("until")
    assert link(entry, REVOKE).get("href").endswith(f"/opds/loans/{odl_reader.item_id}/revoke")
    assert not entry.xpath(
        "atom:link[@rel='http://opds-spec.org/acquisition/borrow']", namespaces=NS
    )

    shelf2 = client.get("/opds/v2/shelf", headers=odl_reader.basic).get_json()
    [publication] = shelf2["publications"]
    [licence2] = [x for x in publication["links"] if x["rel"] == ACQUISITION]
    assert (licence2["href"], licence2["type"], licence2["title"]) == (href, LCP, LABEL)
    assert licence2["properties"]["availability"] == {
        "state": "available",
        "since": availability.get("since"),
        "until": availability.get("until"),
    }

    # The same entry in a public feed asked for with the patron's credentials.
    work = atom(client.get(f"/opds/works/{odl_reader.item_id}", headers=odl_reader.basic))
    assert link(work, ACQUISITION).get("href") == href

    login(odl_reader.user)
    page = client.get("/library/account").get_data(as_text=True)
    assert f'href="{href}"' in page and f'type="{LCP}"' in page
    assert LABEL in page and "Readium LCP" in page and "Thorium Reader" in page

    assert len(odl.requests) == asked  # all of it from the stored Loan Status Document


def test_only_plain_web_links_of_a_status_document_reach_a_patron() -> None:
    """What a distributor stores as ``license``/``publication`` becomes a link only when it is
    an absolute http(s) URL and no template; a licence without a type is an LCP licence."""
    links = fulfilment_links(
        {
            "license": {"href": "https://dist.example/lcp/1", "type": "", "templated": False},
            "publication": {"href": "javascript:alert(1)", "type": "application/epub+zip"},
            "self": {"href": "https://dist.example/loans/1", "type": "x"},
        }
    )
    assert links == (ExternalLink("license", "https://dist.example/lcp/1", LCP),)
    templated = fulfilment_links(
        {
            "license": {"href": "https://dist.example/lcp{?id}", "templated": True},
            "publication": {
                "href": "https://dist.example/pub.epub",
                "type": "application/epub+zip",
            },
        }
    )
    assert templated == (
        ExternalLink("publication", "https://dist.example/pub.epub", "application/epub+zip"),
    )
    assert fulfilment_links({}) == ()
