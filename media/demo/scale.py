"""``flask demo seed --scale N``, media part: 200 × N metadata-only items, inserted in bulk.

The benchmark's catalogue (``--scale 100``: 20,000 items). Rows go in with one INSERT per
2,000 (items, people, keywords, numbers), not as ORM objects one by one; their search texts
are made by :func:`media.catalogue.validation.search_texts`, the function the services use, so
the full-text index (SQLite FTS5 through its triggers, PostgreSQL's generated ``tsvector``)
holds what it would hold had staff typed them in. Variety for facets and ranking: five kinds,
a town's languages, genres with their keywords, a few hundred authors shared across items,
series with numbers, age ratings, decades. Every item carries a ``DEMO-…`` number, so a second
run adds only what is missing.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from media.catalogue.validation import search_texts
from media.demo.files import isbn13
from media.models import (
    Contributor,
    ContributorRole,
    Identifier,
    IdentifierScheme,
    MediaItem,
    MediaKind,
    PublicationState,
    Subject,
)
from vhs.db import db, utcnow
from vhs.demo import FIRST, LAST, register_seeder

PER_SCALE = 200
CHUNK = 2000
PREFIX = "DEMO-"

KINDS = [MediaKind.EBOOK] * 8 + [MediaKind.AUDIOBOOK] * 4 + [MediaKind.EMAGAZINE] * 3
KINDS += [MediaKind.VIDEO] * 2 + [MediaKind.DOCUMENT] * 3
LANGUAGES = ["de"] * 85 + ["en"] * 6 + ["tr"] * 3 + ["ar", "ar", "uk", "uk", "fr", "es", "pl", "ru"]

PLACES = [
    "Seilersee",
    "Danzturm",
    "Hemberg",
    "Felsenmeer",
    "Lenneufer",
    "Marktplatz",
    "Bahnhof",
    "Stadtwald",
    "Fröndenberg",
    "Altena",
    "Hagen",
    "Menden",
    "Balve",
    "Hönnetal",
    "Nordsee",
    "Bodensee",
    "Eifel",
    "Harz",
    "Rhein",
    "Ruhr",
    "Möhnesee",
    "Sorpesee",
    "Kahlen Asten",
]
# genre: (title patterns, keywords, classification, min ages)
GENRES: dict[str, tuple[list[str], list[str], str, list[int | None]]] = {
    "krimi": (
        [
            "Tod am {p}",
            "Mord im {p}-Express",
            "Schatten über {p}",
            "Die Tote vom {p}",
            "Kalte Spur am {p}",
            "Nebel über dem {p}",
            "Das Schweigen von {p}",
            "Tatort {p}",
        ],
        ["Krimi", "Spannung", "Regionalkrimi", "Thriller", "Ermittlung"],
        "SL Krimi",
        [16, 12, None, 18],
    ),
    "roman": (
        [
            "Sommer am {p}",
            "Die Briefe aus {p}",
            "Das Haus am {p}",
            "Zwischen {p} und Meer",
            "Die Frauen vom {p}",
            "Heimkehr nach {p}",
            "Ein Jahr am {p}",
            "Der Garten in {p}",
        ],
        ["Roman", "Familie", "Liebe", "Historischer Roman", "Gegenwart"],
        "SL",
        [None, None, 12],
    ),
    "kinder": (
        [
            "Die Detektive vom {p}",
            "Abenteuer am {p}",
            "Der kleine Drache vom {p}",
            "Ferien am {p}",
            "Das Geheimnis vom {p}",
            "Wir entdecken den {p}",
        ],
        ["Kinderbuch", "Abenteuer", "Freundschaft", "Tiere", "Vorlesen", "Erstlesebuch"],
        "J 1 Erz",
        [0, 6, 6, 0],
    ),
    "sachbuch": (
        [
            "Wandern rund um {p}",
            "Natur am {p}",
            "Geschichte von {p}",
            "Wissen kompakt: {p}",
            "Unterwegs in {p}",
            "Vögel am {p}",
            "Das große Buch vom {p}",
        ],
        ["Sachbuch", "Natur", "Geschichte", "Wandern", "Reisen", "Vögel", "Geologie"],
        "Nat 200",
        [None, 12, 6],
    ),
    "ratgeber": (
        [
            "Gesund leben am {p}",
            "Ordnung schaffen",
            "Richtig sparen",
            "Besser schlafen",
            "Kochen für Familien",
            "Gärtnern in {p}",
            "Digital im Alltag",
            "Fit ab 60",
        ],
        ["Ratgeber", "Gesundheit", "Kochen", "Finanzen", "Garten", "Computer", "Familie"],
        "Wg 10",
        [None],
    ),
}
MAGAZINES = [
    "Stadtmagazin Iserlohn",
    "Sauerland Wandern",
    "Gartenfreund",
    "Computer & Alltag",
    "Familie heute",
    "Kochen & Genießen",
    "Rad & Tour",
    "Heimat Märkischer Kreis",
]
COURSES = [
    "Yoga",
    "Excel",
    "Aquarell",
    "Englisch",
    "Spanisch",
    "Italienisch kochen",
    "Fotografie",
    "Pilates",
    "Töpfern",
    "Stadtgeschichte",
    "Smartphone",
    "Gitarre",
]
DOCUMENTS = [
    "Programmheft",
    "Jahresbericht",
    "Veranstaltungskalender",
    "Protokoll des Kulturausschusses",
    "Lesetipps",
    "Haushaltsplan Kultur",
    "Satzung",
    "Wegweiser für Neubürger",
]
PUBLISHERS = [
    "Verlag am Danzturm",
    "Seilersee Verlag",
    "Hönnetal Kinderbuch",
    "Märkischer Sachbuchverlag",
    "Lenne Ratgeber",
    "Edition Felsenmeer",
    "Lenne Hörbuch",
    "Sauerland Audio",
    "Ruhrtal Verlag",
    "Westfalen Press",
]
BLURB = [
    "Eine Geschichte über Mut, Freundschaft und den Zufall.",
    "Spannend erzählt und gründlich recherchiert.",
    "Mit vielen Tipps aus der Praxis und Beispielen aus der Region.",
    "Ein Buch für alle, die das Sauerland lieben.",
    "Humorvoll, klug und überraschend.",
    "Für Einsteiger und Fortgeschrittene.",
    "Mit Karten, Bildern und Adressen.",
    "Die Fortsetzung des erfolgreichen ersten Bandes.",
]


def _authors(rng: random.Random, count: int) -> list[str]:
    """A pool of made-up names, shared by many items (so "more by" finds something)."""
    return sorted({f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(count)})


class _Rows:
    """The rows of one batch of items, with their people, keywords and numbers."""

    def __init__(self) -> None:
        """Empty lists."""
        self.items: list[dict[str, Any]] = []
        self.people: list[dict[str, Any]] = []
        self.subjects: list[dict[str, Any]] = []
        self.identifiers: list[dict[str, Any]] = []

    def flush(self) -> None:
        """Insert what has gathered, items first (one statement per table and 2,000 rows)."""
        for model, rows in (
            (MediaItem, self.items),
            (Contributor, self.people),
            (Subject, self.subjects),
            (Identifier, self.identifiers),
        ):
            for start in range(0, len(rows), CHUNK):
                db.session.execute(sa.insert(model), rows[start : start + CHUNK])
            rows.clear()


def _describe(kind: MediaKind, n: int, rng: random.Random, authors: list[str]) -> dict[str, Any]:
    """Title, people, keywords and extent of item ``n`` of ``kind``."""
    place = rng.choice(PLACES)
    series, number, age = "", None, None
    people: list[tuple[str, ContributorRole]] = []
    if kind in (MediaKind.EBOOK, MediaKind.AUDIOBOOK):
        genre = rng.choice(list(GENRES))
        patterns, keywords, classification, ages = GENRES[genre]
        title = rng.choice(patterns).format(p=place)
        subjects = [*rng.sample(keywords, 2), place]
        people.append((rng.choice(authors), ContributorRole.AUTHOR))
        if rng.random() < 0.25:
            series, number = f"{title.split()[-1]}-Reihe", rng.randint(1, 12)
        age = rng.choice(ages)
        extent = {"pages": rng.randint(48, 640)}
        if kind is MediaKind.AUDIOBOOK:
            people.append((rng.choice(authors[:40]), ContributorRole.NARRATOR))
            subjects.append("Hörbuch")
            extent = {"duration_seconds": rng.randint(1, 20) * 3600 + rng.randint(0, 59) * 60}
    elif kind is MediaKind.EMAGAZINE:
        series = rng.choice(MAGAZINES)
        month, year = rng.randint(1, 12), rng.randint(2015, 2026)
        title, number = f"{series} {month}/{year}", (year - 2000) * 12 + month
        subjects, classification = ["Zeitschrift", place], "Z"
        people.append((rng.choice(authors), ContributorRole.EDITOR))
        extent = {"pages": rng.randint(24, 96)}
    elif kind is MediaKind.VIDEO:
        series = f"{rng.choice(COURSES)} mit der VHS"
        number = rng.randint(1, 10)
        title = f"{series}: Teil {number}"
        subjects, classification, age = (
            ["Kursvideo", series.split()[0]],
            "Vid",
            rng.choice([0, 0, 6, 12]),
        )
        people.append((rng.choice(authors), ContributorRole.AUTHOR))
        extent = {"duration_seconds": rng.randint(10, 90) * 60}
    else:
        title = f"{rng.choice(DOCUMENTS)} {place} {rng.randint(2010, 2026)}"
        subjects, classification = ["Dokument", "Iserlohn", place], "A 100"
        people.append(("Stadt Iserlohn", ContributorRole.EDITOR))
        extent = {"pages": rng.randint(1, 120)}
    description = " ".join(rng.sample(BLURB, 2))
    return {
        "title": title,
        "series": series,
        "number": number,
        "age": age,
        "people": people,
        "subjects": sorted(set(subjects)),  # as an item lists them (by term)
        "classification": classification,
        "description": f"{title}. {description}",
        **extent,
    }


def seed_media_at_scale(scale: int, rng: random.Random, context: dict[str, Any]) -> None:
    """``200 × scale`` published, metadata-only items (no covers, no files), in bulk."""
    wanted = PER_SCALE * max(1, scale)
    have = set(
        db.session.scalars(
            sa.select(Identifier.value).where(
                Identifier.scheme == IdentifierScheme.OTHER, Identifier.value.like(f"{PREFIX}%")
            )
        )
    )
    authors = _authors(random.Random(7), 600)
    next_id = (db.session.scalar(sa.select(sa.func.max(MediaItem.id))) or 0) + 1
    now = utcnow()
    rows = _Rows()
    for n in range(wanted):
        number = f"{PREFIX}{n + 1:06d}"
        if number in have:
            continue
        kind = rng.choice(KINDS)
        d = _describe(kind, n, rng, authors)
        publisher = (
            "VHS Iserlohn"
            if kind in (MediaKind.VIDEO, MediaKind.DOCUMENT)
            else rng.choice(PUBLISHERS)
        )
        head, document = search_texts(
            title=d["title"],
            subtitle="",
            series_title=d["series"],
            people=(name for name, _role in d["people"]),
            subjects=d["subjects"],
            classification=d["classification"],
            publisher=publisher,
            description=d["description"],
        )
        published = now - timedelta(days=1 + n % 900, minutes=n % 1440)
        rows.items.append(
            {
                "id": next_id,
                "kind": kind,
                "state": PublicationState.PUBLISHED,
                "title": d["title"],
                "subtitle": "",
                "publisher": publisher,
                "year": rng.randint(1990, 2026),
                "language": rng.choice(LANGUAGES) if kind is not MediaKind.DOCUMENT else "de",
                "description": d["description"],
                "classification": d["classification"],
                "series_title": d["series"],
                "series_number": d["number"],
                "min_age": d["age"],
                "pages": d.get("pages"),
                "duration_seconds": d.get("duration_seconds"),
                "cover_sha256": None,
                "search_head": head,
                "search_document": document,
                "created_at": published,
                "updated_at": published,
                "published_at": published,
                "withdrawn_at": None,
            }
        )
        rows.people += [
            {"item_id": next_id, "position": p, "name": name, "role": role}
            for p, (name, role) in enumerate(d["people"])
        ]
        rows.subjects += [{"item_id": next_id, "term": term} for term in d["subjects"]]
        rows.identifiers.append(
            {"item_id": next_id, "scheme": IdentifierScheme.OTHER, "value": number}
        )
        if kind in (MediaKind.EBOOK, MediaKind.AUDIOBOOK):
            isbn = isbn13(f"9798{7 if kind is MediaKind.EBOOK else 8}{n + 1:07d}")
            rows.identifiers.append(
                {"item_id": next_id, "scheme": IdentifierScheme.ISBN, "value": isbn}
            )
        next_id += 1
        if len(rows.items) >= CHUNK:
            rows.flush()
    rows.flush()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence('media_items', 'id'), "
                "(SELECT max(id) FROM media_items))"
            )
        )
    db.session.flush()


register_seeder(75, seed_media_at_scale)
