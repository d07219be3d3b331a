"""ODL distributors against the stand-in distributor (a real HTTP server, tests/library/
odl_standin.py): the sync, lending through the ``odl`` provider and each of its refusals,
returns owed to a distributor that is down, notifications, reconciliation, staff pages and API.

Services are called as a request would (``ctx``: the test's unit of work, rolled back); the
client tests see the same data (one connection per test).
"""

from __future__ import annotations

import hashlib
import hmac
import random
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from itsdangerous import URLSafeSerializer
from uritemplate import URITemplate

from library.circulation import services as circulation
from library.distributors import client as odl_client
from library.distributors import convergence, services
from library.distributors.demo import seed_distributor
from library.distributors.models import Distributor, OdlLicence, OdlLoan, ReturnState
from library.distributors.provider import OdlProvider, notify_token, send_return
from library.distributors.sync import sync_distributor
from library.licences.availability import item_copies
from library.licences.providers import ExternalLink, provider_for
from library.models import LibraryCard, Licence, Loan, LoanEnd
from media.models import MediaItem, PublicationState
from tests.library.conftest import Clock
from tests.library.odl_standin import (
    OdlStandin,
    StandinCheckout,
    StandinLicence,
    StandinPublication,
    demo_catalogue,
)
from tests.library.seed import give_card
from vhs.accounts.models import Role, User
from vhs.db import db, utcnow
from vhs.errors import Conflict, ServiceUnavailable
from vhs.uow import unit_of_work

ISBN = "9783161484100"


@pytest.fixture(scope="module")
def standin() -> Iterator[OdlStandin]:
    """The stand-in distributor, one server for the module (reset for each test)."""
    server = OdlStandin().start()
    yield server
    server.stop()


