"""ONIX 3.0 products (reference names or short tags) as import records, read one at a time.

Read with ``lxml.etree.iterparse``; each ``Product`` is mapped and then cleared, so a feed of any
size is held one product at a time. Codes are those of the ONIX code lists:

- ``RecordReference`` → an ``other`` identifier (the product's id in the feed);
  ``NotificationType`` 05 (delete) → the matching item is withdrawn.
- ``ProductIdentifier`` (list 5): 15 ISBN-13, 02 ISBN-10, 03 GTIN-13 (an ISBN when it starts
  978/979, else ``gtin:…``), 06 DOI (``doi:…``); proprietary numbers (01) are not kept, they
  are unique only within one sender.
- ``ProductForm`` (list 150) and ``ProductFormDetail`` (list 175): audio forms (``A…``, or a
  digital form with A103 MP3 and the like) → audiobook; video (``V…``) → video; digital
  (``E…``, E101 EPUB, E107 PDF) → e-book; anything else → document.
- ``TitleDetail`` with ``TitleType`` 01: the product-level ``TitleElement`` (level 01) gives
  ``TitleText`` (or ``TitlePrefix`` + ``TitleWithoutPrefix``) and ``Subtitle``; a collection
  level element (02) and ``Collection`` give the series and ``PartNumber``.
- ``Contributor`` (list 17): A01 author, E07 narrator ("read by"), B01 editor, B06
  translator, A12 illustrator; ``PersonName``, else ``NamesBeforeKey`` + ``KeyNames``, else
  ``PersonNameInverted`` or ``CorporateName``.
- ``Language`` with ``LanguageRole`` 01 → ``LanguageCode`` (ISO 639-2/B, ``ger`` → ``de``).
- ``Extent`` (lists 23/24): 00/11 (else 08) pages; 09 duration in hours (04), minutes (05),
  seconds (06), HHH (14), HHHMM (15) or HHHMMSS (16).
- ``Subject`` (list 27): 20 keywords (split at ";"); the heading texts of Thema (93–99), BIC
  (12) and BISAC (10), and any other scheme's heading text, as keywords. Codes without text
  (WGS 26, bare Thema codes) are not kept: a code is not a word a reader searches for.
- ``AudienceRange`` with qualifier 17 (interest age) or 18 (reading age), precision 03 (from)
  → the youngest age rating not below it.
- ``CollateralDetail``/``TextContent``: ``TextType`` 03 description (else 02 short
  description), HTML or XHTML reduced to text.
- ``PublishingDetail``: ``Publisher`` (role 01, else the first) ``PublisherName``;
  ``PublishingDate`` role 01 (else any) → year.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO

from flask_babel import gettext as _
from lxml import etree
from lxml import html as lxml_html

from media.imports import records as r
from media.imports.records import ImportRecord, Rejection
from media.models import ContributorRole, IdentifierScheme, MediaKind

# Short tags of the elements read here, to their reference names.
SHORT_TAGS = {
    "product": "Product",
    "a001": "RecordReference",
    "a002": "NotificationType",
    "productidentifier": "ProductIdentifier",
    "b221": "ProductIDType",
    "b244": "IDValue",
    "descriptivedetail": "DescriptiveDetail",
    "b012": "ProductForm",
    "b333": "ProductFormDetail",
    "collection": "Collection",
    "x329": "CollectionType",
    "titledetail": "TitleDetail",
    "b202": "TitleType",
    "titleelement": "TitleElement",
    "x409": "TitleElementLevel",
    "x410": "PartNumber",
    "b203": "TitleText",
    "b030": "TitlePrefix",
    "b031": "TitleWithoutPrefix",
    "b029": "Subtitle",
    "contributor": "Contributor",
    "b034": "SequenceNumber",
    "b035": "ContributorRole",
    "b036": "PersonName",
    "b037": "PersonNameInverted",
    "b039": "NamesBeforeKey",
    "b040": "KeyNames",
    "b047": "CorporateName",
    "language": "Language",
    "b253": "LanguageRole",
    "b252": "LanguageCode",
    "extent": "Extent",
    "b218": "ExtentType",
    "b219": "ExtentValue",
    "b220": "ExtentUnit",
    "subject": "Subject",
    "b067": "SubjectSchemeIdentifier",
    "b069": "SubjectCode",
    "b070": "SubjectHeadingText",
    "audiencerange": "AudienceRange",
    "b074": "AudienceRangeQualifier",
    "b075": "AudienceRangePrecision",
    "b076": "AudienceRangeValue",
    "collateraldetail": "CollateralDetail",
    "textcontent": "TextContent",
    "x426": "TextType",
    "d104": "Text",
    "publishingdetail": "PublishingDetail",
    "publisher": "Publisher",
    "b291": "PublishingRole",
    "b081": "PublisherName",
    "publishingdate": "PublishingDate",
    "x448": "PublishingDateRole",
    "b306": "Date",
}
ROLES = {
    "A01": ContributorRole.AUTHOR,
    "E07": ContributorRole.NARRATOR,
    "B01": ContributorRole.EDITOR,
    "B06": ContributorRole.TRANSLATOR,
    "A12": ContributorRole.ILLUSTRATOR,
}
AUDIO_DETAILS = {"A101", "A102", "A103", "A104", "A105", "A106", "A107", "A108", "A111", "A112"}
TEXT_SCHEMES = {"10", "12", "13", "93", "94", "95", "96", "97", "98", "99"}
DURATION_UNITS = {"04": 3600, "05": 60, "06": 1}


class NotOnix3(ValueError):
    """The file is ONIX, but not release 3.0."""


def _name(tag: object) -> str:
    """An element's reference name, whatever tags (and namespace) the file uses."""
    if not isinstance(tag, str):
        return ""
    local = etree.QName(tag).localname
    return SHORT_TAGS.get(local, local)


