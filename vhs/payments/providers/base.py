"""The payment provider interface and its registry, keyed by the ``Provider`` enum.

A provider opens a payment (``start``), pays money back (``refund``) and takes the webhook
deliveries of its service (``handle_event``); two small hooks with defaults say whether an open
payment can still be paid as it is (``resumable``) and stop one (``close``). The state machine
in ``vhs.payments.services`` asks the provider and never which provider it holds. Which
providers are offered comes from configuration (``configured``), as with pretix's providers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from flask_babel import lazy_gettext as _l

from vhs.accounts.models import User
from vhs.errors import Invalid
from vhs.payments.models import Payment, Provider, Refund


@dataclass(frozen=True)
class Checkout:
    """What opening a payment needs besides the row: who pays, how long, where to return."""

    user: User
    hold_expires_at: datetime | None
    success_url: str
    cancel_url: str
    now: datetime


class PaymentProvider(ABC):
    """One way money travels; subclasses register with ``@register``."""

    key: ClassVar[Provider]
    # What the payer chooses between, most preferred first (the first is the default).
    choice_label: ClassVar[Any]
    preference: ClassVar[int] = 0

    def configured(self) -> bool:
        """Whether this installation offers the provider (keys present, ...)."""
        return True

    @abstractmethod
    def start(self, payment: Payment, checkout: Checkout) -> Payment:
        """Open a new (``created``) payment at the provider, or resume an open one."""

    def resumable(self, payment: Payment, now: datetime) -> bool:
        """Whether an open payment of this provider can still be paid as it is."""
        return True

    def close(self, payment: Payment) -> None:
        """A payment was stopped before it was paid: make sure it can no longer be paid."""
        return None

    @abstractmethod
    def refund(self, refund: Refund) -> None:
        """Pay a requested refund back, now or after the commit."""

    def handle_event(self, payload: bytes, headers: Mapping[str, str]) -> tuple[int, str]:
        """Verify, record and act on one webhook delivery; returns (HTTP status, outcome)."""
        return 404, f"{self.key.value} sends no events"


_registry: dict[Provider, PaymentProvider] = {}
P = TypeVar("P", bound=type[PaymentProvider])


def register(cls: P) -> P:
    """Class decorator: make ``cls`` the provider for its ``key`` (once per process)."""
    if cls.key in _registry and type(_registry[cls.key]) is not cls:
        raise RuntimeError(f"two payment providers for {cls.key.value!r}")
    _registry[cls.key] = cls()
    return cls


def provider_for(key: Provider | str) -> PaymentProvider:
    """The registered provider for ``key``, configured or not (stored payments need it)."""
    try:
        return _registry[Provider(key)]
    except (KeyError, ValueError):
        raise LookupError(
            f"no payment provider {key!r} is registered (known: {sorted(_registry)})"
        ) from None


def offered_provider(key: Provider | str) -> PaymentProvider:
    """The provider for ``key`` if this installation offers it, else a 422 to act on."""
    provider = provider_for(key)
    if not provider.configured():
        raise Invalid(
            errors={"provider": [_l("Online payment is not available.")]},
            code="provider_unavailable",
        )
    return provider


def offered_providers() -> list[PaymentProvider]:
    """Every provider this installation offers, the preferred first; never empty."""
    offered = sorted((p for p in _registry.values() if p.configured()), key=lambda p: -p.preference)
    if not offered:
        raise LookupError(
            f"no payment provider is offered (registered: {sorted(_registry)}); "
            "create_app imports vhs.payments.providers.manual, which is always offered"
        )
    return offered


def is_offered(key: Provider | str) -> bool:
    """Whether the provider for ``key`` is offered here (a registered one, configured)."""
    return provider_for(key).configured()
