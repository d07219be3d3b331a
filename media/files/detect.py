"""A file's format, read from its content alone (magic bytes and structure), never its name.

Accepted: EPUB (a ZIP whose first entry is ``mimetype`` holding ``application/epub+zip``, with
``META-INF/container.xml``), PDF (``%PDF-`` … ``%%EOF``), MP3 (an ID3 tag or MPEG audio
frames, two in a row), MPEG-4 (``ftyp``, boxes that tile the file; audio or video by its
tracks' handlers), Ogg (Vorbis, Opus, FLAC, Speex; Theora as video) and WebM (EBML with
doc type ``webm``). Archives are refused when they would unpack to far more than they hold,
name paths outside themselves, are encrypted (or carry DRM) or fail their checksums.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from lxml import etree

from media.ingest.epub import unsafe_name, xml_parser
from media.ingest.proposal import FileRefused, refused
from media.models import FileFormat

MEDIA_TYPES: dict[FileFormat, str] = {
    FileFormat.EPUB: "application/epub+zip",
    FileFormat.PDF: "application/pdf",
    FileFormat.MP3: "audio/mpeg",
    FileFormat.M4A: "audio/mp4",
    FileFormat.OGG: "audio/ogg",
    FileFormat.MP4: "video/mp4",
    FileFormat.WEBM: "video/webm",
}

# The extensions that name each format; a file called otherwise is taken for what it is.
EXTENSIONS: dict[FileFormat, tuple[str, ...]] = {
    FileFormat.EPUB: (".epub",),
    FileFormat.PDF: (".pdf",),
    FileFormat.MP3: (".mp3",),
    FileFormat.M4A: (".m4a", ".m4b", ".mp4", ".aac"),
    FileFormat.OGG: (".ogg", ".oga", ".opus", ".ogv", ".spx"),
    FileFormat.MP4: (".mp4", ".m4v", ".mov"),
    FileFormat.WEBM: (".webm", ".weba"),
}

# Archive limits: EPUBs are text and images, which compress a few times at most.
ZIP_MAX_ENTRIES = 10_000
ZIP_MAX_UNPACKED = 2 * 1024**3  # all entries together
ZIP_MAX_RATIO = 50  # unpacked : packed, for the whole archive
ZIP_MAX_ENTRY_RATIO = 100  # for one entry of at least ZIP_RATIO_FLOOR bytes
ZIP_RATIO_FLOOR = 1024 * 1024
# META-INF/encryption.xml may only obfuscate fonts (IDPF and Adobe schemes); anything else is
# DRM, and so are Adobe's rights.xml and Readium LCP's licence.
FONT_OBFUSCATION = {"http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC"}
DRM_ENTRIES = {"META-INF/rights.xml", "META-INF/license.lcpl"}
XML_MAX_BYTES = 4 * 1024 * 1024
ENCRYPTED_SAMPLE_ENTRIES = {b"enca", b"encv", b"drms", b"drmi"}
MP4_MAX_BOXES = 100_000


@dataclass(frozen=True)
class Detected:
    """What a file is: its format and the media type it is served as."""

    format: FileFormat
    media_type: str


def detect(path: Path) -> Detected:
    """The format of the file at ``path``; ``FileRefused`` says why one is not accepted."""
    size = path.stat().st_size
    if size == 0:
        raise refused("file_empty")
    with path.open("rb") as f:
        head = f.read(512)
        if head.startswith(b"%PDF-"):
            f.seek(max(0, size - 2048))
            if b"%%EOF" not in f.read():
                raise refused("file_corrupt")  # cut off: a PDF ends with %%EOF
            return _found(FileFormat.PDF)
        if head.startswith(b"PK\x03\x04"):
            check_epub(path)
            return _found(FileFormat.EPUB)
        if head[4:8] == b"ftyp":
            return _mpeg4(f, size)
        if head.startswith(b"OggS"):
            return _ogg(head)
        if head.startswith(b"\x1a\x45\xdf\xa3"):
            return _webm(head)
        if head.startswith(b"ID3") or _mpeg_frame_length(head) is not None:
            _mp3(f, head, size)
            return _found(FileFormat.MP3)
    raise refused("file_format_unknown")


def misnamed(filename: str, detected: Detected) -> str | None:
    """The extension of ``filename`` when it names another format than the content has."""
    suffix = Path(filename or "").suffix.lower()
    if not suffix or suffix in EXTENSIONS[detected.format]:
        return None
    return suffix


def _found(fmt: FileFormat, media_type: str | None = None) -> Detected:
    return Detected(fmt, media_type or MEDIA_TYPES[fmt])


# --- EPUB ------------------------------------------------------------------------------------


def check_epub(path: Path) -> None:
    """Refuse a ZIP that is no EPUB, is unsafe to unpack, is encrypted or fails its CRCs."""
    try:
        with zipfile.ZipFile(path) as zf:
            entries = zf.infolist()
            check_archive(entries, path.stat().st_size)
            first = entries[0]
            if first.filename != "mimetype" or first.file_size > 100:
                raise refused("file_format_unknown")  # a ZIP, but not an EPUB
            if zf.read(first).strip() != b"application/epub+zip":
                raise refused("file_format_unknown")
            names = {e.filename for e in entries}
            if "META-INF/container.xml" not in names:
                raise refused("file_corrupt")
            if names & DRM_ENTRIES:
                raise refused("file_encrypted")
            if "META-INF/encryption.xml" in names:
                _check_encryption(zf.getinfo("META-INF/encryption.xml"), zf)
            if zf.testzip() is not None:  # reads every entry, within the sizes checked above
                raise refused("file_corrupt")
    except FileRefused:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError):
        # NotImplementedError: a compression method zipfile does not know; all: unreadable.
        raise refused("file_corrupt") from None


def check_archive(entries: list[zipfile.ZipInfo], packed: int) -> None:
    """The limits every entry and the whole archive must keep (see the constants)."""
    if not entries:
        raise refused("file_corrupt")
    if len(entries) > ZIP_MAX_ENTRIES:
        raise refused("file_zip_bomb")
    if any(unsafe_name(e.filename) for e in entries):
        raise refused("file_unsafe_path")
    if any(e.flag_bits & 0x1 for e in entries):
        raise refused("file_encrypted")
    unpacked = sum(e.file_size for e in entries)
    if unpacked > ZIP_MAX_UNPACKED or unpacked > ZIP_MAX_RATIO * max(packed, 1):
        raise refused("file_zip_bomb")
    for e in entries:
        if e.file_size >= ZIP_RATIO_FLOOR and e.file_size > ZIP_MAX_ENTRY_RATIO * max(
            e.compress_size, 1
        ):
            raise refused("file_zip_bomb")


def _check_encryption(info: zipfile.ZipInfo, zf: zipfile.ZipFile) -> None:
    """Font obfuscation is allowed; any other encryption is DRM."""
    if info.file_size > XML_MAX_BYTES:
        raise refused("file_corrupt")
    try:
        root = etree.fromstring(zf.read(info), xml_parser())
    except etree.XMLSyntaxError:
        raise refused("file_corrupt") from None
    algorithms = {
        m.get("Algorithm", "")
        for m in root.iter("{http://www.w3.org/2001/04/xmlenc#}EncryptionMethod")
    }
    if algorithms - FONT_OBFUSCATION:
        raise refused("file_encrypted")


# --- MP3 -------------------------------------------------------------------------------------

_BITRATES_V1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0)
_BITRATES_V2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0)
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
MP3_SYNC_WINDOW = 64 * 1024  # padding after the ID3 tag we look past for the first frame


def _mpeg_frame_length(header: bytes) -> int | None:
    """The length of the MPEG audio Layer III frame starting ``header``, None if it is none."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version, layer = (header[1] >> 3) & 3, (header[1] >> 1) & 3
    bitrate_index, rate_index = header[2] >> 4, (header[2] >> 2) & 3
    if version == 1 or layer != 1 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    bitrate = (_BITRATES_V1 if version == 3 else _BITRATES_V2)[bitrate_index] * 1000
    rate = _SAMPLE_RATES[version][rate_index]
    padding = (header[2] >> 1) & 1
    return (144 if version == 3 else 72) * bitrate // rate + padding


