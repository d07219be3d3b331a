"""Small, real media files the project makes itself: EPUB 3, PDF and MP3 (no downloads).

EPUBs are zipped with ``zipfile`` as the OCF container asks (``mimetype`` first and stored,
``META-INF/container.xml``, an OPF package document with Dublin Core metadata, an XHTML
navigation document and one XHTML document per chapter). PDFs are drawn with fpdf2. MP3s are
encoded by LAME (``lameenc``, whose wheels carry the encoder) from tones computed here, then
tagged with ID3v2.4 by mutagen, chapters (``CTOC``/``CHAP``) included, as a tagging tool
would. The demo data (``media.demo.seed``) and the tests of ``media.ingest`` and
``media.files`` both use these.
"""

from __future__ import annotations

import io
import math
import struct
import tempfile
import textwrap
import uuid
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import lameenc
from fpdf import FPDF
from mutagen.id3 import APIC, CHAP, CTOC, ID3, TALB, TDRC, TIT2, TLAN, TPE1, TPUB, CTOCFlags

EPUB_MIMETYPE = b"application/epub+zip"
OPF_PATH = "OEBPS/content.opf"


def isbn13(first12: str) -> str:
    """A valid ISBN-13 from its first twelve digits (weights 1 and 3, modulo 10)."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


def isbn10(first9: str) -> str:
    """A valid ISBN-10 from its first nine digits (weights 10 down to 2, modulo 11)."""
    check = (11 - sum((10 - i) * int(d) for i, d in enumerate(first9)) % 11) % 11
    return first9 + ("X" if check == 10 else str(check))


# --- EPUB ------------------------------------------------------------------------------------


@dataclass
class Book:
    """What an EPUB says about itself and holds.

    ``creators`` are (name, MARC relator) pairs: authors (``aut``) become ``dc:creator``,
    everyone else ``dc:contributor``, each with an EPUB 3 ``role`` refinement. A
    ``description`` may hold HTML (it is escaped into ``dc:description`` as EPUBs carry it).
    ``chapters`` are (heading, text) with paragraphs separated by blank lines.
    """

    title: str
    creators: Sequence[tuple[str, str]] = ()
    subtitle: str = ""
    language: str = "de"
    publisher: str = ""
    date: str = ""
    isbn: str | None = None
    description: str = ""
    subjects: Sequence[str] = ()
    series: str = ""
    series_number: int | None = None
    chapters: Sequence[tuple[str, str]] = ()
    cover: bytes | None = None
    uid: str = field(default_factory=lambda: f"urn:uuid:{uuid.uuid4()}")


def _image_type(data: bytes) -> tuple[str, str]:
    """(media type, file extension) of a PNG or JPEG image."""
    if data.startswith(b"\x89PNG"):
        return "image/png", "png"
    return "image/jpeg", "jpg"


def cover_entry(book: Book) -> str | None:
    """The archive name of the book's cover image, if it has one."""
    return f"OEBPS/images/cover.{_image_type(book.cover)[1]}" if book.cover else None


def package_document(book: Book) -> str:
    """The OPF package document (EPUB 3) of ``book``, its text escaped as XML needs."""
    meta = [
        f'<dc:identifier id="uid">{escape(book.uid)}</dc:identifier>',
        f'<dc:title id="t1">{escape(book.title)}</dc:title>',
        '<meta refines="#t1" property="title-type">main</meta>',
    ]
    if book.isbn:
        meta.insert(1, f'<dc:identifier id="isbn">urn:isbn:{escape(book.isbn)}</dc:identifier>')
    if book.subtitle:
        meta += [
            f'<dc:title id="t2">{escape(book.subtitle)}</dc:title>',
            '<meta refines="#t2" property="title-type">subtitle</meta>',
        ]
    for n, (name, relator) in enumerate(book.creators, 1):
        tag = "dc:creator" if relator == "aut" else "dc:contributor"
        meta += [
            f'<{tag} id="c{n}">{escape(name)}</{tag}>',
            f'<meta refines="#c{n}" property="role" scheme="marc:relators">{relator}</meta>',
        ]
    meta.append(f"<dc:language>{escape(book.language)}</dc:language>")
    if book.publisher:
        meta.append(f"<dc:publisher>{escape(book.publisher)}</dc:publisher>")
    if book.date:
        meta.append(f"<dc:date>{escape(book.date)}</dc:date>")
    if book.description:
        meta.append(f"<dc:description>{escape(book.description)}</dc:description>")
    meta += [f"<dc:subject>{escape(term)}</dc:subject>" for term in book.subjects]
    if book.series:
        meta += [
            f'<meta property="belongs-to-collection" id="s1">{escape(book.series)}</meta>',
            '<meta refines="#s1" property="collection-type">series</meta>',
        ]
        if book.series_number is not None:
            meta.append(
                f'<meta refines="#s1" property="group-position">{book.series_number}</meta>'
            )
    meta.append('<meta property="dcterms:modified">2026-11-01T00:00:00Z</meta>')
    manifest = [
        '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>'
    ]
    manifest += [
        f'<item id="ch{n}" href="text/ch{n}.xhtml" media-type="application/xhtml+xml"/>'
        for n in range(1, len(book.chapters) + 1)
    ]
    if book.cover:
        media_type, extension = _image_type(book.cover)
        manifest.append(
            f'<item id="cover" href="images/cover.{extension}" media-type="{media_type}" '
            'properties="cover-image"/>'
        )
    spine = "".join(f'<itemref idref="ch{n}"/>' for n in range(1, len(book.chapters) + 1))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="uid">\n'
        '  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">\n    '
        + "\n    ".join(meta)
        + "\n  </metadata>\n  <manifest>\n    "
        + "\n    ".join(manifest)
        + f"\n  </manifest>\n  <spine>{spine}</spine>\n</package>\n"
    )


