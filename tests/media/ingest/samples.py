"""Small, real media files for the tests (no ffmpeg, no downloads).

The EPUB, PDF and MP3 makers are the demo data's (``media.demo.files``); here they get the
defaults and the broken variants the tests need. Audio and video the demo does not make are
crafted to their specifications: MPEG-1 Layer III frames of silence (a header and empty side
information), ISO-BMFF boxes (``ftyp``, ``moov`` with one track, Nero ``chpl`` chapters), Ogg
pages with Vorbis headers (``mutagen.ogg.OggPage`` computes their CRCs) and a WebM EBML
header. Tags are then written with mutagen, as a tagging tool would.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import Any

from mutagen.mp4 import MP4, MP4Cover
from mutagen.ogg import OggPage
from PIL import Image

from media.demo import files

isbn = files.isbn13
isbn10 = files.isbn10
ISBN = isbn("978315006111")


def png(width: int = 600, height: int = 900, color: str = "teal", mode: str = "RGB") -> bytes:
    """A plain PNG image."""
    out = io.BytesIO()
    Image.new(mode, (width, height), color).save(out, "PNG")
    return out.getvalue()


def jpeg(width: int = 600, height: int = 900, color: str = "navy") -> bytes:
    """A plain JPEG image."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "JPEG")
    return out.getvalue()


# --- EPUB ------------------------------------------------------------------------------------

OPF2 = """<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="2.0" unique-identifier="uid">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:opf="http://www.idpf.org/2007/opf">
    <dc:identifier id="uid" opf:scheme="ISBN">{isbn10}</dc:identifier>
    <dc:title>Im Nebel</dc:title>
    <dc:creator opf:role="aut">Kommissarin Krause</dc:creator>
    <dc:creator opf:role="nrt">Sprecher Stimme</dc:creator>
    <dc:language>ger</dc:language>
    <dc:date opf:event="modification">2020-01-01</dc:date>
    <dc:date opf:event="publication">2019-03-01</dc:date>
    <dc:subject>Krimi</dc:subject>
    <meta name="calibre:series" content="Nebel-Krimis"/>
    <meta name="calibre:series_index" content="2.0"/>
    <meta name="cover" content="cov"/>
  </metadata>
  <manifest>
    <item id="ch1" href="ch1.html" media-type="application/xhtml+xml"/>
    <item id="cov" href="images/Umschlag%20vorn.jpg" media-type="image/jpeg"/>
  </manifest>
  <spine><itemref idref="ch1"/></spine>
</package>"""

CHAPTER = (
    "Was ich zu berichten beabsichtige, ist mir vor reichlich einem halben Jahrhundert "
    "im Hause meiner Urgroßmutter kund geworden."
)


def book(
    *,
    title: str = "Der Schimmelreiter",
    author: str = "Theodor Storm",
    language: str = "de",
    book_isbn: str = ISBN,
    cover: bytes | None = None,
) -> files.Book:
    """The test book: refinements, a translator, a book producer, HTML in its description."""
    return files.Book(
        uid="urn:uuid:0f1e2d3c-0000-4000-8000-000000000001",
        isbn=book_isbn,
        title=title,
        subtitle="Eine Novelle",
        creators=[(author, "aut"), ("Erika Übersetzer", "trl"), ("calibre (7.0)", "bkp")],
        language=language,
        publisher="Reclam",
        date="1888-04-01",
        description="<p>Ein Deichgraf <b>kämpft</b> gegen die See.</p><p>Zweiter Absatz.</p>",
        subjects=["Novelle", "Nordsee"],
        series="Nordfriesische Novellen",
        series_number=3,
        chapters=[("1", CHAPTER)],
        cover=cover,
    )


def epub(
    *,
    cover: bytes | None = None,
    version: int = 3,
    extra: list[tuple[str, bytes]] | None = None,
    mimetype: bytes = files.EPUB_MIMETYPE,
    mimetype_first: bool = True,
    container: bool = True,
    opf: str | None = None,
    **details: Any,
) -> bytes:
    """The test book as an EPUB (3, or 2 with ``opf``), or one broken as a test needs."""
    entries = files.epub_entries(book(cover=cover, **details))
    if version == 2 and cover:
        # EPUB 2 names its cover by a ``cover`` meta; here with a space in its name.
        entries = [
            ("OEBPS/images/Umschlag vorn.jpg", data)
            if name.startswith("OEBPS/images/")
            else (name, data)
            for name, data in entries
        ]
    if opf is not None:
        entries = [(n, opf.encode() if n == files.OPF_PATH else d) for n, d in entries]
    if not container:
        entries = [(n, d) for n, d in entries if n != "META-INF/container.xml"]
    return files.ocf_zip(
        [*entries, *(extra or [])], mimetype=mimetype, mimetype_first=mimetype_first
    )


def epub2(cover: bytes | None = None) -> bytes:
    """An EPUB 2 with ``opf:role``, an ISBN-10, calibre's series and a ``cover`` meta."""
    return epub(version=2, opf=OPF2.format(isbn10=isbn10("315006111")), cover=cover)


