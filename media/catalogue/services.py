"""Stocking the catalogue: create and edit items, publish and withdraw them, load them to show.

Staff pages, the staff API and the bulk importer all call these functions, so they accept and
refuse the same things. They work in the caller's unit of work (they flush, never commit), write
an audit entry, and raise domain errors (``Invalid``, ``Conflict``, ``NotFound``, ``Forbidden``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from flask import request
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload, selectinload

from media import rules
from media.catalogue import validation
from media.catalogue.labels import SCHEME_LABELS
from media.files import signals as file_signals
from media.models import (
    Contributor,
    ContributorRole,
    Identifier,
    IdentifierScheme,
    MediaItem,
    PublicationState,
    Subject,
)
from vhs.accounts.models import User
from vhs.audit import audit
from vhs.db import db, lock, utcnow
from vhs.errors import Conflict, Forbidden, Invalid, NotFound

# --- who may do what -------------------------------------------------------------------------


def can_manage(user: User | None) -> bool:
    """Staff stock the catalogue (and see drafts and withdrawn items)."""
    return user is not None and user.is_staff


def require_staff(user: User | None) -> User:
    """The acting staff member, or a refusal."""
    if user is None or not user.is_staff:
        raise Forbidden(_l("This area is for VHS staff only."), code="forbidden_role")
    return user


# --- loading ---------------------------------------------------------------------------------

# What an item page and the API show of an item besides its columns: people and numbers
# joined to the item's row (a few rows each), keywords in a second query. Two round trips
# instead of four for every item page; results need ``.unique()``.
ITEM_DETAILS = (
    joinedload(MediaItem.contributors),
    joinedload(MediaItem.identifiers),
    selectinload(MediaItem.subjects),
)


def get_item(item_id: int, user: User | None = None) -> MediaItem:
    """An item ``user`` may see, with its people, numbers and subjects; 404 otherwise.

    Drafts and withdrawn items exist only for staff: to everyone else they are "not found",
    so a withdrawn item's page reveals nothing.
    """
    item = (
        db.session.execute(
            sa.select(MediaItem).where(MediaItem.id == item_id).options(*ITEM_DETAILS)
        )
        .unique()
        .scalar_one_or_none()
    )
    if item is None or (item.state is not PublicationState.PUBLISHED and not can_manage(user)):
        raise NotFound(
            _l("This medium does not exist or is not in the catalogue."), code="media_not_found"
        )
    return item


def lock_item(item_id: int) -> MediaItem:
    """Load an item under a row lock: state changes are decided while holding it."""
    item = lock(MediaItem, item_id)
    if item is None:
        raise NotFound(_l("This medium does not exist."), code="media_not_found")
    return item


# --- saving ----------------------------------------------------------------------------------


def save_item(actor: User, data: dict[str, Any], item: MediaItem | None = None) -> MediaItem:
    """Create an item (a draft) or change one; return it, flushed.

    ``data`` holds the fields to set; keys left out keep their value (creating: defaults).
    Lists given replace the item's whole list. The shape, for staff pages, the API and the
    bulk importer alike::

        {
            "kind": "ebook",                 # MediaKind or its value; required to create
            "title": "Tod am Deich",         # required to create; one line, rules.TITLE_MAX
            "subtitle": "", "publisher": "", "classification": "", "series_title": "",
            "description": "",               # several lines allowed
            "year": 2021,                    # int or None; rules.YEAR
            "language": "de",                # ISO 639-1/-2 ("ger" is kept as "de")
            "series_number": 3,              # int or None; needs series_title
            "min_age": 12,                   # one of rules.AGE_RATINGS or None (not rated)
            "pages": 320, "duration_seconds": None,   # extent; int or None
            "cover_sha256": None,            # set by the file upload, hex SHA-256 or None
            "contributors": [{"name": "Anna Berg", "role": "author"}],   # in this order
            "identifiers": [{"scheme": "isbn", "value": "978-3-16-148410-0"}],
            "subjects": ["Krimi", "Nordsee"],
        }

    ISBNs may be ISBN-10 or ISBN-13 with or without hyphens (kept as 13 digits; a wrong check
    digit is refused); ISSNs are kept as ``NNNN-NNNC``. Refusals: ``Invalid`` with every field
    error at once; ``Conflict`` (``identifier_taken``, ``extra["item_id"]`` naming the other
    item) when a number belongs to another item; ``Forbidden`` for non-staff.
    """
    return save_items(actor, [(data, item)])[0]


def save_items(
    actor: User, entries: Sequence[tuple[dict[str, Any], MediaItem | None]]
) -> list[MediaItem]:
    """Create or change several items at once: ``save_item``'s checks for each, one query for
    the numbers of all, one flush, one audit entry each (the bulk importer saves its batches so).

    A refusal of any entry raises before any entry is changed. Two entries may not claim one
    number.
    """
    require_staff(actor)
    cleaned = [(_checked(data, item), item) for data, item in entries]
    _refuse_taken(cleaned)
    staged = [_stage(clean, item) for clean, item in cleaned]
    db.session.flush()
    for (clean, _item), (item, created) in zip(cleaned, staged, strict=True):
        audit(
            actor,
            "media_item.created" if created else "media_item.saved",
            item,
            title=item.title,
            fields=sorted(clean),
        )
    return [item for item, _created in staged]


def _checked(data: dict[str, Any], item: MediaItem | None) -> dict[str, Any]:
    """One entry's clean values; ``Invalid`` listing every problem."""
    clean = validation.clean_item_data(data, creating=item is None)
    series_title = clean.get("series_title", item.series_title if item else "")
    series_number = clean.get("series_number", item.series_number if item else None)
    errors = validation.series_errors(series_title, series_number)
    if errors:
        raise Invalid(errors=errors)
    return clean


