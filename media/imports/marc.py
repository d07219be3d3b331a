"""MARC 21 records (binary ISO 2709 and MARCXML) as import records, read one at a time.

Mapped as the German National Library (DNB) and library systems deliver e-media:

- 001 control number (with 003 as ``(DE-101)…``) → an ``other`` identifier, the record's id;
  020 $a ISBN (ISBN-10 → 13 by the importer; $z, cancelled numbers, is ignored); 022 $a ISSN;
  024 $a other numbers (``doi:…`` when $2 names the scheme; an EAN-13 starting 978/979 is an
  ISBN).
- 100/110/700/710 people and bodies with their relator: $4 (``aut``, ``nrt``, ``edt``,
  ``trl``, ``ill``) or $e (``Verfasser``, ``Sprecher``, ``Herausgeber``, ``Übersetzer``…);
  without either, an author. Inverted names ("Berg, Anna") become "Anna Berg".
- 245 $a (with $n/$p of a part) title, $b subtitle, ISBD punctuation (" /", " :") stripped;
  250 edition follows the subtitle; 264 (else 260) $b publisher, $c year.
- 041 $a (else 008/35-37) language, ``ger`` → ``de``; 300 extent (pages, or running time of
  sound and video), 306 running time (hhmmss); 490/830 series with $v number; 520
  description; 521 audience (FSK/USK, "ab 12 Jahren"); 650/689/653 subjects; 084 with $2
  ``asb``/``sfb``/``kab`` classification.
- Kind: leader/07 ``s`` (a serial) → e-magazine; else RDA 336 content type (``txt`` text →
  e-book, ``spw`` spoken word → audiobook, ``tdi`` moving image → video); else leader/06
  (``a``/``t`` → e-book, ``i``/``j`` sound → audiobook, ``g`` projected medium → video) or 007/00
  (``s`` sound, ``v`` video); anything else is a document.

Binary records stream through ``pymarc.MARCReader`` (one record in memory at a time); MARCXML
through ``lxml.etree.iterparse``, each ``record`` element cleared once read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO, Any

from lxml import etree
from pymarc import Field, Indicators, MARCReader, Record, Subfield

from media.imports import records as r
from media.imports.records import ImportRecord, Rejection
from media.models import ContributorRole, IdentifierScheme, MediaKind

MARCXML_NS = "http://www.loc.gov/MARC21/slim"

RELATOR_CODES = {
    "aut": ContributorRole.AUTHOR,
    "nrt": ContributorRole.NARRATOR,
    "edt": ContributorRole.EDITOR,
    "trl": ContributorRole.TRANSLATOR,
    "ill": ContributorRole.ILLUSTRATOR,
}
# Relator terms ($e) as German and English records spell them, lower case, without the dot.
RELATOR_TERMS = {
    **dict.fromkeys(("verfasser", "verfasserin", "autor", "autorin", "author"), "aut"),
    **dict.fromkeys(("sprecher", "sprecherin", "erzähler", "erzählerin", "narrator"), "nrt"),
    **dict.fromkeys(("herausgeber", "herausgeberin", "hrsg", "hg", "editor"), "edt"),
    **dict.fromkeys(("übersetzer", "übersetzerin", "übers", "translator"), "trl"),
    **dict.fromkeys(("illustrator", "illustratorin", "ill"), "ill"),
}
CLASSIFICATION_SCHEMES = {"asb", "sfb", "kab"}
CONTENT_TYPES = {
    "txt": MediaKind.EBOOK,
    "spw": MediaKind.AUDIOBOOK,
    "snd": MediaKind.AUDIOBOOK,
    "tdi": MediaKind.VIDEO,
    "tdm": MediaKind.VIDEO,
}
LEADER_TYPES = {
    "a": MediaKind.EBOOK,
    "t": MediaKind.EBOOK,
    "i": MediaKind.AUDIOBOOK,
    "j": MediaKind.AUDIOBOOK,
    "g": MediaKind.VIDEO,
}
PHYSICAL_TYPES = {"s": MediaKind.AUDIOBOOK, "v": MediaKind.VIDEO, "m": MediaKind.VIDEO}

_ISBD_END = re.compile(r"[\s/:;,=.+]+$")
_BRACKETS = re.compile(r"^\[(.*)\]$")


# --- reading -----------------------------------------------------------------------------------


def read_marc(stream: IO[bytes]) -> Iterator[ImportRecord | Rejection]:
    """Binary MARC 21 records from ``stream``, one at a time (unreadable ones as rejections)."""
    reader = MARCReader(stream, to_unicode=True, force_utf8=False, permissive=True)
    for position, record in enumerate(reader, 1):
        if record is None:
            yield Rejection(position, r.unreadable(reader.current_exception or ""))
            if reader.current_chunk is None:
                return  # the rest of the file cannot be split into records
            continue
        yield from _mapped(record, position)


def read_marcxml(stream: IO[bytes]) -> Iterator[ImportRecord | Rejection]:
    """MARCXML ``record`` elements from ``stream``, one at a time, each freed once read."""
    events = etree.iterparse(
        stream,
        events=("end",),
        tag=(f"{{{MARCXML_NS}}}record", "record"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
    )
    for position, (_event, element) in enumerate(events, 1):
        try:
            record = _record_of(element)
        except ValueError as exc:
            yield Rejection(position, r.unreadable(exc))
        else:
            yield from _mapped(record, position)
        element.clear(keep_tail=False)
        while element.getprevious() is not None:
            del element.getparent()[0]


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _record_of(element: etree._Element) -> Record:
    """A pymarc record from a MARCXML ``record`` element."""
    record = Record(leader=" " * 24)
    for child in element:
        name = _local(child.tag)
        if name == "leader":
            leader = (child.text or "").ljust(24)[:24]
            record.leader = leader
        elif name == "controlfield":
            record.add_field(Field(tag=child.get("tag", ""), data=child.text or ""))
        elif name == "datafield":
            tag = child.get("tag", "")
            if not re.fullmatch(r"[0-9A-Za-z]{3}", tag):
                raise ValueError(f"bad tag {tag!r}")
            subfields = [
                Subfield(code=s.get("code", ""), value=s.text or "")
                for s in child
                if _local(s.tag) == "subfield"
            ]
            indicators = Indicators(
                child.get("ind1", " ")[:1] or " ", child.get("ind2", " ")[:1] or " "
            )
            record.add_field(Field(tag=tag, indicators=indicators, subfields=subfields))
    return record


def _mapped(record: Record, position: int) -> Iterator[ImportRecord | Rejection]:
    """One import record, or a rejection naming what could not be read."""
    try:
        yield map_record(record, position)
    except (ValueError, IndexError, TypeError, AttributeError) as exc:
        yield Rejection(position, r.unreadable(exc))


# --- mapping -----------------------------------------------------------------------------------


def _values(record: Record, tag: str, code: str) -> list[str]:
    return [v for f in record.get_fields(tag) for v in f.get_subfields(code) if v.strip()]


def _first(record: Record, tag: str, code: str) -> str:
    values = _values(record, tag, code)
    return values[0] if values else ""


def _trim(text: str) -> str:
    """A value without ISBD punctuation at its end (" /", " :", " ;", ",", ".") or brackets."""
    text = _ISBD_END.sub("", text.strip())
    match = _BRACKETS.match(text)
    return match.group(1).strip() if match else text


def _control(record: Record, tag: str) -> str:
    fields = record.get_fields(tag)
    return (fields[0].data or "") if fields else ""


def map_record(record: Record, position: int) -> ImportRecord:
    """What a MARC record says about an item (see the module docstring for the mapping)."""
    item = ImportRecord(position=position, kind=_kind(record))
    _identifiers(record, item)
    _title(record, item)
    _people(record, item)
    _publication(record, item)
    _extent(record, item)
    _series(record, item)
    _subjects(record, item)
    descriptions = [r.block(v) for v in _values(record, "520", "a")]
    item.description = r.block("\n\n".join(d for d in descriptions if d))
    for audience in _values(record, "521", "a"):
        if re.search(r"FSK|USK|\bab\b|Jahr|age|years|^\s*\d", audience, re.I):
            item.min_age = r.min_age(audience)
            if item.min_age is not None:
                break
    return item


def _kind(record: Record) -> MediaKind:
    leader = str(record.leader)
    if leader[7:8] == "s":
        return MediaKind.EMAGAZINE
    for code in _values(record, "336", "b"):
        if code.strip().lower() in CONTENT_TYPES:
            return CONTENT_TYPES[code.strip().lower()]
    if leader[6:7] in LEADER_TYPES:
        return LEADER_TYPES[leader[6:7]]
    physical = _control(record, "007")[:1]
    return PHYSICAL_TYPES.get(physical, MediaKind.DOCUMENT)


def _identifiers(record: Record, item: ImportRecord) -> None:
    for value in _values(record, "020", "a"):
        # "978-3-16-148410-0 (EPUB)": the number is the first word.
        item.add_identifier(IdentifierScheme.ISBN, value.split()[0] if value.split() else "")
    for value in _values(record, "022", "a"):
        item.add_identifier(IdentifierScheme.ISSN, value.split()[0] if value.split() else "")
    for field in record.get_fields("024"):
        for value in field.get_subfields("a"):
            digits = re.sub(r"[\s-]", "", value)
            if field.indicator1 == "3" and re.fullmatch(r"97[89]\d{10}", digits):
                item.add_identifier(IdentifierScheme.ISBN, digits)
                continue
            scheme = (field.get_subfields("2") or [""])[0].strip().lower()
            item.add_identifier(IdentifierScheme.OTHER, f"{scheme}:{value}" if scheme else value)
    control = _control(record, "001").strip()
    if control:
        source = _control(record, "003").strip()
        item.add_identifier(IdentifierScheme.OTHER, f"({source}){control}" if source else control)


def _title(record: Record, item: ImportRecord) -> None:
    fields = record.get_fields("245")
    if not fields:
        return
    field = fields[0]
    title = _trim(" ".join(field.get_subfields("a")))
    parts = [_trim(v) for v in field.get_subfields("n", "p") if _trim(v)]
    if parts:
        title = f"{title}. {', '.join(parts)}" if title else ", ".join(parts)
    item.title = r.text(title, "title")
    subtitle = _trim(" ".join(field.get_subfields("b")))
    edition = _trim(_first(record, "250", "a"))
    if edition:
        subtitle = f"{subtitle} · {edition}" if subtitle else edition
    item.subtitle = r.text(subtitle, "subtitle")


def _role(field: Field) -> ContributorRole | None:
    """The role a relator code ($4) or term ($e) names; author without either; else None."""
    codes = [c.strip().lower() for c in field.get_subfields("4") if c.strip()]
    terms = [t.strip().lower().rstrip(".") for t in field.get_subfields("e") if t.strip()]
    for code in codes:
        code = code.rsplit("/", 1)[-1][-3:]  # also relator URIs (…/relators/aut)
        if code in RELATOR_CODES:
            return RELATOR_CODES[code]
    for term in terms:
        if term in RELATOR_TERMS:
            return RELATOR_CODES[RELATOR_TERMS[term]]
    return ContributorRole.AUTHOR if not codes and not terms else None


def _name(field: Field) -> str:
    name = _trim(" ".join(field.get_subfields("a")))
    if field.tag in ("100", "700") and field.indicator1 == "1" and name.count(",") == 1:
        surname, forenames = (p.strip() for p in name.split(","))
        name = f"{forenames} {surname}" if forenames else surname
    if field.tag in ("110", "710"):
        name = " ".join([name, *(_trim(b) for b in field.get_subfields("b"))]).strip()
    return name


def _people(record: Record, item: ImportRecord) -> None:
    for field in record.get_fields("100", "110", "700", "710"):
        role = _role(field)
        if role is not None:
            item.add_person(_name(field), role)


def _publication(record: Record, item: ImportRecord) -> None:
    published = [f for f in record.get_fields("264") if f.indicator2 in ("1", " ")]
    fields = published or record.get_fields("260")
    for field in fields:
        publisher = _trim(" ".join(field.get_subfields("b")[:1]))
        if publisher and not item.publisher:
            item.publisher = r.text(publisher, "publisher")
        for date in field.get_subfields("c"):
            item.year = item.year or r.year(date)
    if item.year is None:
        item.year = r.year(_control(record, "008")[7:11])
    codes = _values(record, "041", "a") or [_control(record, "008")[35:38]]
    for code in codes:
        if language := r.language(code):
            item.language = language
            break


def _extent(record: Record, item: ImportRecord) -> None:
    for value in _values(record, "306", "a"):
        item.duration_seconds = r.duration(value.strip()[:6])
        if item.duration_seconds:
            break
    for value in _values(record, "300", "a"):
        if item.kind in (MediaKind.AUDIOBOOK, MediaKind.VIDEO):
            inner = re.search(r"\(([^)]*)\)", value)
            item.duration_seconds = item.duration_seconds or r.duration(
                (inner.group(1) if inner else value).split(",")[-1]
            )
        else:
            item.pages = item.pages or r.pages(value)


def _series(record: Record, item: ImportRecord) -> None:
    for tag in ("830", "490"):
        for field in record.get_fields(tag):
            title = _trim(" ".join(field.get_subfields("a")))
            if title:
                item.series_title = r.text(title, "series_title")
                item.series_number = r.series_number(" ".join(field.get_subfields("v")))
                return


def _subjects(record: Record, item: ImportRecord) -> None:
    for tag in ("650", "689", "653"):
        for value in _values(record, tag, "a"):
            item.add_subject(_trim(value))
    for field in record.get_fields("084"):
        schemes = {s.strip().lower() for s in field.get_subfields("2")}
        if schemes & CLASSIFICATION_SCHEMES and not item.classification:
            item.classification = r.text(" ".join(field.get_subfields("a")[:1]), "classification")