def _mp3(f: IO[bytes], head: bytes, size: int) -> None:
    """An ID3 tag (if any) followed by MPEG Layer III frames, the first two lined up."""
    start = 0
    if head.startswith(b"ID3"):
        if len(head) < 10 or any(b & 0x80 for b in head[6:10]):
            raise refused("file_corrupt")
        start = 10 + ((head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9])
        start += 10 if head[5] & 0x10 else 0  # a footer follows the tag
    f.seek(start)
    window = f.read(MP3_SYNC_WINDOW)
    for offset in range(len(window) - 3):
        length = _mpeg_frame_length(window[offset : offset + 4])
        if length is None:
            continue
        following = start + offset + length
        if following == size:
            return  # a single frame that ends the file
        if following > size:
            continue  # no room for the frame it announces: noise that looks like a header
        f.seek(following)
        if _mpeg_frame_length(f.read(4)) is not None:
            return
    raise refused("file_corrupt" if head.startswith(b"ID3") else "file_format_unknown")


# --- MPEG-4 ----------------------------------------------------------------------------------


def _boxes(
    f: IO[bytes], start: int, end: int, budget: list[int]
) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, end) of the ISO-BMFF boxes tiling ``start``..``end`` exactly."""
    pos = start
    while pos < end:
        budget[0] -= 1
        if budget[0] < 0:
            raise refused("file_corrupt")
        f.seek(pos)
        header = f.read(8)
        if len(header) < 8:
            raise refused("file_corrupt")
        size, kind = struct.unpack(">I4s", header)
        header_size = 8
        if size == 1:
            large = f.read(8)
            if len(large) < 8:
                raise refused("file_corrupt")
            size, header_size = struct.unpack(">Q", large)[0], 16
        elif size == 0:
            size = end - pos  # the last box runs to the end
        if size < header_size or pos + size > end:
            raise refused("file_corrupt")
        yield kind, pos + header_size, pos + size
        pos += size


def _child(f: IO[bytes], start: int, end: int, kind: bytes, budget: list[int]) -> tuple[int, int]:
    """The payload range of the first ``kind`` box inside a container."""
    for found, payload, box_end in _boxes(f, start, end, budget):
        if found == kind:
            return payload, box_end
    raise refused("file_corrupt")


def _mpeg4(f: IO[bytes], size: int) -> Detected:
    """Audio (M4A/M4B) or video by the tracks' handlers; encrypted sample entries refused."""
    budget = [MP4_MAX_BOXES]
    top = {kind: (payload, end) for kind, payload, end in _boxes(f, 0, size, budget)}
    if b"moov" not in top:
        raise refused("file_corrupt")
    f.seek(top[b"ftyp"][0])
    if f.read(4) == b"M4P ":
        raise refused("file_encrypted")  # iTunes FairPlay
    handlers: set[bytes] = set()
    for kind, payload, end in _boxes(f, *top[b"moov"], budget):
        if kind != b"trak":
            continue
        mdia = _child(f, payload, end, b"mdia", budget)
        hdlr = _child(f, *mdia, b"hdlr", budget)
        f.seek(hdlr[0] + 8)
        handlers.add(f.read(4))
        stbl = _child(f, *_child(f, *mdia, b"minf", budget), b"stbl", budget)
        stsd = _child(f, *stbl, b"stsd", budget)
        f.seek(stsd[0] + 12)  # version/flags, entry count, first entry's size
        if f.read(4) in ENCRYPTED_SAMPLE_ENTRIES:
            raise refused("file_encrypted")
    if b"vide" in handlers:
        return _found(FileFormat.MP4)
    if b"soun" in handlers:
        return _found(FileFormat.M4A)
    raise refused("file_format_unknown")


