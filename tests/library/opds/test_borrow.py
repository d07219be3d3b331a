"""Borrowing and returning from a reading app: the circulation services' rules and their
problem+json refusals, reserving when no copy is free, retries that answer what was asked,
and cross-site requests refused."""

from __future__ import annotations

from tests.library.opds.conftest import NS, atom, link

BORROW = "http://opds-spec.org/acquisition/borrow"
REVOKE = "http://librarysimplified.org/terms/rel/revoke"


def _problem(resp, status, code):
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json()
    assert body["code"] == code and body["status"] == status
    assert body["type"].endswith("/" + code)
    return body


def test_no_free_copy_means_a_place_in_the_queue(client, stock, opds_patron):
    item_id = stock("Warteschlangen-Probe")
    lender, waiter = opds_patron(), opds_patron()
    assert client.get(f"/opds/works/{item_id}/borrow", headers=lender.auth).status_code == 201
    resp = client.get(f"/opds/works/{item_id}/borrow", headers=waiter.auth)
    assert resp.status_code == 201
    borrow = link(atom(resp), BORROW)
    availability = borrow.find("opds:availability", NS)
    assert availability.get("status") == "reserved" and availability.get("since")
    holds = borrow.find("opds:holds", NS)
    assert (holds.get("total"), holds.get("position")) == ("1", "1")
    # Asking again (an app retrying) answers the same hold: 200, nothing new.
    again = client.get(f"/opds/works/{item_id}/borrow", headers=waiter.auth)
    assert again.status_code == 200
    # The shelf lists the hold with its position and a revoke link.
    shelf = atom(client.get("/opds/shelf", headers=waiter.auth))
    (entry,) = shelf.xpath("atom:entry", namespaces=NS)
    assert link(entry, BORROW).find("opds:holds", NS).get("position") == "1"
    # The lender returns: the hold becomes ready, the shelf says so.
    assert client.get(f"/opds/loans/{item_id}/revoke", headers=lender.auth).status_code == 200
    shelf = atom(client.get("/opds/shelf", headers=waiter.auth))
    ready = link(shelf.find("atom:entry", NS), BORROW).find("opds:availability", NS)
    assert ready.get("status") == "ready" and ready.get("until")
    # Leaving the queue through revoke.
    resp = client.put(f"/opds/loans/{item_id}/revoke", headers=waiter.auth)
    assert resp.status_code == 200
    assert atom(client.get("/opds/shelf", headers=waiter.auth)).find("atom:entry", NS) is None


def test_borrowing_twice_answers_the_loan(client, stock, opds_patron):
    item_id = stock("Doppelt-Probe", copies=2)
    patron = opds_patron()
    assert client.put(f"/opds/works/{item_id}/borrow", headers=patron.auth).status_code == 201
    again = client.put(f"/opds/works/{item_id}/borrow", headers=patron.auth)
    assert again.status_code == 200
    assert (
        link(atom(again), "http://opds-spec.org/acquisition").get("type") == "application/epub+zip"
    )
    assert len(atom(client.get("/opds/shelf", headers=patron.auth)).findall("atom:entry", NS)) == 1


def test_refusals_are_the_services_problems(client, stock, opds_patron, app):
    patron = opds_patron()
    no_licence = stock("Ohne-Lizenz-Probe", licence=False)
    _problem(
        client.get(f"/opds/works/{no_licence}/borrow", headers=patron.auth), 409, "not_lendable"
    )
    _problem(
        client.get("/opds/works/2147483000/borrow", headers=patron.auth), 404, "media_not_found"
    )
    _problem(
        client.get(f"/opds/loans/{no_licence}/revoke", headers=patron.auth), 404, "loan_not_found"
    )
    limit = app.config["VHS"].library_max_loans
    app.config["VHS"].library_max_loans = 1
    try:
        first, second = stock("Grenze-Eins"), stock("Grenze-Zwei")
        assert client.get(f"/opds/works/{first}/borrow", headers=patron.auth).status_code == 201
        _problem(
            client.get(f"/opds/works/{second}/borrow", headers=patron.auth),
            409,
            "loan_limit_reached",
        )
        _problem(
            client.get(f"/opds/v2/works/{second}/borrow", headers=patron.auth),
            409,
            "loan_limit_reached",
        )
    finally:
        app.config["VHS"].library_max_loans = limit


def test_someone_elses_loan_cannot_be_returned(client, stock, opds_patron):
    item_id = stock("Fremd-Probe")
    owner, other = opds_patron(), opds_patron()
    assert client.get(f"/opds/works/{item_id}/borrow", headers=owner.auth).status_code == 201
    _problem(client.get(f"/opds/loans/{item_id}/revoke", headers=other.auth), 404, "loan_not_found")
    assert len(atom(client.get("/opds/shelf", headers=owner.auth)).findall("atom:entry", NS)) == 1


def test_a_cross_site_request_cannot_borrow(client, stock, opds_patron):
    item_id = stock("Fremdseite-Probe")
    patron = opds_patron()
    for site in ("cross-site", "same-site"):
        resp = client.get(
            f"/opds/works/{item_id}/borrow", headers={**patron.auth, "Sec-Fetch-Site": site}
        )
        _problem(resp, 403, "cross_site_request")
    resp = client.get(
        f"/opds/works/{item_id}/borrow", headers={**patron.auth, "Sec-Fetch-Site": "none"}
    )
    assert resp.status_code == 201
