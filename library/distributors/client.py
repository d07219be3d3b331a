"""Talking to a distributor over HTTP: one place for timeouts, credentials and what its
answers mean (Palace's ``_request_loan_status`` is the model).

Every call has a timeout (``VHS_LIBRARY_ODL_TIMEOUT_SECONDS``); a distributor that does not
answer in time, answers 5xx, or answers something that is not the document asked for raises
:class:`DistributorDown`, which callers turn into "try again later" (borrows), a retry
(returns) or a recorded sync failure, never a 500. A problem document (RFC 7807) the
distributor sends for a refused checkout raises :class:`DistributorRefused` with its type.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

from library.distributors.models import Distributor

log = logging.getLogger(__name__)

OPDS_JSON = "application/opds+json"
INFO_TYPE = "application/vnd.odl.info+json"
LSD_TYPE = "application/vnd.readium.license.status.v1.0+json"
LCP_LICENSE_TYPE = "application/vnd.readium.lcp.license.v1.0+json"
BORROW_REL = "http://opds-spec.org/acquisition/borrow"
# The ODL checkout problem types (the last path segment is what we act on).
PROBLEM_UNAVAILABLE = "unavailable"
PROBLEM_EXPIRED = "expired"
# Feeds, documents and covers larger than this are refused (a broken or hostile server).
MAX_BODY_BYTES = 20 * 1024 * 1024
USER_AGENT = "vhs-platform (ODL)"


class DistributorError(Exception):
    """Something went wrong talking to a distributor."""


class DistributorDown(DistributorError):
    """No usable answer: a timeout, a refused connection, a 5xx, or not the document asked
    for. Transient as far as we can tell: try again later."""


@dataclass
class DistributorRefused(DistributorError):
    """A 4xx answer, with the problem document's type (its last segment) when it sent one."""

    status: int
    problem: str = ""
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.status} {self.problem or ''} {self.detail}".strip()


# --- credentials and patron ids --------------------------------------------------------------


def _fernet() -> Fernet:
    secret = current_app.config["SECRET_KEY"].encode()
    key = hashlib.sha256(b"vhs-library-odl-credentials\0" + secret).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_secret(plaintext: str) -> str:
    """The password as stored: encrypted with a key derived from the secret key."""
    return _fernet().encrypt(plaintext.encode()).decode() if plaintext else ""


def decrypt_secret(stored: str) -> str:
    """The stored password in plain text; DistributorError when the secret key changed."""
    if not stored:
        return ""
    try:
        return _fernet().decrypt(stored.encode()).decode()
    except InvalidToken as exc:
        raise DistributorError(
            "the stored password cannot be read (was VHS_SECRET_KEY changed?); enter it again"
        ) from exc


def patron_id(distributor: Distributor, user_id: int) -> str:
    """The patron's opaque id at ``distributor``: an HMAC of our user id under the
    distributor's own key (never the card number or name; unlinkable across distributors)."""
    return hmac.new(
        bytes.fromhex(distributor.patron_key), f"user:{user_id}".encode(), hashlib.sha256
    ).hexdigest()


# --- requests --------------------------------------------------------------------------------


def _timeout() -> float:
    return float(current_app.config["VHS"].library_odl_timeout_seconds)