# --- Ogg and WebM ----------------------------------------------------------------------------

_OGG_CODECS = {
    b"\x01vorbis": "audio/ogg",
    b"OpusHead": "audio/ogg",
    b"\x7fFLAC": "audio/ogg",
    b"Speex   ": "audio/ogg",
    b"\x80theora": "video/ogg",
}


def _ogg(head: bytes) -> Detected:
    """The codec of the first packet of the first page decides audio or video."""
    if len(head) < 27 or head[4] != 0:
        raise refused("file_corrupt")
    segments = head[26]
    packet = head[27 + segments : 27 + segments + 8]
    for magic, media_type in _OGG_CODECS.items():
        if packet.startswith(magic):
            return _found(FileFormat.OGG, media_type)
    raise refused("file_format_unknown")


def _vint(data: bytes, pos: int, *, keep_marker: bool) -> tuple[int, int]:
    """An EBML variable-length integer at ``pos``: (value, next position)."""
    if pos >= len(data) or data[pos] == 0:
        raise refused("file_corrupt")
    length = 8 - data[pos].bit_length() + 1
    if pos + length > len(data):
        raise refused("file_corrupt")
    value = data[pos] if keep_marker else data[pos] & (0xFF >> length)
    for byte in data[pos + 1 : pos + length]:
        value = (value << 8) | byte
    return value, pos + length


def _webm(head: bytes) -> Detected:
    """Matroska's EBML header with the doc type ``webm`` (plain Matroska is not accepted)."""
    _id, pos = _vint(head, 0, keep_marker=True)
    size, pos = _vint(head, pos, keep_marker=False)
    end = pos + size
    if end > len(head):
        raise refused("file_corrupt")
    doc_type = b""
    while pos < end:
        element, pos = _vint(head, pos, keep_marker=True)
        length, pos = _vint(head, pos, keep_marker=False)
        if element == 0x4282:
            doc_type = head[pos : pos + length]
        pos += length
    if doc_type != b"webm":
        raise refused("file_format_unknown")
    segment, _ = _vint(head, end, keep_marker=True)
    if segment != 0x18538067:
        raise refused("file_corrupt")
    return _found(FileFormat.WEBM)
