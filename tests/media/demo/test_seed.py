"""The media demo data: every kind, real files that read back, valid EPUBs, covers, idempotent,
and the bulk items at scale searchable like the rest (SQLite FTS5 and PostgreSQL tsvector)."""

from __future__ import annotations

import random
import zipfile
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from lxml import etree

from media.catalogue.search import MediaQuery, search
from media.catalogue.services import ITEM_DETAILS, refresh_search_text
from media.demo.catalogue import curated
from media.demo.scale import PER_SCALE, seed_media_at_scale
from media.demo.seed import seed_media
from media.files.storage import cover_key, file_key, get_storage
from media.ingest.audio import read_audio
from media.ingest.covers import WIDTHS
from media.ingest.epub import read_epub
from media.ingest.pdf import read_pdf
from media.models import (
    FileFormat,
    Identifier,
    IdentifierScheme,
    MediaFile,
    MediaItem,
    MediaKind,
    PublicationState,
)
from vhs.accounts.models import Role
from vhs.audit import AuditEntry
from vhs.db import db
from vhs.demo import DEMO_LOGINS
from vhs.uow import unit_of_work

NS = {
    "c": "urn:oasis:names:tc:opendocument:xmlns:container",
    "opf": "http://www.idpf.org/2007/opf",
    "x": "http://www.w3.org/1999/xhtml",
    "epub": "http://www.idpf.org/2007/ops",
}
FORMATS = {
    MediaKind.EBOOK: [FileFormat.EPUB],
    MediaKind.AUDIOBOOK: [FileFormat.MP3],
    MediaKind.EMAGAZINE: [FileFormat.PDF],
    MediaKind.DOCUMENT: [FileFormat.PDF],
    MediaKind.VIDEO: [],  # no video encoder: a cover and metadata
}


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _seed(scale: int = 1) -> None:
    with unit_of_work():
        seed_media(scale=scale, rng=random.Random(1), context={})


def check_epub(path: Path, item: MediaItem) -> None:
    """An EPUB 3 as the OCF and package specifications ask, and its metadata read back."""
    with zipfile.ZipFile(path) as zf:
        first = zf.infolist()[0]
        assert (first.filename, first.compress_type) == ("mimetype", zipfile.ZIP_STORED)
        assert zf.read("mimetype") == b"application/epub+zip"
        names = set(zf.namelist())
        container = etree.fromstring(zf.read("META-INF/container.xml"))
        opf_name = container.find(".//c:rootfile", NS).get("full-path")
        package = etree.fromstring(zf.read(opf_name))
        assert package.get("version") == "3.0"
        base = opf_name.rsplit("/", 1)[0]
        manifest = {i.get("id"): i for i in package.findall("opf:manifest/opf:item", NS)}
        for entry in manifest.values():  # everything the manifest lists is in the archive
            assert f"{base}/{entry.get('href')}" in names
        spine = [i.get("idref") for i in package.findall("opf:spine/opf:itemref", NS)]
        assert len(spine) >= 1 and all(idref in manifest for idref in spine)
        [nav] = [i for i in manifest.values() if "nav" in i.get("properties", "").split()]
        nav_doc = etree.fromstring(zf.read(f"{base}/{nav.get('href')}"))
        [toc] = nav_doc.findall(".//x:nav", NS)
        assert toc.get(f"{{{NS['epub']}}}type") == "toc"
        links = [a.get("href") for a in toc.findall(".//x:a", NS)]
        assert links == [manifest[idref].get("href") for idref in spine]
        for idref in spine:  # every chapter is well-formed XHTML with text
            chapter = etree.fromstring(zf.read(f"{base}/{manifest[idref].get('href')}"))
            assert len("".join(chapter.itertext()).strip()) > 100
        assert any("cover-image" in i.get("properties", "") for i in manifest.values())
    proposal = read_epub(path)
    assert (proposal.title, proposal.isbn, proposal.language) == (
        item.title,
        item.isbn,
        item.language,
    )
    assert proposal.cover is not None


