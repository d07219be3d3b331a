"""Dedications: copies of a licence kept for a closed group (a course) until the group ends.

**Counting.** ``library.licences.availability`` keeps a running dedication's idle copies out of
everyone else's free copies; the dedication's ``active_loans`` counts the loans of its members
(the licence's ``active_loans`` counts them too), moved under the licence's lock with the loan
rows.

**Borrowing.** A member of the group (as the group's domain registered it:
``library.licences.groups``) who borrows takes one of the group's idle copies first
(:func:`member_dedication`), else a general one. The loan records its dedication and is due at
the dedication's end at the latest. Dedicated copies are borrowed directly: there are no holds
on them (a member whose group's copies are all out may wait in the general queue like anyone).

**Ending.** When ``ends_at`` passes, the dedication counts no more and its copies are general
again; its loans ended at the same moment (they were due then). Waiting holds get the copies
in the same transaction as anything else that frees one: lazily, before any answer about the
item (``holds.services.refresh``), and by the ``library_release_dedications`` job
(:func:`items_with_idle_copies`). Staff may end a dedication early; a group that ends early
(a course called off) ends its dedications and revokes their loans (:func:`end_group`).
A member who leaves the group loses their loans on its copies (:func:`revoke_member_loans`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from library.licences.availability import (
    copies_of,
    dedicated_free,
    free_copies,
    free_copies_sql,
    is_running,
    is_usable,
    selection_key,
)
from library.licences.groups import group_keys, group_type, is_member
from library.licences.services import licences_of, lock_item, lock_licence
from library.licences.signals import announce_copies_freed
from library.loans.services import end_revoked
from library.models import Hold, HoldState, Licence, LicenceDedication, Loan
from media.catalogue.services import require_staff
from media.models import MediaItem
from vhs.accounts.models import User
from vhs.audit import audit
from vhs.db import db, utcnow
from vhs.errors import Conflict, Invalid, NotFound

# --- members borrowing -----------------------------------------------------------------------


def member_dedication(
    patron: User, licences: Iterable[Licence], now: datetime
) -> LicenceDedication | None:
    """The running dedication with a free copy whose group ``patron`` belongs to (licences in
    selection order), or None."""
    for licence in sorted(licences, key=selection_key):
        for dedication in licence.dedications:
            if dedicated_free(dedication, now) > 0 and is_member(
                dedication.group_type, dedication.group_id, patron.id, now
            ):
                return dedication
    return None


def group_copies(item_id: int, key: str, group_id: int, now: datetime) -> tuple[int, int]:
    """A group's own copies of an item now: (free for its members, dedicated in all)."""
    rows = db.session.execute(
        sa.select(LicenceDedication)
        .join(Licence, Licence.id == LicenceDedication.licence_id)
        .where(
            Licence.item_id == item_id,
            LicenceDedication.group_type == key,
            LicenceDedication.group_id == group_id,
            LicenceDedication.ends_at > now,
        )
        .options(selectinload(LicenceDedication.licence))
    ).scalars()
    free = total = 0
    for dedication in rows:
        if is_usable(dedication.licence, now):
            free += dedicated_free(dedication, now)
            total += dedication.copies
    return free, total


# --- staff -----------------------------------------------------------------------------------


def dedications_of(licence: Licence) -> list[LicenceDedication]:
    """A licence's dedications, newest first (running and ended)."""
    return list(
        db.session.execute(
            sa.select(LicenceDedication)
            .where(LicenceDedication.licence_id == licence.id)
            .order_by(LicenceDedication.ends_at.desc(), LicenceDedication.id.desc())
        ).scalars()
    )


def group_title(dedication: LicenceDedication) -> str:
    """The dedication's group as staff know it ("Kurs 123 Englisch A1")."""
    kind = group_type(dedication.group_type)
    return kind.title(dedication.group_id) or f"{dedication.group_type} {dedication.group_id}"


def dedicate(
    actor: User, licence: Licence, data: dict[str, Any], now: datetime | None = None
) -> LicenceDedication:
    """Set ``copies`` free copies of ``licence`` aside for a group until the group ends (staff).

    ``data``: ``group_type`` (a registered kind, default ``course``), ``group_id``, ``copies``.
    The end comes from the group (a course: the end of its last session). Refused (422, field
    messages): an unknown kind or group, a group without an end or already over, more copies
    than the licence lends at once or than are free now to set aside; a running dedication of
    the licence to the same group (409 ``dedication_exists``).
    """
    require_staff(actor)
    now = now or utcnow()
    lock_item(licence.item_id)
    licence = lock_licence(licence.id)
    key = data.get("group_type") or "course"
    group_id = data.get("group_id")
    copies = data.get("copies")
    errors: dict[str, list[Any]] = {}
    ends_at = None
    if key not in group_keys():
        errors["group_type"] = [_l("Unknown kind of group.")]
    elif not isinstance(group_id, int) or group_type(key).title(group_id) is None:
        errors["group_id"] = [_l("There is no such course.")]
    else:
        ends_at = group_type(key).ends_at(group_id)
        if ends_at is None:
            errors["group_id"] = [_l("This course has no dates yet.")]
        elif ends_at <= now:
            errors["group_id"] = [_l("This course is over.")]
    if not errors and any(
        d.group_type == key and d.group_id == group_id and is_running(d, now)
        for d in licence.dedications
    ):
        raise Conflict(
            _l("Copies of this licence are dedicated to this course already."),
            code="dedication_exists",
        )
    if not isinstance(copies, int) or not 1 <= copies <= licence.concurrency:
        errors["copies"] = [
            _l("Enter a whole number from %(lo)d to %(hi)d.", lo=1, hi=licence.concurrency)
        ]
    elif not is_usable(licence, now):
        errors["copies"] = [_l("This licence cannot lend any more.")]
    elif copies > free_copies(licence, now):
        errors["copies"] = [
            _l(
                "Only %(n)d copies of this licence are free to set aside now.",
                n=free_copies(licence, now),
            )
        ]
    if errors:
        raise Invalid(errors=errors)
    assert ends_at is not None and isinstance(group_id, int)
    dedication = LicenceDedication(
        licence_id=licence.id,
        group_type=key,
        group_id=group_id,
        copies=copies,
        ends_at=ends_at,
        created_at=now,
        active_loans=0,
    )
    licence.dedications.append(dedication)
    db.session.flush()
    audit(
        actor,
        "library.copies_dedicated",
        dedication,
        licence=licence.id,
        group=f"{key}:{group_id}",
        copies=copies,
        ends_at=ends_at,
    )
    return dedication


