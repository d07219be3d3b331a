"""The lending part of ``flask demo seed``: bulk rows that keep every invariant of lending."""

from __future__ import annotations

import random

import sqlalchemy as sa
from flask import Flask

from library import demo
from library.circulation import services
from library.licences.availability import item_copies
from library.models import Hold, HoldState, LibraryCard, Licence, Loan
from media.demo.scale import seed_media_at_scale
from vhs.accounts.models import User
from vhs.db import db, utcnow
from vhs.demo import seed_accounts


def test_the_lending_seed_is_consistent_and_runs_once(ctx: Flask) -> None:
    rng = random.Random(5)
    context: dict = {}
    seed_accounts(1, rng, context)
    seed_media_at_scale(1, rng, context)
    demo.seed_lending(1, rng, context)

    cards = db.session.scalar(sa.select(sa.func.count()).select_from(LibraryCard))
    assert cards == demo.PATRONS_PER_SCALE + 1  # and the demo resident's
    loans = db.session.execute(sa.select(Loan)).scalars().all()
    assert len(loans) == demo.LOANS_PER_SCALE
    open_loans = [loan for loan in loans if loan.ended_at is None]
    assert len(open_loans) == demo.OPEN_PER_SCALE
    assert all(loan.user_id is None for loan in loans if loan.ended_at is not None)  # no history
    # Every licence's counters are what its loans say.
    for lic in db.session.execute(sa.select(Licence)).scalars():
        mine = [loan for loan in loans if loan.licence_id == lic.id]
        assert lic.active_loans == sum(loan.ended_at is None for loan in mine)
        if lic.checkouts_total is not None:
            assert lic.checkouts_left == lic.checkouts_total - len(mine)
    # Holds wait only where no copy is free.
    holds = db.session.execute(sa.select(Hold)).scalars().all()
    assert holds and all(h.state is HoldState.WAITING for h in holds)
    now = utcnow()
    assert all(item_copies(h.item_id, now).available == 0 for h in holds)
    # The patron with many loans has as many as the limit allows, and sees them.
    many = db.session.execute(
        sa.select(User).where(User.email == demo.MANY_LOANS_PATRON)
    ).scalar_one()
    assert len(services.my_loans(many)) == ctx.config["VHS"].library_max_loans

    demo.seed_lending(1, rng, context)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Loan)) == len(loans)
