"""A small local server that answers the Stripe API endpoints the platform uses.

The real ``stripe`` SDK talks to it over HTTP (``VHS_STRIPE_API_BASE``). Objects have Stripe's
documented shapes; idempotency keys return the first result again. Tests move objects along
(``complete``, ``async_succeed``, ``expire``, ``dashboard_refund``) and sign webhook events
exactly as Stripe does (``Stripe-Signature: t=...,v1=HMAC-SHA256(secret, "t.body")``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


def _unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Turn Stripe's form encoding (``a[b][0][c]=v``) back into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt_is_index = not last and parts[i + 1].isdigit()
            if isinstance(node, list):
                idx = int(part)
                while len(node) <= idx:
                    node.append({} if not last else None)
                if last:
                    node[idx] = value
                else:
                    if node[idx] is None or not isinstance(node[idx], list | dict):
                        node[idx] = [] if nxt_is_index else {}
                    node = node[idx]
            else:
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, [] if nxt_is_index else {})
    return root


class StripeStandIn:
    """State and HTTP server of the stand-in."""

    def __init__(self, webhook_secret: str = "whsec_test_secret") -> None:
        self.webhook_secret = webhook_secret
        self.sessions: dict[str, dict[str, Any]] = {}
        self.intents: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.idempotent: dict[str, tuple[int, dict[str, Any]]] = {}
        self.requests: list[tuple[str, str, dict[str, Any], str | None]] = []
        self.fail_with: int | None = None
        self.refund_status = "succeeded"
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None
        self.port = 0

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self, port: int = 0) -> str:
        """Serve on loopback; returns the base URL for the SDK."""
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", "req_" + secrets.token_hex(6))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._dispatch("GET")

            def do_POST(self) -> None:
                self._dispatch("POST")

            def _dispatch(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                url = urlsplit(self.path)
                params = _unflatten(parse_qsl(raw or url.query, keep_blank_values=True))
                key = self.headers.get("Idempotency-Key")
                auth = self.headers.get("Authorization", "")
                standin.requests.append((method, url.path, params, key))
                if not auth.startswith("Bearer sk_"):
                    self._answer(
                        401,
                        {
                            "error": {
                                "type": "invalid_request_error",
                                "message": "Invalid API Key provided",
                            }
                        },
                    )
                    return
                if standin.fail_with:
                    self._answer(
                        standin.fail_with,
                        {
                            "error": {
                                "type": "api_error",
                                "message": "Something went wrong on Stripe's end.",
                            }
                        },
                    )
                    return
                with standin.lock:
                    if key and method == "POST" and key in standin.idempotent:
                        status, body = standin.idempotent[key]
                    else:
                        status, body = standin.route(method, url.path, params)
                        if key and method == "POST" and status < 500:
                            standin.idempotent[key] = (status, body)
                self._answer(status, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self.base_url

    def reset(self) -> None:
        """Forget every object and request, as if Stripe were new (the server keeps running)."""
        with self.lock:
            for store in (self.sessions, self.intents, self.charges, self.refunds, self.idempotent):
                store.clear()
            self.requests.clear()
        self.fail_with = None
        self.refund_status = "succeeded"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Shut the server down (simulates Stripe being unreachable)."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        if self.thread is not None:
            self.thread.join(timeout=5)
            self.thread = None

    # --- API -----------------------------------------------------------------------------

    @staticmethod
    def _not_found(kind: str, ident: str) -> tuple[int, dict[str, Any]]:
        return 404, {
            "error": {
                "type": "invalid_request_error",
                "code": "resource_missing",
                "message": f"No such {kind}: '{ident}'",
            }
        }

    def route(self, method: str, path: str, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        if parts[:3] == ["v1", "checkout", "sessions"]:
            if method == "POST" and len(parts) == 3:
                return 200, self._create_session(p)
            sid = parts[3]
            if sid not in self.sessions:
                return self._not_found("checkout.session", sid)
            if method == "POST" and parts[4:] == ["expire"]:
                session = self.sessions[sid]
                if session["status"] != "open":
                    return 400, {
                        "error": {
                            "type": "invalid_request_error",
                            "message": "Only open sessions can be expired.",
                        }
                    }
                session["status"] = "expired"
                return 200, session
            return 200, self.sessions[sid]
        if parts[:2] == ["v1", "payment_intents"] and len(parts) == 3:
            return (
                (200, self.intents[parts[2]])
                if parts[2] in self.intents
                else self._not_found("payment_intent", parts[2])
            )
        if parts[:2] == ["v1", "charges"] and len(parts) == 3:
            return (
                (200, self._charge(parts[2]))
                if parts[2] in self.charges
                else self._not_found("charge", parts[2])
            )
        if parts[:2] == ["v1", "refunds"]:
            if method == "POST" and len(parts) == 2:
                return self._create_refund(p)
            if method == "GET" and len(parts) == 2:
                pi = p.get("payment_intent")
                data = [r for r in self.refunds.values() if r["payment_intent"] == pi]
                return 200, {
                    "object": "list",
                    "data": data,
                    "has_more": False,
                    "url": "/v1/refunds",
                }
            rid = parts[2]
            return (
                (200, self.refunds[rid]) if rid in self.refunds else self._not_found("refund", rid)
            )
        return 404, {
            "error": {
                "type": "invalid_request_error",
                "message": f"Unrecognized request URL ({method} {path})",
            }
        }

    def _create_session(self, p: dict[str, Any]) -> dict[str, Any]:
        sid = "cs_test_" + secrets.token_hex(12)
        item = p["line_items"][0]
        amount = int(item["price_data"]["unit_amount"]) * int(item.get("quantity", 1))
        session = {
            "id": sid,
            "object": "checkout.session",
            "mode": p.get("mode"),
            "status": "open",
            "payment_status": "unpaid",
            "url": f"{self.base_url}/checkout/{sid}",
            "amount_total": amount,
            "currency": item["price_data"]["currency"],
            "client_reference_id": p.get("client_reference_id"),
            "customer_email": p.get("customer_email"),
            "metadata": p.get("metadata", {}),
            "payment_intent": None,
            "expires_at": int(p["expires_at"]),
            "success_url": p.get("success_url"),
            "cancel_url": p.get("cancel_url"),
            "payment_method_types": p.get("payment_method_types", []),
            "livemode": False,
            "_params": p,
        }
        self.sessions[sid] = session
        return session

    def _charge(self, cid: str) -> dict[str, Any]:
        charge = self.charges[cid]
        refunds = [r for r in self.refunds.values() if r["charge"] == cid]
        charge["amount_refunded"] = sum(r["amount"] for r in refunds if r["status"] != "failed")
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        charge["refunds"] = {
            "object": "list",
            "data": refunds,
            "has_more": False,
            "url": f"/v1/charges/{cid}/refunds",
        }
        return charge

    def _create_refund(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        pi = p.get("payment_intent")
        if pi not in self.intents or self.intents[pi]["status"] != "succeeded":
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "message": "This PaymentIntent does not have a successful charge to refund.",
                }
            }
        intent = self.intents[pi]
        charge_id = intent["latest_charge"]
        already = sum(
            r["amount"]
            for r in self.refunds.values()
            if r["charge"] == charge_id and r["status"] != "failed"
        )
        amount = int(p.get("amount") or intent["amount"] - already)
        if amount + already > intent["amount"]:
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "code": "charge_already_refunded",
                    "message": "Refund amount is greater than unrefunded amount.",
                }
            }
        return 200, self._refund(charge_id, pi, amount, self.refund_status, p.get("metadata", {}))

    def _refund(
        self, charge_id: str, pi: str, amount: int, status: str, metadata: dict[str, Any]
    ) -> dict[str, Any]:
        rid = "re_" + secrets.token_hex(12)
        refund = {
            "id": rid,
            "object": "refund",
            "amount": amount,
            "currency": "eur",
            "charge": charge_id,
            "payment_intent": pi,
            "status": status,
            "metadata": metadata,
            "created": int(time.time()),
        }
        self.refunds[rid] = refund
        return refund

    # --- what happens on Stripe's side ---------------------------------------------------------

    def complete(self, session_id: str, *, paid: bool = True) -> dict[str, Any]:
        """The customer pays: card (paid) or SEPA Direct Debit (unpaid, processing)."""
        session = self.sessions[session_id]
        pi = "pi_test_" + secrets.token_hex(12)
        ch = "ch_test_" + secrets.token_hex(12)
        self.intents[pi] = {
            "id": pi,
            "object": "payment_intent",
            "amount": session["amount_total"],
            "currency": session["currency"],
            "status": "succeeded" if paid else "processing",
            "metadata": session["_params"].get("payment_intent_data", {}).get("metadata", {}),
            "latest_charge": ch,
            "last_payment_error": None,
        }
        self.charges[ch] = {
            "id": ch,
            "object": "charge",
            "amount": session["amount_total"],
            "currency": session["currency"],
            "payment_intent": pi,
            "paid": paid,
            "status": "succeeded" if paid else "pending",
        }
        session.update(
            status="complete", payment_status="paid" if paid else "unpaid", payment_intent=pi
        )
        return session

    def async_succeed(self, session_id: str) -> dict[str, Any]:
        """The direct debit went through."""
        session = self.sessions[session_id]
        self.intents[session["payment_intent"]]["status"] = "succeeded"
        self.charges[self.intents[session["payment_intent"]]["latest_charge"]]["paid"] = True
        session["payment_status"] = "paid"
        return session

    def async_fail(self, session_id: str) -> dict[str, Any]:
        """The direct debit bounced."""
        session = self.sessions[session_id]
        intent = self.intents[session["payment_intent"]]
        intent["status"] = "requires_payment_method"
        intent["last_payment_error"] = {"message": "The account has insufficient funds."}
        return session

    def expire(self, session_id: str) -> dict[str, Any]:
        """The session ran out unpaid."""
        session = self.sessions[session_id]
        session["status"] = "expired"
        return session

    def dashboard_refund(self, session_id: str, amount: int) -> dict[str, Any]:
        """Someone refunds in the Stripe dashboard (no idempotency key from us)."""
        pi = self.sessions[session_id]["payment_intent"]
        return self._refund(self.intents[pi]["latest_charge"], pi, amount, "succeeded", {})

    # --- webhooks ------------------------------------------------------------------------------

    def event(self, kind: str, obj: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
        """An event as Stripe sends it (snapshot of the object at that time)."""
        snapshot = {k: v for k, v in obj.items() if not k.startswith("_")}
        return {
            "id": event_id or "evt_" + secrets.token_hex(12),
            "object": "event",
            "api_version": "2024-06-20",
            "created": int(time.time()),
            "livemode": False,
            "pending_webhooks": 1,
            "type": kind,
            "data": {"object": snapshot},
        }

    def sign(self, payload: bytes, timestamp: int | None = None, secret: str | None = None) -> str:
        """The ``Stripe-Signature`` header for a payload."""
        t = int(time.time()) if timestamp is None else timestamp
        mac = hmac.new(
            (secret or self.webhook_secret).encode(), f"{t}.".encode() + payload, hashlib.sha256
        ).hexdigest()
        return f"t={t},v1={mac}"
