"""Licence providers: who holds a licence and what a checkout means there.

One small interface per kind of source, as Palace has one circulation API per vendor: the
``local`` provider keeps licences in our database and files in our storage; an ODL
distributor (issue 13) checks a loan out at the distributor and hands back the loan's status
document as its handle. The circulation services keep our own books (the licence's counters,
the loan and hold rows) under the row locks and call the provider for what happens outside:

- ``checkout(licence, patron, due_at)`` → a :class:`Checkout` (the provider's handle of the
  loan, and the due time it grants, which may be earlier than asked);
- ``checkin(loan)``: the copy goes back (a return, an expiry, a revocation);
- ``renew(loan, due_at)`` → the new due time the provider grants;
- ``fulfil(loan)`` → what the patron gets: our files, or a distributor's links;
- ``terms(licence)`` → the licence's terms as the provider knows them now (a distributor's
  License Info Document; our own row for ``local``).

Providers register under their key; a lookup of an unknown key fails loudly.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, TypeVar

from library.models import Licence, Loan
from media.models import MediaFile
from vhs.accounts.models import User


@dataclass(frozen=True)
class Checkout:
    """A checkout the provider made: its handle of the loan and the due time it grants."""

    external_id: str
    due_at: datetime


@dataclass(frozen=True)
class LicenceTerms:
    """A licence's terms as its provider knows them (ODL: the License Info Document)."""

    concurrency: int
    checkouts_left: int | None
    expires_at: datetime | None
    max_loan_days: int
    available: bool  # the provider lends from it at all (ODL status "available")


# The media type of a Readium LCP licence (what an ODL loan gives: the app fetches the book).
LCP_LICENSE = "application/vnd.readium.lcp.license.v1.0+json"


@dataclass(frozen=True)
class ExternalLink:
    """A link a distributor gives for a loan (from its Loan Status Document): what it is
    (``license``: the LCP licence a reading app opens; ``publication``), where, and its media
    type, so that the account page, the API and OPDS can say what an app will receive."""

    rel: str
    href: str
    media_type: str


@dataclass(frozen=True)
class Fulfilment:
    """What a patron with a loan receives: files of ours, or links of a distributor."""

    files: tuple[MediaFile, ...] = ()
    links: tuple[ExternalLink, ...] = ()


class LicenceProvider(ABC):
    """Where licences come from and where their checkouts happen."""

    key: ClassVar[str]

    @abstractmethod
    def checkout(self, licence: Licence, patron: User, due_at: datetime) -> Checkout:
        """Check a copy out for ``patron`` until ``due_at`` (or earlier, as the provider says)."""

    @abstractmethod
    def checkin(self, loan: Loan) -> None:
        """Give the loan's copy back to the provider."""

    @abstractmethod
    def renew(self, loan: Loan, due_at: datetime) -> datetime:
        """Extend the loan to ``due_at``; returns the due time the provider grants."""

    @abstractmethod
    def fulfil(self, loan: Loan) -> Fulfilment:
        """What the patron of an open loan receives."""

    @abstractmethod
    def terms(self, licence: Licence) -> LicenceTerms:
        """The licence's terms as the provider knows them now."""


_providers: dict[str, LicenceProvider] = {}
P = TypeVar("P", bound=type[LicenceProvider])


def register(cls: P) -> P:
    """Class decorator: make a provider available under its ``key``."""
    _providers[cls.key] = cls()
    return cls


def provider_keys() -> tuple[str, ...]:
    """Every registered provider's key."""
    return tuple(sorted(_providers))


def provider_for(licence: Licence) -> LicenceProvider:
    """The provider of a licence; ``LookupError`` when none is registered under its key."""
    try:
        return _providers[licence.provider]
    except KeyError:
        raise LookupError(f"no licence provider registered as {licence.provider!r}") from None


@register
class LocalProvider(LicenceProvider):
    """Licences held in our database, files in our storage: nothing happens elsewhere."""

    key = "local"

    def checkout(self, licence: Licence, patron: User, due_at: datetime) -> Checkout:
        """Our own books are the checkout: no outside handle."""
        return Checkout(external_id="", due_at=due_at)

    def checkin(self, loan: Loan) -> None:
        """Nothing to tell anyone: the counters already moved."""

    def renew(self, loan: Loan, due_at: datetime) -> datetime:
        """Granted as asked."""
        return due_at

    def fulfil(self, loan: Loan) -> Fulfilment:
        """The item's stored files."""
        return Fulfilment(files=tuple(loan.item.files))

    def terms(self, licence: Licence) -> LicenceTerms:
        """Our row is the truth."""
        return LicenceTerms(
            concurrency=licence.concurrency,
            checkouts_left=licence.checkouts_left,
            expires_at=licence.expires_at,
            max_loan_days=licence.max_loan_days,
            available=True,
        )
