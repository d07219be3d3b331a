"""Licences: the row locks, the copy counters, and staff adding and changing licences.

**Locks.** Every decision about an item's copies (borrow, return, hold, promote, a licence
added) is taken under the item's row lock (:func:`lock_item`, ``SELECT … FOR UPDATE`` on
PostgreSQL), so two requests for one item queue and the second sees what the first did; the
counters themselves move under their licence's row lock as well (:func:`lock_licence`), always
taken after the item's, so the order is the same everywhere and nobody deadlocks. On SQLite
the write transaction (``BEGIN IMMEDIATE``) serialises all writers instead.

**Counters.** ``active_loans`` and ``reserved`` move in the same transaction as the loan and
hold rows they count; ``checkouts_left`` only goes down. The database refuses anything else
(CHECK constraints and triggers of migration 0010).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from library import rules
from library.licences.availability import (
    can_take_reserved,
    dedicated_free,
    dedicated_idle,
    free_copies,
)
from library.licences.providers import provider_keys
from library.licences.signals import announce_copies_freed
from library.models import Licence, LicenceDedication
from media.catalogue.services import require_staff
from media.models import MediaItem
from vhs.accounts.models import User
from vhs.audit import audit
from vhs.db import db, lock, utcnow
from vhs.errors import Conflict, Invalid, NotFound

# --- locks -----------------------------------------------------------------------------------


def lock_item(item_id: int) -> MediaItem:
    """The item under its row lock: copies of it are counted and taken only while holding it."""
    item = lock(MediaItem, item_id)
    if item is None:
        raise NotFound(_l("This medium does not exist."), code="media_not_found")
    return item


def lock_licence(licence_id: int) -> Licence:
    """A licence under its row lock (after its item's lock), read fresh from the database."""
    licence = lock(Licence, licence_id)
    if licence is None:
        raise NotFound(_l("This licence does not exist."), code="licence_not_found")
    return licence


def licences_of(item_id: int, *, for_update: bool = False) -> list[Licence]:
    """An item's licences as the database has them now (oldest first); ``for_update``: under
    their row locks (in id order, after the item's), so a checkout need not read one again."""
    stmt = (
        sa.select(Licence)
        .where(Licence.item_id == item_id)
        .order_by(Licence.id)
        .options(selectinload(Licence.dedications))
        .execution_options(populate_existing=True)
    )
    if for_update:
        stmt = stmt.with_for_update()
    return list(db.session.execute(stmt).scalars())


def no_copies() -> Conflict:
    """The refusal when no copy is free (a hold is the way to wait for one)."""
    return Conflict(
        _l("All copies are out on loan. You can reserve this medium."),
        code="no_copies_available",
    )


# --- counters (caller holds the item's lock) -------------------------------------------------


def take_copy(
    licence: Licence,
    now: datetime,
    *,
    reserved: bool = False,
    dedication: LicenceDedication | None = None,
    locked: bool = False,
) -> Licence:
    """A loan takes a copy: a free one, the one reserved for the borrower's ready hold, or
    one of a dedication's copies (the caller checked that the borrower belongs to its group).
    ``locked``: the caller read ``licence`` under its row lock in this transaction."""
    if not locked:
        licence = lock_licence(licence.id)
    if reserved:
        if not can_take_reserved(licence, now):
            raise no_copies()
        licence.reserved -= 1
    elif dedication is not None:
        dedication = lock(LicenceDedication, dedication.id)
        if dedication is None or dedication.licence_id != licence.id:
            raise no_copies()
        if dedicated_free(dedication, now) < 1:
            raise no_copies()
        dedication.active_loans += 1
    elif free_copies(licence, now) < 1:
        raise no_copies()
    licence.active_loans += 1
    if licence.checkouts_left is not None:
        licence.checkouts_left -= 1
    return licence


def release_copy(licence_id: int, dedication_id: int | None = None) -> Licence:
    """A loan ended: its copy is free again (the caller announces it to the holds); a
    dedicated one goes back to its group while the dedication runs."""
    licence = lock_licence(licence_id)
    licence.active_loans -= 1
    if dedication_id is not None:
        dedication = lock(LicenceDedication, dedication_id)
        if dedication is not None:
            dedication.active_loans -= 1
    return licence


def reserve_copy(licence: Licence, now: datetime) -> Licence:
    """Keep a free copy for a ready hold."""
    licence = lock_licence(licence.id)
    if free_copies(licence, now) < 1:
        raise no_copies()
    licence.reserved += 1
    return licence


def unreserve_copy(licence: Licence) -> Licence:
    """A ready hold ended without a loan: its copy is free again."""
    licence = lock_licence(licence.id)
    licence.reserved -= 1
    return licence


# --- staff: adding and changing licences -----------------------------------------------------

# The protection terms and what a new licence has unless told otherwise (as the columns).
FLAG_DEFAULTS = {
    "download_allowed": True,
    "streaming_allowed": True,
    "print_allowed": False,
    "copy_allowed": False,
}
FLAGS = tuple(FLAG_DEFAULTS)


def _number_error(value: Any, bounds: rules.Bounds) -> Any:
    if value not in bounds:
        return _l("Enter a whole number from %(lo)d to %(hi)d.", lo=bounds.lo, hi=bounds.hi)
    return None


def _validate(data: dict[str, Any], now: datetime, *, new: bool) -> dict[str, list[Any]]:
    """Field errors of licence terms (only the fields present are checked)."""
    errors: dict[str, list[Any]] = {}

    def fail(name: str, message: Any) -> None:
        errors.setdefault(name, []).append(message)

    if new and "concurrency" not in data:
        fail("concurrency", _l("Enter how many copies may be lent at once."))
    for name, bounds in (
        ("concurrency", rules.CONCURRENCY),
        ("max_loan_days", rules.MAX_LOAN_DAYS),
    ):
        if name in data and (message := _number_error(data[name], bounds)):
            fail(name, message)
    total = data.get("checkouts_total")
    if total is not None and (message := _number_error(total, rules.CHECKOUTS)):
        fail("checkouts_total", message)
    expires = data.get("expires_at")
    if expires is not None and expires <= now:
        fail("expires_at", _l("This date has passed: an expired licence cannot lend."))
    if "note" in data and len(data["note"] or "") > rules.NOTE_MAX:
        fail("note", _l("At most %(n)d characters.", n=rules.NOTE_MAX))
    if "provider" in data and data["provider"] not in provider_keys():
        fail("provider", _l("Unknown licence provider."))
    if len(data.get("external_id") or "") > rules.EXTERNAL_ID_MAX:
        fail("external_id", _l("At most %(n)d characters.", n=rules.EXTERNAL_ID_MAX))
    return errors


def add_licence(
    actor: User, item: MediaItem, data: dict[str, Any], now: datetime | None = None
) -> Licence:
    """Add a licence the library bought to an item (staff); waiting holds get its copies."""
    require_staff(actor)
    now = now or utcnow()
    item = lock_item(item.id)
    errors = _validate(data, now, new=True)
    flags = {name: bool(data.get(name, default)) for name, default in FLAG_DEFAULTS.items()}
    if not (flags["download_allowed"] or flags["streaming_allowed"]):
        errors.setdefault("streaming_allowed", []).append(
            _l("A licence must allow download or streaming.")
        )
    if errors:
        raise Invalid(errors=errors)
    provider = data.get("provider") or "local"
    external_id = (data.get("external_id") or "").strip()
    if (
        external_id
        and db.session.execute(
            sa.select(Licence.id).where(
                Licence.provider == provider, Licence.external_id == external_id
            )
        ).first()
    ):
        raise Conflict(_l("This provider's licence is stocked already."), code="licence_exists")
    total = data.get("checkouts_total")
    licence = Licence(
        item_id=item.id,
        provider=provider,
        external_id=external_id,
        concurrency=data["concurrency"],
        checkouts_total=total,
        checkouts_left=total,
        expires_at=data.get("expires_at"),
        max_loan_days=data.get("max_loan_days") or rules.MAX_LOAN_DAYS_DEFAULT,
        note=(data.get("note") or "").strip(),
        created_by_id=actor.id,
        created_at=now,
        active_loans=0,
        reserved=0,
        **flags,
    )
    db.session.add(licence)
    db.session.flush()
    audit(
        actor,
        "library.licence_added",
        licence,
        item=item.id,
        kind=licence.kind.value,
        concurrency=licence.concurrency,
        checkouts=total,
        expires_at=licence.expires_at,
    )
    announce_copies_freed(item, now)
    return licence


def update_licence(
    actor: User, licence: Licence, data: dict[str, Any], now: datetime | None = None
) -> Licence:
    """Change a licence's concurrency, longest loan, protection terms or note (staff).

    Fewer copies than are lent or reserved now is refused; more copies go to waiting holds at
    once. Checkouts and expiry are what was bought: they are not edited.
    """
    require_staff(actor)
    now = now or utcnow()
    item = lock_item(licence.item_id)
    licence = lock_licence(licence.id)
    changes = {
        k: v for k, v in data.items() if k in ("concurrency", "max_loan_days", "note", *FLAGS)
    }
    errors = _validate(changes, now, new=False)
    in_use = licence.active_loans + licence.reserved + dedicated_idle(licence, now)
    if (
        "concurrency" in changes
        and not errors.get("concurrency")
        and changes["concurrency"] < in_use
    ):
        errors["concurrency"] = [
            _l(
                "%(n)d copies are lent or reserved now: the licence cannot have fewer.",
                n=in_use,
            )
        ]
    flags = {name: bool(changes.get(name, getattr(licence, name))) for name in FLAGS}
    if not (flags["download_allowed"] or flags["streaming_allowed"]):
        errors.setdefault("streaming_allowed", []).append(
            _l("A licence must allow download or streaming.")
        )
    if errors:
        raise Invalid(errors=errors)
    before = {name: getattr(licence, name) for name in changes}
    raised = changes.get("concurrency", licence.concurrency) > licence.concurrency
    for name, value in changes.items():
        setattr(licence, name, value.strip() if name == "note" else value)
    after = {name: getattr(licence, name) for name in changes}
    if before != after:
        audit(actor, "library.licence_changed", licence, before=before, after=after)
    db.session.flush()
    if raised:
        announce_copies_freed(item, now)
    return licence


def get_licence(actor: User, licence_id: int) -> Licence:
    """A licence for staff, or 404."""
    require_staff(actor)
    licence = db.session.get(Licence, licence_id)
    if licence is None:
        raise NotFound(_l("This licence does not exist."), code="licence_not_found")
    return licence


def get_stock_item(actor: User, item_id: int) -> MediaItem:
    """Any item (drafts and withdrawn ones too) for staff, or 404."""
    require_staff(actor)
    item = db.session.get(MediaItem, item_id)
    if item is None:
        raise NotFound(_l("This medium does not exist."), code="media_not_found")
    return item


def expiring_licences(actor: User, now: datetime | None = None) -> list[Licence]:
    """Licences that still lend and end within ``rules.EXPIRING_WITHIN``, soonest first."""
    require_staff(actor)
    now = now or utcnow()
    return list(
        db.session.execute(
            sa.select(Licence)
            .where(
                Licence.expires_at > now,
                Licence.expires_at <= now + rules.EXPIRING_WITHIN,
                sa.or_(Licence.checkouts_left.is_(None), Licence.checkouts_left > 0),
            )
            .options(selectinload(Licence.item))
            .order_by(Licence.expires_at, Licence.id)
        ).scalars()
    )
