"""The ``odl`` licence provider: checkouts, returns and renewals at an ODL distributor.

The circulation services keep our own books under the item's row lock and call this provider
for what happens at the distributor (``library.licences.providers``). A borrow asks the
License Info Document first (is the licence still lending, is a copy free there), then
checks out through the licence's templated link (RFC 6570): 201 is a new Loan Status
Document, 303 the same checkout again (we read it where the answer points); a problem
document ``unavailable`` or ``expired`` is a clear refusal; a distributor that does not
answer is a 503 ``distributor_unavailable`` and nothing is lent. The loan keeps our checkout
id; the notification URL we give carries it, signed.

A return never waits for the distributor: the loan ends here at once and the return is
recorded as owed (``ReturnState.PENDING``); it is sent after the commit and retried with
backoff by the ``library_odl_returns`` job until the distributor confirms.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from uritemplate import URITemplate

from library.distributors import client
from library.distributors.client import DistributorDown, DistributorError, DistributorRefused
from library.distributors.models import (
    ENDED_STATUSES,
    Distributor,
    OdlLicence,
    OdlLoan,
    ReturnState,
)
from library.licences.providers import (
    Checkout,
    ExternalLink,
    Fulfilment,
    LicenceProvider,
    LicenceTerms,
    register,
)
from library.licences.services import no_copies
from library.models import Licence, Loan
from vhs.accounts.models import User
from vhs.db import db, lock, utcnow
from vhs.errors import Conflict, NotFound, ServiceUnavailable
from vhs.uow import on_commit
from vhs.urls import external_url

log = logging.getLogger(__name__)

# A return the distributor has not confirmed is tried again after 30 s, 1, 2, 4 ... minutes,
# at most hourly, until it is.
RETRY_FIRST = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=1)
_TOKEN_SALT = "library-odl-notify"
# The Loan Status Document links a patron receives, and the media type of each when the
# distributor names none.
FULFILMENT_RELS = {"license": client.LCP_LICENSE_TYPE, "publication": "application/octet-stream"}


# --- refusals --------------------------------------------------------------------------------


def distributor_unavailable() -> ServiceUnavailable:
    """The distributor did not answer (in time): nothing happened, try again later."""
    return ServiceUnavailable(
        _l("The distributor of this medium cannot be reached right now. Please try again later."),
        code="distributor_unavailable",
        headers={"Retry-After": "60"},
    )


def licence_unavailable() -> Conflict:
    """The distributor lends no copy of this licence now (its problem type ``unavailable``)."""
    return Conflict(
        _l(
            "The distributor has no copy of this medium to lend right now. "
            "Please try again later or reserve it."
        ),
        code="licence_unavailable",
    )


def licence_expired() -> Conflict:
    """The licence ended at the distributor (its problem type ``expired``)."""
    return Conflict(
        _l("The licence for this medium has ended at the distributor; it cannot be lent."),
        code="licence_expired",
    )


# --- the notification URL --------------------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_TOKEN_SALT)


def notify_token(checkout_id: str) -> str:
    """The signed token of a checkout's notification URL (no expiry: a distributor may
    notify at the end of a long loan)."""
    return _serializer().dumps(checkout_id)


def checkout_of_token(token: str) -> str | None:
    """The checkout id a notification token names, or None when it is not one of ours."""
    try:
        value = _serializer().loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def notification_url(checkout_id: str) -> str:
    """Where the distributor tells us that a checkout changed."""
    return external_url("library.odl_notify", token=notify_token(checkout_id))


# --- lookups ---------------------------------------------------------------------------------


def odl_licence(licence: Licence) -> OdlLicence:
    """The ODL half of a licence of provider ``odl``."""
    row = db.session.get(OdlLicence, licence.id)
    if row is None:
        raise LookupError(f"licence {licence.id} of provider odl has no ODL record")
    return row


def odl_loan_of(loan: Loan) -> OdlLoan | None:
    """The ODL half of a loan (found by the checkout id the loan keeps)."""
    if not loan.external_id:
        return None
    return db.session.execute(
        sa.select(OdlLoan).where(OdlLoan.checkout_id == loan.external_id)
    ).scalar_one_or_none()


def loan_of(odl: OdlLoan) -> Loan | None:
    """Our loan of an ODL checkout."""
    return db.session.execute(
        sa.select(Loan).where(
            Loan.licence_id == odl.licence_id, Loan.external_id == odl.checkout_id
        )
    ).scalar_one_or_none()


def remember(odl: OdlLoan, status: client.LoanStatus, now: datetime) -> None:
    """Keep what a Loan Status Document says now (its status and links)."""
    odl.status = status.status
    odl.links = status.links
    if status.self_url:
        odl.lsd_url = status.self_url
    odl.checked_at = now


def fulfilment_links(links: dict[str, Any]) -> tuple[ExternalLink, ...]:
    """The links a patron receives from stored Loan Status Document links: ``license`` and
    ``publication``, each with its media type (the LSD link's ``type``; a licence without one
    is an LCP licence, as Readium LSD says it must be). Only absolute http(s) links that are
    not templates: whatever else a distributor sends is never put on a page."""
    out = []
    for rel, fallback in FULFILMENT_RELS.items():
        link = links.get(rel)
        if not isinstance(link, dict) or link.get("templated"):
            continue
        href = str(link.get("href") or "")
        if urlsplit(href).scheme not in ("https", "http"):
            continue
        out.append(ExternalLink(rel=rel, href=href, media_type=str(link.get("type") or fallback)))
    return tuple(out)


def _expand(link: dict[str, object], **values: str) -> str:
    href = str(link["href"])
    return URITemplate(href).expand(**values) if link.get("templated") else href


# --- the provider ----------------------------------------------------------------------------


@register
class OdlProvider(LicenceProvider):
    """Licences bought from an ODL distributor; checkouts happen there."""

    key = "odl"

    def checkout(self, licence: Licence, patron: User, due_at: datetime) -> Checkout:
        """Ask the License Info Document, then check out through the templated link."""
        odl = odl_licence(licence)
        distributor = odl.distributor
        try:
            info = client.licence_info(distributor, odl.info_url)
        except DistributorRefused as exc:
            log.warning("licence info %s refused: %s", odl.info_url, exc)
            raise licence_unavailable() from exc
        except DistributorError as exc:
            log.warning("licence info %s: %s", odl.info_url, exc)
            raise distributor_unavailable() from exc
        if info.status == "expired":
            raise licence_expired()
        if info.status != "available":
            raise licence_unavailable()
        if info.checkouts_available is not None and info.checkouts_available < 1:
            raise no_copies()
        checkout_id = str(uuid.uuid4())
        url = URITemplate(odl.checkout_template).expand(
            id=licence.external_id,
            checkout_id=checkout_id,
            patron_id=client.patron_id(distributor, patron.id),
            expires=due_at.isoformat(),
            notification_url=notification_url(checkout_id),
        )
        status = self._check_out(distributor, url)
        if status.status not in ("ready", "active"):
            log.warning("checkout %s answered a loan in status %s", url, status.status)
            raise licence_unavailable()
        now = utcnow()
        odl_loan = OdlLoan(
            checkout_id=checkout_id,
            licence_id=licence.id,
            lsd_url=status.self_url,
            status=status.status,
            links=status.links,
            created_at=now,
            checked_at=now,
            return_state=ReturnState.NONE,
            return_attempts=0,
            last_error="",
        )
        if not odl_loan.lsd_url:
            raise distributor_unavailable()
        db.session.add(odl_loan)
        granted = due_at if status.end is None else min(due_at, status.end)
        return Checkout(external_id=checkout_id, due_at=granted)

    @staticmethod
    def _check_out(distributor: Distributor, url: str) -> client.LoanStatus:
        """POST the checkout; 201 (a new loan) or 303 (this checkout again) or a refusal."""
        try:
            answer = client.call(distributor, "POST", url, accept=client.LSD_TYPE)
            if answer.status == 303 and answer.location:
                return client.read_loan_status(distributor, answer.location)
            if answer.status in (200, 201):
                return client.loan_status(answer.json(), f"POST {url}")
            if 400 <= answer.status < 500:
                raise client.refused(answer)
            raise DistributorDown(f"POST checkout: unexpected {answer.status}")
        except DistributorRefused as exc:
            log.info("checkout refused: %s", exc)
            if exc.problem == client.PROBLEM_EXPIRED:
                raise licence_expired() from exc
            raise licence_unavailable() from exc
        except DistributorError as exc:
            log.warning("checkout failed: %s", exc)
            raise distributor_unavailable() from exc

    def checkin(self, loan: Loan) -> None:
        """Record the return as owed and send it after the commit (the job retries it)."""
        odl = odl_loan_of(loan)
        if odl is None or odl.ended_there or odl.return_state is not ReturnState.NONE:
            return  # the distributor ended it itself, or the return is on its way
        now = utcnow()
        if loan.due_at <= now:
            return  # the distributor's checkout ran out at the same time ("expires")
        odl.return_state = ReturnState.PENDING
        odl.next_attempt_at = now
        db.session.flush()
        on_commit(partial(send_return, odl.id))

    def renew(self, loan: Loan, due_at: datetime) -> datetime:
        """Extend the checkout through the Loan Status Document's ``renew`` link."""
        odl = odl_loan_of(loan)
        if odl is None:
            raise LookupError(f"loan {loan.id} of provider odl has no ODL record")
        distributor = odl_licence(loan.licence).distributor
        try:
            status = client.read_loan_status(distributor, odl.lsd_url)
            link = status.links.get("renew")
            if link is None:
                raise Conflict(
                    _l("The distributor does not allow this loan to be renewed."),
                    code="renewal_not_possible",
                )
            url = _expand(link, end=due_at.isoformat())
            answer = client.call(distributor, "PUT", url, accept=client.LSD_TYPE)
            if 400 <= answer.status < 500:
                raise client.refused(answer)
            if answer.status not in (200, 201):
                raise DistributorDown(f"PUT renew: unexpected {answer.status}")
            renewed = client.loan_status(answer.json(), f"PUT {url}")
        except DistributorRefused as exc:
            log.info("renewal refused: %s", exc)
            raise Conflict(
                _l("The distributor does not allow this loan to be renewed."),
                code="renewal_not_possible",
            ) from exc
        except DistributorError as exc:
            log.warning("renewal failed: %s", exc)
            raise distributor_unavailable() from exc
        remember(odl, renewed, utcnow())
        return due_at if renewed.end is None else min(due_at, renewed.end)

    def fulfil(self, loan: Loan) -> Fulfilment:
        """The Loan Status Document's links as last stored: the licence (LCP) and the
        publication. Read from our database only, so that no page, feed or API answer waits
        for the distributor."""
        odl = odl_loan_of(loan)
        if odl is None:
            return Fulfilment()
        return Fulfilment(links=fulfilment_links(odl.links))

    def terms(self, licence: Licence) -> LicenceTerms:
        """The licence as its License Info Document says now (DistributorError if down)."""
        odl = odl_licence(licence)
        info = client.licence_info(odl.distributor, odl.info_url)
        return LicenceTerms(
            concurrency=info.concurrency or licence.concurrency,
            checkouts_left=info.checkouts_left,
            expires_at=info.expires_at,
            max_loan_days=licence.max_loan_days,
            available=info.status == "available",
        )