class _Node:
    """An element read by reference names (short tags are translated)."""

    __slots__ = ("element",)

    def __init__(self, element: etree._Element) -> None:
        self.element = element

    def all(self, name: str) -> list[_Node]:
        return [_Node(c) for c in self.element if _name(c.tag) == name]

    def one(self, name: str) -> _Node | None:
        found = self.all(name)
        return found[0] if found else None

    def text(self, name: str) -> str:
        node = self.one(name)
        return "".join(node.element.itertext()).strip() if node is not None else ""


def read_onix(stream: IO[bytes]) -> Iterator[ImportRecord | Rejection]:
    """The products of an ONIX 3.0 message, one at a time; ``NotOnix3`` for ONIX 2.1."""
    events = etree.iterparse(
        stream,
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
    )
    position = 0
    depth_checked = False
    for event, element in events:
        name = _name(element.tag)
        if event == "start":
            if not depth_checked:
                depth_checked = True
                release = element.get("release", "")
                if name.lower() != "onixmessage" or (release and not release.startswith("3")):
                    raise NotOnix3(release or name)
            continue
        if name != "Product":
            continue
        position += 1
        try:
            yield map_product(_Node(element), position)
        except (ValueError, TypeError) as exc:
            yield Rejection(position, r.unreadable(exc))
        element.clear(keep_tail=False)
        while element.getprevious() is not None:
            del element.getparent()[0]


def map_product(product: _Node, position: int) -> ImportRecord:
    """What one ``Product`` says about an item (see the module docstring)."""
    item = ImportRecord(position=position)
    item.delete = product.text("NotificationType") == "05"
    _identifiers(product, item)
    detail = product.one("DescriptiveDetail")
    item.kind = _kind(detail)
    if detail is not None:
        _titles(detail, item)
        _contributors(detail, item)
        _languages(detail, item)
        _extents(detail, item)
        _subjects(detail, item)
        _audience(detail, item)
    collateral = product.one("CollateralDetail")
    if collateral is not None:
        _description(collateral, item)
    publishing = product.one("PublishingDetail")
    if publishing is not None:
        _publishing(publishing, item)
    return item


