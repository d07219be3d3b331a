"""Import files made in the tests: MARC 21 records built with pymarc (binary and MARCXML),
ONIX 3.0 products in reference names or short tags, CSV text as Excel writes it."""

from __future__ import annotations

import csv
import io
import re
from typing import Any
from xml.sax.saxutils import escape

from pymarc import Field, Indicators, Record, Subfield, record_to_xml

# Valid ISBN-13s (check digits right) for the tests.
ISBNS = (
    "9783161484100",
    "9783866801929",
    "9783442267743",
    "9783499256356",
    "9783551551672",
    "9783423214124",
)


def isbn13(n: int) -> str:
    """The n-th of an endless supply of valid ISBN-13s (979-8…, never in ISBNS)."""
    body = f"9798{n:08d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _sub(pairs: list[tuple[str, str]]) -> list[Subfield]:
    return [Subfield(code, value) for code, value in pairs]


def marc_record(
    title: str = "Tod am Deich",
    *,
    isbn: str | None = ISBNS[0],
    control: str | None = "1234567890",
    leader6: str = "a",
    leader7: str = "m",
    content: str | None = "txt",
    authors: tuple[str, ...] = ("Berg, Anna",),
    narrators: tuple[str, ...] = (),
    subtitle: str = "",
    publisher: str = "Nordsee Verlag",
    year: str = "2021",
    language: str = "ger",
    extent: str = "1 Online-Ressource (320 Seiten)",
    duration: str | None = None,
    series: tuple[str, str] | None = None,
    description: str = "",
    subjects: tuple[str, ...] = (),
    classification: str | None = None,
    audience: str | None = None,
    extra: list[Field] | None = None,
) -> Record:
    """A MARC 21 record as the DNB delivers an e-book (change the leader for other kinds)."""
    record = Record(leader=f"00000n{leader6}{leader7} a2200000 c 4500", force_utf8=True)
    if control:
        record.add_field(Field(tag="001", data=control))
        record.add_field(Field(tag="003", data="DE-101"))
    record.add_field(Field(tag="007", data="cr||||||||||||"))
    record.add_field(Field(tag="008", data=f"210101s{year}    gw |||||o|||| 00| ||{language} c"))
    if isbn:
        record.add_field(Field("020", Indicators(" ", " "), _sub([("a", isbn), ("q", "EPUB")])))
    for name in authors:
        record.add_field(
            Field(
                "100" if name == authors[0] else "700",
                Indicators("1", " "),
                _sub([("a", name), ("e", "Verfasser"), ("4", "aut")]),
            )
        )
    for name in narrators:
        record.add_field(
            Field("700", Indicators("1", " "), _sub([("a", name), ("e", "Sprecher"), ("4", "nrt")]))
        )
    title_parts = [("a", f"{title} :" if subtitle else f"{title} /")]
    if subtitle:
        title_parts.append(("b", f"{subtitle} /"))
    title_parts.append(("c", "Anna Berg"))
    record.add_field(Field("245", Indicators("1", "0"), _sub(title_parts)))
    record.add_field(
        Field(
            "264",
            Indicators(" ", "1"),
            _sub([("a", "Husum :"), ("b", f"{publisher},"), ("c", f"[{year}]")]),
        )
    )
    record.add_field(Field("300", Indicators(" ", " "), _sub([("a", extent)])))
    if duration:
        record.add_field(Field("306", Indicators(" ", " "), _sub([("a", duration)])))
    if content:
        record.add_field(
            Field(
                "336",
                Indicators(" ", " "),
                _sub([("a", "Text"), ("b", content), ("2", "rdacontent")]),
            )
        )
    if series:
        record.add_field(
            Field("490", Indicators("1", " "), _sub([("a", f"{series[0]} ;"), ("v", series[1])]))
        )
    if description:
        record.add_field(Field("520", Indicators(" ", " "), _sub([("a", description)])))
    if audience:
        record.add_field(Field("521", Indicators(" ", " "), _sub([("a", audience)])))
    for term in subjects:
        record.add_field(Field("650", Indicators(" ", "7"), _sub([("a", term), ("2", "gnd")])))
    if classification:
        record.add_field(
            Field("084", Indicators(" ", " "), _sub([("a", classification), ("2", "asb")]))
        )
    record.add_field(Field("041", Indicators("0", " "), _sub([("a", language)])))
    for field in extra or []:
        record.add_field(field)
    return record


