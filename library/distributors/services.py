"""Staff managing distributors: list, add, change, delete, and "sync now".

The password is write-only: stored encrypted, never shown back (forms and the API say only
whether one is stored); leaving it empty when editing keeps it. A distributor with loans
still running, or returns it has not confirmed yet, cannot be deleted: its account is what
those need. Deleting one stops its licences lending (the items stay in the catalogue).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from library.distributors.client import encrypt_secret
from library.distributors.convergence import stop_lending
from library.distributors.models import Distributor, OdlLicence, OdlLoan, ReturnState
from library.distributors.sync import sync_distributor
from library.licences.services import lock_item, lock_licence
from library.models import Loan
from media.catalogue.services import require_staff
from vhs.accounts.models import User
from vhs.audit import audit
from vhs.db import db, lock, utcnow
from vhs.errors import Conflict, Invalid, NotFound
from vhs.tasks import queue_job
from vhs.uow import on_commit

NAME_MAX = 120
URL_MAX = 1000
USERNAME_MAX = 200
PASSWORD_MAX = 200
SYNC_JOB = "library_odl_sync"


def list_distributors(actor: User) -> list[Distributor]:
    """Every distributor, by name (staff)."""
    require_staff(actor)
    return list(
        db.session.execute(
            sa.select(Distributor).order_by(Distributor.name, Distributor.id)
        ).scalars()
    )


def get_distributor(actor: User, distributor_id: int) -> Distributor:
    """One distributor (staff), or 404."""
    require_staff(actor)
    distributor = db.session.get(Distributor, distributor_id)
    if distributor is None:
        raise NotFound(_l("This distributor does not exist."), code="distributor_not_found")
    return distributor


def _validate(data: dict[str, Any], *, new: bool, current: Distributor | None) -> dict[str, Any]:
    """Clean values of the fields present; Invalid with every problem at once."""
    errors: dict[str, list[Any]] = {}
    clean: dict[str, Any] = {}

    def fail(name: str, message: Any) -> None:
        errors.setdefault(name, []).append(message)

    if "name" in data or new:
        name = " ".join(str(data.get("name") or "").split())
        if not name:
            fail("name", _l("Please enter a name."))
        elif len(name) > NAME_MAX:
            fail("name", _l("At most %(n)d characters.", n=NAME_MAX))
        clean["name"] = name
    if "feed_url" in data or new:
        url = str(data.get("feed_url") or "").strip()
        parts = urlsplit(url)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or any(c.isspace() for c in url)
        ):
            fail("feed_url", _l("Enter the feed's address, starting with https://."))
        elif len(url) > URL_MAX:
            fail("feed_url", _l("At most %(n)d characters.", n=URL_MAX))
        else:
            taken = db.session.execute(
                sa.select(Distributor.id).where(Distributor.feed_url == url)
            ).scalar()
            if taken is not None and (current is None or taken != current.id):
                fail("feed_url", _l("A distributor with this feed exists already."))
        clean["feed_url"] = url
    if "username" in data:
        username = str(data.get("username") or "").strip()
        if len(username) > USERNAME_MAX:
            fail("username", _l("At most %(n)d characters.", n=USERNAME_MAX))
        clean["username"] = username
    if data.get("password"):
        password = str(data["password"])
        if len(password) > PASSWORD_MAX:
            fail("password", _l("At most %(n)d characters.", n=PASSWORD_MAX))
        clean["password"] = password
    if errors:
        raise Invalid(errors=errors)
    return clean


def add_distributor(actor: User, data: dict[str, Any], now: datetime | None = None) -> Distributor:
    """Add a distributor (staff); its first sync runs with the next sync job (or "sync now")."""
    require_staff(actor)
    clean = _validate(data, new=True, current=None)
    distributor = Distributor(
        name=clean["name"],
        feed_url=clean["feed_url"],
        username=clean.get("username", ""),
        secret_encrypted=encrypt_secret(clean.get("password", "")),
        patron_key=secrets.token_hex(32),
        created_at=now or utcnow(),
        created_by_id=actor.id,
        last_sync_summary="",
    )
    db.session.add(distributor)
    db.session.flush()
    audit(
        actor,
        "library.distributor_added",
        distributor,
        name=distributor.name,
        feed=distributor.feed_url,
    )
    return distributor


def update_distributor(actor: User, distributor: Distributor, data: dict[str, Any]) -> Distributor:
    """Change name, feed, account (staff); an empty password keeps the stored one,
    ``clear_password`` removes it."""
    require_staff(actor)
    distributor = _locked(distributor.id)
    clean = _validate(data, new=False, current=distributor)
    changed = sorted(k for k in clean if k != "password" and clean[k] != getattr(distributor, k))
    for key in ("name", "feed_url", "username"):
        if key in clean:
            setattr(distributor, key, clean[key])
    if "password" in clean:
        distributor.secret_encrypted = encrypt_secret(clean["password"])
        changed.append("password")
    elif data.get("clear_password") and distributor.secret_encrypted:
        distributor.secret_encrypted = ""
        changed.append("password")
    db.session.flush()
    if changed:
        audit(actor, "library.distributor_changed", distributor, fields=changed)
    return distributor


def _locked(distributor_id: int) -> Distributor:
    distributor = lock(Distributor, distributor_id)
    if distributor is None:
        raise NotFound(_l("This distributor does not exist."), code="distributor_not_found")
    return distributor


def in_use(distributor: Distributor) -> int:
    """Open loans on the distributor's licences plus returns it still has to confirm."""
    licence_ids = sa.select(OdlLicence.licence_id).where(
        OdlLicence.distributor_id == distributor.id
    )
    loans = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Loan)
        .where(Loan.licence_id.in_(licence_ids), Loan.ended_at.is_(None))
    )
    owed = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(OdlLoan)
        .where(OdlLoan.licence_id.in_(licence_ids), OdlLoan.return_state == ReturnState.PENDING)
    )
    return int(loans or 0) + int(owed or 0)


def delete_distributor(actor: User, distributor: Distributor, now: datetime | None = None) -> None:
    """Delete a distributor (staff): its licences stop lending; refused while in use."""
    require_staff(actor)
    now = now or utcnow()
    distributor = _locked(distributor.id)
    if in_use(distributor):
        raise Conflict(
            _l(
                "Loans of this distributor are still running or being returned; "
                "it can be deleted once they have ended."
            ),
            code="distributor_in_use",
        )
    rows = (
        db.session.execute(sa.select(OdlLicence).where(OdlLicence.distributor_id == distributor.id))
        .scalars()
        .all()
    )
    for row in rows:
        lock_item(row.licence.item_id)
        stop_lending(lock_licence(row.licence_id), now)
        db.session.delete(row)
    audit(
        actor, "library.distributor_deleted", distributor, name=distributor.name, licences=len(rows)
    )
    db.session.delete(distributor)
    db.session.flush()


def request_sync(actor: User, distributor: Distributor, now: datetime | None = None) -> Distributor:
    """Ask for a sync now (staff): a Celery worker runs it when configured, else this process
    right after the commit (the answer waits for it, bounded by the feed's timeouts)."""
    require_staff(actor)
    distributor = _locked(distributor.id)
    distributor.sync_requested_at = now or utcnow()
    db.session.flush()
    audit(actor, "library.distributor_sync_requested", distributor)
    if current_app.config["VHS"].celery_broker_url:
        on_commit(partial(queue_job, SYNC_JOB))
    else:
        on_commit(partial(sync_distributor, distributor.id))
    return distributor
