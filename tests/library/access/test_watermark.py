"""The EPUB watermark: a valid book comes out, written as it streams, and the code reads back."""

from __future__ import annotations

import io
import os
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from library.access import watermark
from media.demo import files as demo
from tests.media.ingest import samples

OPF_NS = {"opf": "http://www.idpf.org/2007/opf", "dc": "http://purl.org/dc/elements/1.1/"}
COLOPHON = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml" '
    b'xml:lang="de" lang="de"><head><title>Ausleihe W-7K3M-Q9XD</title></head><body>'
    b"<p>Ausgeliehen bei Stadtbibliothek Iserlohn</p></body></html>"
)
MARK = watermark.Mark(
    code="W-7K3M-Q9XD",
    rights="Ausgeliehen bei Stadtbibliothek Iserlohn — Ausleihe W-7K3M-Q9XD",
    colophon=COLOPHON,
)


def rewrite(data: bytes | Path) -> bytes:
    source = zipfile.ZipFile(data if isinstance(data, Path) else io.BytesIO(data))
    with source:
        prepared = watermark.prepare(source, MARK)
        return b"".join(watermark.watermarked(source, prepared))


def check_epub(data: bytes) -> etree._Element:
    """The OCF rules a reading system relies on, and the package document's references."""
    assert data[:4] == b"PK\x03\x04"
    assert data[30:38] == b"mimetype" and data[38:58] == b"application/epub+zip"
    assert data[26:30] == b"\x08\x00\x00\x00"  # name length 8, no extra field
    book = zipfile.ZipFile(io.BytesIO(data))
    first = book.infolist()[0]
    assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
    assert book.testzip() is None  # every CRC right
    names = book.namelist()
    assert len(names) == len(set(names))
    container = etree.fromstring(book.read("META-INF/container.xml"))
    opf_path = container.find(".//{*}rootfile").get("full-path")
    opf = etree.fromstring(book.read(opf_path))
    base = os.path.dirname(opf_path)
    manifest = {i.get("id"): i for i in opf.iterfind("opf:manifest/opf:item", OPF_NS)}
    for item in manifest.values():
        assert os.path.normpath(os.path.join(base, item.get("href").replace("%20", " "))) in names
    for ref in opf.iterfind("opf:spine/opf:itemref", OPF_NS):
        assert ref.get("idref") in manifest
    return opf


def test_the_book_gains_metadata_and_a_colophon_at_the_end():
    original = samples.epub(cover=samples.jpeg(60, 90))
    out = rewrite(original)
    opf = check_epub(out)
    assert [r.text for r in opf.iterfind("opf:metadata/dc:rights", OPF_NS)] == [MARK.rights]
    metas = opf.findall("opf:metadata/opf:meta[@name='vhs:watermark']", OPF_NS)
    assert [m.get("content") for m in metas] == ["W-7K3M-Q9XD"]
    spine = opf.findall("opf:spine/opf:itemref", OPF_NS)
    last = opf.find(f"opf:manifest/opf:item[@id='{spine[-1].get('idref')}']", OPF_NS)
    assert last.get("href") == "vhs-ausleihe.xhtml"
    assert last.get("media-type") == "application/xhtml+xml"
    book = zipfile.ZipFile(io.BytesIO(out))
    page = etree.fromstring(book.read("OEBPS/vhs-ausleihe.xhtml"))
    assert page.get("lang") == "de" and page.find(".//{*}title").text == "Ausleihe W-7K3M-Q9XD"
    # Everything else is there, byte for byte.
    before = zipfile.ZipFile(io.BytesIO(original))
    for info in before.infolist():
        if info.filename != demo.OPF_PATH:
            assert book.read(info.filename) == before.read(info.filename)
    assert len(book.namelist()) == len(before.namelist()) + 1