@pytest.fixture
def odl(standin: OdlStandin, app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[OdlStandin]:
    """The stand-in, empty and healthy; requests to it time out after one second."""
    standin.reset()
    if standin._server is None:
        standin.start()
    monkeypatch.setattr(app.config["VHS"], "library_odl_timeout_seconds", 1)
    standin.slow_seconds = 1.5
    yield standin
    if standin._server is None:
        standin.start()


@pytest.fixture
def staff(ctx: Flask) -> User:
    """A staff member (in the test's session)."""
    user = User(
        email="odl-staff@example.org",
        name="Stefan Stock",
        role=Role.STAFF,
        locale="de",
        session_token=secrets.token_hex(16),
    )
    db.session.add(user)
    db.session.flush()
    return user


def title_pub(title: str = "Grenzfall an der Lenne", **licence: Any) -> StandinPublication:
    """A publication with one licence ``lic-<title>`` (3 copies unless told)."""
    slug = re.sub(r"\W+", "-", title.lower())
    return StandinPublication(
        id=f"urn:uuid:{slug}",
        title=title,
        licences=[StandinLicence(id=f"lic-{slug}", **{"concurrency": 3, **licence})],
    )


@pytest.fixture
def connect(odl: OdlStandin, staff: User) -> Callable[..., Distributor]:
    """Factory: add the stand-in as a distributor and sync it once."""

    def _connect(**data: Any) -> Distributor:
        distributor = services.add_distributor(
            staff, {"name": "Grenzfall Verlagsvertrieb", "feed_url": odl.feed_url, **data}
        )
        sync_distributor(distributor.id)
        return distributor

    return _connect


@dataclass
class LiveOdl:
    """A synced distributor title and a patron's API headers, committed for client tests."""

    item_id: int
    headers: dict[str, str]

    def borrow(self, client: Any) -> int:
        resp = client.post(f"/api/v1/media/{self.item_id}/loans", headers=self.headers)
        assert resp.status_code == 201, resp.json
        return int(resp.json["id"])


@pytest.fixture
def live_odl(
    app: Flask, odl: OdlStandin, make_user: Callable[..., User], api_token: Any
) -> LiveOdl:
    """The stand-in connected and synced, one title, a patron with a card."""
    odl.add(title_pub())
    with app.app_context(), unit_of_work():
        admin = User(name="System", email="", role=Role.ADMIN)
        distributor = services.add_distributor(
            admin, {"name": "Vertrieb", "feed_url": odl.feed_url}
        )
        sync_distributor(distributor.id)
        item_id = item_titled("Grenzfall an der Lenne").id
    patron = make_user(Role.RESIDENT)
    give_card(app, patron)
    return LiveOdl(item_id=item_id, headers=api_token(patron))


def item_titled(title: str) -> MediaItem:
    return db.session.execute(sa.select(MediaItem).where(MediaItem.title == title)).scalar_one()


def licence_of(item: MediaItem) -> Licence:
    return db.session.execute(sa.select(Licence).where(Licence.item_id == item.id)).scalar_one()


# --- sync ------------------------------------------------------------------------------------


def test_sync_imports_publications_across_pages(
    odl: OdlStandin, connect: Callable[..., Distributor]
) -> None:
    """Every page's publications become published items (metadata, cover), their licences
    licences of provider odl with the feed's terms and links."""
    expires = utcnow().replace(microsecond=0) + timedelta(days=400)
    odl.add(
        title_pub("Grenzfall an der Lenne", checkouts_total=20, expires=expires, length_days=14)
    )
    second = title_pub("Nebel über Letmathe", concurrency=1)
    second.isbn = ISBN
    odl.add(second)
    distributor = connect()
    assert distributor.last_sync_ok is True
    assert ("GET", "/feed") in odl.requests  # page 1, then page 2 along "next"
    first = item_titled("Grenzfall an der Lenne")
    assert first.state is PublicationState.PUBLISHED
    assert first.cover_sha256 is not None
    assert [c.name for c in first.contributors] == ["Greta Grenzfall"]
    lic = licence_of(first)
    assert (lic.provider, lic.external_id) == ("odl", "lic-grenzfall-an-der-lenne")
    assert (lic.concurrency, lic.checkouts_total, lic.checkouts_left) == (3, 20, 20)
    assert lic.expires_at == expires
    assert lic.max_loan_days == 14
    row = db.session.get(OdlLicence, lic.id)
    assert row.checkout_template.startswith(
        f"{odl.url}/licenses/lic-grenzfall-an-der-lenne/checkout{{"
    )
    assert row.info_url == f"{odl.url}/licenses/lic-grenzfall-an-der-lenne/status"
    other = item_titled("Nebel über Letmathe")
    assert [i.value for i in other.identifiers] == [ISBN]
    assert "2 new" in distributor.last_sync_summary or "2 neue" in distributor.last_sync_summary


def test_sync_updates_changed_and_stops_removed_licences(
    odl: OdlStandin, connect: Callable[..., Distributor], clock: Clock
) -> None:
    """A second sync takes new titles and terms, leaves unchanged items alone, and a licence
    gone from the feed stops lending (its loans run on)."""
    kept = odl.add(title_pub("Grenzfall an der Lenne"))
    gone = odl.add(title_pub("Die Brücke von Letmathe"))
    distributor = connect()
    unchanged = sync_distributor(distributor.id)
    assert unchanged is not None
    assert (unchanged.items_updated, unchanged.licences_updated) == (0, 0)
    kept.title = "Grenzfall an der Lenne (Neuausgabe)"
    kept.licences[0].concurrency = 5
    odl.publications.remove(gone)
    result = sync_distributor(distributor.id)
    assert result is not None
    assert (result.items_updated, result.licences_updated, result.licences_removed) == (1, 1, 1)
    item = item_titled("Grenzfall an der Lenne (Neuausgabe)")
    assert licence_of(item).concurrency == 5
    removed = licence_of(item_titled("Die Brücke von Letmathe"))
    assert removed.expires_at is not None and removed.expires_at <= utcnow()
    assert item_copies(removed.item_id, utcnow()).copies == 0
    assert db.session.get(OdlLicence, removed.id).removed_at is not None


def test_sync_of_a_failing_feed_changes_nothing(
    odl: OdlStandin, connect: Callable[..., Distributor]
) -> None:
    """A feed answering 500 is recorded as a failed sync; the catalogue is untouched."""
    odl.add(title_pub("Grenzfall an der Lenne"))
    odl.mode = "500"
    distributor = connect()
    assert distributor.last_sync_ok is False
    assert "500" in distributor.last_sync_summary
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OdlLicence)) == 0


