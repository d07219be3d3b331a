"""The readers: MARC 21 (binary and MARCXML), ONIX 3.0 (reference names and short tags) and
CSV (comma, semicolon, BOM, German headers) map good records, refuse bad ones per record, and
read the format from the content."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from flask import Flask
from flask_babel import force_locale
from pymarc import Field, Indicators, Subfield

from media.imports import formats, marc, onix, tabular
from media.imports.models import ImportFormat
from media.imports.records import ImportRecord, Notice, Rejection
from media.models import ContributorRole, IdentifierScheme, MediaKind, PublicationState
from tests.media.imports import samples as s

AUTHOR, NARRATOR = ContributorRole.AUTHOR, ContributorRole.NARRATOR


@pytest.fixture(autouse=True)
def _context(app: Flask) -> Iterator[None]:
    with app.app_context(), force_locale("en"):
        yield


def one(entries: object) -> ImportRecord:
    found = list(entries)  # type: ignore[call-overload]
    assert len(found) == 1 and isinstance(found[0], ImportRecord), found
    return found[0]


# --- MARC 21 ---------------------------------------------------------------------------------


def full_record() -> object:
    return s.marc_record(
        subtitle="Ein Nordsee-Krimi",
        authors=("Berg, Anna", "Krause, Jan"),
        series=("Nordsee-Krimis", "Bd. 3"),
        subjects=("Krimi", "Nordsee"),
        classification="Sh 100",
        audience="FSK ab 12",
        description="Ein Toter am Deich.",
        extra=[
            Field("022", Indicators(" ", " "), [Subfield("a", "0317-8471")]),
            Field(
                "024", Indicators("7", " "), [Subfield("a", "10.1000/182"), Subfield("2", "doi")]
            ),
            Field("250", Indicators(" ", " "), [Subfield("a", "2. Auflage")]),
            Field("653", Indicators(" ", " "), [Subfield("a", "Ostfriesland")]),
            Field(
                "700",
                Indicators("1", " "),
                [Subfield("a", "Weiß, Eva"), Subfield("e", "Herausgeberin")],
            ),
            Field("700", Indicators("1", " "), [Subfield("a", "Roth, Ole"), Subfield("4", "trl")]),
            Field("700", Indicators("1", " "), [Subfield("a", "Kunz, Ida"), Subfield("4", "prf")]),
        ],
    )


def test_marc_binary_maps_a_dnb_record() -> None:
    item = one(marc.read_marc(io.BytesIO(s.marc_bytes(full_record()))))
    assert item.position == 1
    assert item.kind is MediaKind.EBOOK
    assert item.title == "Tod am Deich"
    assert item.subtitle == "Ein Nordsee-Krimi · 2. Auflage"
    assert item.contributors == [
        ("Anna Berg", AUTHOR),
        ("Jan Krause", AUTHOR),
        ("Eva Weiß", ContributorRole.EDITOR),
        ("Ole Roth", ContributorRole.TRANSLATOR),
    ]  # the performer ("prf") has no role in the catalogue
    assert item.identifiers == [
        (IdentifierScheme.ISBN, s.ISBNS[0]),
        (IdentifierScheme.ISSN, "0317-8471"),
        (IdentifierScheme.OTHER, "doi:10.1000/182"),
        (IdentifierScheme.OTHER, "(DE-101)1234567890"),
    ]
    assert (item.publisher, item.year, item.language) == ("Nordsee Verlag", 2021, "de")
    assert (item.series_title, item.series_number) == ("Nordsee-Krimis", 3)
    assert item.subjects == ["Krimi", "Nordsee", "Ostfriesland"]
    assert item.classification == "Sh 100"
    assert item.min_age == 12
    assert item.pages == 320
    assert item.description == "Ein Toter am Deich."


def test_marcxml_maps_the_same_record_the_same_way() -> None:
    binary = one(marc.read_marc(io.BytesIO(s.marc_bytes(full_record()))))
    xml = one(marc.read_marcxml(io.BytesIO(s.marcxml_bytes(full_record()))))
    assert xml == binary


@pytest.mark.parametrize(
    ("leader6", "leader7", "content", "kind"),
    [
        ("a", "m", "txt", MediaKind.EBOOK),
        ("i", "m", "spw", MediaKind.AUDIOBOOK),
        ("a", "s", "txt", MediaKind.EMAGAZINE),  # a periodical (leader/07 s)
        ("g", "m", "tdi", MediaKind.VIDEO),
        ("i", "m", None, MediaKind.AUDIOBOOK),  # no RDA 336: the leader decides
        ("k", "m", None, MediaKind.DOCUMENT),  # a picture: none of ours
    ],
)
def test_marc_kind_from_leader_and_rda_content_type(leader6, leader7, content, kind) -> None:
    record = s.marc_record(leader6=leader6, leader7=leader7, content=content)
    assert one(marc.read_marc(io.BytesIO(s.marc_bytes(record)))).kind is kind


def test_marc_audiobook_takes_its_running_time_from_306_or_300() -> None:
    record = s.marc_record(
        leader6="i",
        content="spw",
        narrators=("Wolf, Tom",),
        extent="1 Online-Ressource (1 Audiodatei, 456 Min.)",
    )
    item = one(marc.read_marc(io.BytesIO(s.marc_bytes(record))))
    assert item.duration_seconds == 456 * 60 and item.pages is None
    assert ("Tom Wolf", NARRATOR) in item.contributors
    record = s.marc_record(leader6="i", content="spw", duration="072930")
    assert (
        one(marc.read_marc(io.BytesIO(s.marc_bytes(record)))).duration_seconds
        == 7 * 3600 + 29 * 60 + 30
    )


def test_marc_isbn10_is_kept_as_written_for_the_importer_to_convert() -> None:
    record = s.marc_record(isbn="3-16-148410-X")
    assert one(marc.read_marc(io.BytesIO(s.marc_bytes(record)))).identifiers[0] == (
        IdentifierScheme.ISBN,
        "3-16-148410-X",
    )


def test_a_broken_binary_record_is_refused_and_the_next_read() -> None:
    broken = bytearray(s.marc_record("Kaputt", isbn=s.ISBNS[1]).as_marc())
    broken[24:36] = b"24x0?5zz0000"  # its directory's first entry is garbage; its length is right
    data = (
        s.marc_bytes(s.marc_record("Erster"))
        + bytes(broken)
        + s.marc_bytes(s.marc_record("Dritter", isbn=s.ISBNS[2]))
    )
    entries = list(marc.read_marc(io.BytesIO(data)))
    assert [type(e).__name__ for e in entries] == ["ImportRecord", "Rejection", "ImportRecord"]
    assert entries[1].position == 2
    assert entries[1].reason.startswith("The record cannot be read")
    assert (entries[0].title, entries[2].title) == ("Erster", "Dritter")


def test_marcxml_is_streamed_record_by_record() -> None:
    records = [s.marc_record(f"Band {n}", isbn=s.isbn13(n), control=str(n)) for n in range(50)]
    entries = marc.read_marcxml(io.BytesIO(s.marcxml_bytes(*records)))
    first = next(entries)
    assert isinstance(first, ImportRecord) and first.title == "Band 0"
    assert sum(1 for _ in entries) == 49


# --- ONIX 3.0 --------------------------------------------------------------------------------


@pytest.mark.parametrize("short", [False, True], ids=["reference", "short"])
def test_onix_maps_a_product(short: bool) -> None:
    data = s.onix_message(s.onix_product(), short=short)
    item = one(onix.read_onix(io.BytesIO(data)))
    assert item.kind is MediaKind.EBOOK
    assert (item.title, item.subtitle) == ("Tod am Deich", "Ein Nordsee-Krimi")
    assert item.identifiers == [
        (IdentifierScheme.ISBN, s.ISBNS[0]),
        (IdentifierScheme.OTHER, "de.nordsee.0001"),
    ]
    assert item.contributors == [("Anna Berg", AUTHOR)]
    assert (item.language, item.pages, item.min_age) == ("de", 320, 12)
    assert (item.series_title, item.series_number) == ("Nordsee-Krimis", 3)
    assert item.subjects == ["Krimi", "Nordsee"]  # the WGS code (scheme 26) is no keyword
    assert item.description == "Ein Toter am Deich."
    assert (item.publisher, item.year) == ("Nordsee Verlag", 2021)
    assert not item.delete


def test_onix_audiobook_and_deletion() -> None:
    audio = s.onix_product(
        form="AJ", form_detail="A103", narrators=("Tom Wolf",), pages=None, duration="0072930"
    )
    gone = s.onix_product("Weg", isbn=s.ISBNS[1], reference="de.nordsee.0002", notification="05")
    first, second = onix.read_onix(io.BytesIO(s.onix_message(audio, gone)))
    assert first.kind is MediaKind.AUDIOBOOK
    assert first.duration_seconds == 7 * 3600 + 29 * 60 + 30
    assert ("Tom Wolf", NARRATOR) in first.contributors
    assert second.delete and second.position == 2


def test_onix_2_is_not_read() -> None:
    data = s.onix_message(s.onix_product(), release="2.1")
    with pytest.raises(formats.Unreadable, match=r"Only ONIX 3\.0"):
        list(formats.read(ImportFormat.ONIX, io.BytesIO(data)))


def test_xml_cut_off_keeps_the_records_before_and_reports_the_rest() -> None:
    data = s.onix_message(s.onix_product(), s.onix_product("Zwei", isbn=s.ISBNS[1]))
    cut = data[: data.index(b"Zwei") + 10]
    entries = list(formats.read(ImportFormat.ONIX, io.BytesIO(cut)))
    assert isinstance(entries[0], ImportRecord)
    assert isinstance(entries[-1], Rejection)
    assert "rest of the file cannot be read" in entries[-1].reason
    with pytest.raises(formats.Unreadable):
        list(formats.read(ImportFormat.MARCXML, io.BytesIO(b"<collection><record>")))


# --- CSV -------------------------------------------------------------------------------------

ENGLISH = ["kind", "title", "authors", "narrators", "isbn", "year", "language", "subjects", "series", "series_number", "audience", "duration", "state"]  # fmt: skip
GERMAN = ["Art", "Titel", "Autoren", "Sprecher", "ISBN", "Jahr", "Sprache", "Schlagwörter", "Reihe", "Band", "Altersfreigabe", "Dauer", "Status"]  # fmt: skip
ROW = ["Hörbuch", "Tod am Deich", "Berg, Anna; Krause, Jan", "Wolf, Tom", "978-3-16-148410-0", "2021", "ger", "Krimi; Nordsee", "Nordsee-Krimis", "3", "FSK 12", "7:29:30", "veröffentlicht"]  # fmt: skip


@pytest.mark.parametrize(
    ("header", "delimiter", "bom"),
    [(ENGLISH, ",", False), (ENGLISH, ";", True), (GERMAN, ";", True), (GERMAN, ",", False)],
    ids=["comma", "semicolon-bom", "german-semicolon-bom", "german-comma"],
)
def test_csv_rows_map_whatever_excel_wrote(header, delimiter, bom) -> None:
    data = s.csv_bytes([header, ROW], delimiter=delimiter, bom=bom)
    assert formats.sniff(data[: formats.SNIFF_BYTES]) is ImportFormat.CSV
    item = one(tabular.read_csv(io.BytesIO(data)))
    assert item.position == 2  # the spreadsheet's row
    assert item.kind is MediaKind.AUDIOBOOK
    assert item.contributors == [
        ("Anna Berg", AUTHOR),
        ("Jan Krause", AUTHOR),
        ("Tom Wolf", NARRATOR),
    ]
    assert item.identifiers == [(IdentifierScheme.ISBN, "978-3-16-148410-0")]
    assert (item.year, item.language, item.min_age) == (2021, "de", 12)
    assert (item.series_title, item.series_number) == ("Nordsee-Krimis", 3)
    assert item.subjects == ["Krimi", "Nordsee"]
    assert item.duration_seconds == 7 * 3600 + 29 * 60 + 30
    assert item.state is PublicationState.PUBLISHED


def test_csv_unknown_columns_are_reported_once_and_bad_values_per_row() -> None:
    rows = [
        ["title", "pages", "Lieblingsfarbe", "kind"],
        ["Gut", "120", "blau", ""],
        ["Schlecht", "viele", "rot", "Schallplatte"],
        ["", "", "", ""],  # an empty row is skipped
        ["Auch gut", "", "grün", "ebook"],
    ]
    entries = list(tabular.read_csv(io.BytesIO(s.csv_bytes(rows))))
    assert entries[0] == Notice("Unknown columns were ignored: Lieblingsfarbe")
    assert sum(isinstance(e, Notice) for e in entries) == 1
    good, bad, also = entries[1:]
    assert isinstance(good, ImportRecord) and good.pages == 120 and good.kind is MediaKind.EBOOK
    assert isinstance(bad, Rejection) and bad.position == 3 and bad.title == "Schlecht"
    assert "Unknown kind of medium “Schallplatte”" in bad.reason
    assert "Pages: “viele” cannot be read." in bad.reason
    assert isinstance(also, ImportRecord) and also.position == 5


def test_csv_without_a_title_column_cannot_be_read() -> None:
    data = s.csv_bytes([["isbn", "year"], [s.ISBNS[0], "2020"]])
    assert formats.sniff(data) is None
    with pytest.raises(formats.Unreadable, match="no title column"):
        list(formats.read(ImportFormat.CSV, io.BytesIO(data)))


def test_csv_row_that_is_not_utf8_is_refused_alone() -> None:
    data = s.csv_bytes([["title"], ["Gut"]]) + "Stra\u00dfe\r\n".encode("latin-1") + b"Auch gut\r\n"
    entries = list(tabular.read_csv(io.BytesIO(data)))
    assert [type(e).__name__ for e in entries] == ["ImportRecord", "Rejection", "ImportRecord"]
    assert "not valid UTF-8" in entries[1].reason


# --- the format from the content ---------------------------------------------------------------


def test_format_is_read_from_the_content() -> None:
    assert formats.sniff(s.marc_bytes(s.marc_record())) is ImportFormat.MARC
    assert formats.sniff(s.marcxml_bytes(s.marc_record())) is ImportFormat.MARCXML
    assert formats.sniff(s.onix_message(s.onix_product())) is ImportFormat.ONIX
    assert formats.sniff(s.onix_message(s.onix_product(), short=True)) is ImportFormat.ONIX
    assert formats.sniff(b"%PDF-1.7 not records") is None
    assert formats.sniff(b"<html><body>hi</body></html>") is None
    assert formats.sniff(b"\x89PNG\r\n") is None


def test_counting_records_for_progress() -> None:
    records = [s.marc_record(isbn=s.isbn13(n)) for n in range(3)]
    assert formats.count(ImportFormat.MARC, io.BytesIO(s.marc_bytes(*records))) == 3
    assert formats.count(ImportFormat.MARCXML, io.BytesIO(s.marcxml_bytes(*records))) == 3
    data = s.onix_message(s.onix_product(), s.onix_product(isbn=s.ISBNS[1]), short=True)
    assert formats.count(ImportFormat.ONIX, io.BytesIO(data)) == 2
