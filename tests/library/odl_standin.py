"""A stand-in ODL distributor: a small real HTTP server (threaded werkzeug) for the tests.

It speaks what ``library.distributors`` talks to, as EDRLab's ODL and Readium's LSD describe
it: an OPDS 2.0 feed with ``publications[].licenses`` (one publication per page, so the sync
must follow ``next``), a License Info Document per licence (``application/vnd.odl.info+json``),
checkouts through a templated link (201 with a new Loan Status Document; 303 for a checkout
id it knows; 403/400 problem documents ``unavailable`` / ``expired``), ``return`` and
``renew`` links on the status documents, and notifications POSTed to the
``notification_url`` the checkout gave.

Failure modes, switched by the tests (``standin.mode``): ``"500"`` (every answer a 500),
``"slow"`` (answers after ``slow_seconds``, past the client's timeout), ``"exhaust"`` (the
info document says a copy is free, the checkout then says ``unavailable``: the licence ran
out between the two), ``"expire"`` (the same, ``expired``), and ``stop()`` / ``start()`` (nobody listens on the port: down).

Run it by hand for the demo (``VHS_LIBRARY_DEMO_DISTRIBUTOR_URL``)::

    python -m tests.library.odl_standin --port 8765   # feed at http://127.0.0.1:8765/feed
"""

from __future__ import annotations

import argparse
import io
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from PIL import Image
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

LSD_TYPE = "application/vnd.readium.license.status.v1.0+json"
INFO_TYPE = "application/vnd.odl.info+json"
PROBLEM = "application/problem+json"
CHECKOUT_TEMPLATE = "{?id,checkout_id,patron_id,expires,notification_url}"


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class StandinLicence:
    """One licence the stand-in sells."""

    id: str
    concurrency: int = 3
    checkouts_total: int | None = None
    checkouts_left: int | None = None
    expires: datetime | None = None
    length_days: int = 21
    status: str = "available"
    renewable: bool = True

    def __post_init__(self) -> None:
        if self.checkouts_total is not None and self.checkouts_left is None:
            self.checkouts_left = self.checkouts_total


@dataclass
class StandinPublication:
    """One publication of the feed and its licences."""

    id: str
    title: str
    author: str = "Greta Grenzfall"
    isbn: str | None = None
    licences: list[StandinLicence] = field(default_factory=list)
    cover: bool = True
    subjects: tuple[str, ...] = ("Krimi",)


@dataclass
class StandinCheckout:
    """A checkout the stand-in made."""

    id: str  # the library's checkout_id
    licence_id: str
    patron_id: str
    expires: datetime
    notification_url: str
    status: str = "active"
    lsd_id: str = field(default_factory=lambda: str(uuid.uuid4()))