def get_dedication(actor: User, dedication_id: int) -> LicenceDedication:
    """A dedication for staff, or 404."""
    require_staff(actor)
    dedication = db.session.get(LicenceDedication, dedication_id)
    if dedication is None:
        raise NotFound(_l("This dedication does not exist."), code="dedication_not_found")
    return dedication


def end_dedication(
    actor: User, dedication_id: int, now: datetime | None = None
) -> LicenceDedication:
    """End a running dedication now (staff): its idle copies go to the general pool and to
    waiting holds at once; loans its members have keep running until they are due."""
    dedication = get_dedication(actor, dedication_id)
    now = now or utcnow()
    item = lock_item(dedication.licence.item_id)
    db.session.refresh(dedication)
    if not is_running(dedication, now):
        raise Conflict(_l("This dedication has ended already."), code="dedication_ended")
    dedication.ends_at = now
    db.session.flush()
    audit(actor, "library.dedication_ended", dedication, licence=dedication.licence_id)
    announce_copies_freed(item, now)
    return dedication


# --- members leaving, groups ending ----------------------------------------------------------


def _group_loans(key: str, group_id: int, user_id: int | None = None) -> list[Loan]:
    query = (
        sa.select(Loan)
        .join(LicenceDedication, LicenceDedication.id == Loan.dedication_id)
        .where(
            LicenceDedication.group_type == key,
            LicenceDedication.group_id == group_id,
            Loan.ended_at.is_(None),
        )
        .order_by(Loan.item_id, Loan.id)
    )
    if user_id is not None:
        query = query.where(Loan.user_id == user_id)
    return list(db.session.execute(query).scalars())


def revoke_member_loans(key: str, group_id: int, user_id: int, now: datetime | None = None) -> int:
    """A member left the group (a cancelled or moved booking): their loans on the group's
    copies end as revoked, and each copy goes back to the group, or to waiting holds, in the
    same transaction. Items are locked in ascending id order. Returns how many ended."""
    group_type(key)  # an unknown kind fails loudly
    now = now or utcnow()
    return sum(
        end_revoked(loan, now, actor=None, group=f"{key}:{group_id}", reason="left_group")
        for loan in _group_loans(key, group_id, user_id)
    )


def end_group(key: str, group_id: int, now: datetime | None = None) -> int:
    """The group ends early (a course called off): its running dedications end now and all
    loans on them are revoked; the copies go to the general pool and waiting holds."""
    group_type(key)
    now = now or utcnow()
    revoked = sum(
        end_revoked(loan, now, actor=None, group=f"{key}:{group_id}", reason="group_ended")
        for loan in _group_loans(key, group_id)
    )
    running = db.session.execute(
        sa.select(LicenceDedication, Licence.item_id)
        .join(Licence, Licence.id == LicenceDedication.licence_id)
        .where(
            LicenceDedication.group_type == key,
            LicenceDedication.group_id == group_id,
            LicenceDedication.ends_at > now,
        )
        .order_by(Licence.item_id)
    ).all()
    for item_id in sorted({item_id for _d, item_id in running}):
        item = lock_item(item_id)
        for dedication, of_item in running:
            if of_item == item_id:
                dedication.ends_at = now
        db.session.flush()
        announce_copies_freed(item, now)
    return revoked


# --- copies coming back to the pool ----------------------------------------------------------


def items_with_idle_copies(now: datetime) -> list[int]:
    """Items with patrons waiting while a general copy is free (a dedication ended by the
    clock alone), ascending: the job hands those copies on."""
    rows = db.session.execute(
        sa.select(Licence.item_id)
        .where(
            Licence.item_id.in_(sa.select(Hold.item_id).where(Hold.state == HoldState.WAITING)),
            free_copies_sql(now) > 0,
        )
        .distinct()
    ).scalars()
    return sorted(set(rows))


def hand_back(item: MediaItem, now: datetime) -> bool:
    """Copies that became general by the clock (a dedication ended) go to the waiting holds
    of the item (caller holds its lock); True when there were any to hand on."""
    waiting = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Hold)
        .where(Hold.item_id == item.id, Hold.state == HoldState.WAITING)
    )
    if not waiting or copies_of(licences_of(item.id), now).available == 0:
        return False
    announce_copies_freed(item, now)
    return True
