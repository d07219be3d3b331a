"""Reading lists: staff and a course's instructors put library media on it, with a note.

Authorised per course: staff, and the instructors of *this* course (``not_instructor`` for
anyone else, 403). The list is public where the course is (published, cancelled, completed;
drafts only for staff and its instructors), and shows only media in the catalogue. Positions
are kept dense (1..n) under the course's row lock.

What a visitor sees of each medium comes from the library: its free copies, and for the
course's confirmed participants also the copies dedicated to the course
(``library.dedications``); participants borrow through the library's own borrow flow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from courses.access import can_see_participants, lock_course
from courses.models import Course
from courses.reading_lists.groups import GROUP, is_participant
from courses.reading_lists.models import NOTE_MAX, CourseReadingItem
from library.dedications.services import group_copies
from library.licences.availability import item_copies
from media.models import MediaItem, PublicationState
from vhs.accounts.models import User
from vhs.audit import audit
from vhs.db import db, utcnow
from vhs.errors import Conflict, Forbidden, Invalid, NotFound

# --- who may edit ----------------------------------------------------------------------------


def can_edit(user: User | None, course: Course) -> bool:
    """Staff, and the course's own instructors."""
    return can_see_participants(user, course)


def require_editor(user: User | None, course: Course) -> User:
    """The acting editor of the course's list, or a refusal (403 ``not_instructor``)."""
    if user is None or not can_edit(user, course):
        raise Forbidden(_l("You do not teach this course."), code="not_instructor")
    return user


# --- reading ---------------------------------------------------------------------------------


def entries(course: Course, *, published_only: bool = True) -> list[CourseReadingItem]:
    """The course's list in order, with the media (only catalogue media unless told)."""
    query = (
        sa.select(CourseReadingItem)
        .join(MediaItem, MediaItem.id == CourseReadingItem.item_id)
        .where(CourseReadingItem.course_id == course.id)
        .options(selectinload(CourseReadingItem.item))
        .order_by(CourseReadingItem.position, CourseReadingItem.id)
    )
    if published_only:
        query = query.where(MediaItem.state == PublicationState.PUBLISHED)
    return list(db.session.execute(query).scalars())


def get_entry(course: Course, entry_id: int) -> CourseReadingItem:
    """An entry of this course's list, or 404 (an entry of another course is not found)."""
    entry = db.session.get(CourseReadingItem, entry_id)
    if entry is None or entry.course_id != course.id:
        raise NotFound(
            _l("This medium is not on the course's reading list."), code="reading_item_not_found"
        )
    return entry


@dataclass(frozen=True)
class ReadingRow:
    """One medium of the list as a visitor sees it: copies free for them of all copies."""

    entry: CourseReadingItem
    item: MediaItem
    available: int  # free for this visitor now (the course's own copies for participants)
    copies: int  # lendable at once, all in all
    course_copies: int  # copies dedicated to this course (running)
    can_borrow: bool  # a confirmed participant, and a copy is free for them


def _row(entry: CourseReadingItem, member: bool, course_id: int, now: datetime) -> ReadingRow:
    copies = item_copies(entry.item_id, now)
    own_free, own_total = group_copies(entry.item_id, GROUP, course_id, now)
    available = copies.available + (own_free if member else 0)
    return ReadingRow(
        entry=entry,
        item=entry.item,
        available=available,
        copies=copies.copies,
        course_copies=own_total,
        can_borrow=member and available > 0,
    )


def reading_list(
    course: Course, user: User | None, now: datetime | None = None
) -> list[ReadingRow]:
    """The list with availability for ``user`` (None: a visitor); decisions for the page."""
    now = now or utcnow()
    member = user is not None and is_participant(user.id, course.id, now)
    return [_row(entry, member, course.id, now) for entry in entries(course)]


def reading_row(course: Course, user: User | None, entry: CourseReadingItem) -> ReadingRow:
    """One entry as :func:`reading_list` shows it (for the API's answers to changes)."""
    now = utcnow()
    member = user is not None and is_participant(user.id, course.id, now)
    return _row(entry, member, course.id, now)


# --- editing ---------------------------------------------------------------------------------


def _note(value: Any, errors: dict[str, list[Any]]) -> str:
    note = (value or "").strip()
    if len(note) > NOTE_MAX:
        errors["note"] = [_l("At most %(n)d characters.", n=NOTE_MAX)]
    return note


