"""Stripe's API through its official SDK: the only module that talks to Stripe.

``VHS_STRIPE_API_BASE`` points the SDK elsewhere (tests). Stripe's failures become our errors,
so the payer gets a clear "try again" and nothing is charged twice (idempotency keys):
unreachable or busy is ``ServiceUnavailable``, a refusal ``BadGateway``, and "No such ..."
``UnknownToStripe``, which the webhook acknowledges instead of failing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import stripe
from flask import current_app
from flask_babel import lazy_gettext as _l

from vhs.errors import BadGateway, NotFound, ServiceUnavailable
from vhs.payments.models import Payment
from vhs.payments.providers.base import Checkout

log = logging.getLogger(__name__)


class UnknownToStripe(NotFound):
    """Stripe answered "No such ...": the object does not exist (there, or in this mode)."""

    code = "payment_provider_object_missing"


def client() -> stripe.StripeClient:
    """A Stripe client for the configured key (and API base, when set)."""
    settings = current_app.config["VHS"]
    kwargs: dict[str, Any] = {
        "max_network_retries": 0,
        "http_client": stripe.new_default_http_client(timeout=15),
    }
    if settings.stripe_api_base:
        kwargs["base_addresses"] = {"api": settings.stripe_api_base.rstrip("/")}
    return stripe.StripeClient(settings.stripe_secret_key, **kwargs)


@contextmanager
def calling_stripe() -> Iterator[None]:
    """Turn Stripe's failures into our errors: its outage is not our 500."""
    try:
        yield
    except stripe.APIConnectionError as exc:
        log.warning("Stripe unreachable: %s", exc)
        raise ServiceUnavailable(
            _l(
                "The payment service cannot be reached right now. Your seat stays reserved; "
                "please try again in a few minutes."
            ),
            code="payment_provider_unavailable",
        ) from exc
    except stripe.RateLimitError as exc:
        raise ServiceUnavailable(code="payment_provider_busy") from exc
    except stripe.InvalidRequestError as exc:
        if exc.code == "resource_missing":
            raise UnknownToStripe(exc.user_message or str(exc)) from exc
        raise _bad_gateway(exc) from exc
    except (stripe.APIError, stripe.AuthenticationError, stripe.PermissionError) as exc:
        raise _bad_gateway(exc) from exc


def _bad_gateway(exc: stripe.StripeError) -> BadGateway:
    """Stripe refused or failed the call: the payer may try again, nothing was charged twice."""
    log.warning("Stripe error: %s", exc)
    return BadGateway(
        _l(
            "The payment service answered with an error. Your seat stays reserved; "
            "please try again in a few minutes."
        ),
        code="payment_provider_error",
    )


def create_checkout_session(payment: Payment, checkout: Checkout, expires_at: datetime) -> Any:
    """A Checkout Session (mode payment, card and SEPA Direct Debit) for one payment attempt."""
    params: dict[str, Any] = {
        "mode": "payment",
        "payment_method_types": ["card", "sepa_debit"],
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": payment.currency.lower(),
                    "unit_amount": payment.amount_cents,
                    "product_data": {"name": payment.description[:250]},
                },
            }
        ],
        "client_reference_id": str(payment.id),
        "metadata": {"payment_id": str(payment.id)},
        "payment_intent_data": {"metadata": {"payment_id": str(payment.id)}},
        "expires_at": int(expires_at.timestamp()),
        "success_url": checkout.success_url,
        "cancel_url": checkout.cancel_url,
        "locale": checkout.user.locale if checkout.user.locale in ("de", "en") else "auto",
    }
    if checkout.user.email:
        params["customer_email"] = checkout.user.email
    key = f"vhs-payment-{payment.id}-attempt-{payment.attempt}"
    with calling_stripe():
        return client().v1.checkout.sessions.create(params, {"idempotency_key": key})


def retrieve_checkout_session(session_id: str) -> Any:
    """Re-read a Checkout Session (webhook payloads are not trusted)."""
    with calling_stripe():
        return client().v1.checkout.sessions.retrieve(session_id)


def expire_checkout_session(session_id: str) -> Any:
    """Close an open Checkout Session so it can no longer be paid."""
    with calling_stripe():
        return client().v1.checkout.sessions.expire(session_id)


def retrieve_payment_intent(intent_id: str) -> Any:
    """Re-read a PaymentIntent."""
    with calling_stripe():
        return client().v1.payment_intents.retrieve(intent_id)


def retrieve_charge(charge_id: str) -> Any:
    """Re-read a Charge."""
    with calling_stripe():
        return client().v1.charges.retrieve(charge_id)


def retrieve_refund(refund_id: str) -> Any:
    """Re-read a Refund."""
    with calling_stripe():
        return client().v1.refunds.retrieve(refund_id)


def list_refunds(intent_id: str) -> list[Any]:
    """All refunds of a PaymentIntent."""
    with calling_stripe():
        return list(client().v1.refunds.list({"payment_intent": intent_id, "limit": 100}).data)


def create_refund(*, refund_id: int, intent_id: str, amount_cents: int) -> Any:
    """Refund part or all of a payment; the idempotency key makes retries safe."""
    with calling_stripe():
        return client().v1.refunds.create(
            {
                "payment_intent": intent_id,
                "amount": amount_cents,
                "metadata": {"refund_id": str(refund_id)},
            },
            {"idempotency_key": f"vhs-refund-{refund_id}"},
        )