def _stage(clean: dict[str, Any], item: MediaItem | None) -> tuple[MediaItem, bool]:
    """Set one entry's checked values (not flushed): the item, and whether it is new."""
    created = item is None
    if item is None:
        item = MediaItem(state=PublicationState.DRAFT, language="de")
        db.session.add(item)
    for key, value in clean.items():
        if key not in validation.LIST_KEYS:
            setattr(item, key, value)
    if "contributors" in clean:
        _set_contributors(item, clean["contributors"])
    if "identifiers" in clean:
        _set_identifiers(item, clean["identifiers"])
    if "subjects" in clean:
        _set_subjects(item, clean["subjects"])
    refresh_search_text(item)
    return item, created


def _refuse_taken(cleaned: list[tuple[dict[str, Any], MediaItem | None]]) -> None:
    """``Conflict`` when a number belongs to another item, or two entries claim one number.

    One query for the numbers of all entries (a scheme and its values per term, on the
    unique index), whatever their count.
    """
    wanted: dict[IdentifierScheme, set[str]] = {}
    for clean, _item in cleaned:
        for scheme, value in clean.get("identifiers", ()):
            wanted.setdefault(scheme, set()).add(value)
    if not wanted:
        return
    terms = [
        sa.and_(Identifier.scheme == scheme, Identifier.value.in_(sorted(values)))
        for scheme, values in wanted.items()
    ]
    owners = {
        (row.scheme, row.value): row
        for row in db.session.execute(
            sa.select(Identifier.scheme, Identifier.value, MediaItem.id, MediaItem.title)
            .join(MediaItem, MediaItem.id == Identifier.item_id)
            .where(sa.or_(*terms))
        )
    }
    claimed: dict[tuple[IdentifierScheme, str], int] = {}
    for n, (clean, item) in enumerate(cleaned):
        own = item.id if item is not None else None
        for number in clean.get("identifiers", ()):
            taken = owners.get(number)
            if taken is not None and taken.id != own:
                raise Conflict(
                    _l(
                        "The %(scheme)s %(value)s already belongs to “%(title)s”.",
                        scheme=SCHEME_LABELS[taken.scheme],
                        value=taken.value,
                        title=taken.title,
                    ),
                    code="identifier_taken",
                    errors={"identifiers": [_l("This number belongs to another medium.")]},
                    extra={"item_id": taken.id},
                )
            if claimed.setdefault(number, n) != n:
                message = _l("This number belongs to another medium.")
                raise Conflict(message, code="identifier_taken", errors={"identifiers": [message]})


def _set_contributors(item: MediaItem, people: list[tuple[str, ContributorRole]]) -> None:
    """The item's people in this order: rows reused by position, extra rows removed."""
    rows = list(item.contributors)
    for position, (name, role) in enumerate(people):
        if position < len(rows):
            row = rows[position]
            row.name, row.role, row.position = name, role, position
        else:
            item.contributors.append(Contributor(name=name, role=role, position=position))
    for row in rows[len(people) :]:
        item.contributors.remove(row)


def _set_identifiers(item: MediaItem, numbers: list[tuple[IdentifierScheme, str]]) -> None:
    """Keep the numbers that stay, add the new ones, remove the rest.

    Never delete and re-insert the same number: one flush inserts before it deletes, and the
    unique constraint on (scheme, value) would see the number twice.
    """
    wanted = set(numbers)
    for row in list(item.identifiers):
        if (row.scheme, row.value) not in wanted:
            item.identifiers.remove(row)
    have = {(row.scheme, row.value) for row in item.identifiers}
    for scheme, value in numbers:
        if (scheme, value) not in have:
            item.identifiers.append(Identifier(scheme=scheme, value=value))


