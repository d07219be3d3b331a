"""Access to a loan's files: which links a patron gets, what a link gives, the watermark codes.

- :func:`links_for` — the signed links of a patron's open loan, one per file and action the
  licence allows, and a distributor's links of the loan (an LCP licence) as they are (the
  account page, the API and OPDS call the same function);
- :func:`open_link` — a link at the moment it is used, checked against the database: the
  loan open and not overdue (an overdue loan is closed first, as every lending answer does),
  the patron the loan's, the file one the provider fulfils the loan with, the action one the
  licence allows;
- :func:`watermark_for` — the code of a loan's EPUB download (made at the first download,
  then the same for that loan and file);
- :func:`find_watermark` — staff: which loan a code belongs to.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import IO

import sqlalchemy as sa
from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from library import rules
from library.access import watermark
from library.access.links import (
    Action,
    ActionNotAllowed,
    Claims,
    FileNotInLoan,
    LinkNotYours,
    LoanEnded,
    read,
    sign,
)
from library.licences.providers import ExternalLink, provider_for
from library.licences.services import lock_item
from library.loans import services as loans
from library.models import Licence, Loan, Watermark
from media.catalogue.services import require_staff
from media.models import FileFormat, MediaFile
from vhs.accounts.models import User
from vhs.db import db, utcnow
from vhs.errors import Invalid, NotFound

# Formats a browser shows or plays itself (inline); EPUBs need a reading app (a download).
STREAMABLE = frozenset(
    {
        FileFormat.PDF,
        FileFormat.MP3,
        FileFormat.M4A,
        FileFormat.OGG,
        FileFormat.MP4,
        FileFormat.WEBM,
    }
)
# Watermark codes: Crockford's base 32 (no I, L, O, U: nothing to misread when typed off a page).
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def allowed_actions(licence: Licence, media_file: MediaFile) -> tuple[Action, ...]:
    """What the licence lets a patron do with a file: stream (shown in the browser) and/or
    download, in that order."""
    actions = []
    if licence.streaming_allowed and media_file.format in STREAMABLE:
        actions.append(Action.STREAM)
    if licence.download_allowed:
        actions.append(Action.DOWNLOAD)
    return tuple(actions)


def watermarks(media_file: MediaFile, action: Action) -> bool:
    """Whether this download carries the personal watermark (EPUBs)."""
    return action is Action.DOWNLOAD and media_file.format is FileFormat.EPUB


# --- links -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileLink:
    """One signed link of a loan: a file, what the link does, where, until when."""

    file: MediaFile
    action: Action
    url: str
    expires_at: datetime
    watermarked: bool


@dataclass(frozen=True)
class LoanLinks:
    """A loan and its links: signed links to our files, and the links a distributor gave
    for the loan (``external``: an LCP licence for the patron's reading app; they are the
    distributor's, not signed by us, and do not run out with ``expires_at``)."""

    loan: Loan
    links: tuple[FileLink, ...]
    expires_at: datetime
    external: tuple[ExternalLink, ...] = ()


def _sorted(files: tuple[MediaFile, ...]) -> tuple[MediaFile, ...]:
    return tuple(sorted(files, key=lambda f: (f.position, f.id)))


def _files(loan: Loan) -> tuple[MediaFile, ...]:
    """The files of ours the loan's provider gives (a distributor gives links instead)."""
    return _sorted(provider_for(loan.licence).fulfil(loan).files)


def _links(loan: Loan, now: datetime) -> LoanLinks:
    expires_at = now + rules.link_lifetime()
    links = []
    assert loan.user_id is not None  # an open loan has its patron (a CHECK)
    # The provider answers from our database (an ODL loan's stored status document): making
    # links never calls a distributor.
    fulfilment = provider_for(loan.licence).fulfil(loan)
    for media_file in _sorted(fulfilment.files):
        for action in allowed_actions(loan.licence, media_file):
            token = sign(loan.id, media_file.id, loan.user_id, action, now)
            links.append(
                FileLink(
                    file=media_file,
                    action=action,
                    url=url_for("library.file_link", token=token, _external=True),
                    expires_at=expires_at,
                    watermarked=watermarks(media_file, action),
                )
            )
    return LoanLinks(
        loan=loan, links=tuple(links), expires_at=expires_at, external=fulfilment.links
    )


def open_own_loan(patron: User, loan_id: int, now: datetime | None = None) -> Loan:
    """One's own loan, brought up to date, while it is open (404 ``loan_not_found`` for anyone
    else's; 410 ``loan_ended`` once it ended or ran out). The links and the browser reader's
    position ask the same question here."""
    now = now or utcnow()
    loan = loans.get_own_loan(patron, loan_id)
    _bring_up_to_date(loan, now)
    if loan.ended_at is not None:
        raise LoanEnded()
    return loan


def files_of(loan: Loan) -> tuple[MediaFile, ...]:
    """The files the loan's provider gives, in their order (the links' files, whatever the
    licence allows with each)."""
    return _files(loan)


def links_for(patron: User, loan_id: int, now: datetime | None = None) -> LoanLinks:
    """Fresh links to the files of one's own open loan (404 ``loan_not_found`` for anyone
    else's; 410 ``loan_ended`` once it ended or ran out)."""
    now = now or utcnow()
    return _links(open_own_loan(patron, loan_id, now), now)


def links_of_loans(current: list[Loan], now: datetime | None = None) -> dict[int, LoanLinks]:
    """Links for loans already known to be current (the account page lists them): by loan id."""
    now = now or utcnow()
    return {loan.id: _links(loan, now) for loan in current if loan.ended_at is None}


def _bring_up_to_date(loan: Loan, now: datetime) -> None:
    """Close the item's overdue loans first (under its lock) when this one is past its time."""
    if loan.ended_at is None and loan.due_at <= now:
        item = lock_item(loan.item_id)
        loans.close_overdue_loans(item, now)
        db.session.refresh(loan)


# --- using a link ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    """A link that works: the loan, the file and what to do with it."""

    loan: Loan
    file: MediaFile
    action: Action
    expires_at: datetime


def open_link(token: str, *, viewer: User | None, now: datetime | None = None) -> Grant:
    """What a link gives now, or why not (``links`` has the refusals, in this order):
    ``link_invalid``, ``link_expired`` (403); ``link_not_yours`` (403: someone else is signed
    in); ``loan_ended`` (410); ``file_not_found`` (404); ``download_not_allowed`` /
    ``streaming_not_allowed`` (403)."""
    now = now or utcnow()
    lifetime = rules.link_lifetime()
    claims: Claims = read(token, now=now, lifetime=lifetime)
    if viewer is not None and viewer.id != claims.patron_id:
        raise LinkNotYours()
    loan = db.session.get(Loan, claims.loan_id)
    if loan is None:  # the item was deleted with its loans
        raise LoanEnded()
    _bring_up_to_date(loan, now)
    if loan.ended_at is not None:
        raise LoanEnded(extra={"item_id": loan.item_id})
    if loan.user_id != claims.patron_id:
        raise LinkNotYours()
    media_file = next((f for f in _files(loan) if f.id == claims.file_id), None)
    if media_file is None:
        raise FileNotInLoan()
    if claims.action not in allowed_actions(loan.licence, media_file):
        code = "download_not_allowed" if claims.action is Action.DOWNLOAD else None
        raise ActionNotAllowed(code=code or "streaming_not_allowed")
    return Grant(loan, media_file, claims.action, claims.signed_at + lifetime)


# --- watermarks --------------------------------------------------------------------------------


def new_code() -> str:
    """A random watermark code, ``W-XXXX-XXXX`` (40 bits: not guessed, not a loan number)."""
    chars = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    return f"W-{chars[:4]}-{chars[4:]}"


def normalise_code(text: str) -> str | None:
    """A typed or pasted code as stored (``w 7k3m q9xd`` → ``W-7K3M-Q9XD``), or None."""
    compact = "".join(ch for ch in text.upper() if ch.isalnum())
    if compact.startswith("W") and len(compact) == 9:
        compact = compact[1:]
    if len(compact) != 8 or any(ch not in CODE_ALPHABET for ch in compact):
        return None
    return f"W-{compact[:4]}-{compact[4:]}"


def watermark_for(grant: Grant, now: datetime | None = None) -> Watermark:
    """The code this loan's file carries, made at its first download; counts the download."""
    now = now or utcnow()
    mark = db.session.execute(
        sa.select(Watermark).where(
            Watermark.loan_id == grant.loan.id, Watermark.file_id == grant.file.id
        )
    ).scalar_one_or_none()
    if mark is None:
        mark = Watermark(
            code=new_code(),
            loan_id=grant.loan.id,
            file_id=grant.file.id,
            first_downloaded_at=now,
            last_downloaded_at=now,
            downloads=1,
        )
        try:
            with db.session.begin_nested():
                db.session.add(mark)
        except IntegrityError:  # the same download at once elsewhere, or a code drawn twice
            return watermark_for(grant, now)
        return mark
    mark.last_downloaded_at = now
    mark.downloads += 1
    db.session.flush()
    return mark


@dataclass(frozen=True)
class WatermarkInfo:
    """What staff learn from a code: the loan, its item and file, the downloads, and the
    patron while the loan still knows them."""

    watermark: Watermark
    loan: Loan
    patron: User | None


def find_watermark(actor: User, code: str) -> WatermarkInfo:
    """Which loan a watermark code belongs to (staff; 404 ``watermark_not_found``)."""
    require_staff(actor)
    normal = normalise_code(code)
    mark = None
    if normal is not None:
        mark = db.session.execute(
            sa.select(Watermark).where(Watermark.code == normal)
        ).scalar_one_or_none()
    if mark is None:
        raise NotFound(_l("No download carries this watermark code."), code="watermark_not_found")
    return WatermarkInfo(watermark=mark, loan=mark.loan, patron=mark.loan.user)


def invalid_code() -> Invalid:
    """The refusal of text that cannot be a watermark code."""
    return Invalid(errors={"code": [_l("A watermark code looks like W-7K3M-Q9XD.")]})


def code_in_epub(stream: IO[bytes]) -> str:
    """The watermark code an uploaded EPUB carries (422 when it is no EPUB or carries none)."""
    try:
        code = watermark.read_code(stream)
    except watermark.EpubUnreadable:
        raise Invalid(errors={"file": [_l("This file is not an EPUB.")]}) from None
    if code is None:
        raise Invalid(errors={"file": [_l("This EPUB carries no watermark of ours.")]})
    return code