@dataclass
class Answer:
    """A distributor's answer: status, headers we act on, the body."""

    status: int
    location: str = ""
    content_type: str = ""
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """The body as JSON; DistributorDown when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise DistributorDown(f"not JSON ({self.content_type or 'no content type'})") from exc


def call(
    distributor: Distributor,
    method: str,
    url: str,
    *,
    accept: str = "application/json",
    follow: bool = False,
) -> Answer:
    """One HTTP request to the distributor with its credentials and our timeout.

    5xx, timeouts and connection errors raise DistributorDown; the caller judges the rest.
    Redirects are followed only when ``follow`` (a checkout's 303 is an answer of its own).
    """
    auth = None
    if distributor.username:
        auth = (distributor.username, decrypt_secret(distributor.secret_encrypted))
    try:
        with requests.request(
            method,
            url,
            auth=auth,
            headers={"Accept": accept, "User-Agent": USER_AGENT},
            timeout=_timeout(),
            allow_redirects=follow,
            stream=True,
        ) as resp:
            body = resp.raw.read(MAX_BODY_BYTES + 1, decode_content=True)
    except requests.RequestException as exc:
        raise DistributorDown(f"{method} {url}: {type(exc).__name__}") from exc
    if len(body) > MAX_BODY_BYTES:
        raise DistributorDown(f"{method} {url}: answer too large")
    if resp.status_code >= 500:
        raise DistributorDown(f"{method} {url}: {resp.status_code}")
    return Answer(
        status=resp.status_code,
        location=resp.headers.get("Location", ""),
        content_type=resp.headers.get("Content-Type", ""),
        body=body,
    )


def refused(answer: Answer) -> DistributorRefused:
    """A 4xx answer as an error, with its problem type's last segment when it is one."""
    problem = detail = ""
    try:
        doc = json.loads(answer.body) if answer.body else {}
    except ValueError:
        doc = {}
    if isinstance(doc, dict):
        problem = str(doc.get("type") or "").rstrip("/").rsplit("/", 1)[-1]
        detail = str(doc.get("detail") or doc.get("title") or "")[:300]
    return DistributorRefused(answer.status, problem, detail)


def get_json(distributor: Distributor, url: str, accept: str) -> Any:
    """GET a JSON document (redirects followed): 2xx or DistributorDown/Refused."""
    answer = call(distributor, "GET", url, accept=accept, follow=True)
    if answer.status >= 400:
        raise refused(answer)
    if answer.status >= 300:
        raise DistributorDown(f"GET {url}: {answer.status}")
    return answer.json()


# --- the documents ---------------------------------------------------------------------------


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 time of a document (aware), or None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


@dataclass(frozen=True)
class LicenceInfo:
    """A License Info Document: whether the licence lends, and how much is left."""

    status: str
    checkouts_left: int | None
    checkouts_available: int | None
    concurrency: int | None
    expires_at: datetime | None


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def licence_info(distributor: Distributor, url: str) -> LicenceInfo:
    """Read a License Info Document (``application/vnd.odl.info+json``)."""
    doc = get_json(distributor, url, INFO_TYPE)
    if not isinstance(doc, dict) or not isinstance(doc.get("status"), str):
        raise DistributorDown(f"GET {url}: not a License Info Document")
    checkouts = doc.get("checkouts") if isinstance(doc.get("checkouts"), dict) else {}
    terms = doc.get("terms") if isinstance(doc.get("terms"), dict) else {}
    return LicenceInfo(
        status=doc["status"],
        checkouts_left=_int_or_none(checkouts.get("left")),
        checkouts_available=_int_or_none(checkouts.get("available")),
        concurrency=_int_or_none(terms.get("concurrency")),
        expires_at=parse_time(terms.get("expires")),
    )


@dataclass(frozen=True)
class LoanStatus:
    """A Loan Status Document (Readium LSD): status, links by rel, the latest possible end."""

    id: str
    status: str
    links: dict[str, dict[str, Any]]
    end: datetime | None

    @property
    def self_url(self) -> str:
        """Where the document itself is read again (its ``self`` link)."""
        return str(self.links.get("self", {}).get("href", ""))


def loan_status(doc: Any, where: str) -> LoanStatus:
    """A Loan Status Document from its JSON; DistributorDown when it is not one."""
    if not isinstance(doc, dict) or not isinstance(doc.get("status"), str):
        raise DistributorDown(f"{where}: not a Loan Status Document")
    links: dict[str, dict[str, Any]] = {}
    for link in doc.get("links") or []:
        if isinstance(link, dict) and isinstance(link.get("href"), str):
            rel = link.get("rel")
            for name in rel if isinstance(rel, list) else [rel]:
                if isinstance(name, str):
                    links.setdefault(
                        name,
                        {
                            "href": link["href"],
                            "type": str(link.get("type") or ""),
                            "templated": bool(link.get("templated")),
                        },
                    )
    rights = doc.get("potential_rights") if isinstance(doc.get("potential_rights"), dict) else {}
    return LoanStatus(
        id=str(doc.get("id") or ""),
        status=doc["status"],
        links=links,
        end=parse_time(rights.get("end")),
    )


def read_loan_status(distributor: Distributor, url: str) -> LoanStatus:
    """GET a Loan Status Document."""
    return loan_status(get_json(distributor, url, LSD_TYPE), f"GET {url}")