def test_sync_signs_in_with_the_stored_password(
    odl: OdlStandin, connect: Callable[..., Distributor]
) -> None:
    """The distributor's account is used (HTTP Basic), its password stored encrypted."""
    odl.username, odl.password = "stadtbib", "geheim-123"
    odl.add(title_pub())
    distributor = connect(username="stadtbib", password="geheim-123")
    assert "geheim-123" not in distributor.secret_encrypted
    assert distributor.last_sync_ok is True
    wrong = services.add_distributor(
        User(name="x", email="", role=Role.ADMIN),
        {
            "name": "Falsch",
            "feed_url": odl.feed_url + "?x=1",
            "username": "stadtbib",
            "password": "nein",
        },
    )
    assert sync_distributor(wrong.id) is None
    assert "401" in wrong.last_sync_summary


# --- lending ---------------------------------------------------------------------------------


@pytest.fixture
def odl_item(odl: OdlStandin, connect: Callable[..., Distributor]) -> MediaItem:
    """A distributor's title with one licence of 3 copies, synced."""
    odl.add(title_pub())
    connect()
    return item_titled("Grenzfall an der Lenne")


def test_borrow_checks_out_at_the_distributor(
    odl: OdlStandin, odl_item: MediaItem, make_patron: Callable[..., User]
) -> None:
    """Info document first, then the templated checkout: 201 and a Loan Status Document; the
    patron is an opaque id (an HMAC: never the card number, name or our user id)."""
    patron = make_patron()
    loan = circulation.borrow(patron, odl_item.id)
    assert [m for m, p in odl.requests[-2:]] == ["GET", "POST"]
    [checkout] = odl.active()
    assert checkout.id == loan.external_id
    card = db.session.execute(
        sa.select(LibraryCard).where(LibraryCard.user_id == patron.id)
    ).scalar_one()
    assert re.fullmatch(r"[0-9a-f]{64}", checkout.patron_id)
    distributor = db.session.execute(sa.select(Distributor)).scalar_one()
    expected = hmac.new(
        bytes.fromhex(distributor.patron_key), f"user:{patron.id}".encode(), hashlib.sha256
    ).hexdigest()
    assert checkout.patron_id == expected
    for private in (card.number, patron.name, patron.email):
        assert private not in checkout.patron_id
    assert abs(checkout.expires - loan.due_at) < timedelta(seconds=1)
    assert "/library/odl/notify/" in checkout.notification_url
    odl_loan = db.session.execute(sa.select(OdlLoan)).scalar_one()
    assert (odl_loan.status, odl_loan.lsd_url) == ("active", f"{odl.url}/loans/{checkout.id}")
    links = provider_for(loan.licence).fulfil(loan).links
    assert links == (
        ExternalLink(
            rel="license",
            href=f"{odl.url}/lcp/{checkout.lsd_id}",
            media_type="application/vnd.readium.lcp.license.v1.0+json",
        ),
    )


