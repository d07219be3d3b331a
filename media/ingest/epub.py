"""What an EPUB says about itself: the OPF package's Dublin Core metadata and its cover.

Read with ``zipfile`` and ``lxml`` (EPUB 2 and 3): title and subtitle (``title-type``
refinements), creators and contributors with their MARC relator roles (``opf:role`` or a
``role`` refinement), language, publisher, ISBN among the identifiers, description (HTML
reduced to text), subjects, publication year, series (EPUB 3 ``belongs-to-collection`` or
calibre's ``calibre:series``) and the cover image (``cover-image`` property or the EPUB 2
``cover`` meta). The archive has been checked for safety before (``media.files.detect``);
every entry read here is still size-bounded.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from pathlib import Path
from urllib.parse import unquote

from lxml import etree
from lxml import html as lxml_html

from media.ingest.proposal import (
    Proposal,
    add_person,
    add_subject,
    clean,
    clean_block,
    column_limit,
    isbn13,
    language_code,
    refused,
    series_number_of,
    year_of,
)
from media.models import ContributorRole

NS = {
    "c": "urn:oasis:names:tc:opendocument:xmlns:container",
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
}
OPF_ROLE = f"{{{NS['opf']}}}role"
OPF_SCHEME = f"{{{NS['opf']}}}scheme"
OPF_EVENT = f"{{{NS['opf']}}}event"
XML_MAX_BYTES = 4 * 1024 * 1024
COVER_MAX_BYTES = 20 * 1024 * 1024
IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}

# MARC relator codes (as EPUB uses them) of the roles an item records.
RELATORS = {
    "aut": ContributorRole.AUTHOR,
    "nrt": ContributorRole.NARRATOR,
    "edt": ContributorRole.EDITOR,
    "trl": ContributorRole.TRANSLATOR,
    "ill": ContributorRole.ILLUSTRATOR,
}


def xml_parser() -> etree.XMLParser:
    """A parser that fetches nothing and expands no entities (files are untrusted)."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def unsafe_name(name: str) -> bool:
    """Whether an archive entry's name points outside the archive (absolute, ``..``, drive)."""
    normal = name.replace("\\", "/")
    return (
        normal.startswith("/")
        or re.match(r"[A-Za-z]:", normal) is not None
        or ".." in normal.split("/")
        or "\x00" in normal
    )


def entry_path(base: str, href: str) -> str | None:
    """The archive entry an OPF ``href`` names, relative to ``base``; None if outside it."""
    href = unquote(href.split("#")[0]).replace("\\", "/")
    if not href or href.startswith("/") or ":" in href or "\x00" in href:
        return None  # absolute, a drive, a URL (http:, file:) or a NUL
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(base), href))
    return None if joined == ".." or joined.startswith("../") else joined


def read_epub(path: Path) -> Proposal:
    """The metadata of the EPUB at ``path``; ``FileRefused`` (corrupt) when it has none."""
    try:
        with zipfile.ZipFile(path) as zf:
            container = _xml(zf, "META-INF/container.xml")
            rootfile = container.find(".//c:rootfile", NS)
            opf_name = rootfile.get("full-path", "") if rootfile is not None else ""
            if not opf_name or unsafe_name(opf_name):
                raise refused("file_corrupt")
            package = _xml(zf, opf_name)
            metadata = package.find("opf:metadata", NS)
            if metadata is None:
                raise refused("file_corrupt")
            proposal = _describe(metadata)
            proposal.cover = _cover(zf, package, metadata, opf_name)
            return proposal
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError):
        raise refused("file_corrupt") from None


def _read(zf: zipfile.ZipFile, name: str, limit: int) -> bytes | None:
    """An entry's bytes if it exists and is within ``limit``."""
    try:
        info = zf.getinfo(name)
    except KeyError:
        return None
    return zf.read(info) if info.file_size <= limit else None


def _xml(zf: zipfile.ZipFile, name: str) -> etree._Element:
    """A required XML entry, parsed safely."""
    data = _read(zf, name, XML_MAX_BYTES)
    if data is None:
        raise refused("file_corrupt")
    try:
        return etree.fromstring(data, xml_parser())
    except etree.XMLSyntaxError:
        raise refused("file_corrupt") from None