class OdlStandin:
    """The server and its state; ``url`` is its base address once started."""

    def __init__(self, port: int = 0) -> None:
        self.lock = threading.Lock()
        self.publications: list[StandinPublication] = []
        self.checkouts: dict[str, StandinCheckout] = {}
        self.mode = "ok"
        self.slow_seconds = 3.0
        self.requests: list[tuple[str, str]] = []  # (method, path), for assertions
        self.checkout_posts = 0
        self.returns = 0
        self.notifications: list[tuple[str, int]] = []  # (url, status) of each sent
        self.username = ""
        self.password = ""
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # --- running ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """http://127.0.0.1:<port>"""
        return f"http://127.0.0.1:{self._port}"

    @property
    def feed_url(self) -> str:
        """The feed's first page."""
        return f"{self.url}/feed"

    def start(self) -> OdlStandin:
        """Listen (again, on the same port once it had one)."""
        self._server = make_server("127.0.0.1", self._port, self._app, threaded=True)
        self._port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening: the distributor is down (connections are refused)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)

    def reset(self) -> None:
        """Forget every publication, checkout and failure mode (between tests)."""
        with self.lock:
            self.publications.clear()
            self.checkouts.clear()
            self.requests.clear()
            self.notifications.clear()
            self.mode = "ok"
            self.checkout_posts = 0
            self.returns = 0
            self.username = self.password = ""

    # --- what tests do ---------------------------------------------------------------------

    def add(self, publication: StandinPublication) -> StandinPublication:
        """Offer a publication in the feed."""
        with self.lock:
            self.publications.append(publication)
        return publication

    def licence(self, licence_id: str) -> StandinLicence:
        """A licence by id."""
        for pub in self.publications:
            for lic in pub.licences:
                if lic.id == licence_id:
                    return lic
        raise KeyError(licence_id)

    def active(self, licence_id: str | None = None) -> list[StandinCheckout]:
        """Running checkouts (of one licence)."""
        return [
            c
            for c in self.checkouts.values()
            if c.status in ("ready", "active") and licence_id in (None, c.licence_id)
        ]

    def end_checkout(
        self, checkout_id: str, status: str, send: Callable[[str, bytes], int] | None = None
    ) -> int:
        """End a checkout here (the patron returned it in the reading app, the distributor
        revoked it) and notify the library; the status the notification got."""
        with self.lock:
            checkout = self.checkouts[checkout_id]
            checkout.status = status
            body = json.dumps(self._lsd(checkout)).encode()
        sent = (send or _post)(checkout.notification_url, body)
        self.notifications.append((checkout.notification_url, sent))
        return sent

    # --- the WSGI app ----------------------------------------------------------------------

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        with self.lock:
            self.requests.append((request.method, request.path))
            mode = self.mode
        if mode == "slow":
            time.sleep(self.slow_seconds)
        if mode == "500":
            return Response("broken", status=500)(environ, start_response)
        if self.username and (
            request.authorization is None
            or request.authorization.username != self.username
            or request.authorization.password != self.password
        ):
            response = Response("login", status=401)
        else:
            with self.lock:
                response = self._route(request, mode)
        return response(environ, start_response)

    def _route(self, request: Request, mode: str) -> Response:
        parts = [p for p in request.path.split("/") if p]
        method = request.method
        if parts == ["feed"] and method == "GET":
            return self._feed(int(request.args.get("page", "1")))
        if len(parts) == 2 and parts[0] == "covers":
            return self._cover()
        if len(parts) == 3 and parts[0] == "licenses":
            try:
                lic = self.licence(parts[1])
            except KeyError:
                return _problem(404, "not-found")
            if parts[2] == "status" and method == "GET":
                return _json(self._info(lic), INFO_TYPE)
            if parts[2] == "checkout" and method == "POST":
                return self._checkout(lic, request, mode)
        if len(parts) >= 2 and parts[0] == "loans":
            checkout = self.checkouts.get(parts[1])
            if checkout is None:
                return _problem(404, "not-found")
            if len(parts) == 2 and method == "GET":
                return _json(self._lsd(checkout), LSD_TYPE)
            if parts[2:] == ["return"] and method == "PUT":
                if checkout.status in ("ready", "active"):
                    checkout.status = "returned"
                    self.returns += 1
                return _json(self._lsd(checkout), LSD_TYPE)
            if parts[2:] == ["renew"] and method == "PUT":
                return self._renew(checkout, request)
        return _problem(404, "not-found")

    def _feed(self, page: int) -> Response:
        pubs = self.publications[page - 1 : page]
        links = [{"rel": "self", "href": f"/feed?page={page}", "type": "application/opds+json"}]
        if page < len(self.publications):
            links.append(
                {"rel": "next", "href": f"/feed?page={page + 1}", "type": "application/opds+json"}
            )
        return _json(
            {
                "metadata": {"title": "Stand-in distributor", "itemsPerPage": 1},
                "links": links,
                "publications": [self._publication(p) for p in pubs],
            },
            "application/opds+json",
        )

    def _publication(self, pub: StandinPublication) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "@type": "http://schema.org/EBook",
            "identifier": f"urn:isbn:{pub.isbn}" if pub.isbn else pub.id,
            "title": pub.title,
            "author": {"name": pub.author},
            "language": "de",
            "published": "2024-03-01",
            "description": f"{pub.title}: ein Roman.",
            "subject": [{"name": s} for s in pub.subjects],
        }
        doc: dict[str, Any] = {"metadata": meta, "links": [], "licenses": []}
        if pub.cover:
            doc["images"] = [{"href": f"/covers/{pub.id}.png", "type": "image/png"}]
        for lic in pub.licences:
            terms: dict[str, Any] = {
                "concurrency": lic.concurrency,
                "length": lic.length_days * 86400,
            }
            if lic.checkouts_total is not None:
                terms["checkouts"] = lic.checkouts_total
            if lic.expires is not None:
                terms["expires"] = _iso(lic.expires)
            doc["licenses"].append(
                {
                    "metadata": {
                        "identifier": lic.id,
                        "format": ["application/epub+zip"],
                        "terms": terms,
                        "protection": {"format": ["application/vnd.readium.lcp.license.v1.0+json"]},
                    },
                    "links": [
                        {
                            "rel": "http://opds-spec.org/acquisition/borrow",
                            "href": f"/licenses/{lic.id}/checkout{CHECKOUT_TEMPLATE}",
                            "type": LSD_TYPE,
                            "templated": True,
                        },
                        {"rel": "self", "href": f"/licenses/{lic.id}/status", "type": INFO_TYPE},
                    ],
                }
            )
        return doc

    def _info(self, lic: StandinLicence) -> dict[str, Any]:
        running = len(self.active(lic.id))
        available = lic.concurrency - running
        if lic.checkouts_left is not None:
            available = min(available, lic.checkouts_left)
        status = lic.status
        if lic.expires is not None and lic.expires <= datetime.now(UTC):
            status = "expired"
        terms: dict[str, Any] = {"concurrency": lic.concurrency}
        if lic.expires is not None:
            terms["expires"] = _iso(lic.expires)
        checkouts: dict[str, Any] = {"available": max(available, 0)}
        if lic.checkouts_left is not None:
            checkouts["left"] = lic.checkouts_left
        return {
            "identifier": lic.id,
            "status": status,
            "checkouts": checkouts,
            "terms": terms,
            "format": ["application/epub+zip"],
        }

    def _checkout(self, lic: StandinLicence, request: Request, mode: str) -> Response:
        self.checkout_posts += 1
        args = request.args
        checkout_id = args.get("checkout_id", "")
        if not checkout_id or args.get("id") != lic.id or not args.get("patron_id"):
            return _problem(400, "bad-request")
        if checkout_id in self.checkouts:
            return Response(status=303, headers={"Location": f"{self.url}/loans/{checkout_id}"})
        info = self._info(lic)
        if info["status"] == "expired" or mode == "expire":
            return _problem(400, "expired")
        if mode == "exhaust" or info["status"] != "available" or info["checkouts"]["available"] < 1:
            return _problem(403, "unavailable")
        expires = datetime.fromisoformat(args.get("expires", "").replace("Z", "+00:00"))
        checkout = StandinCheckout(
            id=checkout_id,
            licence_id=lic.id,
            patron_id=args["patron_id"],
            expires=expires,
            notification_url=args.get("notification_url", ""),
        )
        self.checkouts[checkout_id] = checkout
        if lic.checkouts_left is not None:
            lic.checkouts_left -= 1
        return _json(self._lsd(checkout), LSD_TYPE, status=201)

    def _renew(self, checkout: StandinCheckout, request: Request) -> Response:
        lic = self.licence(checkout.licence_id)
        if checkout.status not in ("ready", "active") or not lic.renewable:
            return _problem(403, "renew")
        end = request.args.get("end")
        if end:
            checkout.expires = datetime.fromisoformat(end.replace("Z", "+00:00"))
        return _json(self._lsd(checkout), LSD_TYPE)

    def _lsd(self, checkout: StandinCheckout) -> dict[str, Any]:
        base = f"{self.url}/loans/{checkout.id}"
        links = [
            {"rel": "self", "href": base, "type": LSD_TYPE},
            {
                "rel": "license",
                "href": f"{self.url}/lcp/{checkout.lsd_id}",
                "type": "application/vnd.readium.lcp.license.v1.0+json",
            },
        ]
        if checkout.status in ("ready", "active"):
            links.append(
                {
                    "rel": "return",
                    "href": base + "/return{?name}",
                    "type": LSD_TYPE,
                    "templated": True,
                }
            )
            links.append(
                {"rel": "renew", "href": base + "/renew{?end}", "type": LSD_TYPE, "templated": True}
            )
        lic = self.licence(checkout.licence_id)
        return {
            "id": checkout.lsd_id,
            "status": checkout.status,
            "message": f"Checkout {checkout.status}",
            "updated": {"license": _iso(datetime.now(UTC)), "status": _iso(datetime.now(UTC))},
            "links": links,
            "potential_rights": {"end": _iso(checkout.expires + timedelta(days=lic.length_days))},
        }

    def _cover(self) -> Response:
        image = Image.new("RGB", (60, 90), (180, 40, 40))
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return Response(buffer.getvalue(), mimetype="image/png")