def test_the_same_checkout_again_is_a_303(odl: OdlStandin, odl_item: MediaItem) -> None:
    """A checkout id the distributor knows answers 303; the status document is read there."""
    licence = licence_of(odl_item)
    row = db.session.get(OdlLicence, licence.id)
    odl.checkouts["known"] = StandinCheckout(
        id="known",
        licence_id=licence.external_id,
        patron_id="p",
        expires=utcnow(),
        notification_url="",
    )
    url = URITemplate(row.checkout_template).expand(
        id=licence.external_id, checkout_id="known", patron_id="p"
    )
    status = OdlProvider._check_out(row.distributor, url)
    assert status.self_url == f"{odl.url}/loans/known"
    assert odl.checkout_posts == 1 and len(odl.checkouts) == 1


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        (
            lambda s: setattr(s.licence("lic-grenzfall-an-der-lenne"), "status", "unavailable"),
            "licence_unavailable",
        ),
        (
            lambda s: setattr(s.licence("lic-grenzfall-an-der-lenne"), "status", "expired"),
            "licence_expired",
        ),
        (lambda s: setattr(s, "mode", "exhaust"), "licence_unavailable"),
        (lambda s: setattr(s, "mode", "expire"), "licence_expired"),
        (lambda s: setattr(s, "mode", "500"), "distributor_unavailable"),
        (lambda s: setattr(s, "mode", "slow"), "distributor_unavailable"),
        (lambda s: s.stop(), "distributor_unavailable"),
    ],
    ids=[
        "info-unavailable",
        "info-expired",
        "exhausted-between",
        "expired-at-checkout",
        "500",
        "timeout",
        "down",
    ],
)
def test_borrow_refusals_are_clear_and_lend_nothing(
    odl: OdlStandin,
    odl_item: MediaItem,
    make_patron: Callable[..., User],
    setup: Callable[[OdlStandin], None],
    code: str,
) -> None:
    """Each way a distributor refuses or fails is a clear problem; nothing is lent."""
    patron = make_patron()
    setup(odl)
    with pytest.raises((Conflict, ServiceUnavailable)) as refused, db.session.begin_nested():
        circulation.borrow(patron, odl_item.id)
    assert refused.value.code == code
    assert refused.value.status == (503 if code == "distributor_unavailable" else 409)
    assert licence_of(odl_item).active_loans == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Loan)) == 0
    assert odl.active() == []


def test_borrow_refusal_over_the_api_is_a_translated_problem(
    app: Flask, client: Any, live_odl: LiveOdl, odl: OdlStandin
) -> None:
    """A borrow while the distributor is down: 503 problem+json with Retry-After, in German."""
    odl.stop()
    resp = client.post(
        f"/api/v1/media/{live_odl.item_id}/loans",
        headers={**live_odl.headers, "Accept-Language": "de"},
    )
    assert resp.status_code == 503
    assert resp.mimetype == "application/problem+json"
    assert resp.json["code"] == "distributor_unavailable"
    assert resp.headers["Retry-After"] == "60"
    assert "später" in resp.json["detail"]


def test_return_is_sent_after_the_loan_ended_here(
    odl: OdlStandin, odl_item: MediaItem, make_patron: Callable[..., User]
) -> None:
    """A return ends the loan at once and is owed to the distributor until it confirms."""
    loan = circulation.borrow(make_patron(), odl_item.id)
    circulation.return_loan(loan.user, loan.id)
    odl_loan = db.session.execute(sa.select(OdlLoan)).scalar_one()
    assert loan.ended_at is not None
    assert odl_loan.return_state is ReturnState.PENDING
    assert send_return(odl_loan.id) is True
    assert odl_loan.return_state is ReturnState.CONFIRMED
    assert odl.checkouts[loan.external_id].status == "returned"
    assert odl.returns == 1


def test_down_distributor_return_is_retried_with_backoff_and_converges(
    odl: OdlStandin, odl_item: MediaItem, make_patron: Callable[..., User], clock: Clock
) -> None:
    """Returned while the distributor is down: our copy is free at once; the job retries
    with growing gaps, and the return goes through once the distributor is back."""
    loan = circulation.borrow(make_patron(), odl_item.id)
    odl.stop()
    circulation.return_loan(loan.user, loan.id)
    assert licence_of(odl_item).active_loans == 0
    odl_loan = db.session.execute(sa.select(OdlLoan)).scalar_one()
    now = utcnow()
    assert convergence.retry_returns(now) == 0
    assert odl_loan.return_attempts == 1
    assert odl_loan.next_attempt_at == now + timedelta(seconds=30)
    assert convergence.retry_returns(now + timedelta(seconds=10)) == 0  # not due yet
    assert odl_loan.return_attempts == 1
    assert convergence.retry_returns(now + timedelta(seconds=31)) == 0
    assert odl_loan.next_attempt_at == now + timedelta(seconds=31 + 60)
    odl.start()
    assert odl.checkouts[loan.external_id].status == "active"
    assert convergence.retry_returns(now + timedelta(minutes=5)) == 1
    assert odl_loan.return_state is ReturnState.CONFIRMED
    assert odl.checkouts[loan.external_id].status == "returned"