def test_the_curated_stock_is_seeded_with_covers_and_files_that_read_back(app, make_user):
    make_user(Role.STAFF, email=DEMO_LOGINS["accounts"]["staff"], name="Stefan Sommer")
    with app.app_context():
        _seed()
        items = list(
            db.session.execute(sa.select(MediaItem).options(*ITEM_DETAILS)).unique().scalars()
        )
        kinds = Counter(item.kind for item in items)
        assert set(kinds) == set(MediaKind)
        assert all(55 <= n <= 65 for n in kinds.values()), kinds
        assert len(items) == len(curated())
        assert all(item.state is PublicationState.PUBLISHED for item in items)
        assert {item.language for item in items} >= {"de", "en", "tr", "ar", "uk"}
        assert any(item.series_number == 3 for item in items)
        for item in items:
            assert item.contributors and item.subjects and item.classification
            assert item.search_head.startswith(item.title)
            storage = get_storage()
            assert item.cover_sha256 and all(
                storage.exists(cover_key(item.cover_sha256, w)) for w in WIDTHS
            )
            assert [f.format for f in item.files] == FORMATS[item.kind]
            if item.kind in (MediaKind.EBOOK, MediaKind.AUDIOBOOK):
                assert item.isbn and len(item.isbn) == 13  # the service checked its digit
        read = Counter()
        for item in items:
            for media_file in item.files:
                assert storage.exists(file_key(media_file.sha256))
                with storage.local_copy(media_file.storage_key) as path:
                    if media_file.format is FileFormat.EPUB:
                        check_epub(path, item)
                    elif media_file.format is FileFormat.MP3:
                        p = read_audio(path, FileFormat.MP3)
                        assert (p.title, p.label) == (item.title, "Hörprobe")
                        assert len(p.chapters) == 3 and p.duration_seconds >= 5
                        assert media_file.label == "Hörprobe"
                    else:
                        p = read_pdf(path)
                        assert p.title == item.title and p.pages == media_file.pages >= 3
                read[media_file.format] += 1
        assert read == {
            FileFormat.EPUB: kinds[MediaKind.EBOOK],
            FileFormat.MP3: kinds[MediaKind.AUDIOBOOK],
            FileFormat.PDF: kinds[MediaKind.EMAGAZINE] + kinds[MediaKind.DOCUMENT],
        }
        # Found like anything staff stocked: "Krimis" finds the Krimis, ranked by title.
        page = search(MediaQuery(q="Krimis", kind=MediaKind.EBOOK))
        assert page.total >= 10
        assert "Tod am Seilersee" in [i.title for i in page.items]

        # A second run adds nothing: no item, file, cover or audit entry twice.
        before = [_count(m) for m in (MediaItem, MediaFile, Identifier, AuditEntry)]
        _seed()
        assert [_count(m) for m in (MediaItem, MediaFile, Identifier, AuditEntry)] == before


def test_the_curated_stock_needs_the_demo_staff_account(app):
    with app.app_context(), pytest.raises(RuntimeError, match=r"verwaltung@vhs\.example"):
        _seed()


def test_items_at_scale_are_inserted_in_bulk_and_searchable(app):
    with app.app_context():
        with unit_of_work():
            seed_media_at_scale(scale=2, rng=random.Random(5), context={})
        assert _count(MediaItem) == 2 * PER_SCALE
        numbers = db.session.scalars(
            sa.select(Identifier.value).where(Identifier.scheme == IdentifierScheme.OTHER)
        ).all()
        assert len(set(numbers)) == 2 * PER_SCALE
        # Search texts exactly as the services keep them.
        for item in (
            db.session.execute(sa.select(MediaItem).options(*ITEM_DETAILS).limit(50))
            .unique()
            .scalars()
        ):
            head, document = item.search_head, item.search_document
            refresh_search_text(item)
            assert (item.search_head, item.search_document) == (head, document)
        db.session.rollback()
        # The full-text index holds them: a German word form finds its items, facets vary.
        everything = search(MediaQuery(per_page=1))
        assert everything.total == 2 * PER_SCALE
        assert len(everything.facets["kind"]) == len(MediaKind)
        assert len(everything.facets["language"]) >= 3
        krimis = search(MediaQuery(q="Krimis"))
        assert 0 < krimis.total < 2 * PER_SCALE
        assert all("Krimi" in (i.search_head + i.search_document) for i in krimis.items)
        one = db.session.scalars(sa.select(MediaItem).order_by(MediaItem.id.desc())).first()
        found = search(MediaQuery(q=one.title, per_page=100))
        assert one.id in [i.id for i in found.items]
        isbn = db.session.scalars(
            sa.select(Identifier.value).where(Identifier.scheme == IdentifierScheme.ISBN)
        ).first()
        assert search(MediaQuery(q=isbn)).total == 1
        # Again at the same scale: nothing; at a larger one: only what is missing.
        with unit_of_work():
            seed_media_at_scale(scale=2, rng=random.Random(6), context={})
        assert _count(MediaItem) == 2 * PER_SCALE
        with unit_of_work():
            seed_media_at_scale(scale=3, rng=random.Random(6), context={})
        assert _count(MediaItem) == 3 * PER_SCALE
        assert search(MediaQuery(per_page=1)).total == 3 * PER_SCALE
