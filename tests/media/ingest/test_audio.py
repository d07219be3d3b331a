"""Audio and video metadata (mutagen): titles, artists, duration, chapters, cover art."""

from __future__ import annotations

from pathlib import Path

import pytest

from media.ingest.audio import read_audio
from media.ingest.proposal import Chapter, FileRefused, Person
from media.models import ContributorRole, FileFormat
from tests.media.ingest import samples


def read(tmp_path: Path, data: bytes, fmt: FileFormat):
    path = tmp_path / "audio"
    path.write_bytes(data)
    return read_audio(path, fmt)


def test_mp3_tags_duration_chapters_and_cover(tmp_path):
    cover = samples.jpeg()
    data = samples.mp3(
        seconds=4, cover=cover, chapters=[("Am Deich", 0, 2000), ("Die Flut", 2000, 4000)]
    )
    p = read(tmp_path, data, FileFormat.MP3)
    # The album names the book; the track's own title labels the file.
    assert (p.title, p.label) == ("Der Schimmelreiter", "Kapitel 1")
    assert p.contributors == [Person("Theodor Storm", ContributorRole.AUTHOR)]
    assert p.year == 2021
    assert p.duration_seconds == 4
    assert p.chapters == [Chapter("Am Deich", 0.0), Chapter("Die Flut", 2.0)]
    assert p.cover == cover


def test_m4b_tags_and_nero_chapters(tmp_path):
    data = samples.m4b(seconds=7, chapters=[("Anfang", 0.0), ("Mitte", 3.5)])
    p = read(tmp_path, data, FileFormat.M4A)
    assert (p.title, p.label, p.year, p.duration_seconds) == (
        "Der Schimmelreiter",
        "Teil 1",
        2022,
        7,
    )
    assert p.chapters == [Chapter("Anfang", 0.0), Chapter("Mitte", 3.5)]


def test_a_track_without_album_proposes_its_title(tmp_path):
    p = read(tmp_path, samples.mp3(album=""), FileFormat.MP3)
    assert (p.title, p.label) == ("Kapitel 1", "")


def test_ogg_vorbis_comments_and_length(tmp_path):
    p = read(tmp_path, samples.ogg_vorbis(seconds=5), FileFormat.OGG)
    assert (p.title, p.duration_seconds, p.year) == ("Nordsee", 5, 2020)
    assert p.contributors == [Person("Möwenchor", ContributorRole.AUTHOR)]


def test_video_length_from_the_movie_header(tmp_path):
    p = read(tmp_path, samples.mp4_boxes(video=True, seconds=9), FileFormat.MP4)
    assert p.duration_seconds == 9
    assert p.offered() == ["duration"]


def test_webm_proposes_nothing(tmp_path):
    assert read(tmp_path, samples.webm(), FileFormat.WEBM).offered() == []


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"junk" * 50, FileFormat.MP3),
        (samples.mp4_boxes()[:40], FileFormat.M4A),
        (b"OggS" + bytes(60), FileFormat.OGG),
    ],
)
def test_unreadable_audio_is_corrupt(tmp_path, data, fmt):
    with pytest.raises(FileRefused) as info:
        read(tmp_path, data, fmt)
    assert info.value.code == "file_corrupt"