def set_flag(data: bytes, name: bytes, flag: int) -> bytes:
    """``data`` (a ZIP) with general-purpose ``flag`` set on the entry ``name`` everywhere."""
    buf = bytearray(data)
    for signature, offset, name_at in ((b"PK\x03\x04", 6, 30), (b"PK\x01\x02", 8, 46)):
        start = 0
        while (pos := buf.find(signature, start)) >= 0:
            start = pos + 4
            if buf[pos + name_at : pos + name_at + len(name)] == name:
                (bits,) = struct.unpack_from("<H", buf, pos + offset)
                struct.pack_into("<H", buf, pos + offset, bits | flag)
    return bytes(buf)


# --- PDF -------------------------------------------------------------------------------------


def pdf(
    title: str = "Satzung der Stadtbibliothek",
    author: str = "Stadt Iserlohn; Erika Muster",
    pages: int = 3,
    keywords: str = "Satzung, Bibliothek",
    user_password: str | None = None,
    owner_password: str | None = None,
) -> bytes:
    """A PDF with document information and ``pages`` pages of text."""
    return files.pdf(
        title,
        author,
        pages=[f"Seite {n + 1}: Die Bibliothek ist dienstags geschlossen." for n in range(pages)],
        keywords=keywords,
        user_password=user_password,
        owner_password=owner_password,
    )


# --- MP3 -------------------------------------------------------------------------------------

# MPEG-1 Layer III, no CRC, 128 kbit/s, 44.1 kHz, mono: 417 bytes a frame, 1152 samples.
MP3_HEADER = b"\xff\xfb\x90\xc0"
MP3_FRAME = MP3_HEADER + bytes(417 - 4)


def mp3_frames(seconds: float = 3.0) -> bytes:
    """Silent MPEG audio frames lasting about ``seconds``."""
    return MP3_FRAME * max(2, round(seconds * 44100 / 1152))


def mp3(
    *,
    seconds: float = 3.0,
    title: str = "Kapitel 1",
    album: str = "Der Schimmelreiter",
    artist: str = "Theodor Storm",
    cover: bytes | None = None,
    chapters: list[tuple[str, int, int]] | None = None,
) -> bytes:
    """Silent frames with ID3v2.4 tags (title, album, artist, year, cover, chapters)."""
    return files.mp3(
        mp3_frames(seconds),
        title=title,
        album=album,
        artist=artist,
        year="2021",
        cover=cover,
        chapters=chapters or (),
    )


# --- MPEG-4 ----------------------------------------------------------------------------------


def box(kind: bytes, payload: bytes) -> bytes:
    """An ISO-BMFF box."""
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def full_box(kind: bytes, payload: bytes, version: int = 0, flags: int = 0) -> bytes:
    """A box with version and flags."""
    return box(kind, bytes([version]) + flags.to_bytes(3, "big") + payload)


_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def _sample_entry(video: bool, encrypted: bool) -> bytes:
    if video:
        kind = b"encv" if encrypted else b"avc1"
        payload = bytes(6) + struct.pack(">H", 1) + bytes(16) + struct.pack(">HH", 320, 240)
        payload += struct.pack(">IIIH", 0x480000, 0x480000, 0, 1) + bytes(32)
        payload += struct.pack(">Hh", 24, -1)
        return box(kind, payload)
    kind = b"enca" if encrypted else b"mp4a"
    payload = bytes(6) + struct.pack(">H", 1) + bytes(8)
    payload += struct.pack(">HHHHI", 1, 16, 0, 0, 44100 << 16)
    # An ES descriptor: AAC LC (object type 0x40), 44.1 kHz mono (AudioSpecificConfig 12 08).
    specific = b"\x05\x02\x12\x08"
    config = b"\x40\x15" + bytes(3) + struct.pack(">II", 128000, 128000) + specific
    descriptor = b"\x00\x00\x00" + b"\x04" + bytes([len(config)]) + config + b"\x06\x01\x02"
    esds = full_box(b"esds", b"\x03" + bytes([len(descriptor)]) + descriptor)
    return box(kind, payload + esds)