def _json(doc: Any, mimetype: str, status: int = 200) -> Response:
    return Response(json.dumps(doc), status=status, mimetype=mimetype)


def _problem(status: int, kind: str) -> Response:
    doc = {
        "type": f"http://opds-spec.org/odl/error/checkout/{kind}",
        "title": kind,
        "status": status,
    }
    return Response(json.dumps(doc), status=status, mimetype=PROBLEM)


def _post(url: str, body: bytes) -> int:
    """Send a notification over HTTP as a distributor does; the status it got."""
    try:
        return requests.post(
            url, data=body, headers={"Content-Type": LSD_TYPE}, timeout=10
        ).status_code
    except requests.RequestException:
        return 0


def demo_catalogue(standin: OdlStandin) -> None:
    """A few publications for the demo (``flask demo seed`` with the stand-in connected)."""
    titles = ("Nebel über der Lenne", "Die Brücke von Letmathe", "Sommer im Seilersee")
    for n, title in enumerate(titles, start=1):
        standin.add(
            StandinPublication(
                id=f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, title)}",
                title=title,
                author="Greta Grenzfall",
                licences=[StandinLicence(id=f"demo-lic-{n}", concurrency=2, checkouts_total=20)],
            )
        )


def main() -> None:
    """Serve the demo catalogue until interrupted."""
    parser = argparse.ArgumentParser(description="A stand-in ODL distributor for the demo.")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    standin = OdlStandin(port=args.port)
    demo_catalogue(standin)
    standin.start()
    print(f"ODL stand-in: feed at {standin.feed_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        standin.stop()


if __name__ == "__main__":
    main()
