"""The personalised watermark of a downloaded EPUB ("weiches DRM"), added on the fly.

The book is rewritten entry by entry as it is sent: ``mimetype`` first and stored (no extra
field, sizes in its local header, as the OCF container asks), every other entry copied in its
order — stored entries stay stored with their known size and CRC, deflated ones are deflated
again in chunks behind a data descriptor (``stream-zip``) — so memory does not grow with the
book. Only the package document (OPF) is read whole: it gains a ``dc:rights`` statement and a
``<meta name="vhs:watermark">`` with the code, and lists a colophon page (``vhs-ausleihe.xhtml``)
in its manifest and at the end of its spine. Nothing here knows loans or requests: the caller
brings the code, the sentences and the rendered colophon page.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO

from lxml import etree
from stream_zip import NO_COMPRESSION_32, NO_COMPRESSION_64, ZIP_AUTO, Method, stream_zip

MIMETYPE = b"application/epub+zip"
CHUNK = 64 * 1024
# An OPF is a few kilobytes; one of many megabytes is no package document we made or accept.
OPF_MAX_BYTES = 16 * 1024 * 1024
CONTAINER = "META-INF/container.xml"
COLOPHON_NAME = "vhs-ausleihe"
META_NAME = "vhs:watermark"
CODE_PATTERN = re.compile(r"W-[0-9A-Z]{4}-[0-9A-Z]{4}")

NS = {
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
    "c": "urn:oasis:names:tc:opendocument:xmlns:container",
}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
_LARGE = 0xFFFFFFFF  # beyond this an entry needs ZIP64


class EpubUnreadable(Exception):
    """The file is no EPUB whose package document can be found and read."""


@dataclass(frozen=True)
class Mark:
    """What one download carries: the code, the rights statement, the colophon page (XHTML)."""

    code: str
    rights: str
    colophon: bytes


@dataclass(frozen=True)
class Prepared:
    """The rewritten package document and where it and the colophon go in the archive."""

    opf_name: str
    opf: bytes
    colophon_name: str
    colophon: bytes


def _read_small(source: zipfile.ZipFile, name: str) -> bytes:
    try:
        info = source.getinfo(name)
    except KeyError:
        raise EpubUnreadable(f"{name} is missing") from None
    if info.file_size > OPF_MAX_BYTES:
        raise EpubUnreadable(f"{name} is too large")
    with source.open(info) as handle:
        return handle.read(OPF_MAX_BYTES + 1)


def package_path(source: zipfile.ZipFile) -> str:
    """Where the package document is, as ``META-INF/container.xml`` says."""
    try:
        container = etree.fromstring(_read_small(source, CONTAINER), _PARSER)
    except etree.XMLSyntaxError as exc:
        raise EpubUnreadable("container.xml is not XML") from exc
    for rootfile in container.iterfind(".//c:rootfile", NS):
        path = rootfile.get("full-path") or ""
        kind = rootfile.get("media-type", "application/oebps-package+xml")
        safe = path and not path.startswith("/") and ".." not in path.split("/")
        if kind.endswith("package+xml") and safe:
            return path
    raise EpubUnreadable("container.xml names no package document")


def _package(source: zipfile.ZipFile) -> tuple[str, etree._Element]:
    name = package_path(source)
    try:
        root = etree.fromstring(_read_small(source, name), _PARSER)
    except etree.XMLSyntaxError as exc:
        raise EpubUnreadable("the package document is not XML") from exc
    if root.tag != f"{{{NS['opf']}}}package":
        raise EpubUnreadable("the package document is no OPF package")
    return name, root


def _free(taken: set[str], stem: str, suffix: str = "") -> str:
    """``stem + suffix``, or with a number inserted until it is not taken."""
    candidate, n = f"{stem}{suffix}", 1
    while candidate in taken:
        n += 1
        candidate = f"{stem}-{n}{suffix}"
    return candidate


def prepare(source: zipfile.ZipFile, mark: Mark) -> Prepared:
    """Rewrite the package document for ``mark`` (EpubUnreadable when there is none)."""
    opf_name, root = _package(source)
    metadata = root.find("opf:metadata", NS)
    manifest = root.find("opf:manifest", NS)
    spine = root.find("opf:spine", NS)
    if metadata is None or manifest is None or spine is None:
        raise EpubUnreadable("the package document lacks metadata, manifest or spine")
    rights = etree.SubElement(metadata, f"{{{NS['dc']}}}rights")
    rights.text = mark.rights
    etree.SubElement(metadata, f"{{{NS['opf']}}}meta", name=META_NAME, content=mark.code)

    base = posixpath.dirname(opf_name)
    names = set(source.namelist())
    hrefs = {item.get("href", "") for item in manifest.iterfind("opf:item", NS)}
    taken = names | {posixpath.join(base, h) for h in hrefs}
    colophon_name = _free(taken, posixpath.join(base, COLOPHON_NAME), ".xhtml")
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    item_id = _free(ids, COLOPHON_NAME)
    etree.SubElement(
        manifest,
        f"{{{NS['opf']}}}item",
        id=item_id,
        href=posixpath.relpath(colophon_name, base or "."),
        **{"media-type": "application/xhtml+xml"},
    )
    etree.SubElement(spine, f"{{{NS['opf']}}}itemref", idref=item_id, linear="yes")
    opf = etree.tostring(root, xml_declaration=True, encoding="utf-8")
    return Prepared(opf_name, opf, colophon_name, mark.colophon)


def _modified(info: zipfile.ZipInfo) -> datetime:
    try:
        return datetime(*info.date_time)
    except ValueError:  # a nonsense date in the archive: keep the entry, not the date
        return datetime(1980, 1, 1)


def _chunks(source: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    with source.open(info) as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def _stored(size: int, crc: int) -> Method:
    return NO_COMPRESSION_64(size, crc) if size >= _LARGE else NO_COMPRESSION_32(size, crc)


def _members(
    source: zipfile.ZipFile, prepared: Prepared, now: datetime
) -> Iterator[tuple[str, datetime, int, Method, Iterable[bytes]]]:
    yield "mimetype", now, 0o644, _stored(len(MIMETYPE), zlib.crc32(MIMETYPE)), (MIMETYPE,)
    seen = {"mimetype"}
    for info in source.infolist():
        if info.filename in seen or info.is_dir():
            continue
        seen.add(info.filename)
        if info.filename == prepared.opf_name:
            opf = prepared.opf
            yield info.filename, _modified(info), 0o644, ZIP_AUTO(len(opf)), (opf,)
        elif info.compress_type == zipfile.ZIP_STORED:
            method = _stored(info.file_size, info.CRC)
            yield info.filename, _modified(info), 0o644, method, _chunks(source, info)
        else:
            method = ZIP_AUTO(info.file_size, level=6)
            yield info.filename, _modified(info), 0o644, method, _chunks(source, info)
    colophon = prepared.colophon
    yield prepared.colophon_name, now, 0o644, ZIP_AUTO(len(colophon)), (colophon,)


def watermarked(source: zipfile.ZipFile, prepared: Prepared) -> Iterator[bytes]:
    """The book with the watermark, as chunks of a ZIP written front to back."""
    now = datetime.now(UTC).replace(tzinfo=None)
    yield from stream_zip(_members(source, prepared, now), CHUNK, extended_timestamps=False)


def read_code(stream: IO[bytes]) -> str | None:
    """The watermark code an EPUB carries (its metadata, else its colophon page), or None.

    EpubUnreadable when ``stream`` is no ZIP or no EPUB.
    """
    try:
        source = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise EpubUnreadable("not a ZIP archive") from exc
    with source:
        try:
            _name, root = _package(source)
        except (zipfile.BadZipFile, OSError, ValueError, RuntimeError) as exc:
            raise EpubUnreadable("unreadable") from exc
        for meta in root.iterfind("opf:metadata/opf:meta", NS):
            if meta.get("name") == META_NAME and CODE_PATTERN.fullmatch(meta.get("content", "")):
                return meta.get("content")
        for info in source.infolist():
            if posixpath.basename(info.filename).startswith(COLOPHON_NAME):
                try:
                    text = _read_small(source, info.filename).decode("utf-8", "replace")
                except (zipfile.BadZipFile, OSError, ValueError, RuntimeError):
                    continue
                if found := CODE_PATTERN.search(text):
                    return found.group(0)
    return None