def _xhtml(language: str, title: str, body: str, *, epub_ns: bool = False) -> str:
    """An XHTML content document."""
    ns = ' xmlns:epub="http://www.idpf.org/2007/ops"' if epub_ns else ""
    lang = quoteattr(language)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html>\n'
        f'<html xmlns="http://www.w3.org/1999/xhtml"{ns} xml:lang={lang} lang={lang}>\n'
        f"<head><title>{escape(title)}</title></head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def chapter_document(book: Book, heading: str, text: str) -> str:
    """One chapter as XHTML: its heading and its paragraphs."""
    paragraphs = "\n".join(
        f"<p>{escape(' '.join(p.split()))}</p>" for p in text.split("\n\n") if p.strip()
    )
    return _xhtml(book.language, heading, f"<h1>{escape(heading)}</h1>\n{paragraphs}")


def navigation_document(book: Book) -> str:
    """The EPUB 3 navigation document: a table of contents with one entry per chapter."""
    entries = "\n".join(
        f'<li><a href="text/ch{n}.xhtml">{escape(heading)}</a></li>'
        for n, (heading, _text) in enumerate(book.chapters, 1)
    )
    body = f'<nav epub:type="toc" id="toc"><h1>Inhalt</h1>\n<ol>\n{entries}\n</ol></nav>'
    return _xhtml(book.language, book.title, body, epub_ns=True)


CONTAINER = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">\n'
    b'  <rootfiles><rootfile full-path="OEBPS/content.opf" '
    b'media-type="application/oebps-package+xml"/></rootfiles>\n</container>\n'
)


def epub_entries(book: Book) -> list[tuple[str, bytes]]:
    """The archive entries of ``book`` after ``mimetype``: container, package, nav, text, cover."""
    entries = [
        ("META-INF/container.xml", CONTAINER),
        (OPF_PATH, package_document(book).encode()),
        ("OEBPS/nav.xhtml", navigation_document(book).encode()),
    ]
    entries += [
        (f"OEBPS/text/ch{n}.xhtml", chapter_document(book, heading, text).encode())
        for n, (heading, text) in enumerate(book.chapters, 1)
    ]
    cover = cover_entry(book)
    if cover and book.cover:
        entries.append((cover, book.cover))
    return entries