def marc_bytes(*records: Record) -> bytes:
    """Binary MARC 21 (ISO 2709), UTF-8."""
    return b"".join(r.as_marc() for r in records)


def marcxml_bytes(*records: Record) -> bytes:
    """A MARCXML collection."""
    body = b"".join(record_to_xml(r, namespace=False) for r in records)
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<collection xmlns="http://www.loc.gov/MARC21/slim">' + body + b"</collection>"
    )


# --- ONIX ------------------------------------------------------------------------------------

REFERENCE = "http://ns.editeur.org/onix/3.0/reference"
SHORT = "http://ns.editeur.org/onix/3.0/short"


def onix_product(
    title: str = "Tod am Deich",
    *,
    isbn: str = ISBNS[0],
    reference: str = "de.nordsee.0001",
    notification: str = "03",
    form: str = "ED",
    form_detail: str = "E101",
    subtitle: str = "Ein Nordsee-Krimi",
    authors: tuple[str, ...] = ("Anna Berg",),
    narrators: tuple[str, ...] = (),
    language: str = "ger",
    pages: int | None = 320,
    duration: str | None = None,
    keywords: str = "Krimi; Nordsee",
    series: tuple[str, str] | None = ("Nordsee-Krimis", "3"),
    age_from: str | None = "12",
    description: str = "<p>Ein Toter am Deich.</p>",
    publisher: str = "Nordsee Verlag",
    date: str = "20210315",
) -> dict[str, Any]:
    """What one product says, for ``onix_message`` to write in either tag style."""
    return dict(locals())


def _onix_reference(p: dict[str, Any]) -> str:
    people = "".join(
        f"<Contributor><SequenceNumber>{i}</SequenceNumber><ContributorRole>{role}</ContributorRole>"
        f"<PersonName>{name}</PersonName></Contributor>"
        for i, (name, role) in enumerate(
            [(a, "A01") for a in p["authors"]] + [(n, "E07") for n in p["narrators"]], 1
        )
    )
    extents = ""
    if p["pages"]:
        extents += f"<Extent><ExtentType>00</ExtentType><ExtentValue>{p['pages']}</ExtentValue><ExtentUnit>03</ExtentUnit></Extent>"
    if p["duration"]:
        extents += f"<Extent><ExtentType>09</ExtentType><ExtentValue>{p['duration']}</ExtentValue><ExtentUnit>16</ExtentUnit></Extent>"
    collection = ""
    if p["series"]:
        collection = (
            "<Collection><CollectionType>10</CollectionType><TitleDetail><TitleType>01</TitleType>"
            f"<TitleElement><TitleElementLevel>02</TitleElementLevel><PartNumber>{p['series'][1]}</PartNumber>"
            f"<TitleText>{p['series'][0]}</TitleText></TitleElement></TitleDetail></Collection>"
        )
    audience = ""
    if p["age_from"]:
        audience = (
            "<AudienceRange><AudienceRangeQualifier>17</AudienceRangeQualifier>"
            f"<AudienceRangePrecision>03</AudienceRangePrecision><AudienceRangeValue>{p['age_from']}</AudienceRangeValue></AudienceRange>"
        )
    return (
        f"<Product><RecordReference>{p['reference']}</RecordReference>"
        f"<NotificationType>{p['notification']}</NotificationType>"
        f"<ProductIdentifier><ProductIDType>15</ProductIDType><IDValue>{p['isbn']}</IDValue></ProductIdentifier>"
        "<DescriptiveDetail><ProductComposition>00</ProductComposition>"
        f"<ProductForm>{p['form']}</ProductForm><ProductFormDetail>{p['form_detail']}</ProductFormDetail>"
        f"{collection}"
        f"<TitleDetail><TitleType>01</TitleType><TitleElement><TitleElementLevel>01</TitleElementLevel>"
        f"<TitleText>{p['title']}</TitleText><Subtitle>{p['subtitle']}</Subtitle></TitleElement></TitleDetail>"
        f"{people}"
        f"<Language><LanguageRole>01</LanguageRole><LanguageCode>{p['language']}</LanguageCode></Language>"
        f"{extents}"
        f"<Subject><SubjectSchemeIdentifier>26</SubjectSchemeIdentifier><SubjectCode>1121</SubjectCode></Subject>"
        f"<Subject><SubjectSchemeIdentifier>20</SubjectSchemeIdentifier><SubjectHeadingText>{p['keywords']}</SubjectHeadingText></Subject>"
        f"{audience}"
        "</DescriptiveDetail>"
        "<CollateralDetail><TextContent><TextType>03</TextType><ContentAudience>00</ContentAudience>"
        f'<Text textformat="02">{escape(p["description"])}</Text></TextContent></CollateralDetail>'
        "<PublishingDetail><Publisher><PublishingRole>01</PublishingRole>"
        f"<PublisherName>{p['publisher']}</PublisherName></Publisher>"
        f"<PublishingDate><PublishingDateRole>01</PublishingDateRole><Date>{p['date']}</Date></PublishingDate>"
        "</PublishingDetail></Product>"
    )


