"""Formats are read from the content; unsafe, encrypted, damaged and unknown files are refused."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from media.files.detect import ZIP_RATIO_FLOOR, detect, misnamed
from media.ingest.proposal import FileRefused
from media.models import FileFormat
from tests.media.ingest import samples


@pytest.fixture
def write(tmp_path: Path):
    """Write bytes under a name (names never matter to detection) and return the path."""

    def _write(data: bytes, name: str = "upload.bin") -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return _write


def refusal(path: Path) -> str:
    with pytest.raises(FileRefused) as info:
        detect(path)
    return info.value.code


@pytest.mark.parametrize(
    ("make", "fmt", "media_type"),
    [
        (lambda: samples.epub(), FileFormat.EPUB, "application/epub+zip"),
        (lambda: samples.epub2(), FileFormat.EPUB, "application/epub+zip"),
        (lambda: samples.pdf(), FileFormat.PDF, "application/pdf"),
        (lambda: samples.mp3(), FileFormat.MP3, "audio/mpeg"),
        (lambda: samples.mp3_frames(), FileFormat.MP3, "audio/mpeg"),  # no ID3 tag at all
        (lambda: samples.m4b(), FileFormat.M4A, "audio/mp4"),
        (lambda: samples.mp4_boxes(brand=b"M4A "), FileFormat.M4A, "audio/mp4"),
        (lambda: samples.mp4_boxes(video=True, brand=b"isom"), FileFormat.MP4, "video/mp4"),
        # The tracks decide, not the brand: a video track under an audio brand is video.
        (lambda: samples.mp4_boxes(video=True, brand=b"M4A "), FileFormat.MP4, "video/mp4"),
        (lambda: samples.ogg_vorbis(), FileFormat.OGG, "audio/ogg"),
        (lambda: samples.webm(), FileFormat.WEBM, "video/webm"),
    ],
)
def test_each_format_is_detected_from_its_content(write, make, fmt, media_type):
    detected = detect(write(make()))
    assert (detected.format, detected.media_type) == (fmt, media_type)


@pytest.mark.parametrize(
    ("make", "name", "fmt"),
    [
        (lambda: samples.pdf(), "roman.epub", FileFormat.PDF),
        (lambda: samples.epub(), "hoerbuch.mp3", FileFormat.EPUB),
        (lambda: samples.mp3(), "satzung.pdf", FileFormat.MP3),
        (lambda: samples.m4b(), "film.webm", FileFormat.M4A),
    ],
)
def test_a_lying_extension_is_ignored_and_reported(write, make, name, fmt):
    detected = detect(write(make(), name))
    assert detected.format is fmt
    assert misnamed(name, detected) == Path(name).suffix
    assert misnamed("buch" + (".epub" if fmt is FileFormat.EPUB else ".x"), detected) in (
        None,
        ".x",
    )
    assert misnamed("ohne-endung", detected) is None


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "file_empty"),
        (b"MZ\x90\x00" + bytes(200), "file_format_unknown"),  # a Windows program named .epub
        (b"<html><body>Hallo</body></html>", "file_format_unknown"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "file_format_unknown"),
        (samples.webm(b"matroska"), "file_format_unknown"),  # Matroska, but not WebM
        (b"ID3\x04\x00\x00\x00\x00\x00\x0a" + bytes(10) + b"no frames here" * 10, "file_corrupt"),
        (b"\xff\xfb\x90\xc0" + bytes(10), "file_format_unknown"),  # one frame header, no frame
    ],
)
def test_unknown_and_damaged_content_is_refused(write, data, code):
    assert refusal(write(data, "buch.epub")) == code


def test_a_cut_off_pdf_is_corrupt(write):
    data = samples.pdf()
    assert refusal(write(data[: len(data) // 2], "a.pdf")) == "file_corrupt"


def test_a_cut_off_mpeg4_is_corrupt(write):
    data = samples.m4b()
    assert refusal(write(data[:-20], "a.m4b")) == "file_corrupt"
    assert refusal(write(samples.box(b"ftyp", b"M4A \x00\x00\x00\x00"), "a.m4a")) == "file_corrupt"


def test_fairplay_and_encrypted_tracks_are_refused(write):
    assert refusal(write(samples.mp4_boxes(brand=b"M4P "))) == "file_encrypted"
    assert refusal(write(samples.mp4_boxes(encrypted=True))) == "file_encrypted"
    assert refusal(write(samples.mp4_boxes(video=True, encrypted=True))) == "file_encrypted"


def test_an_ogg_stream_of_an_unknown_codec_is_refused(write):
    data = samples.ogg_vorbis().replace(b"\x01vorbis", b"\x01vorbiz", 1)
    assert refusal(write(data)) == "file_format_unknown"


# --- EPUB: a ZIP, checked before anything reads it ---------------------------------------


def test_a_plain_zip_is_no_epub(write):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("word/document.xml", "<w/>")
    assert refusal(write(out.getvalue(), "brief.epub")) == "file_format_unknown"


def test_mimetype_must_be_the_first_entry_and_say_epub(write):
    assert refusal(write(samples.epub(mimetype_first=False))) == "file_format_unknown"
    assert refusal(write(samples.epub(mimetype=b"application/zip"))) == "file_format_unknown"


def test_an_epub_needs_its_container(write):
    assert refusal(write(samples.epub(container=False))) == "file_corrupt"


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "OEBPS/../../evil.xhtml",
        "/etc/cron.d/evil",
        "C:/Windows/evil.dll",
        "OEBPS\\..\\..\\evil",
    ],
)
def test_entries_pointing_outside_the_archive_are_refused(write, name):
    data = samples.epub(extra=[(name, b"boom")])
    assert refusal(write(data)) == "file_unsafe_path"


def test_a_zip_bomb_is_refused_before_it_is_unpacked(write):
    # 50 MB of zeros deflate to about 50 KB: far over any ratio a book has.
    out = io.BytesIO()
    data = samples.epub()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        bomb = zipfile.ZipInfo("OEBPS/bomb.xhtml")
        bomb.compress_type = zipfile.ZIP_DEFLATED
        with dst.open(bomb, "w", force_zip64=True) as entry:
            chunk = bytes(ZIP_RATIO_FLOOR)
            for _ in range(50):
                entry.write(chunk)
    assert len(out.getvalue()) < 200_000
    assert refusal(write(out.getvalue())) == "file_zip_bomb"


def test_an_entry_larger_than_it_says_is_corrupt(write):
    # The central directory claims a small size; the data unpacks to more: the CRC fails.
    data = bytearray(samples.epub(extra=[("OEBPS/big.xhtml", b"x" * 5000)]))
    name = b"OEBPS/big.xhtml"
    for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        pos = data.find(signature)
        while pos >= 0:
            if data[pos + name_at : pos + name_at + len(name)] == name:
                data[pos + size_at : pos + size_at + 4] = (100).to_bytes(4, "little")
            pos = data.find(signature, pos + 4)
    assert refusal(write(bytes(data))) == "file_corrupt"


def test_a_damaged_zip_is_corrupt(write):
    data = bytearray(samples.epub())
    pos = data.find(b"Was ich zu berichten") - 40  # inside the deflated chapter
    data[pos : pos + 20] = bytes(20)
    assert refusal(write(bytes(data))) == "file_corrupt"
    assert refusal(write(samples.epub()[:-30])) == "file_corrupt"


def test_encrypted_entries_are_refused(write):
    data = samples.set_flag(samples.epub(), b"OEBPS/text/ch1.xhtml", 0x1)
    assert refusal(write(data)) == "file_encrypted"


ENCRYPTION = """<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container"
  xmlns:enc="http://www.w3.org/2001/04/xmlenc#">
  <enc:EncryptedData><enc:EncryptionMethod Algorithm="{algorithm}"/>
  <enc:CipherData><enc:CipherReference URI="OEBPS/text/ch1.xhtml"/></enc:CipherData>
  </enc:EncryptedData></encryption>"""


def test_drm_is_refused_but_font_obfuscation_is_not(write):
    drm = ENCRYPTION.format(algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc")
    assert refusal(write(samples.epub(extra=[("META-INF/encryption.xml", drm)]))) == (
        "file_encrypted"
    )
    fonts = ENCRYPTION.format(algorithm="http://www.idpf.org/2008/embedding")
    detected = detect(write(samples.epub(extra=[("META-INF/encryption.xml", fonts)])))
    assert detected.format is FileFormat.EPUB
    adept = samples.epub(extra=[("META-INF/rights.xml", b"<rights/>")])
    assert refusal(write(adept)) == "file_encrypted"
