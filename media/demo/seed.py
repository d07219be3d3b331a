"""``flask demo seed``, media part: the curated stock with covers and real files, as staff
would stock it.

Every item goes through the catalogue's services (``save_item``, ``publish_item``), its cover
through the cover service (``set_cover``: thumbnails in storage) and its file through the
upload service (``add_file``: format detection, SHA-256, metadata read back from the file,
storage) as the demo staff account (Verwaltung). E-books get an EPUB 3, audiobooks an MP3
"Hörprobe" with chapters, e-magazines and documents a PDF; the demo has no video encoder, so
videos have a cover and no file. Items already there (matched on their identifier) are left
alone, so a second run adds nothing. ``--scale`` adds metadata-only items in bulk
(``media.demo.scale``).
"""

from __future__ import annotations

import io
import random
from typing import Any

import sqlalchemy as sa

from media.catalogue.services import publish_item, save_item
from media.demo import files, texts
from media.demo.catalogue import Entry, curated
from media.demo.covers import draw_cover
from media.files.services import add_file, set_cover
from media.models import ContributorRole, Identifier, MediaKind
from vhs.accounts.models import User
from vhs.db import db
from vhs.demo import DEMO_LOGINS, register_seeder

# Cover colours per genre: (background, accent); one is picked per item.
PALETTES: dict[str, list[tuple[tuple[int, int, int], tuple[int, int, int]]]] = {
    "krimi": [
        ((92, 18, 28), (140, 40, 52)),
        ((24, 32, 48), (60, 78, 104)),
        ((30, 30, 30), (150, 20, 20)),
    ],
    "kinder": [
        ((250, 210, 90), (240, 150, 60)),
        ((150, 210, 120), (90, 170, 90)),
        ((130, 200, 235), (250, 250, 250)),
    ],
    "sachbuch": [
        ((40, 110, 80), (90, 160, 110)),
        ((230, 225, 210), (120, 150, 90)),
        ((20, 80, 120), (60, 140, 180)),
    ],
    "ratgeber": [
        ((245, 240, 230), (230, 120, 50)),
        ((0, 120, 140), (80, 190, 200)),
        ((250, 250, 250), (40, 90, 160)),
    ],
    "roman": [
        ((200, 120, 90), (240, 190, 150)),
        ((60, 70, 110), (210, 170, 90)),
        ((230, 215, 195), (170, 90, 80)),
    ],
    "klassiker": [
        ((120, 30, 40), (200, 170, 100)),
        ((30, 50, 40), (200, 170, 100)),
        ((235, 225, 200), (90, 60, 40)),
    ],
    "magazin": [
        ((220, 40, 60), (255, 255, 255)),
        ((30, 130, 200), (255, 220, 0)),
        ((40, 40, 40), (240, 200, 0)),
    ],
    "video": [
        ((20, 60, 110), (0, 160, 200)),
        ((70, 20, 90), (200, 80, 160)),
        ((10, 90, 70), (120, 200, 120)),
    ],
    "dokument": [((245, 245, 245), (0, 95, 150)), ((0, 95, 150), (255, 255, 255))],
}
KIND_LINE = {
    MediaKind.EBOOK: "E-Book",
    MediaKind.AUDIOBOOK: "Hörbuch",
    MediaKind.EMAGAZINE: "E-Magazin",
    MediaKind.VIDEO: "Video",
    MediaKind.DOCUMENT: "Dokument",
}
RELATORS = {
    ContributorRole.AUTHOR: "aut",
    ContributorRole.NARRATOR: "nrt",
    ContributorRole.EDITOR: "edt",
    ContributorRole.TRANSLATOR: "trl",
    ContributorRole.ILLUSTRATOR: "ill",
}
ISO639_2 = {"de": "deu", "en": "eng", "tr": "tur", "ar": "ara", "uk": "ukr"}

# Note names to Hz (equal temperament, A4 = 440 Hz); a tune per genre, three phrases each
# (the audio's chapters). "Alle meine Entchen" is a traditional children's song.
NOTE = {
    "C": 261.63,
    "D": 293.66,
    "E": 329.63,
    "F": 349.23,
    "G": 392.0,
    "A": 440.0,
    "H": 493.88,
    "c": 523.25,
    "-": 0.0,
}
TUNES = {
    "kinder": ["CDEFG-G-", "AAAAG---", "FFFFE-E-DDDDC---"],
    "krimi": ["AcEA-GE-", "FEDE----", "AAGFE-D-"],
    "sachbuch": ["CEGc-GE-", "DFAc-AF-", "EGHc----"],
}
BEAT = 0.25  # seconds per note


def _tune(genre: str) -> tuple[bytes, list[tuple[str, int, int]]]:
    """MPEG frames of ``genre``'s tune and its phrases as chapters (name, start ms, end ms)."""
    phrases = TUNES.get(genre, TUNES["sachbuch"])
    notes = [(NOTE[n], BEAT) for phrase in phrases for n in phrase]
    chapters, start = [], 0
    for number, phrase in enumerate(phrases, 1):
        end = start + round(len(phrase) * BEAT * 1000)
        chapters.append((f"Kapitel {number}", start, end))
        start = end
    return files.encode_mp3(files.tones(notes)), chapters