def _identifiers(product: _Node, item: ImportRecord) -> None:
    for ident in product.all("ProductIdentifier"):
        kind, value = ident.text("ProductIDType"), ident.text("IDValue")
        digits = re.sub(r"[\s-]", "", value)
        if kind in ("15", "02") or (kind == "03" and re.fullmatch(r"97[89]\d{10}", digits)):
            item.add_identifier(IdentifierScheme.ISBN, value)
        elif kind == "03":
            item.add_identifier(IdentifierScheme.OTHER, f"gtin:{digits}")
        elif kind == "06":
            item.add_identifier(IdentifierScheme.OTHER, f"doi:{value}")
    reference = product.text("RecordReference")
    if reference:
        item.add_identifier(IdentifierScheme.OTHER, reference)


def _kind(detail: _Node | None) -> MediaKind:
    if detail is None:
        return MediaKind.DOCUMENT
    form = detail.text("ProductForm").upper()
    details = {
        d.element.text.strip().upper() for d in detail.all("ProductFormDetail") if d.element.text
    }
    if form.startswith("A") or details & AUDIO_DETAILS:
        return MediaKind.AUDIOBOOK
    if form.startswith("V"):
        return MediaKind.VIDEO
    if form.startswith("E"):
        return MediaKind.EBOOK
    return MediaKind.DOCUMENT


def _level(element: _Node) -> str:
    return element.text("TitleElementLevel") or "01"


def _title_text(element: _Node) -> str:
    text = element.text("TitleText")
    if not text:
        text = " ".join(
            p for p in (element.text("TitlePrefix"), element.text("TitleWithoutPrefix")) if p
        )
    return text


def _titles(detail: _Node, item: ImportRecord) -> None:
    for title in detail.all("TitleDetail"):
        if title.text("TitleType") not in ("01", ""):
            continue
        for element in title.all("TitleElement"):
            if _level(element) == "01" and not item.title:
                item.title = r.text(_title_text(element), "title")
                item.subtitle = r.text(element.text("Subtitle"), "subtitle")
            elif _level(element) == "02" and not item.series_title:
                item.series_title = r.text(_title_text(element), "series_title")
                item.series_number = r.series_number(element.text("PartNumber"))
    for collection in detail.all("Collection"):
        if item.series_title:
            break
        for title in collection.all("TitleDetail"):
            for element in title.all("TitleElement"):
                if _level(element) in ("02", "01") and _title_text(element):
                    item.series_title = r.text(_title_text(element), "series_title")
                    item.series_number = r.series_number(element.text("PartNumber"))
                    break


def _person(contributor: _Node) -> str:
    if name := contributor.text("PersonName"):
        return name
    before, key = contributor.text("NamesBeforeKey"), contributor.text("KeyNames")
    if key:
        return f"{before} {key}".strip()
    inverted = contributor.text("PersonNameInverted")
    if inverted.count(",") == 1:
        surname, forenames = (p.strip() for p in inverted.split(","))
        return f"{forenames} {surname}".strip()
    return inverted or contributor.text("CorporateName")


def _contributors(detail: _Node, item: ImportRecord) -> None:
    people = detail.all("Contributor")
    people.sort(
        key=lambda c: (
            int(c.text("SequenceNumber") or 0) if c.text("SequenceNumber").isdigit() else 0
        )
    )
    for contributor in people:
        for role in contributor.all("ContributorRole"):
            code = (role.element.text or "").strip().upper()
            if code in ROLES:
                item.add_person(_person(contributor), ROLES[code])


def _languages(detail: _Node, item: ImportRecord) -> None:
    for language in detail.all("Language"):
        code = r.language(language.text("LanguageCode"))
        if language.text("LanguageRole") in ("01", "") and code:
            item.language = code
            return


