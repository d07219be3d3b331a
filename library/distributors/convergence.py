"""Keeping our loans and licences in step with the distributor's, whatever arrives or not.

Three ways in, one rule: never trust a message, re-read the document at the distributor and
act on what it says (as Stripe's webhooks are handled here).

- a **notification** (``POST /library/odl/notify/<token>``): the signed token names the
  checkout; we read its Loan Status Document again and end our loan when it says
  returned / revoked / expired / cancelled. Repeated notifications change nothing more.
- the **returns job** sends the returns still owed (``provider.send_return``), with backoff.
- the **reconciliation job** reads the status document of every open ODL loan and the License
  Info Document of every ODL licence: loans that ended there end here, licences the
  distributor no longer lends stop lending, ``checkouts_left`` follows the distributor's
  (only ever down, as the database demands).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from library.distributors import client
from library.distributors.client import DistributorError
from library.distributors.models import ENDED_STATUSES, OdlLicence, OdlLoan, ReturnState
from library.distributors.provider import (
    checkout_of_token,
    loan_of,
    odl_licence,
    remember,
    send_return,
    unknown_notification,
)
from library.licences.services import lock_item, lock_licence
from library.loans.services import end_by_provider
from library.models import Licence, Loan, LoanEnd
from vhs.db import db, utcnow
from vhs.errors import ServiceUnavailable

log = logging.getLogger(__name__)

# How a status at the distributor ends our loan.
END_REASONS = {
    "returned": LoanEnd.RETURNED,
    "cancelled": LoanEnd.RETURNED,
    "revoked": LoanEnd.REVOKED,
    "expired": LoanEnd.EXPIRED,
}


def apply_status(odl: OdlLoan, status: client.LoanStatus, now: datetime) -> bool:
    """Take in a Loan Status Document just read; True when it ended our loan."""
    remember(odl, status, now)
    if status.status not in ENDED_STATUSES:
        return False
    if odl.return_state is ReturnState.PENDING:
        odl.return_state = ReturnState.CONFIRMED  # what the return wanted has happened
        odl.next_attempt_at = None
    loan = loan_of(odl)
    if loan is None or loan.ended_at is not None:
        return False
    return end_by_provider(loan, END_REASONS[status.status], now)


def notified(token: str, now: datetime | None = None) -> bool:
    """A distributor's notification: verify the token, re-read the status document, converge.

    ``notification_unknown`` (404) for a token that is not ours; 503 when the distributor
    cannot be asked (it sends the notification again; reconciliation converges anyway).
    """
    now = now or utcnow()
    checkout_id = checkout_of_token(token)
    if checkout_id is None:
        raise unknown_notification()
    odl = db.session.execute(
        sa.select(OdlLoan).where(OdlLoan.checkout_id == checkout_id)
    ).scalar_one_or_none()
    if odl is None:
        raise unknown_notification()
    distributor = odl_licence(odl.licence).distributor
    try:
        status = client.read_loan_status(distributor, odl.lsd_url)
    except DistributorError as exc:
        log.warning("notification for %s: status document unreadable: %s", checkout_id, exc)
        raise ServiceUnavailable(
            code="distributor_unavailable", headers={"Retry-After": "60"}
        ) from exc
    return apply_status(odl, status, now)


def retry_returns(now: datetime | None = None) -> int:
    """Send the returns that are owed and due; how many the distributors confirmed."""
    now = now or utcnow()
    due = db.session.execute(
        sa.select(OdlLoan.id)
        .where(OdlLoan.return_state == ReturnState.PENDING, OdlLoan.next_attempt_at <= now)
        .order_by(OdlLoan.next_attempt_at, OdlLoan.id)
    ).scalars()
    return sum(send_return(odl_id, now) for odl_id in list(due))


@dataclass
class Reconciled:
    """What one reconciliation run found and changed."""

    loans_checked: int = 0
    loans_ended: int = 0
    licences_checked: int = 0
    licences_stopped: int = 0
    unreachable: int = 0


def reconcile(now: datetime | None = None) -> Reconciled:
    """Converge open ODL loans with their status documents, ODL licences with their info."""
    now = now or utcnow()
    out = Reconciled()
    open_loans = db.session.execute(
        sa.select(OdlLoan)
        .join(
            Loan,
            sa.and_(Loan.licence_id == OdlLoan.licence_id, Loan.external_id == OdlLoan.checkout_id),
        )
        .where(Loan.ended_at.is_(None))
        .order_by(OdlLoan.id)
    ).scalars()
    for odl in list(open_loans):
        try:
            status = client.read_loan_status(odl_licence(odl.licence).distributor, odl.lsd_url)
        except DistributorError as exc:
            log.warning("reconcile: status of %s unreadable: %s", odl.checkout_id, exc)
            out.unreachable += 1
            continue
        out.loans_checked += 1
        out.loans_ended += apply_status(odl, status, now)
    licences = db.session.execute(
        sa.select(OdlLicence).where(OdlLicence.removed_at.is_(None)).order_by(OdlLicence.licence_id)
    ).scalars()
    for odl_lic in list(licences):
        try:
            info = client.licence_info(odl_lic.distributor, odl_lic.info_url)
        except DistributorError as exc:
            log.warning("reconcile: licence info %s unreadable: %s", odl_lic.info_url, exc)
            out.unreachable += 1
            continue
        out.licences_checked += 1
        out.licences_stopped += apply_info(odl_lic, info, now)
    return out


def apply_info(odl_lic: OdlLicence, info: client.LicenceInfo, now: datetime) -> bool:
    """Take in a License Info Document; True when the licence stopped lending because of it."""
    odl_lic.status = info.status
    odl_lic.checked_at = now
    lock_item(odl_lic.licence.item_id)
    licence = lock_licence(odl_lic.licence_id)
    if info.checkouts_left is not None and licence.checkouts_left is not None:
        # Only ever down (a trigger refuses more), and never below the copies kept for holds.
        licence.checkouts_left = max(
            min(licence.checkouts_left, info.checkouts_left), licence.reserved
        )
    if info.status != "available":
        return stop_lending(licence, now)
    return False


def stop_lending(licence: Licence, now: datetime) -> bool:
    """The distributor no longer lends this licence: it expires now (running loans go on to
    their due time, as the distributor's checkouts do). True when it was lending until now."""
    if licence.expires_at is not None and licence.expires_at <= now:
        return False
    licence.expires_at = now
    return True
