"""Stripe's side of a property test: what customers and the dashboard do, and the events sent.

``StripeSide`` wraps the stand-in (``tests/stripe_standin.py``) for a state machine: it moves
Stripe's objects along as a customer or the dashboard would, notices every change there (also
those the app caused, such as refunds and expired Checkouts) and turns each into the events
Stripe sends, kept until a rule delivers them, in any order, as often as it likes. ``check_books``
compares the app's payments with Stripe's objects once every event has arrived.

Objects are always listed in the order they were made, never by their random ids, so that
Hypothesis can replay an example exactly.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from tests.stripe_standin import StripeStandIn
from vhs.payments.models import PAID_STATUSES, Payment, PaymentStatus, RefundStatus

Obj = dict[str, Any]
NOT_REFUNDED = ("failed", "canceled")


class StripeSide:
    """The stand-in for one example, and the events it has sent that are not delivered yet."""

    def __init__(self, standin: StripeStandIn) -> None:
        self.standin = standin
        standin.reset()
        self.seen: dict[tuple[str, str], str] = {}
        self.pending: list[Obj] = []
        self.delivered: list[Obj] = []
        self.dashboard_refund_ids: set[str] = set()
        self.down = False

    # --- what can happen at Stripe ---------------------------------------------------------

    def sessions_where(self, test: Callable[[Obj, Obj | None], bool]) -> list[str]:
        """Checkout Sessions for which ``test(session, intent)`` holds, oldest first."""
        s = self.standin
        with s.lock:
            return [
                sid
                for sid, session in s.sessions.items()
                if test(session, s.intents.get(session["payment_intent"] or ""))
            ]

    def open_sessions(self) -> list[str]:
        """Checkout Sessions a customer could still pay."""
        return self.sessions_where(lambda session, _intent: session["status"] == "open")

    def processing_sessions(self) -> list[str]:
        """Checkout Sessions paid by a SEPA debit that has not cleared yet."""
        return self.sessions_where(
            lambda _session, intent: intent is not None and intent["status"] == "processing"
        )

    def refundable(self) -> dict[str, int]:
        """Paid Checkout Sessions and what Stripe would still refund of each."""
        s = self.standin
        with s.lock:
            left = {
                sid: s.intents[session["payment_intent"]]["amount"]
                - self._refunded(session["payment_intent"])
                for sid, session in s.sessions.items()
                if session["payment_intent"]
                and s.intents[session["payment_intent"]]["status"] == "succeeded"
            }
        return {sid: cents for sid, cents in left.items() if cents > 0}

    def _refunded(self, intent_id: str) -> int:
        """What Stripe has refunded (or is refunding) of a PaymentIntent."""
        return sum(
            r["amount"]
            for r in self.standin.refunds.values()
            if r["payment_intent"] == intent_id and r["status"] not in NOT_REFUNDED
        )

    def customer_pays(self, sid: str, *, card: bool) -> None:
        """The customer pays a Checkout: by card (paid) or SEPA debit (processing)."""
        self.standin.complete(sid, paid=card)
        self.observe()

    def debit_settles(self, sid: str, *, clears: bool) -> None:
        """A SEPA debit clears or bounces."""
        (self.standin.async_succeed if clears else self.standin.async_fail)(sid)
        self.observe()

    def checkout_expires(self, sid: str) -> None:
        """A Checkout Session runs out before anyone paid it."""
        self.standin.expire(sid)
        self.observe()

    def dashboard_refund(self, sid: str, cents: int) -> None:
        """Someone refunds part of a charge in Stripe's dashboard."""
        self.dashboard_refund_ids.add(self.standin.dashboard_refund(sid, cents)["id"])
        self.observe()

    def go_down(self, down: bool = True) -> None:
        """Stripe's API fails with HTTP 500 (or works again)."""
        self.down = down
        self.standin.fail_with = 500 if down else None

    # --- the events Stripe sends -------------------------------------------------------------

    def emit(self, kind: str, obj: Obj) -> None:
        """Stripe sends an event about ``obj`` (a snapshot, as Stripe's are)."""
        self.pending.append(self.standin.event(kind, obj))

    def observe(self) -> None:
        """Turn every change at the stand-in since the last look into the events Stripe sends."""
        s = self.standin
        with s.lock:
            sessions = list(s.sessions.items())
            intents = list(s.intents.items())
            refunds = list(s.refunds.items())
        for sid, session in sessions:
            status, before = session["status"], self.seen.get(("session", sid), "open")
            self.seen[("session", sid)] = status
            if status != before and status == "complete":
                self.emit("checkout.session.completed", session)
            elif status != before and status == "expired":
                self.emit("checkout.session.expired", session)
        by_intent = {session["payment_intent"]: session for _sid, session in sessions}
        for pi, intent in intents:
            self._intent_changed(intent, self.seen.get(("intent", pi)), by_intent.get(pi))
            self.seen[("intent", pi)] = intent["status"]
        for rid, refund in refunds:
            status, before = refund["status"], self.seen.get(("refund", rid))
            self.seen[("refund", rid)] = status
            if before is None:
                self.emit("refund.created", refund)
                with s.lock:
                    charge = s._charge(refund["charge"])
                self.emit("charge.refunded", charge)
            elif status != before:
                self.emit("refund.updated", refund)

    def _intent_changed(self, intent: Obj, before: str | None, session: Obj | None) -> None:
        """The events for a PaymentIntent whose status is no longer ``before``."""
        status = intent["status"]
        if status == before:
            return
        if status == "succeeded":
            self.emit("payment_intent.succeeded", intent)
            if before == "processing" and session is not None:
                self.emit("checkout.session.async_payment_succeeded", session)
        elif status == "processing":
            self.emit("payment_intent.processing", intent)
        elif status == "requires_payment_method":
            self.emit("payment_intent.payment_failed", intent)
            if session is not None:
                self.emit("checkout.session.async_payment_failed", session)

    def signed(self, event: Obj) -> tuple[bytes, dict[str, str]]:
        """The body and headers of a delivery of ``event``, signed now."""
        payload = json.dumps(event).encode()
        return payload, {"Stripe-Signature": self.standin.sign(payload)}

    # --- agreement -----------------------------------------------------------------------------

    def check_books(self, payments: Iterable[Payment]) -> None:
        """Paid at Stripe ⇔ paid here; what Stripe refunded = what we count as refunded."""
        s = self.standin
        for p in payments:
            session = s.sessions.get(p.stripe_checkout_session_id or "")
            intent = s.intents.get(session["payment_intent"] or "") if session else None
            paid_there = intent is not None and intent["status"] == "succeeded"
            assert (p.status in PAID_STATUSES) == paid_there, (p.id, p.status, intent)
            if paid_there:
                refunded_there = self._refunded(intent["id"])
                assert p.refunded_cents == refunded_there, (p.id, p.refunded_cents, refunded_there)
                for r in p.refunds:  # every refund has been settled with Stripe
                    assert r.status not in (RefundStatus.REQUESTED, RefundStatus.PENDING), r.id
            if p.status is PaymentStatus.PROCESSING:
                assert intent is not None and intent["status"] == "processing", p.id
            if p.status in (PaymentStatus.CREATED, PaymentStatus.PENDING) and session is not None:
                assert session["status"] == "open", (p.id, session["status"])