def test_renew_goes_through_the_renew_link(
    odl: OdlStandin, odl_item: MediaItem, make_patron: Callable[..., User]
) -> None:
    """A renewal asks the distributor for the new end; refused there is refused here."""
    loan = circulation.borrow(make_patron(), odl_item.id, days=7)
    before = loan.due_at
    circulation.renew(loan.user, loan.id)
    assert loan.due_at > before
    assert abs(odl.checkouts[loan.external_id].expires - loan.due_at) < timedelta(seconds=1)
    other = circulation.borrow(make_patron(), odl_item.id, days=7)
    odl.licence("lic-grenzfall-an-der-lenne").renewable = False
    with pytest.raises(Conflict) as refused, db.session.begin_nested():
        circulation.renew(other.user, other.id)
    assert refused.value.code == "renewal_not_possible"
    odl.stop()
    with pytest.raises(ServiceUnavailable) as down, db.session.begin_nested():
        circulation.renew(other.user, other.id)
    assert down.value.code == "distributor_unavailable"


# --- notifications ---------------------------------------------------------------------------


def _send_via(client: Any) -> Callable[[str, bytes], int]:
    """Deliver the stand-in's notification to the app under test (its path on our host)."""

    def send(url: str, body: bytes) -> int:
        path = url.split("://", 1)[1].split("/", 1)[1]
        resp = client.post("/" + path, data=body, content_type=odl_client.LSD_TYPE)
        return resp.status_code

    return send


def _loan_row(app: Flask, loan_id: int) -> tuple[Any, Any, int]:
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        return loan.ended_at, loan.end_reason, loan.licence.active_loans


@pytest.mark.parametrize(
    ("status", "reason"), [("returned", LoanEnd.RETURNED), ("revoked", LoanEnd.REVOKED)]
)
def test_notification_ends_the_loan_once(
    app: Flask, client: Any, live_odl: LiveOdl, odl: OdlStandin, status: str, reason: LoanEnd
) -> None:
    """The distributor says the checkout ended: 204, our loan ends, its copy is free; the
    same notification again is 204 and changes nothing."""
    loan_id = live_odl.borrow(client)
    [checkout] = odl.active()
    send = _send_via(client)
    assert odl.end_checkout(checkout.id, status, send) == 204
    ended_at, end_reason, lent = _loan_row(app, loan_id)
    assert (ended_at is not None, end_reason, lent) == (True, reason, 0)
    assert odl.end_checkout(checkout.id, status, send) == 204
    assert _loan_row(app, loan_id)[0] == ended_at
    assert odl.returns == 0  # nothing to return: the distributor ended it


def test_notification_trusts_the_distributor_not_the_body(
    app: Flask, client: Any, live_odl: LiveOdl, odl: OdlStandin
) -> None:
    """A body saying "returned" for a checkout still active at the distributor ends nothing."""
    loan_id = live_odl.borrow(client)
    [checkout] = odl.active()
    with app.test_request_context():
        token = notify_token(checkout.id)
    resp = client.post(
        f"/library/odl/notify/{token}", json={"id": "x", "status": "returned", "links": []}
    )
    assert resp.status_code == 204
    assert _loan_row(app, loan_id)[0] is None


def test_notification_while_the_distributor_is_down_asks_to_come_again(
    app: Flask, client: Any, live_odl: LiveOdl, odl: OdlStandin
) -> None:
    """The status document cannot be read: 503, so the distributor sends it again."""
    live_odl.borrow(client)
    [checkout] = odl.active()
    with app.test_request_context():
        token = notify_token(checkout.id)
    odl.stop()
    resp = client.post(f"/library/odl/notify/{token}", headers={"Accept": "application/json"})
    assert resp.status_code == 503
    assert resp.json["code"] == "distributor_unavailable"