def _set_subjects(item: MediaItem, terms: list[str]) -> None:
    """Keep the keywords that stay, add the new ones, remove the rest (unique per item)."""
    wanted = set(terms)
    for row in list(item.subjects):
        if row.term not in wanted:
            item.subjects.remove(row)
    have = {row.term for row in item.subjects}
    for term in terms:
        if term not in have:
            item.subjects.append(Subject(term=term))


def refresh_search_text(item: MediaItem) -> None:
    """What full-text search reads (``validation.search_texts``): the head ranks above the
    document. The database indexes both (FTS5 / weighted German tsvector)."""
    item.search_head, item.search_document = validation.search_texts(
        title=item.title,
        subtitle=item.subtitle,
        series_title=item.series_title,
        people=(c.name for c in item.contributors),
        subjects=(s.term for s in item.subjects),
        classification=item.classification,
        publisher=item.publisher,
        description=item.description,
    )


@file_signals.item_described.connect
def _described_from_file(item: MediaItem, **_: Any) -> None:
    """Metadata accepted from a file changes what search reads: refresh it in the same unit."""
    refresh_search_text(item)
    db.session.flush()


# --- publication -----------------------------------------------------------------------------


def publish_item(actor: User, item: MediaItem) -> MediaItem:
    """Put a draft (or a withdrawn item, again) into the catalogue."""
    return publish_items(actor, [item])[0]


def publish_items(actor: User, items: Sequence[MediaItem]) -> list[MediaItem]:
    """Publish several items at once (the importer's new items): locked with one query, one
    flush, one audit entry each; ``Conflict`` if one of them is in the catalogue already."""
    require_staff(actor)
    ids = [item.id for item in items]
    if not ids:
        return []
    locked = {
        item.id: item
        for item in db.session.execute(
            sa.select(MediaItem)
            .where(MediaItem.id.in_(ids))
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalars()
    }
    now = utcnow()
    for item_id in ids:
        item = locked.get(item_id)
        if item is None:
            raise NotFound(_l("This medium does not exist."), code="media_not_found")
        if item.state is PublicationState.PUBLISHED:
            raise Conflict(_l("This medium is already in the catalogue."), code="already_published")
        item.state = PublicationState.PUBLISHED
        item.published_at = now
        item.withdrawn_at = None
    db.session.flush()
    for item_id in ids:
        audit(actor, "media_item.published", locked[item_id], title=locked[item_id].title)
    return [locked[item_id] for item_id in ids]


def withdraw_item(actor: User, item: MediaItem) -> MediaItem:
    """Take a published item out of the catalogue; the record and its history stay.

    Its page and API answer 404 to the public from now on; staff still see and can edit it,
    and publish it again.
    """
    require_staff(actor)
    item = lock_item(item.id)
    if item.state is not PublicationState.PUBLISHED:
        raise Conflict(
            _l("Only a medium that is in the catalogue can be withdrawn."),
            code="not_published",
        )
    item.state = PublicationState.WITHDRAWN
    item.withdrawn_at = utcnow()
    db.session.flush()
    audit(actor, "media_item.withdrawn", item, title=item.title)
    return item


# --- what pages show -------------------------------------------------------------------------


def cover_url(item: MediaItem, width: int) -> str | None:
    """Where the item's cover thumbnail ``width`` pixels wide is served, or None without one.

    The thumbnails are made on upload and served by ``media.files`` at
    ``/media/covers/<sha256>-<width>.jpg`` (public, long-lived, with an ETag).
    """
    if not item.cover_sha256 or width not in rules.COVER_SIZES:
        return None
    return f"{request.script_root}/media/covers/{item.cover_sha256}-{width}.jpg"


def by_same_people(item: MediaItem, limit: int = 6) -> tuple[list[str], list[MediaItem]]:
    """The item's authors (else its narrators) and their other published items, newest first."""
    people = item.names(ContributorRole.AUTHOR) or item.names(ContributorRole.NARRATOR)
    if not people:
        return [], []
    others = (
        sa.select(Contributor.item_id)
        .where(Contributor.name.in_(people))
        .where(Contributor.item_id != item.id)
    )
    items = list(
        db.session.execute(
            sa.select(MediaItem)
            .where(MediaItem.id.in_(others), MediaItem.state == PublicationState.PUBLISHED)
            .options(joinedload(MediaItem.contributors))  # one query (SQLAlchemy limits inside)
            .order_by(MediaItem.year.desc().nulls_last(), MediaItem.id.desc())
            .limit(limit)
        )
        .unique()
        .scalars()
    )
    return people, items
