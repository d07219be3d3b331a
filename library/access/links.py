"""Signed, expiring links to a loan's files, and the refusals of a link.

A link is ``/library/files/<token>``; the token is an ``itsdangerous`` URL-safe, timestamped
signature (the app's secret key, a salt of its own) over the loan, the file, the patron and
what the link does (download or stream). The signed URL itself authorises — reading apps and
``<audio>`` elements cannot send the session — but it only names what to check: every use
is checked against the database again (``services.open_link``).

The signing time is the caller's ``now`` (not the clock of the process), so the tests and the
services agree on when a link was made and when it runs out.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from vhs.errors import VhsError

SALT = "vhs.library.access.link"
# A link signed this far in the future (a clock running ahead on another worker) still works.
CLOCK_SKEW = timedelta(minutes=1)


class Action(enum.StrEnum):
    """What a link does with its file: save it (attachment) or play/show it (inline)."""

    DOWNLOAD = "download"
    STREAM = "stream"


# --- refusals ----------------------------------------------------------------------------------


class AccessRefused(VhsError):
    """A link that does not (or no longer) give its file; rendered by ``views`` as a page."""

    status = 403
    code = "link_invalid"
    title = _l("This link does not work.")


class LinkInvalid(AccessRefused):
    """Not a token we signed (tampered, truncated, made up)."""

    code = "link_invalid"
    title = _l("This link is not valid.")


class LinkExpired(AccessRefused):
    """A token we signed whose lifetime is over: fetch a fresh link from the account page."""

    code = "link_expired"
    title = _l("This link has expired. Open “My loans” to get a new one.")


class LinkNotYours(AccessRefused):
    """Signed for another patron than the one signed in (or than the loan's patron)."""

    code = "link_not_yours"
    title = _l("This link belongs to someone else's loan.")


class LoanEnded(AccessRefused):
    """The loan was returned, ran out or was ended by staff: the file is gone for good."""

    status = 410
    code = "loan_ended"
    title = _l("This loan has ended.")


class ActionNotAllowed(AccessRefused):
    """The licence does not allow this for this file (a streaming-only licence's download)."""

    code = "download_not_allowed"
    title = _l("The licence of this medium does not allow this.")


class FileNotInLoan(AccessRefused):
    """The file is not (or no longer) one of the loan's."""

    status = 404
    code = "file_not_found"
    title = _l("This file is not part of the loan.")


# --- tokens ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claims:
    """What a valid token says, and when it was signed."""

    loan_id: int
    file_id: int
    patron_id: int
    action: Action
    signed_at: datetime


class _SignerAt(TimestampSigner):
    """A timestamp signer that stamps the time it is given (the services' ``now``)."""

    def __init__(self, *args: Any, at: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._at = at

    def get_timestamp(self) -> int:
        """The given time, else the clock."""
        return self._at if self._at is not None else super().get_timestamp()


def _serializer(at: datetime | None = None) -> URLSafeTimedSerializer:
    stamp = int(at.timestamp()) if at is not None else None
    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"],
        salt=SALT,
        signer=_SignerAt,
        signer_kwargs={"at": stamp},
    )


def sign(loan_id: int, file_id: int, patron_id: int, action: Action, now: datetime) -> str:
    """A token for one file of one loan, signed at ``now``."""
    payload = {"l": loan_id, "f": file_id, "p": patron_id, "a": action.value}
    return str(_serializer(now).dumps(payload))


def read(token: str, *, now: datetime, lifetime: timedelta) -> Claims:
    """The token's claims: LinkInvalid when we did not sign it as it is, LinkExpired when it
    was signed more than ``lifetime`` before ``now``."""
    try:
        payload, signed_at = _serializer().loads(token, return_timestamp=True)
        claims = Claims(
            loan_id=_positive(payload["l"]),
            file_id=_positive(payload["f"]),
            patron_id=_positive(payload["p"]),
            action=Action(payload["a"]),
            signed_at=signed_at.astimezone(UTC),
        )
    except (BadSignature, KeyError, TypeError, ValueError):
        raise LinkInvalid() from None
    if claims.signed_at > now + CLOCK_SKEW:
        raise LinkInvalid()
    if now - claims.signed_at > lifetime:
        raise LinkExpired()
    return claims


def _positive(value: Any) -> int:
    if type(value) is not int or value < 1:
        raise ValueError(value)
    return value