def _extents(detail: _Node, item: ImportRecord) -> None:
    pages: dict[str, int] = {}
    for extent in detail.all("Extent"):
        kind, value, unit = (
            extent.text("ExtentType"),
            extent.text("ExtentValue"),
            extent.text("ExtentUnit"),
        )
        if kind == "09":
            item.duration_seconds = item.duration_seconds or _duration(value, unit)
        elif kind in ("00", "11", "08") and unit in ("03", "") and (number := r.whole(value)):
            pages[kind] = number
    found = pages.get("00") or pages.get("11") or pages.get("08")
    item.pages = found if found in r.rules.PAGES else None


def _duration(value: str, unit: str) -> int | None:
    """Seconds of an ONIX duration in ``unit`` (list 24)."""
    value = value.strip()
    seconds: int | None = None
    if unit in DURATION_UNITS:
        try:
            seconds = round(float(value.replace(",", ".")) * DURATION_UNITS[unit])
        except ValueError:
            return None
    elif unit == "14" and value.isdigit():
        seconds = int(value) * 3600
    elif unit == "15" and value.isdigit() and len(value) >= 3:
        seconds = int(value[:-2]) * 3600 + int(value[-2:]) * 60
    elif unit == "16" and value.isdigit() and len(value) >= 5:
        seconds = int(value[:-4]) * 3600 + int(value[-4:-2]) * 60 + int(value[-2:])
    return seconds if seconds in r.rules.DURATION_SECONDS else None


def _subjects(detail: _Node, item: ImportRecord) -> None:
    for subject in detail.all("Subject"):
        scheme = subject.text("SubjectSchemeIdentifier")
        heading = subject.text("SubjectHeadingText")
        if scheme == "20":
            for term in re.split(r"[;\n]", heading):
                item.add_subject(term)
        elif heading and scheme != "26":
            item.add_subject(heading)


def _audience(detail: _Node, item: ImportRecord) -> None:
    for audience in detail.all("AudienceRange"):
        if audience.text("AudienceRangeQualifier") not in ("17", "18"):
            continue
        precisions = [p.element.text for p in audience.all("AudienceRangePrecision")]
        values = [v.element.text for v in audience.all("AudienceRangeValue")]
        for precision, value in zip(precisions, values, strict=False):
            if (precision or "").strip() in ("03", "01") and (value or "").strip().isdigit():
                item.min_age = r.min_age(value)
                return


def _description(collateral: _Node, item: ImportRecord) -> None:
    texts = {}
    for content in collateral.all("TextContent"):
        node = content.one("Text")
        if node is None:
            continue
        kind = content.text("TextType")
        markup = (
            "".join(node.element.itertext()) if len(node.element) else (node.element.text or "")
        )
        texts.setdefault(kind, _plain(markup))
    item.description = texts.get("03") or texts.get("02") or ""


def _plain(markup: str) -> str:
    """Text of a description that may be (escaped) HTML."""
    if "<" not in markup:
        return r.block(markup)
    try:
        fragment = lxml_html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError):
        return r.block(markup)
    for element in fragment.iter("p", "div", "br", "li"):
        element.tail = "\n\n" + (element.tail or "")
    return r.block(fragment.text_content())


def _publishing(publishing: _Node, item: ImportRecord) -> None:
    publishers = publishing.all("Publisher")
    chosen = next((p for p in publishers if p.text("PublishingRole") == "01"), None)
    chosen = chosen or (publishers[0] if publishers else None)
    if chosen is not None:
        item.publisher = r.text(chosen.text("PublisherName"), "publisher")
    dates = publishing.all("PublishingDate")
    dates.sort(key=lambda d: d.text("PublishingDateRole") != "01")
    for date in dates:
        if found := r.year(date.text("Date")[:4]):
            item.year = found
            return


def not_onix3_message(exc: NotOnix3) -> str:
    """Why an ONIX file of another release is not read."""
    return _("Only ONIX 3.0 is read; this file is ONIX release %(release)s.", release=str(exc))
