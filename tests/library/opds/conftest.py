"""Factories of the OPDS tests: patrons with a card and a PIN, stocked items with a file.

Everything is committed in units of work of its own (savepoints of the test's transaction)
and handed back as plain values, so tests go through the client as a reading app does: with
HTTP Basic credentials, never a browser session.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from lxml import etree

from library.models import Licence
from media.catalogue.services import refresh_search_text
from media.models import (
    Contributor,
    ContributorRole,
    FileFormat,
    Identifier,
    IdentifierScheme,
    MediaFile,
    MediaItem,
    MediaKind,
    PublicationState,
    Subject,
)
from tests.library.access.conftest import MEDIA_TYPES, sample, store
from tests.library.patrons.conftest import PIN, new_card
from vhs.accounts.models import Role, User
from vhs.db import db, utcnow
from vhs.uow import unit_of_work

NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "opds": "http://opds-spec.org/2010/catalog",
    "dcterms": "http://purl.org/dc/terms/",
    "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
    "thr": "http://purl.org/syndication/thread/1.0",
    "schema": "http://schema.org/",
    "opf": "http://www.idpf.org/2007/opf",
}


def basic(number: str, pin: str = PIN) -> dict[str, str]:
    """The ``Authorization`` header a reading app sends."""
    token = base64.b64encode(f"{number}:{pin}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def atom(resp: Any) -> etree._Element:
    """The answer parsed as XML (fails on anything not well-formed)."""
    return etree.fromstring(resp.get_data())


@dataclass(frozen=True)
class Patron:
    """A patron as a reading app knows them: the account, the card number, the PIN."""

    user_id: int
    number: str
    pin: str = PIN

    @property
    def auth(self) -> dict[str, str]:
        """Their Basic header."""
        return basic(self.number, self.pin)


@pytest.fixture
def opds_patron(app: Flask) -> Callable[..., Patron]:
    """Factory: a resident with an active card (``state``, ``valid_until``, ``pin`` override)."""
    counter = iter(range(1, 1000))

    def _make(**card: Any) -> Patron:
        n = next(counter)
        with app.app_context(), unit_of_work():
            user = User(
                email=f"opds-leser-{n}-{id(card)}@example.org",
                name=f"Oda Leserin {n}",
                role=Role.RESIDENT,
                locale="de",
                email_verified_at=utcnow(),
                session_token=f"opds-{n}-{id(card)}",
            )
            db.session.add(user)
            db.session.flush()
            made = new_card(user.id, **card)
            return Patron(user.id, made.number, card.get("pin", PIN) or "")

    return _make


@pytest.fixture
def stock(app: Flask) -> Callable[..., int]:
    """Factory: a published item with an EPUB and a licence; its id.

    ``stock(title, copies=1, kind="ebook", authors=(), isbn=None, subjects=(), series=None,
    number=None, licence=True, fmt=FileFormat.EPUB)``.
    """

    def _stock(
        title: str,
        *,
        copies: int = 1,
        kind: str = "ebook",
        authors: tuple[str, ...] = (),
        narrators: tuple[str, ...] = (),
        isbn: str | None = None,
        subjects: tuple[str, ...] = (),
        series: str = "",
        number: int | None = None,
        licence: bool = True,
        fmt: FileFormat | None = FileFormat.EPUB,
        description: str = "",
        language: str = "de",
    ) -> int:
        with app.app_context(), unit_of_work():
            item = MediaItem(
                kind=MediaKind(kind),
                title=title,
                state=PublicationState.PUBLISHED,
                published_at=utcnow(),
                series_title=series,
                series_number=number,
                description=description,
                language=language,
                year=2024,
                publisher="Seilersee Verlag",
            )
            for position, name in enumerate(authors):
                item.contributors.append(
                    Contributor(name=name, role=ContributorRole.AUTHOR, position=position)
                )
            for position, name in enumerate(narrators, start=len(authors)):
                item.contributors.append(
                    Contributor(name=name, role=ContributorRole.NARRATOR, position=position)
                )
            if isbn:
                item.identifiers.append(Identifier(scheme=IdentifierScheme.ISBN, value=isbn))
            for term in subjects:
                item.subjects.append(Subject(term=term))
            if fmt is not None:
                data = sample(fmt)
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
            refresh_search_text(item)
            if licence:
                db.session.add(
                    Licence(
                        item_id=item.id,
                        concurrency=copies,
                        active_loans=0,
                        reserved=0,
                        max_loan_days=21,
                    )
                )
            db.session.flush()
            return item.id

    return _stock


@pytest.fixture
def cached(app: Flask) -> Any:
    """The feed cache on, and empty, for one test (tests run without caches otherwise)."""
    from library.opds.cache import feed_cache

    app.config["RESPONSE_CACHE"] = True
    feed_cache.clear()
    try:
        yield feed_cache
    finally:
        app.config.pop("RESPONSE_CACHE", None)
        feed_cache.clear()


def entry_titled(feed: etree._Element, title: str) -> etree._Element:
    """The feed's entry with this title."""
    for entry in feed.xpath("atom:entry", namespaces=NS):
        if entry.findtext("atom:title", namespaces=NS) == title:
            return entry
    raise AssertionError(f"no entry {title!r}")


def link(element: etree._Element, rel: str) -> etree._Element:
    """The first link of ``rel``."""
    found = element.xpath(f"atom:link[@rel='{rel}']", namespaces=NS)
    assert found, f"no link rel={rel}"
    return found[0]


def path_of(href: str) -> str:
    """An absolute href as the path (and query) the test client asks for."""
    from urllib.parse import urlsplit

    parts = urlsplit(href)
    return parts.path + (f"?{parts.query}" if parts.query else "")
