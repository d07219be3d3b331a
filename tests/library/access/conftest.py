"""Factories of the access tests: a loan of an item with a stored file, and its links.

Each call commits in a unit of work of its own (a savepoint of the test's transaction) and
returns plain ids and URLs, so tests go through the client as a browser or reading app does.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask

from library.access import services
from library.access.links import Action
from library.circulation.services import borrow
from library.models import Licence
from media.files.storage import file_key, get_storage
from media.models import FileFormat, MediaFile, MediaItem, MediaKind, PublicationState
from tests.library.seed import give_card
from tests.media.ingest import samples
from vhs.accounts.models import User
from vhs.db import db, utcnow
from vhs.uow import unit_of_work

MEDIA_TYPES = {
    FileFormat.EPUB: "application/epub+zip",
    FileFormat.PDF: "application/pdf",
    FileFormat.MP3: "audio/mpeg",
    FileFormat.MP4: "video/mp4",
}
KINDS = {
    FileFormat.EPUB: MediaKind.EBOOK,
    FileFormat.PDF: MediaKind.DOCUMENT,
    FileFormat.MP3: MediaKind.AUDIOBOOK,
    FileFormat.MP4: MediaKind.VIDEO,
}


def sample(fmt: FileFormat) -> bytes:
    """Real bytes of a small file of ``fmt`` (the ingest tests' samples)."""
    if fmt is FileFormat.EPUB:
        return samples.epub()
    if fmt is FileFormat.PDF:
        return samples.pdf()
    if fmt is FileFormat.MP3:
        return samples.mp3_frames(2.0)
    return b"\x00\x00\x00\x18ftypmp42" + bytes(4000)


@dataclass(frozen=True)
class Lent:
    """A loan of an item with one stored file."""

    item_id: int
    loan_id: int
    file_id: int
    data: bytes


def store(data: bytes, fmt: FileFormat) -> str:
    """Put ``data`` in the app's storage; its SHA-256."""
    sha256 = hashlib.sha256(data).hexdigest()
    get_storage().put(file_key(sha256), io.BytesIO(data), content_type=MEDIA_TYPES[fmt])
    return sha256


@pytest.fixture
def lend(app: Flask) -> Callable[..., Lent]:
    """``lend(patron, fmt, data=None, download=True, streaming=True, title=...)``: an item
    with one file of ``fmt`` and a licence with those terms, borrowed by ``patron``."""

    def _lend(
        patron: User,
        fmt: FileFormat = FileFormat.EPUB,
        *,
        data: bytes | None = None,
        download: bool = True,
        streaming: bool = True,
        title: str = "Der Schimmelreiter",
        now: datetime | None = None,
        days: int = 7,
    ) -> Lent:
        data = data if data is not None else sample(fmt)
        with app.test_request_context(), unit_of_work():
            item = MediaItem(
                kind=KINDS[fmt],
                title=title,
                state=PublicationState.PUBLISHED,
                published_at=utcnow(),
            )
            item.files.append(
                MediaFile(
                    format=fmt,
                    media_type=MEDIA_TYPES[fmt],
                    size_bytes=len(data),
                    sha256=store(data, fmt),
                )
            )
            db.session.add(item)
            db.session.flush()
            db.session.add(
                Licence(
                    item_id=item.id,
                    concurrency=1,
                    active_loans=0,
                    reserved=0,
                    max_loan_days=21,
                    download_allowed=download,
                    streaming_allowed=streaming,
                )
            )
            db.session.flush()
            loan = borrow(db.session.get(User, patron.id), item.id, days=days, now=now)
            return Lent(item.id, loan.id, item.files[0].id, data)

    return _lend


@pytest.fixture
def patron(app: Flask, make_user: Callable[..., User]) -> Callable[..., User]:
    """Factory: a resident with an active library card."""

    def _patron(**kw: Any) -> User:
        user = make_user(**kw)
        give_card(app, user)
        return user

    return _patron


@pytest.fixture
def links(app: Flask) -> Callable[..., dict[Action, str]]:
    """``links(patron, loan_id, now=None)``: the loan's links by action, as paths."""

    def _links(patron: User, loan_id: int, now: datetime | None = None) -> dict[Action, str]:
        with app.test_request_context(), unit_of_work():
            made = services.links_for(db.session.get(User, patron.id), loan_id, now)
            return {link.action: urlsplit(link.url).path for link in made.links}

    return _links