@pytest.mark.parametrize(
    "token",
    ["forged", URLSafeSerializer("another-key", salt="library-odl-notify").dumps("known")],
    ids=["unsigned", "signed-elsewhere"],
)
def test_forged_notification_is_refused(client: Any, token: str, odl: OdlStandin) -> None:
    """A token that is not ours: 404, nothing read or changed."""
    resp = client.post(f"/library/odl/notify/{token}", json={"status": "revoked"})
    assert resp.status_code == 404
    assert odl.requests == []


def test_notification_for_an_unknown_checkout_is_refused(client: Any, app: Flask) -> None:
    """Correctly signed, but no such checkout: 404."""
    with app.test_request_context():
        token = notify_token("0000-not-a-checkout")
    resp = client.post(f"/library/odl/notify/{token}", headers={"Accept": "application/json"})
    assert resp.status_code == 404
    assert resp.json["code"] == "notification_unknown"


# --- reconciliation --------------------------------------------------------------------------


def test_reconciliation_converges_loans_and_licences(
    odl: OdlStandin, odl_item: MediaItem, make_patron: Callable[..., User]
) -> None:
    """A checkout that expired at the distributor without a word ends here; a licence the
    distributor no longer lends stops lending; checkouts left follow the distributor's."""
    loan = circulation.borrow(make_patron(), odl_item.id)
    odl.checkouts[loan.external_id].status = "expired"
    result = convergence.reconcile()
    assert (result.loans_checked, result.loans_ended) == (1, 1)
    assert loan.end_reason is LoanEnd.EXPIRED
    odl.licence("lic-grenzfall-an-der-lenne").status = "unavailable"
    result = convergence.reconcile()
    assert result.licences_stopped == 1
    assert item_copies(odl_item.id, utcnow()).copies == 0
    odl.stop()
    assert convergence.reconcile().unreachable == 1  # checked again later; nothing breaks


def test_reconciliation_lowers_checkouts_left(
    odl: OdlStandin, connect: Callable[..., Distributor]
) -> None:
    odl.add(title_pub(checkouts_total=20))
    connect()
    odl.licence("lic-grenzfall-an-der-lenne").checkouts_left = 12
    convergence.reconcile()
    assert licence_of(item_titled("Grenzfall an der Lenne")).checkouts_left == 12


# --- staff pages and API ---------------------------------------------------------------------


def _staff_client(
    app: Flask, client: Any, make_user: Callable[..., User], login: Callable[..., Any]
) -> User:
    user = make_user(Role.STAFF)
    login(user)
    return user


def test_staff_pages_add_edit_sync_delete(
    app: Flask,
    client: Any,
    make_user: Callable[..., User],
    login: Callable[..., Any],
    odl: OdlStandin,
) -> None:
    """Add (password never shown back), edit, sync now, delete after a confirmation page."""
    _staff_client(app, client, make_user, login)
    odl.add(title_pub("Seitenblick auf Iserlohn"))
    resp = client.submit(
        "/staff/library/distributors",
        {
            "name": "Stand-in",
            "feed_url": odl.feed_url,
            "username": "bib",
            "password": "streng-geheim",
        },
    )
    assert resp.status_code == 302
    page = client.get("/staff/library/distributors").get_data(as_text=True)
    assert "Stand-in" in page and "streng-geheim" not in page
    with app.app_context():
        distributor_id = db.session.execute(sa.select(Distributor.id)).scalar_one()
    edit = client.get(f"/staff/library/distributors/{distributor_id}/edit").get_data(as_text=True)
    assert "streng-geheim" not in edit
    resp = client.submit(
        f"/staff/library/distributors/{distributor_id}/edit",
        {"name": "Stand-in Vertrieb", "feed_url": odl.feed_url, "username": "", "password": ""},
    )
    assert resp.status_code == 302
    resp = client.submit(f"/staff/library/distributors/{distributor_id}/sync")
    assert resp.status_code == 302
    with app.app_context():
        distributor = db.session.get(Distributor, distributor_id)
        assert distributor.name == "Stand-in Vertrieb"
        assert distributor.has_secret and distributor.last_sync_ok is True
    assert "Seitenblick auf Iserlohn" in client.get("/media?q=Seitenblick").get_data(as_text=True)
    confirm = client.get(f"/staff/library/distributors/{distributor_id}/delete")
    assert confirm.status_code == 200 and "Anbieter löschen" in confirm.get_data(as_text=True)
    resp = client.submit(f"/staff/library/distributors/{distributor_id}/delete")
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(Distributor, distributor_id) is None