class Maker:
    """Makes each item's cover and file; audio is encoded once per tune."""

    def __init__(self) -> None:
        """Start with no tune encoded."""
        self._tunes: dict[str, tuple[bytes, list[tuple[str, int, int]]]] = {}

    def cover(self, entry: Entry, index: int) -> bytes:
        """The item's cover."""
        colours = PALETTES[entry.genre]
        background, accent = colours[index % len(colours)]
        top = KIND_LINE[entry.kind]
        if entry.series and entry.number is not None and entry.kind is not MediaKind.EMAGAZINE:
            top = f"{entry.series} · Band {entry.number}"
        people = " · ".join(name for name, _role in entry.people[:2])
        return draw_cover(
            entry.title,
            people,
            colour=background,
            accent=accent,
            top_line=top,
            bottom_line=entry.publisher,
            motif=index,
        )

    def file(self, entry: Entry, cover: bytes) -> tuple[bytes, str, str] | None:
        """(bytes, file name, label) of the item's file, or None (videos)."""
        if entry.kind is MediaKind.EBOOK:
            return self._epub(entry, cover), "buch.epub", ""
        if entry.kind is MediaKind.AUDIOBOOK:
            return self._mp3(entry), "hoerprobe.mp3", "Hörprobe"
        if entry.kind is MediaKind.EMAGAZINE:
            pages = [f"{entry.title}\n\n{entry.subtitle}", *texts.MAGAZINE_PAGES]
            return self._pdf(entry, pages), "ausgabe.pdf", "E-Paper"
        if entry.kind is MediaKind.DOCUMENT:
            return self._pdf(entry, [entry.title, *texts.DOCUMENT_PAGES]), "dokument.pdf", ""
        return None

    def _epub(self, entry: Entry, cover: bytes) -> bytes:
        _scheme, isbn = entry.identifier
        book = files.Book(
            title=entry.title,
            subtitle=entry.subtitle,
            creators=[(name, RELATORS[role]) for name, role in entry.people],
            language=entry.language,
            publisher=entry.publisher,
            date=f"{entry.year}-03-01",
            isbn=isbn,
            description=entry.description,
            subjects=entry.subjects,
            series=entry.series,
            series_number=entry.number,
            chapters=texts.chapters(entry.genre, entry.language),
            cover=cover,
            uid=f"urn:isbn:{isbn}",
        )
        return files.epub(book)

    def _mp3(self, entry: Entry) -> bytes:
        genre = entry.genre if entry.genre in TUNES else "sachbuch"
        if genre not in self._tunes:
            self._tunes[genre] = _tune(genre)
        frames, chapters = self._tunes[genre]
        author = next((n for n, r in entry.people if r is ContributorRole.AUTHOR), "")
        return files.mp3(
            frames,
            title="Hörprobe",
            album=entry.title,
            artist=author,
            publisher=entry.publisher,
            year=str(entry.year),
            language=ISO639_2.get(entry.language, ""),
            chapters=chapters,
        )

    def _pdf(self, entry: Entry, pages: list[str]) -> bytes:
        return files.pdf(
            entry.title,
            ", ".join(name for name, _role in entry.people),
            pages=pages,
            keywords=", ".join(entry.subjects),
        )


def demo_staff() -> User:
    """The demo's staff account (Verwaltung): it stocks the catalogue."""
    email = DEMO_LOGINS["accounts"]["staff"]
    user = db.session.execute(sa.select(User).where(User.email == email)).scalar_one_or_none()
    if user is None:
        raise RuntimeError(f"the demo staff account {email} is missing: seed the accounts first")
    return user


def seed_media(scale: int, rng: random.Random, context: dict[str, Any]) -> None:
    """The curated stock (about 60 items of every kind) with covers and files; the ids of the
    items added go into ``context["media_item_ids"]`` for the seeders after this one."""
    actor = demo_staff()
    entries = curated()
    have = {
        (scheme, value)
        for scheme, value in db.session.execute(
            sa.select(Identifier.scheme, Identifier.value).where(
                Identifier.value.in_([e.identifier[1] for e in entries])
            )
        )
    }
    maker = Maker()
    added = []
    for index, entry in enumerate(entries):
        if entry.identifier in have:
            continue
        item = save_item(actor, entry.data())
        cover = maker.cover(entry, index)
        set_cover(actor, item, io.BytesIO(cover))
        made = maker.file(entry, cover)
        if made is not None:
            data, name, label = made
            add_file(actor, item, io.BytesIO(data), name, label=label)
        publish_item(actor, item)
        added.append(item.id)
    context["media_item_ids"] = added


register_seeder(70, seed_media)  # after the courses: their draws stay as they were