def mp4_boxes(
    *,
    seconds: int = 3,
    brand: bytes = b"M4B ",
    video: bool = False,
    encrypted: bool = False,
    chapters: list[tuple[str, float]] | None = None,
) -> bytes:
    """An MPEG-4 file with one audio (or video) track and optional Nero chapters."""
    ftyp = box(b"ftyp", brand + struct.pack(">I", 0) + brand + b"mp42isom")
    mvhd = full_box(
        b"mvhd",
        struct.pack(">IIII", 0, 0, 1000, seconds * 1000)
        + struct.pack(">IH", 0x10000, 0x100)
        + bytes(10)
        + _MATRIX
        + bytes(24)
        + struct.pack(">I", 2),
    )
    tkhd = full_box(
        b"tkhd",
        struct.pack(">IIIII", 0, 0, 1, 0, seconds * 1000)
        + bytes(8)
        + struct.pack(">hhhH", 0, 0, 0 if video else 0x100, 0)
        + _MATRIX
        + struct.pack(">II", (320 << 16) if video else 0, (240 << 16) if video else 0),
        flags=3,
    )
    mdhd = full_box(b"mdhd", struct.pack(">IIIIHH", 0, 0, 44100, seconds * 44100, 0x55C4, 0))
    handler = b"vide" if video else b"soun"
    hdlr = full_box(b"hdlr", bytes(4) + handler + bytes(12) + b"Handler\x00")
    media_header = full_box(b"vmhd", bytes(8), flags=1) if video else full_box(b"smhd", bytes(4))
    dinf = box(b"dinf", full_box(b"dref", struct.pack(">I", 1) + full_box(b"url ", b"", flags=1)))
    stsd = full_box(b"stsd", struct.pack(">I", 1) + _sample_entry(video, encrypted))
    stbl = box(
        b"stbl",
        stsd
        + full_box(b"stts", struct.pack(">I", 0))
        + full_box(b"stsc", struct.pack(">I", 0))
        + full_box(b"stsz", struct.pack(">II", 0, 0))
        + full_box(b"stco", struct.pack(">I", 0)),
    )
    minf = box(b"minf", media_header + dinf + stbl)
    trak = box(b"trak", tkhd + box(b"mdia", mdhd + hdlr + minf))
    udta = b""
    if chapters:
        entries = b"".join(
            struct.pack(">QB", round(start * 10_000_000), len(name.encode())) + name.encode()
            for name, start in chapters
        )
        chpl = full_box(b"chpl", bytes(4) + bytes([len(chapters)]) + entries, version=1)
        udta = box(b"udta", chpl)
    moov = box(b"moov", mvhd + trak + udta)
    return ftyp + moov + box(b"mdat", bytes(64))


def m4b(
    *,
    seconds: int = 3,
    title: str = "Teil 1",
    album: str = "Der Schimmelreiter",
    artist: str = "Theodor Storm",
    cover: bytes | None = None,
    chapters: list[tuple[str, float]] | None = None,
    **kwargs: Any,
) -> bytes:
    """An M4B audiobook with iTunes tags (written by mutagen) and chapters."""

    def tag(path: Path) -> None:
        audio = MP4(path)
        audio.add_tags()
        audio["\xa9nam"] = [title]
        audio["\xa9alb"] = [album]
        audio["\xa9ART"] = [artist]
        audio["\xa9day"] = ["2022"]
        if cover:
            audio["covr"] = [MP4Cover(cover, imageformat=MP4Cover.FORMAT_JPEG)]
        audio.save()

    return files.tagged(mp4_boxes(seconds=seconds, chapters=chapters, **kwargs), ".m4b", tag)


# --- Ogg and WebM ----------------------------------------------------------------------------


def ogg_vorbis(seconds: int = 3, title: str = "Nordsee", artist: str = "Möwenchor") -> bytes:
    """An Ogg Vorbis stream: identification, comment and setup headers, one last page."""
    ident = b"\x01vorbis" + struct.pack("<IBIiiiB", 0, 1, 44100, 0, 128000, 0, 0xB8) + b"\x01"
    vendor = b"vhs-tests"
    comments = [f"TITLE={title}".encode(), f"ARTIST={artist}".encode(), b"DATE=2020"]
    comment = b"\x03vorbis" + struct.pack("<I", len(vendor)) + vendor
    comment += struct.pack("<I", len(comments))
    comment += b"".join(struct.pack("<I", len(c)) + c for c in comments) + b"\x01"
    setup = b"\x05vorbis" + bytes(16)
    pages = []
    for sequence, (packets, position) in enumerate(
        (([ident], 0), ([comment, setup], 0), ([bytes(32)], seconds * 44100))
    ):
        page = OggPage()
        page.serial, page.sequence, page.position, page.packets = 7, sequence, position, packets
        page.first = sequence == 0
        page.last = sequence == 2
        pages.append(page.write())
    return b"".join(pages)


def _ebml(element: int, data: bytes) -> bytes:
    ident = element.to_bytes((element.bit_length() + 7) // 8, "big")
    return ident + bytes([0x80 | len(data)]) + data


def webm(doc_type: bytes = b"webm") -> bytes:
    """A WebM (or Matroska) header followed by a segment of unknown size."""
    header = b"".join(
        (
            _ebml(0x4286, b"\x01"),
            _ebml(0x42F7, b"\x01"),
            _ebml(0x42F2, b"\x04"),
            _ebml(0x42F3, b"\x08"),
            _ebml(0x4282, doc_type),
            _ebml(0x4287, b"\x02"),
            _ebml(0x4285, b"\x02"),
        )
    )
    segment = b"\x18\x53\x80\x67" + b"\x01\xff\xff\xff\xff\xff\xff\xff" + bytes(64)
    return _ebml(0x1A45DFA3, header) + segment
