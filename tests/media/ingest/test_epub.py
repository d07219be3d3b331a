"""EPUB metadata: Dublin Core with EPUB 3 refinements and EPUB 2 attributes, series, cover."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from media.demo import files
from media.ingest.epub import entry_path, read_epub
from media.ingest.proposal import FileRefused, Person
from media.models import ContributorRole
from tests.media.ingest import samples


def read(tmp_path: Path, data: bytes):
    path = tmp_path / "book"
    path.write_bytes(data)
    return read_epub(path)


def test_epub3_metadata_with_refinements(tmp_path):
    cover = samples.png()
    p = read(tmp_path, samples.epub(cover=cover))
    assert (p.title, p.subtitle) == ("Der Schimmelreiter", "Eine Novelle")
    # The book producer ("bkp": calibre) is no contributor of the book.
    assert p.contributors == [
        Person("Theodor Storm", ContributorRole.AUTHOR),
        Person("Erika Übersetzer", ContributorRole.TRANSLATOR),
    ]
    assert (p.language, p.publisher, p.year, p.isbn) == ("de", "Reclam", 1888, samples.ISBN)
    assert p.description == "Ein Deichgraf kämpft gegen die See.\n\nZweiter Absatz."
    assert p.subjects == ["Novelle", "Nordsee"]
    assert (p.series_title, p.series_number) == ("Nordfriesische Novellen", 3)
    assert p.cover == cover
    assert p.offered() == [
        "title",
        "subtitle",
        "contributors",
        "language",
        "publisher",
        "year",
        "isbn",
        "description",
        "subjects",
        "series",
        "cover",
    ]


def test_epub2_metadata_roles_isbn10_calibre_series_and_cover_meta(tmp_path):
    cover = samples.jpeg()
    p = read(tmp_path, samples.epub2(cover=cover))
    assert p.title == "Im Nebel"
    assert p.contributors == [
        Person("Kommissarin Krause", ContributorRole.AUTHOR),
        Person("Sprecher Stimme", ContributorRole.NARRATOR),
    ]
    assert p.language == "de"  # ISO 639-2 "ger"
    assert p.isbn == samples.ISBN  # the ISBN-10 as ISBN-13
    assert p.year == 2019  # the publication date, not the modification
    assert (p.series_title, p.series_number) == ("Nebel-Krimis", 2)
    assert p.cover == cover  # href with %20, relative to the OPF


def test_an_invalid_isbn_is_not_proposed(tmp_path):
    p = read(tmp_path, samples.epub(book_isbn="9783150061110"))  # wrong check digit
    assert p.isbn == ""
    assert "isbn" not in p.offered()


def test_control_characters_and_overlong_titles_are_cleaned(tmp_path):
    p = read(tmp_path, samples.epub(title="Ein\u00a0 langer \t  Titel " + "x" * 600))
    assert p.title.startswith("Ein langer Titel x")
    assert len(p.title) == 500


def test_a_cover_outside_the_archive_is_ignored(tmp_path):
    opf = files.package_document(samples.book(cover=samples.png()))
    opf = opf.replace('href="images/cover.png"', 'href="../../../etc/passwd"')
    assert "../../../etc/passwd" in opf
    assert read(tmp_path, samples.epub(opf=opf)).cover is None
    assert entry_path("OEBPS/content.opf", "../../x.png") is None
    assert entry_path("OEBPS/content.opf", "../images/a%20b.png") == "images/a b.png"
    assert entry_path("OEBPS/content.opf", "http://example.org/x.png") is None


@pytest.mark.parametrize(
    "opf",
    [
        "<package><unclosed>",
        '<package xmlns="http://www.idpf.org/2007/opf"><manifest/></package>',  # no metadata
    ],
)
def test_a_broken_package_document_is_corrupt(tmp_path, opf):
    with pytest.raises(FileRefused) as info:
        read(tmp_path, samples.epub(opf=opf))
    assert info.value.code == "file_corrupt"


def test_entities_are_not_expanded(tmp_path):
    opf = files.package_document(samples.book(title="&xxe;")).replace("&amp;xxe;", "&xxe;")
    opf = opf.replace(
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<?xml version="1.0"?><!DOCTYPE package [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    )
    p = read(tmp_path, samples.epub(opf=opf))
    assert "root" not in p.title


def test_control_characters_make_the_package_invalid_xml(tmp_path):
    with pytest.raises(FileRefused) as info:
        read(tmp_path, samples.epub(title="Ein\u0007Titel"))
    assert info.value.code == "file_corrupt"


def test_a_missing_rootfile_is_corrupt(tmp_path):
    data = samples.epub()
    path = tmp_path / "b.epub"
    with zipfile.ZipFile(path, "w") as zf, zipfile.ZipFile(__import__("io").BytesIO(data)) as src:
        for info in src.infolist():
            if info.filename != "OEBPS/content.opf":
                zf.writestr(info, src.read(info))
    with pytest.raises(FileRefused):
        read_epub(path)