def ocf_zip(
    entries: Sequence[tuple[str, bytes]],
    *,
    mimetype: bytes = EPUB_MIMETYPE,
    mimetype_first: bool = True,
) -> bytes:
    """An OCF ZIP container: ``mimetype`` stored (uncompressed) first, the entries deflated."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        if mimetype_first:
            zf.writestr("mimetype", mimetype, compress_type=zipfile.ZIP_STORED)
        for name, data in entries:
            zf.writestr(name, data)
        if not mimetype_first:
            zf.writestr("mimetype", mimetype, compress_type=zipfile.ZIP_STORED)
    return out.getvalue()


def epub(book: Book) -> bytes:
    """``book`` as an EPUB 3 file."""
    return ocf_zip(epub_entries(book))


# --- PDF -------------------------------------------------------------------------------------


def pdf(
    title: str,
    author: str = "",
    *,
    pages: Sequence[str] = (),
    keywords: str = "",
    subject: str = "",
    user_password: str | None = None,
    owner_password: str | None = None,
) -> bytes:
    """A PDF with document information and one page of text per entry of ``pages``.

    Lines are wrapped here (about 85 characters, what fits Helvetica 11 pt on A4) and set
    one by one, which is much faster than fpdf2's own line breaking. The core font covers
    Latin-1, which German text needs; anything else becomes "?".
    """
    doc = FPDF()
    doc.set_title(title)
    if author:
        doc.set_author(author)
    if keywords:
        doc.set_keywords(keywords)
    if subject:
        doc.set_subject(subject)
    doc.set_font("Helvetica", size=11)
    for text in pages:
        doc.add_page()
        y = 20.0
        for paragraph in text.split("\n"):
            for line in textwrap.wrap(paragraph, 85) or [""]:
                doc.text(15, y, line.encode("latin-1", "replace").decode("latin-1"))
                y += 5.5
    if user_password is not None or owner_password is not None:
        doc.set_encryption(owner_password=owner_password or "owner", user_password=user_password)
    return bytes(doc.output())


# --- MP3 -------------------------------------------------------------------------------------

SAMPLE_RATE = 22_050  # MPEG-2 Layer III: small files, enough for tones and speech
BITRATE_KBPS = 32


def tones(notes: Sequence[tuple[float, float]], *, rate: int = SAMPLE_RATE) -> bytes:
    """16-bit mono PCM of (frequency in Hz, seconds) notes: soft sine tones, 0 Hz a rest.

    Each note fades in and out over 10 ms, so the sequence has no clicks.
    """
    out = bytearray()
    fade = rate // 100
    for frequency, seconds in notes:
        n = max(1, round(seconds * rate))
        if frequency <= 0:
            out += bytes(2 * n)
            continue
        step = 2 * math.pi * frequency / rate
        samples = (
            round(9000 * min(1.0, k / fade, (n - k) / fade) * math.sin(step * k)) for k in range(n)
        )
        out += struct.pack(f"<{n}h", *samples)
    return bytes(out)


def encode_mp3(pcm: bytes, *, rate: int = SAMPLE_RATE) -> bytes:
    """MPEG audio frames (Layer III, mono, constant bit rate) of 16-bit mono PCM, by LAME."""
    encoder = lameenc.Encoder()
    encoder.set_in_sample_rate(rate)
    encoder.set_channels(1)
    encoder.set_bit_rate(BITRATE_KBPS)
    encoder.set_quality(7)  # fast; tones need no more
    return bytes(encoder.encode(pcm) + encoder.flush())


def tagged(data: bytes, suffix: str, tag: Callable[[Path], None]) -> bytes:
    """``data`` written to a temporary file, tagged by ``tag(path)``, read back."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"file{suffix}"
        path.write_bytes(data)
        tag(path)
        return path.read_bytes()


def mp3(
    frames: bytes,
    *,
    title: str,
    album: str = "",
    artist: str = "",
    publisher: str = "",
    year: str = "",
    language: str = "",
    cover: bytes | None = None,
    chapters: Sequence[tuple[str, int, int]] = (),
) -> bytes:
    """MPEG audio ``frames`` with an ID3v2.4 tag: title (the part), album (the book), artist
    (the author), publisher, year, language (ISO 639-2), front cover and chapters as
    (name, start ms, end ms)."""

    def tag(path: Path) -> None:
        tags = ID3()
        tags.add(TIT2(encoding=3, text=title))
        for frame, value in ((TALB, album), (TPE1, artist), (TPUB, publisher)):
            if value:
                tags.add(frame(encoding=3, text=value))
        if year:
            tags.add(TDRC(encoding=3, text=year))
        if language:
            tags.add(TLAN(encoding=3, text=language))
        if cover:
            mime = "image/png" if cover.startswith(b"\x89PNG") else "image/jpeg"
            tags.add(APIC(encoding=3, mime=mime, type=3, desc="Cover", data=cover))
        if chapters:
            ids = [f"ch{i}" for i in range(len(chapters))]
            tags.add(CTOC(element_id="toc", flags=CTOCFlags.TOP_LEVEL, child_element_ids=ids))
            for element_id, (name, start, end) in zip(ids, chapters, strict=True):
                tags.add(
                    CHAP(
                        element_id=element_id,
                        start_time=start,
                        end_time=end,
                        sub_frames=[TIT2(encoding=3, text=name)],
                    )
                )
        tags.save(path)

    return tagged(frames, ".mp3", tag)