def _refinements(metadata: etree._Element) -> dict[str, dict[str, str]]:
    """EPUB 3 ``<meta refines="#id" property="p">v</meta>``: id -> {property: value}."""
    found: dict[str, dict[str, str]] = {}
    for meta in metadata.findall("opf:meta", NS):
        target, prop = meta.get("refines", ""), meta.get("property", "")
        if target.startswith("#") and prop:
            found.setdefault(target[1:], {}).setdefault(prop, (meta.text or "").strip())
    return found


def _describe(metadata: etree._Element) -> Proposal:
    """The Dublin Core fields and the series."""
    refined = _refinements(metadata)
    p = Proposal()

    titles = metadata.findall("dc:title", NS)
    for element in titles:
        kind = refined.get(element.get("id", ""), {}).get("title-type", "")
        if kind == "main" and not p.title:
            p.title = clean(element.text, column_limit("title"))
        elif kind == "subtitle" and not p.subtitle:
            p.subtitle = clean(element.text, column_limit("subtitle"))
    if not p.title and titles:
        p.title = clean(titles[0].text, column_limit("title"))

    for tag, default in (("dc:creator", ContributorRole.AUTHOR), ("dc:contributor", None)):
        for element in metadata.findall(tag, NS):
            code = element.get(OPF_ROLE) or refined.get(element.get("id", ""), {}).get("role")
            role = RELATORS.get((code or "").strip().lower()) if code else default
            if role is not None:
                add_person(p.contributors, element.text, role)

    for element in metadata.findall("dc:language", NS):
        if code := language_code(element.text):
            p.language = code
            break
    publisher = metadata.find("dc:publisher", NS)
    if publisher is not None:
        p.publisher = clean(publisher.text, column_limit("publisher"))
    for element in metadata.findall("dc:identifier", NS):
        if isbn := isbn13(element.text):
            p.isbn = isbn
            break
    description = metadata.find("dc:description", NS)
    if description is not None and (description.text or "").strip():
        p.description = _plain_text(description.text or "")
    for element in metadata.findall("dc:subject", NS):
        add_subject(p.subjects, element.text)
    for element in metadata.findall("dc:date", NS):
        if element.get(OPF_EVENT, "publication") == "publication":
            p.year = year_of(element.text)
            if p.year:
                break
    _series(metadata, refined, p)
    return p


def _series(metadata: etree._Element, refined: dict[str, dict[str, str]], p: Proposal) -> None:
    """EPUB 3 ``belongs-to-collection`` (a series, not a set), else calibre's meta tags."""
    for meta in metadata.findall("opf:meta", NS):
        if meta.get("property") != "belongs-to-collection" or meta.get("refines"):
            continue
        details = refined.get(meta.get("id", ""), {})
        if details.get("collection-type", "series") != "series":
            continue
        p.series_title = clean(meta.text, column_limit("series_title"))
        p.series_number = series_number_of(details.get("group-position", ""))
        if p.series_title:
            return
    named = {m.get("name"): m.get("content", "") for m in metadata.findall("opf:meta", NS)}
    if named.get("calibre:series"):
        p.series_title = clean(named["calibre:series"], column_limit("series_title"))
        p.series_number = series_number_of(named.get("calibre:series_index", ""))


def _plain_text(markup: str) -> str:
    """A description that may hold (escaped) HTML, as paragraphs of text."""
    if "<" not in markup:
        return clean_block(markup)
    try:
        fragment = lxml_html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError):
        return clean_block(markup)
    for block in fragment.iter("p", "div", "br", "li", "h1", "h2", "h3", "h4"):
        block.tail = "\n\n" + (block.tail or "")
    return clean_block(fragment.text_content())


def _cover(
    zf: zipfile.ZipFile, package: etree._Element, metadata: etree._Element, opf_name: str
) -> bytes | None:
    """The cover image's bytes, if the package names one that is in the archive."""
    manifest = package.find("opf:manifest", NS)
    if manifest is None:
        return None
    items = manifest.findall("opf:item", NS)
    chosen = next((i for i in items if "cover-image" in i.get("properties", "").split()), None)
    if chosen is None:
        cover_id = next(
            (
                m.get("content")
                for m in metadata.findall("opf:meta", NS)
                if m.get("name") == "cover"
            ),
            None,
        )
        chosen = next((i for i in items if cover_id and i.get("id") == cover_id), None)
    if chosen is None or chosen.get("media-type") not in IMAGE_TYPES:
        return None
    name = entry_path(opf_name, chosen.get("href", ""))
    return _read(zf, name, COVER_MAX_BYTES) if name else None