def test_staff_form_refusals(
    app: Flask,
    client: Any,
    make_user: Callable[..., User],
    login: Callable[..., Any],
    odl: OdlStandin,
) -> None:
    _staff_client(app, client, make_user, login)
    resp = client.submit("/staff/library/distributors", {"name": "X", "feed_url": "ftp://x"})
    assert resp.status_code == 422
    text = resp.get_data(as_text=True)
    assert "https://" in text


def test_api_crud_and_refusals(
    app: Flask, client: Any, make_user: Callable[..., User], api_token: Any, odl: OdlStandin
) -> None:
    """The API twin: create (201, no password in any answer), read, change, sync (202),
    duplicate feed and bad URL (422), delete (204)."""
    headers = api_token(make_user(Role.STAFF))
    resp = client.post(
        "/api/v1/staff/library/distributors",
        json={
            "name": "API-Vertrieb",
            "feed_url": odl.feed_url,
            "username": "u",
            "password": "pw-123",
        },
        headers=headers,
    )
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert body["has_password"] is True and "pw-123" not in resp.get_data(as_text=True)
    did = body["id"]
    assert (
        client.post(
            "/api/v1/staff/library/distributors",
            json={"name": "Zwei", "feed_url": odl.feed_url},
            headers=headers,
        ).status_code
        == 422
    )
    assert (
        client.post(
            "/api/v1/staff/library/distributors",
            json={"name": "Drei", "feed_url": "javascript:alert(1)"},
            headers=headers,
        ).status_code
        == 422
    )
    resp = client.patch(
        f"/api/v1/staff/library/distributors/{did}", json={"clear_password": True}, headers=headers
    )
    assert resp.status_code == 200 and resp.json["has_password"] is False
    resp = client.post(f"/api/v1/staff/library/distributors/{did}/sync", headers=headers)
    assert resp.status_code == 202
    assert (
        client.get(f"/api/v1/staff/library/distributors/{did}", headers=headers).json[
            "last_sync_ok"
        ]
        is True
    )
    assert (
        client.get("/api/v1/staff/library/distributors/999999", headers=headers).status_code == 404
    )
    assert (
        client.delete(f"/api/v1/staff/library/distributors/{did}", headers=headers).status_code
        == 204
    )


def test_delete_is_refused_while_loans_run(
    odl: OdlStandin, odl_item: MediaItem, make_patron: Callable[..., User], staff: User
) -> None:
    circulation.borrow(make_patron(), odl_item.id)
    distributor = db.session.execute(sa.select(Distributor)).scalar_one()
    with pytest.raises(Conflict) as refused, db.session.begin_nested():
        services.delete_distributor(staff, distributor)
    assert refused.value.code == "distributor_in_use"


# --- the demo --------------------------------------------------------------------------------


def test_demo_connects_a_distributor_only_when_configured(
    app: Flask, ctx: Flask, odl: OdlStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Off by default (local licences only); with the setting, the feed is connected once and
    synced at every seed."""
    rng = random.Random(1)
    seed_distributor(1, rng, {})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Distributor)) == 0
    demo_catalogue(odl)
    monkeypatch.setattr(app.config["VHS"], "library_demo_distributor_url", odl.feed_url)
    seed_distributor(1, rng, {})
    seed_distributor(1, rng, {})
    distributor = db.session.execute(sa.select(Distributor)).scalar_one()
    assert distributor.last_sync_ok is True
    assert item_titled("Nebel über der Lenne").state is PublicationState.PUBLISHED