# --- returns ---------------------------------------------------------------------------------


def retry_delay(attempts: int) -> timedelta:
    """How long to wait before the next try after ``attempts`` failed ones."""
    return min(RETRY_FIRST * (2 ** max(attempts - 1, 0)), RETRY_MAX)


def send_return(odl_loan_id: int, now: datetime | None = None) -> bool:
    """Tell the distributor that a loan came back (``PUT`` its ``return`` link); True once
    it confirms. A failure is recorded and tried again later (``retry_delay``)."""
    now = now or utcnow()
    odl = lock(OdlLoan, odl_loan_id)
    if odl is None or odl.return_state is not ReturnState.PENDING:
        return odl is not None and odl.return_state is ReturnState.CONFIRMED
    distributor = odl_licence(odl.licence).distributor
    try:
        status = client.read_loan_status(distributor, odl.lsd_url)
        if status.status not in ENDED_STATUSES:
            link = status.links.get("return")
            if link is None:
                # No early returns at this distributor: the checkout runs out at its time.
                remember(odl, status, now)
                odl.return_state = ReturnState.CONFIRMED
                odl.last_error = "no return link: the checkout ends at its due time"
                return True
            url = _expand(link, name=current_app.config["VHS"].library_name)
            answer = client.call(distributor, "PUT", url, accept=client.LSD_TYPE)
            if answer.status >= 400:
                raise client.refused(answer)
            status = client.loan_status(answer.json(), f"PUT {url}")
        if status.status not in ENDED_STATUSES:
            raise DistributorDown(f"the loan is still {status.status} after the return")
    except DistributorError as exc:
        odl.return_attempts += 1
        odl.next_attempt_at = now + retry_delay(odl.return_attempts)
        odl.last_error = str(exc)[:500]
        log.warning(
            "return of checkout %s failed (try %d): %s", odl.checkout_id, odl.return_attempts, exc
        )
        return False
    remember(odl, status, now)
    odl.return_state = ReturnState.CONFIRMED
    odl.next_attempt_at = None
    odl.last_error = ""
    return True


def unknown_notification() -> NotFound:
    """A notification URL that is not one of ours (forged, or for a checkout we never made)."""
    return NotFound(_l("This notification address is not known."), code="notification_unknown")