# Reference names to short tags, for the elements the samples write.
_SHORT = {
    "Product": "product", "RecordReference": "a001", "NotificationType": "a002",
    "ProductIdentifier": "productidentifier", "ProductIDType": "b221", "IDValue": "b244",
    "DescriptiveDetail": "descriptivedetail", "ProductComposition": "x314",
    "ProductForm": "b012", "ProductFormDetail": "b333", "Collection": "collection",
    "CollectionType": "x329", "TitleDetail": "titledetail", "TitleType": "b202",
    "TitleElement": "titleelement", "TitleElementLevel": "x409", "PartNumber": "x410",
    "TitleText": "b203", "Subtitle": "b029", "Contributor": "contributor",
    "SequenceNumber": "b034", "ContributorRole": "b035", "PersonName": "b036",
    "Language": "language", "LanguageRole": "b253", "LanguageCode": "b252",
    "Extent": "extent", "ExtentType": "b218", "ExtentValue": "b219", "ExtentUnit": "b220",
    "Subject": "subject", "SubjectSchemeIdentifier": "b067", "SubjectCode": "b069",
    "SubjectHeadingText": "b070", "AudienceRange": "audiencerange",
    "AudienceRangeQualifier": "b074", "AudienceRangePrecision": "b075",
    "AudienceRangeValue": "b076", "CollateralDetail": "collateraldetail",
    "TextContent": "textcontent", "TextType": "x426", "ContentAudience": "x427",
    "Text": "d104", "PublishingDetail": "publishingdetail", "Publisher": "publisher",
    "PublishingRole": "b291", "PublisherName": "b081", "PublishingDate": "publishingdate",
    "PublishingDateRole": "x448", "Date": "b306",
}  # fmt: skip


def onix_message(*products: dict[str, Any], short: bool = False, release: str = "3.0") -> bytes:
    """An ONIX message with ``products``, in reference names or short tags."""
    body = "".join(_onix_reference(p) for p in products)
    header = "<Header><Sender><SenderName>Nordsee Verlag</SenderName></Sender></Header>"
    root, ns = "ONIXMessage", REFERENCE
    if short:
        body = re.sub(
            r"<(/?)(\w+)", lambda m: f"<{m.group(1)}{_SHORT.get(m.group(2), m.group(2))}", body
        )
        header = "<header><sender><x298>Nordsee Verlag</x298></sender></header>"
        root, ns = "ONIXmessage", SHORT
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} release="{release}" xmlns="{ns}">'
        f"{header}{body}</{root}>"
    ).encode()


# --- CSV -------------------------------------------------------------------------------------


def csv_bytes(rows: list[list[str]], *, delimiter: str = ";", bom: bool = False) -> bytes:
    """CSV as Excel writes it (CRLF, quotes where needed), optionally with a BOM."""
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return (("\ufeff" if bom else "") + out.getvalue()).encode("utf-8")
