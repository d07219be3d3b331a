"""Demo accounts (the core's part of ``flask demo seed``); domains add their own data."""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from vhs.accounts.models import Role, User
from vhs.accounts.services import hash_password
from vhs.db import db, utcnow

DEMO_PASSWORD = "vhs-demo-2027"
DEMO_LOGINS = {
    "password": DEMO_PASSWORD,
    "accounts": {
        "admin": "admin@vhs.example",
        "staff": "verwaltung@vhs.example",
        "instructor": "dozentin@vhs.example",
        "resident": "teilnehmer@vhs.example",
    },
}

# Domains add to the demo data: each seeder gets (scale, rng, context) and may add to context.
_seeders: list[tuple[int, Callable[..., None]]] = []


def register_seeder(order: int, func: Callable[..., None]) -> None:
    """Register a demo-data step; lower ``order`` runs first."""
    _seeders.append((order, func))


def seeders() -> list[Callable[..., None]]:
    """The registered demo-data steps in their order (``flask demo seed`` runs them)."""
    if not _seeders:
        raise RuntimeError("no demo seeders registered: create the app first")
    return [func for _order, func in sorted(_seeders, key=lambda s: s[0])]


FIRST = [
    "Anna",
    "Jonas",
    "Leonie",
    "Mehmet",
    "Sophie",
    "Lukas",
    "Emma",
    "Finn",
    "Marie",
    "Elias",
    "Hannah",
    "Paul",
    "Lea",
    "Ben",
    "Mia",
    "Noah",
    "Aylin",
    "Jürgen",
    "Ursula",
    "Dieter",
    "Gülsen",
    "Björn",
    "Käthe",
    "Olga",
    "Piotr",
    "Fatma",
    "Sören",
    "Renate",
]
LAST = [
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Koch",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Yılmaz",
    "Kaya",
    "Nowak",
    "Kowalski",
    "Groß",
    "Köhler",
    "Lehmann",
    "Krüger",
]
STREETS = [
    "Hauptstraße",
    "Bahnhofstraße",
    "Kirchstraße",
    "Schillerstraße",
    "Am Poth",
    "Wermingser Straße",
    "Theodor-Heuss-Ring",
    "Unnaer Straße",
]


def seed_accounts(scale: int, rng: random.Random, context: dict[str, Any]) -> None:
    """Demo logins, instructors and residents (20,000 residents at ``--scale 100``)."""
    pw = hash_password(DEMO_PASSWORD)
    now = utcnow()
    named = [
        ("admin@vhs.example", "Petra Adler", Role.ADMIN),
        ("verwaltung@vhs.example", "Stefan Sommer", Role.STAFF),
        ("dozentin@vhs.example", "Dr. Ingrid Brückner", Role.INSTRUCTOR),
        ("teilnehmer@vhs.example", "Max Mustermann", Role.RESIDENT),
    ]
    existing = set(db.session.scalars(sa.select(User.email)))
    for email, name, role in named:
        if email in existing:
            continue
        db.session.add(
            User(
                email=email,
                name=name,
                role=role,
                password_hash=pw,
                locale="de",
                email_verified_at=now,
                session_token=secrets.token_hex(16),
                street="Hauptstraße 1",
                postal_code="58636",
                city="Iserlohn",
            )
        )
    n_instructors = 12 * max(1, min(scale, 20))
    n_residents = 200 * max(1, scale)
    rows = []
    for i in range(n_instructors):
        email = f"dozent{i + 1}@vhs.example"
        if email in existing:
            continue
        rows.append(
            dict(
                email=email,
                name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                role=Role.INSTRUCTOR,
                password_hash=pw,
                locale="de",
                email_verified_at=now,
                session_token=secrets.token_hex(16),
                street="",
                postal_code="",
                city="",
                created_at=now,
            )
        )
    for i in range(n_residents):
        email = f"person{i + 1}@example.org"
        if email in existing:
            continue
        rows.append(
            dict(
                email=email,
                name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                role=Role.RESIDENT,
                password_hash=pw,
                locale="en" if rng.random() < 0.1 else "de",
                email_verified_at=now,
                session_token=secrets.token_hex(16),
                street=f"{rng.choice(STREETS)} {rng.randint(1, 120)}",
                postal_code=rng.choice(["58636", "58638", "58640", "58642", "58644"]),
                city="Iserlohn",
                created_at=now,
            )
        )
    for start in range(0, len(rows), 2000):
        db.session.execute(sa.insert(User), rows[start : start + 2000])
    db.session.flush()
    context["instructor_ids"] = list(
        db.session.scalars(sa.select(User.id).where(User.role == Role.INSTRUCTOR).order_by(User.id))
    )
    context["resident_ids"] = list(
        db.session.scalars(sa.select(User.id).where(User.role == Role.RESIDENT).order_by(User.id))
    )


register_seeder(10, seed_accounts)