def _renumber(course_id: int) -> None:
    """Positions 1..n in the current order (after a removal or a move)."""
    rows = db.session.execute(
        sa.select(CourseReadingItem)
        .where(CourseReadingItem.course_id == course_id)
        .order_by(CourseReadingItem.position, CourseReadingItem.id)
    ).scalars()
    for n, row in enumerate(rows, start=1):
        row.position = n
    db.session.flush()


def add_item(actor: User, course: Course, data: dict[str, Any]) -> CourseReadingItem:
    """Put a catalogue medium on the list, at its end, with a note."""
    require_editor(actor, course)
    course = lock_course(course.id)
    errors: dict[str, list[Any]] = {}
    note = _note(data.get("note"), errors)
    item_id = data.get("item_id")
    item = db.session.get(MediaItem, item_id) if isinstance(item_id, int) else None
    if item is None or item.state is not PublicationState.PUBLISHED:
        errors["item_id"] = [_l("There is no such medium in the catalogue.")]
    if errors:
        raise Invalid(errors=errors)
    assert item is not None
    taken = db.session.execute(
        sa.select(CourseReadingItem.id).where(
            CourseReadingItem.course_id == course.id, CourseReadingItem.item_id == item.id
        )
    ).first()
    if taken is not None:
        raise Conflict(_l("This medium is on the reading list already."), code="already_listed")
    last = db.session.scalar(
        sa.select(sa.func.max(CourseReadingItem.position)).where(
            CourseReadingItem.course_id == course.id
        )
    )
    entry = CourseReadingItem(
        course_id=course.id,
        item_id=item.id,
        note=note,
        position=(last or 0) + 1,
        added_by_id=actor.id,
        added_at=utcnow(),
    )
    db.session.add(entry)
    db.session.flush()
    audit(actor, "course.reading_item_added", entry, course=course.id, item=item.id)
    return entry


def update_item(
    actor: User, course: Course, entry_id: int, data: dict[str, Any]
) -> CourseReadingItem:
    """Change an entry's note, or move it to another ``position`` (1..n; others shift)."""
    require_editor(actor, course)
    course = lock_course(course.id)
    entry = get_entry(course, entry_id)
    errors: dict[str, list[Any]] = {}
    note = _note(data.get("note"), errors) if "note" in data else entry.note
    count = int(
        db.session.scalar(
            sa.select(sa.func.count()).where(CourseReadingItem.course_id == course.id)
        )
        or 0
    )
    position = data.get("position", entry.position)
    if not isinstance(position, int) or not 1 <= position <= count:
        errors["position"] = [_l("Enter a whole number from %(lo)d to %(hi)d.", lo=1, hi=count)]
    if errors:
        raise Invalid(errors=errors)
    entry.note = note
    if position != entry.position:
        others = [
            e
            for e in db.session.execute(
                sa.select(CourseReadingItem)
                .where(CourseReadingItem.course_id == course.id)
                .order_by(CourseReadingItem.position, CourseReadingItem.id)
            ).scalars()
            if e.id != entry.id
        ]
        others.insert(position - 1, entry)
        for n, row in enumerate(others, start=1):
            row.position = n
    db.session.flush()
    audit(actor, "course.reading_item_changed", entry, course=course.id, position=entry.position)
    return entry


def remove_item(actor: User, course: Course, entry_id: int) -> None:
    """Take a medium off the list (the others close ranks)."""
    require_editor(actor, course)
    course = lock_course(course.id)
    entry = get_entry(course, entry_id)
    audit(actor, "course.reading_item_removed", entry, course=course.id, item=entry.item_id)
    db.session.delete(entry)
    db.session.flush()
    _renumber(course.id)


def find_media(q: str, limit: int = 10) -> list[MediaItem]:
    """Catalogue media whose title contains ``q`` (the editing page's search), or the item
    with that id."""
    q = q.strip().replace("\x00", "")[:200]
    if not q:
        return []
    query = sa.select(MediaItem).where(MediaItem.state == PublicationState.PUBLISHED)
    if q.isdigit():
        query = query.where(MediaItem.id == (int(q) if len(q) <= 9 else 0))
    else:
        pattern = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(MediaItem.title.ilike(f"%{pattern}%", escape="\\"))
    return list(db.session.execute(query.order_by(MediaItem.title).limit(limit)).scalars())
