"""``flask demo seed``, library part: cards, licences, loans and holds, inserted in bulk.

At ``--scale 100`` (the benchmark's data set): 2,000 residents with library cards, a licence
for every e-book, audiobook and e-magazine (about 15,000 of the 20,000 items: mostly
one-copy-one-user, some with several copies, a fifth metered "K-Lizenzen" of 26 checkouts,
a tenth time-limited), 50,000 loans over the last two years — 4,000 of them open, the rest
returned or expired — and waiting holds on a few hundred items whose copies are all out.
Rows go in with one INSERT per 2,000, not as ORM objects one by one; the licences' counters
(``active_loans``, ``checkouts_left``) are computed from the loans inserted, so every
invariant the database guards holds (the CHECK constraints and triggers run on these rows as
on any). Ended loans have forgotten their patron, as the services make them forget unless a
patron opted in to a reading history (nobody has in the demo). The demo resident (``teilnehmer@vhs.example``) gets a card too, and
``person1@example.org`` as many open loans as the limit allows ("a patron with many loans" of
the benchmark). A second run finds the demo licences and adds nothing.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from library import rules
from library.models import (
    CardState,
    Hold,
    HoldState,
    LibraryCard,
    Licence,
    Loan,
    LoanEnd,
    RetiredCardNumber,
)
from media.models import MediaItem, MediaKind, PublicationState
from vhs.accounts.models import User
from vhs.db import db, utcnow
from vhs.demo import DEMO_LOGINS, register_seeder

PATRONS_PER_SCALE = 20
LOANS_PER_SCALE = 500
OPEN_PER_SCALE = 40
HELD_ITEMS_PER_SCALE = 3
CHUNK = 2000
DEMO_NOTE = "Demo-Bestand"  # marks the seeded licences: a second run adds nothing
LENT_KINDS = (MediaKind.EBOOK, MediaKind.AUDIOBOOK, MediaKind.EMAGAZINE)
HISTORY_DAYS = 730
MANY_LOANS_PATRON = "person1@example.org"


def _insert(model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        db.session.execute(sa.insert(model), rows[start : start + CHUNK])


def _card_numbers(count: int, rng: random.Random) -> list[str]:
    """``count`` unused numbers of the configured prefix with their Luhn check digit."""
    prefix = current_app.config["VHS"].library_card_prefix
    taken = set(db.session.scalars(sa.select(LibraryCard.number)))
    taken |= set(db.session.scalars(sa.select(RetiredCardNumber.number)))
    numbers: list[str] = []
    while len(numbers) < count:
        body = prefix + "".join(rng.choice("0123456789") for _ in range(rules.CARD_RANDOM_DIGITS))
        number = body + rules.luhn_check_digit(body)
        if number not in taken:
            taken.add(number)
            numbers.append(number)
    return numbers


def _patrons(scale: int, rng: random.Random, now: datetime) -> list[int]:
    """Cards for the demo resident and the first ``20 × scale`` residents; their user ids."""
    emails = [DEMO_LOGINS["accounts"]["resident"]]
    emails += [f"person{n}@example.org" for n in range(1, PATRONS_PER_SCALE * scale + 1)]
    users = {
        e: i
        for e, i in db.session.execute(sa.select(User.email, User.id).where(User.email.in_(emails)))
    }
    carded = set(db.session.scalars(sa.select(LibraryCard.user_id)))
    ids = [users[e] for e in emails if e in users]
    new = [uid for uid in ids if uid not in carded]
    valid_until = date.today() + timedelta(days=365)
    _insert(
        LibraryCard,
        [
            {
                "user_id": uid,
                "number": number,
                "pin_hash": None,  # they log in with e-mail address and password
                "state": CardState.ACTIVE,
                "valid_until": valid_until,
                "fee_paid_until": valid_until,
                "created_at": now - timedelta(days=HISTORY_DAYS + 30),
                "issued_at": now - timedelta(days=HISTORY_DAYS + 30),
                "blocked_reason": "",
            }
            for uid, number in zip(new, _card_numbers(len(new), rng), strict=True)
        ],
    )
    return ids


def _licences(rng: random.Random, now: datetime) -> list[dict[str, Any]]:
    """A licence for every published e-book, audiobook and e-magazine without one."""
    items = db.session.execute(
        sa.select(MediaItem.id, MediaItem.kind)
        .where(
            MediaItem.state == PublicationState.PUBLISHED,
            MediaItem.kind.in_(LENT_KINDS),
            ~sa.exists().where(Licence.item_id == MediaItem.id),
        )
        .order_by(MediaItem.id)
    ).all()
    rows = []
    for item_id, kind in items:
        metered = rng.random() < 0.2
        expires = rng.random() < 0.1
        rows.append(
            {
                "item_id": item_id,
                "provider": "local",
                "external_id": "",
                "concurrency": rng.choice([1] * 6 + [2, 2, 3, 5]),
                "checkouts_total": 26 if metered else None,
                "checkouts_left": 26 if metered else None,
                "expires_at": now + timedelta(days=rng.randint(400, 800)) if expires else None,
                "max_loan_days": 7 if kind is MediaKind.EMAGAZINE else 21,
                "download_allowed": True,
                "streaming_allowed": True,
                "print_allowed": False,
                "copy_allowed": False,
                "active_loans": 0,
                "reserved": 0,
                "note": DEMO_NOTE,
                "created_at": now - timedelta(days=HISTORY_DAYS + 1),
            }
        )
    _insert(Licence, rows)
    return [
        dict(row._mapping)
        for row in db.session.execute(
            sa.select(
                Licence.id,
                Licence.item_id,
                Licence.concurrency,
                Licence.checkouts_total,
                Licence.max_loan_days,
            )
            .where(Licence.note == DEMO_NOTE)
            .order_by(Licence.id)
        )
    ]


def seed_lending(scale: int, rng: random.Random, context: dict[str, Any]) -> None:
    """Cards, licences, ``500 × scale`` loans (``40 × scale`` open) and some holds, in bulk."""
    if db.session.scalar(sa.select(sa.func.count()).where(Licence.note == DEMO_NOTE)):
        return
    scale = max(1, scale)
    now = utcnow().replace(microsecond=0)
    patrons = _patrons(scale, rng, now)
    licences = _licences(rng, now)
    if not patrons or not licences:
        return
    max_loans = rules.max_loans()
    left = {lic["id"]: lic["checkouts_total"] for lic in licences}  # None: unmetered
    out = {lic["id"]: 0 for lic in licences}
    open_by_patron: dict[int, set[int]] = {p: set() for p in patrons}
    loans: list[dict[str, Any]] = []

    def take(lic: dict[str, Any]) -> bool:
        if left[lic["id"]] is None:
            return True
        if left[lic["id"]] < 1:
            return False
        left[lic["id"]] -= 1
        return True

    # Open loans: the many-loans patron first (as many as the limit allows), then at random.
    many = db.session.scalar(sa.select(User.id).where(User.email == MANY_LOANS_PATRON))
    wanted_open = min(OPEN_PER_SCALE * scale, len(patrons) * max_loans)
    order = rng.sample(licences, len(licences))
    for lic in order:
        if len(loans) >= wanted_open:
            break
        if out[lic["id"]] >= lic["concurrency"]:
            continue
        if many in open_by_patron and len(open_by_patron[many]) < max_loans:
            patron = many
        else:
            patron = rng.choice(patrons)
        if len(open_by_patron[patron]) >= max_loans or lic["item_id"] in open_by_patron[patron]:
            continue
        if not take(lic):
            continue
        days = min(rng.choice(rules.LOAN_PERIODS), lic["max_loan_days"])
        started = now - timedelta(days=rng.uniform(0, days - 0.5))
        out[lic["id"]] += 1
        open_by_patron[patron].add(lic["item_id"])
        loans.append(
            {
                "item_id": lic["item_id"],
                "licence_id": lic["id"],
                "user_id": patron,
                "started_at": started,
                "due_at": started + timedelta(days=days),
                "renewals": 0,
                "ended_at": None,
                "end_reason": None,
                "external_id": "",
            }
        )
    # Ended loans over the last two years: mostly returned early, the rest ran out.
    total = LOANS_PER_SCALE * scale
    while len(loans) < total:
        lic = rng.choice(licences)
        if not take(lic):
            continue
        days = min(rng.choice(rules.LOAN_PERIODS), lic["max_loan_days"])
        started = now - timedelta(days=rng.uniform(days + 1, HISTORY_DAYS))
        due = started + timedelta(days=days)
        returned = rng.random() < 0.6
        ended = started + timedelta(days=rng.uniform(0.1, days)) if returned else due
        loans.append(
            {
                "item_id": lic["item_id"],
                "licence_id": lic["id"],
                "user_id": None,  # an ended loan forgets its patron (no demo patron opted in)
                "started_at": started,
                "due_at": due,
                "renewals": 0,
                "ended_at": ended,
                "end_reason": LoanEnd.RETURNED if returned else LoanEnd.EXPIRED,
                "external_id": "",
            }
        )
    _insert(Loan, loans)
    # The counters follow the loans (checkouts_left only goes down: set once, here).
    for lic in licences:
        values: dict[str, Any] = {}
        if out[lic["id"]]:
            values["active_loans"] = out[lic["id"]]
        if left[lic["id"]] is not None and left[lic["id"]] != lic["checkouts_total"]:
            values["checkouts_left"] = left[lic["id"]]
        if values:
            db.session.execute(sa.update(Licence).where(Licence.id == lic["id"]).values(**values))
    _holds(scale, rng, now, licences, out, left, open_by_patron)
    db.session.flush()


def _holds(
    scale: int,
    rng: random.Random,
    now: datetime,
    licences: list[dict[str, Any]],
    out: dict[int, int],
    left: dict[int, int | None],
    open_by_patron: dict[int, set[int]],
) -> None:
    """Waiting holds (one to three) on items whose every copy is out: only then may one
    reserve."""
    free: dict[int, int] = {}
    lendable: set[int] = set()
    for lic in licences:
        copies = lic["concurrency"] - out[lic["id"]]
        if left[lic["id"]] is not None:
            copies = min(copies, left[lic["id"]])
        free[lic["item_id"]] = free.get(lic["item_id"], 0) + max(copies, 0)
        if left[lic["id"]] is None or left[lic["id"]] > 0:
            lendable.add(lic["item_id"])
    lent = {i for items in open_by_patron.values() for i in items}
    full = sorted(i for i, n in free.items() if n == 0 and i in lendable and i in lent)
    full = full[: HELD_ITEMS_PER_SCALE * scale]
    patrons = list(open_by_patron)
    holds_of: dict[int, int] = {}
    rows = []
    max_holds = rules.max_holds()
    for item_id in full:
        queue = rng.sample(patrons, min(len(patrons), rng.randint(1, 3)))
        for n, patron in enumerate(queue):
            if item_id in open_by_patron[patron] or holds_of.get(patron, 0) >= max_holds:
                continue
            holds_of[patron] = holds_of.get(patron, 0) + 1
            rows.append(
                {
                    "item_id": item_id,
                    "user_id": patron,
                    "state": HoldState.WAITING,
                    "placed_at": now - timedelta(days=rng.randint(1, 6), minutes=n),
                }
            )
    _insert(Hold, rows)


register_seeder(80, seed_lending)  # after the media at scale: their items get the licences
