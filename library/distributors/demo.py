"""The demo's distributor: off unless ``VHS_LIBRARY_DEMO_DISTRIBUTOR_URL`` names an ODL feed
(the embedded default lends local licences only). When set, ``flask demo seed`` connects that
feed once (a second run finds it connected) and syncs it, so the demo lends some titles
through a distributor — the stand-in (``python -m tests.library.odl_standin``) serves one."""

from __future__ import annotations

import random
from typing import Any

import sqlalchemy as sa
from flask import current_app

from library.distributors.models import Distributor
from library.distributors.services import add_distributor
from library.distributors.sync import sync_distributor
from media.imports.runs import system_actor
from vhs.db import db
from vhs.demo import register_seeder


def seed_distributor(scale: int, rng: random.Random, context: dict[str, Any]) -> None:
    """Connect and sync the configured demo feed, if any."""
    feed = current_app.config["VHS"].library_demo_distributor_url
    if not feed:
        return
    distributor_id = db.session.execute(
        sa.select(Distributor.id).where(Distributor.feed_url == feed)
    ).scalar()
    if distributor_id is None:
        distributor_id = add_distributor(
            system_actor(), {"name": "Demo-Anbieter (ODL)", "feed_url": feed}
        ).id
    sync_distributor(distributor_id)


register_seeder(90, seed_distributor)  # after the lending data: its licences are extra
