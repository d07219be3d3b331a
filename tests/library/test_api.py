"""The lending API as patrons and staff use it: answers, codes, who may do what."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from tests.library.seed import give_card, item_with_licence
from vhs.accounts.models import User


@pytest.fixture
def patron(app: Flask, make_user: Callable[..., User], api_token) -> Callable[[], dict[str, str]]:
    """Factory: API headers of a new resident with an active library card."""

    def _make(card: bool = True) -> dict[str, str]:
        user = make_user()
        if card:
            give_card(app, user)
        return api_token(user)

    return _make


@pytest.fixture
def staff(make_user, api_token) -> dict[str, str]:
    return api_token(make_user("staff"))


def problem(resp: Any, status: int) -> str:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    return resp.json.get("code", "")


def test_borrow_return_hold_round_trip(app: Flask, client, patron) -> None:
    item_id, _ = item_with_licence(app)
    a, b = patron(), patron()
    assert client.get(f"/api/v1/media/{item_id}/availability").json == {
        "copies": 1,
        "available": 1,
        "on_loan": 0,
        "reserved": 0,
        "holds": 0,
        "expected_at": None,
        "wait_days": None,
        "summary": "1 von 1 verfügbar",
        "queue_summary": None,
    }
    resp = client.post(f"/api/v1/media/{item_id}/loans", json={"days": 7}, headers=a)
    assert resp.status_code == 201, resp.json
    loan = resp.json
    assert loan["item"]["id"] == item_id and loan["renewals"] == 0 and loan["ended_at"] is None
    assert (
        problem(client.post(f"/api/v1/media/{item_id}/loans", headers=a), 409) == "already_on_loan"
    )
    assert problem(client.post(f"/api/v1/media/{item_id}/loans", headers=b), 409) == (
        "no_copies_available"
    )
    resp = client.post(f"/api/v1/media/{item_id}/holds", headers=b)
    assert resp.status_code == 201, resp.json
    hold = resp.json
    assert (hold["state"], hold["position"], hold["queue_length"]) == ("waiting", 1, 1)
    assert hold["expected_at"] == loan["due_at"]
    availability = client.get(f"/api/v1/media/{item_id}/availability").json
    assert (availability["available"], availability["holds"]) == (0, 1)

    assert problem(client.post(f"/api/v1/loans/{loan['id']}/renewals", headers=a), 409) == (
        "holds_waiting"
    )
    assert problem(client.delete(f"/api/v1/loans/{loan['id']}", headers=b), 404) == "loan_not_found"
    resp = client.delete(f"/api/v1/loans/{loan['id']}", headers=a)
    assert resp.status_code == 200 and resp.json["end_reason"] == "returned"
    mine = client.get("/api/v1/me/holds", headers=b).json
    assert [(h["id"], h["state"], h["position"]) for h in mine] == [(hold["id"], "ready", None)]
    assert mine[0]["ready_until"] is not None
    assert problem(client.post(f"/api/v1/media/{item_id}/loans", headers=a), 409) == (
        "no_copies_available"
    )
    resp = client.post(f"/api/v1/media/{item_id}/loans", headers=b)
    assert resp.status_code == 201
    assert client.get("/api/v1/me/holds", headers=b).json == []
    assert [entry["id"] for entry in client.get("/api/v1/me/loans", headers=b).json] == [
        resp.json["id"]
    ]
    assert client.get("/api/v1/me/loans", headers=a).json == []
    assert client.get("/api/v1/me/loans?ended=true", headers=a).json == []  # no history kept


def test_renew_and_cancel(app: Flask, client, patron) -> None:
    item_id, _ = item_with_licence(app)
    a, b = patron(), patron()
    loan = client.post(f"/api/v1/media/{item_id}/loans", json={"days": 14}, headers=a).json
    resp = client.post(f"/api/v1/loans/{loan['id']}/renewals", headers=a)
    assert resp.status_code == 201 and resp.json["renewals"] == 1
    assert problem(client.post(f"/api/v1/loans/{loan['id']}/renewals", headers=a), 409) == (
        "renewal_limit_reached"
    )
    hold = client.post(f"/api/v1/media/{item_id}/holds", headers=b).json
    assert problem(client.delete(f"/api/v1/holds/{hold['id']}", headers=a), 404) == "hold_not_found"
    resp = client.delete(f"/api/v1/holds/{hold['id']}", headers=b)
    assert (resp.status_code, resp.json["end_reason"]) == (200, "cancelled")
    # An ended hold forgot its patron: it is nobody's any more.
    assert problem(client.delete(f"/api/v1/holds/{hold['id']}", headers=b), 404) == "hold_not_found"


def test_refusals_as_problems(app: Flask, client, patron) -> None:
    item_id, _ = item_with_licence(app)
    bare_id, _ = item_with_licence(app, "Ohne Lizenz", concurrency=None)
    draft_id, _ = item_with_licence(app, "Entwurf", state="draft")
    a = patron()
    assert problem(
        client.post(f"/api/v1/media/{item_id}/loans", json={"days": 10}, headers=a), 422
    ) == ("invalid")
    assert problem(client.post(f"/api/v1/media/{item_id}/holds", headers=a), 409) == (
        "currently_available"
    )
    assert problem(client.post(f"/api/v1/media/{bare_id}/loans", headers=a), 409) == "not_lendable"
    assert problem(client.post(f"/api/v1/media/{draft_id}/loans", headers=a), 404) == (
        "media_not_found"
    )
    assert problem(client.get(f"/api/v1/media/{draft_id}/availability"), 404) == "media_not_found"
    assert problem(
        client.post(f"/api/v1/media/{item_id}/loans", headers=patron(card=False)), 409
    ) == ("no_card")
    assert client.post(f"/api/v1/media/{item_id}/loans").status_code == 401
    assert client.get("/api/v1/me/loans").status_code == 401


def test_german_refusal_text(app: Flask, client, patron) -> None:
    item_id, _ = item_with_licence(app, concurrency=None)
    resp = client.post(
        f"/api/v1/media/{item_id}/loans", headers={**patron(), "Accept-Language": "de"}
    )
    assert "kann derzeit nicht ausgeliehen werden" in resp.json["detail"]


# --- staff -----------------------------------------------------------------------------------


def test_staff_licences_api(app: Flask, client, staff, patron) -> None:
    item_id, _ = item_with_licence(app, concurrency=None)
    url = f"/api/v1/staff/library/items/{item_id}/licences"
    assert client.post(url, json={"concurrency": 1}, headers=patron()).status_code == 403
    resp = client.post(url, json={"concurrency": 2, "checkouts_total": 26}, headers=staff)
    assert resp.status_code == 201, resp.json
    created = resp.json
    assert (created["kind"], created["checkouts_left"], created["free"], created["lendable"]) == (
        "metered",
        26,
        2,
        2,
    )
    assert problem(client.post(url, json={"concurrency": 0}, headers=staff), 422) == "invalid"
    assert (
        problem(client.post(url, json={"concurrency": 1, "x": 1}, headers=staff), 422) == "invalid"
    )
    listed = client.get(url, headers=staff).json
    assert [row["id"] for row in listed] == [created["id"]]

    a = patron()
    client.post(f"/api/v1/media/{item_id}/loans", headers=a)
    client.post(f"/api/v1/media/{item_id}/loans", headers=patron())
    waiting = patron()
    hold = client.post(f"/api/v1/media/{item_id}/holds", headers=waiting).json
    patch_url = f"/api/v1/staff/library/licences/{created['id']}"
    resp = client.patch(patch_url, json={"concurrency": 1}, headers=staff)
    assert problem(resp, 422) == "invalid" and "concurrency" in resp.json["errors"]
    resp = client.patch(patch_url, json={"concurrency": 3}, headers=staff)
    assert resp.status_code == 200 and resp.json["reserved"] == 1
    assert client.get("/api/v1/me/holds", headers=waiting).json[0]["id"] == hold["id"]
    assert client.get("/api/v1/me/holds", headers=waiting).json[0]["state"] == "ready"

    report = client.get("/api/v1/staff/library/reports/holds", headers=staff).json
    assert report == []  # the one waiting hold is ready now
    loans = client.get("/api/v1/me/loans", headers=a).json
    resp = client.post(f"/api/v1/staff/library/loans/{loans[0]['id']}/revoke", headers=staff)
    assert (resp.status_code, resp.json["end_reason"]) == (200, "revoked")
    assert (
        problem(
            client.post(f"/api/v1/staff/library/loans/{loans[0]['id']}/revoke", headers=staff), 409
        )
        == "loan_not_open"
    )


def test_hold_queue_report_and_expiring(app: Flask, client, staff, patron) -> None:
    from vhs.db import utcnow

    item_id, _ = item_with_licence(app, "Bestseller", expires_at=utcnow() + timedelta(days=5))
    client.post(f"/api/v1/media/{item_id}/loans", headers=patron())
    for _ in range(3):
        assert client.post(f"/api/v1/media/{item_id}/holds", headers=patron()).status_code == 201
    report = client.get("/api/v1/staff/library/reports/holds", headers=staff).json
    assert report == [
        {
            "item": {"id": item_id, "kind": "ebook", "title": "Bestseller"},
            "holds": 3,
            "copies": 1,
            "per_copy": 3.0,
            "buy_more": True,
        }
    ]
    assert client.get("/api/v1/staff/library/reports/holds?min_holds=4", headers=staff).json == []
    expiring = client.get("/api/v1/staff/library/licences/expiring", headers=staff).json
    assert [row["item_id"] for row in expiring] == [item_id] and expiring[0]["expiring"]