def test_an_epub2_with_its_package_at_the_top_and_a_taken_name():
    opf = samples.OPF2.format(isbn10=samples.isbn10("315006111")).replace(
        '<item id="ch1"',
        '<item id="vhs-ausleihe" href="vhs-ausleihe.xhtml" '
        'media-type="application/xhtml+xml"/><item id="ch1"',
    )
    entries = [
        ("META-INF/container.xml", demo.CONTAINER.replace(b"OEBPS/content.opf", b"content.opf")),
        ("content.opf", opf.encode()),
        ("ch1.html", b"<html xmlns='http://www.w3.org/1999/xhtml'><body>1</body></html>"),
        ("vhs-ausleihe.xhtml", b"<html xmlns='http://www.w3.org/1999/xhtml'/>"),
        ("images/Umschlag vorn.jpg", samples.jpeg(30, 40)),
    ]
    out = rewrite(demo.ocf_zip(entries))
    package = check_epub(out)
    spine = package.findall("opf:spine/opf:itemref", OPF_NS)
    assert spine[-1].get("idref") == "vhs-ausleihe-2"
    added = package.find("opf:manifest/opf:item[@id='vhs-ausleihe-2']", OPF_NS)
    assert added.get("href") == "vhs-ausleihe-2.xhtml"
    assert watermark.read_code(io.BytesIO(out)) == "W-7K3M-Q9XD"


def test_the_code_reads_back_from_the_metadata_or_the_colophon():
    out = rewrite(samples.epub())
    assert watermark.read_code(io.BytesIO(out)) == "W-7K3M-Q9XD"
    # Someone stripped the metadata: the colophon page still names the code.
    book = zipfile.ZipFile(io.BytesIO(out))
    entries = []
    for info in book.infolist()[1:]:
        data = book.read(info)
        if info.filename.endswith(".opf"):
            data = data.replace(b"W-7K3M-Q9XD", b"gone")
        entries.append((info.filename, data))
    assert watermark.read_code(io.BytesIO(demo.ocf_zip(entries))) == "W-7K3M-Q9XD"
    assert watermark.read_code(io.BytesIO(samples.epub())) is None
    with pytest.raises(watermark.EpubUnreadable):
        watermark.read_code(io.BytesIO(b"not a zip at all"))
    with pytest.raises(watermark.EpubUnreadable):
        watermark.read_code(io.BytesIO(samples.epub(container=False)))


def test_a_book_without_package_document_is_refused():
    for broken in (samples.epub(container=False), samples.epub(opf="<package/>")):
        with zipfile.ZipFile(io.BytesIO(broken)) as source, pytest.raises(watermark.EpubUnreadable):
            watermark.prepare(source, MARK)


def big_epub(path: Path, megabytes: int) -> int:
    """An EPUB of ``megabytes`` MB: chapters of text (deflated) and a large stored image."""
    rng = __import__("random").Random(12)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("mimetype", demo.EPUB_MIMETYPE, compress_type=zipfile.ZIP_STORED)
        for name, data in demo.epub_entries(samples.book()):
            zf.writestr(name, data)
        # Incompressible "images", stored as EPUB tools store JPEGs, and random text deflated.
        with zf.open(zipfile.ZipInfo("OEBPS/images/karte.jpg"), "w") as image:
            for _ in range(megabytes // 2):
                image.write(rng.randbytes(1024 * 1024))
        with zf.open("OEBPS/text/anhang.xhtml", "w") as text:
            words = [rng.randbytes(6).hex() for _ in range(5000)]
            for _ in range(megabytes // 2 * 16):
                text.write(" ".join(rng.choices(words, k=9000)).encode()[: 64 * 1024])
    return path.stat().st_size


def test_memory_does_not_grow_with_the_book(tmp_path: Path):
    path = tmp_path / "gross.epub"
    size = big_epub(path, 16)
    assert size > 10 * 1024 * 1024
    written = 0
    tracemalloc.start()
    try:
        with zipfile.ZipFile(path) as source:
            prepared = watermark.prepare(source, MARK)
            with (tmp_path / "out.epub").open("wb") as out:
                for chunk in watermark.watermarked(source, prepared):
                    written += len(chunk)
                    out.write(chunk)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert written > size * 0.9
    assert peak < 2 * 1024 * 1024, f"peak {peak} bytes for a book of {size}"
    check_epub((tmp_path / "out.epub").read_bytes())
