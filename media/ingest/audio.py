"""What an audio or video file says about itself (mutagen): title, artist, album, duration,
chapters and embedded cover art.

Audiobooks name the book as the album and a part as the title: the album becomes the
proposed title and the track title the file's label. Artists are proposed as authors (the
narrator is rarely tagged apart). Chapters come from MPEG-4 ``chpl`` boxes (M4B) and ID3
``CHAP`` frames (MP3). WebM has no tags mutagen reads; it proposes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mutagen.id3 import ID3
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.oggflac import OggFLAC
from mutagen.oggopus import OggOpus
from mutagen.oggspeex import OggSpeex
from mutagen.oggtheora import OggTheora
from mutagen.oggvorbis import OggVorbis

from media.ingest.proposal import (
    MAX_CHAPTERS,
    Chapter,
    FileRefused,
    Proposal,
    add_person,
    clean,
    clean_block,
    column_limit,
    language_code,
    refused,
    year_of,
)
from media.models import ContributorRole, FileFormat

OGG_KINDS = (OggVorbis, OggOpus, OggFLAC, OggSpeex, OggTheora)
LABEL_MAX = 200


def read_audio(path: Path, fmt: FileFormat) -> Proposal:
    """The tags, duration and chapters of an MP3, MPEG-4, Ogg or WebM file."""
    if fmt is FileFormat.WEBM:
        return Proposal()
    try:
        if fmt is FileFormat.MP3:
            proposal = _mp3(MP3(path))
        elif fmt in (FileFormat.M4A, FileFormat.MP4):
            proposal = _mp4(MP4(path))
        else:
            proposal = _ogg(path)
    except FileRefused:
        raise
    except Exception:  # mutagen meets damaged files with any error (IndexError, struct.error)
        raise refused("file_corrupt") from None
    return proposal


def _duration(info: Any) -> int | None:
    """Whole seconds (at least one) of a stream that has a length."""
    length = getattr(info, "length", 0) or 0
    return max(1, round(length)) if length > 0 else None


def _titles(p: Proposal, title: Any, album: Any) -> None:
    """The album names the book; the track title labels this file (or names the book)."""
    title_text, album_text = (
        clean(title, column_limit("title")),
        clean(album, column_limit("title")),
    )
    p.title = album_text or title_text
    if album_text and title_text and title_text != album_text:
        p.label = clean(title_text, LABEL_MAX)


def _mp3(audio: MP3) -> Proposal:
    """ID3: TIT2, TALB, TPE1/TPE2 (authors), TCOM, TPUB, TLAN, TDRC, COMM, APIC, CHAP."""
    p = Proposal(duration_seconds=_duration(audio.info))
    tags: ID3 | None = audio.tags
    if tags is None:
        return p

    def text(frame_id: str) -> str:
        frames = tags.getall(frame_id)
        return str(frames[0].text[0]) if frames and getattr(frames[0], "text", None) else ""

    _titles(p, text("TIT2"), text("TALB"))
    for frame_id in ("TPE1", "TPE2"):
        for frame in tags.getall(frame_id):
            for name in frame.text:
                add_person(p.contributors, name, ContributorRole.AUTHOR)
    p.publisher = clean(text("TPUB"), column_limit("publisher"))
    p.language = language_code(text("TLAN"))
    p.year = year_of(text("TDRC") or text("TYER"))
    comments = tags.getall("COMM")
    if comments and comments[0].text:
        p.description = clean_block(str(comments[0].text[0]))
    pictures = sorted(tags.getall("APIC"), key=lambda f: f.type != 3)  # front cover first
    if pictures:
        p.cover = bytes(pictures[0].data)
    chapters = sorted(tags.getall("CHAP"), key=lambda c: c.start_time)
    for chap in chapters[:MAX_CHAPTERS]:
        sub = chap.sub_frames.getall("TIT2") if chap.sub_frames else []
        title = str(sub[0].text[0]) if sub and sub[0].text else chap.element_id
        p.chapters.append(Chapter(clean(title, LABEL_MAX), chap.start_time / 1000))
    return p


def _first(tags: Any, key: str) -> Any:
    values = tags.get(key) if tags is not None else None
    return values[0] if values else ""


def _mp4(audio: MP4) -> Proposal:
    """iTunes atoms: ©nam, ©alb, ©ART/aART, ©day, desc, covr; chapters from ``chpl``."""
    p = Proposal(duration_seconds=_duration(audio.info))
    tags = audio.tags
    _titles(p, _first(tags, "\xa9nam"), _first(tags, "\xa9alb"))
    for key in ("\xa9ART", "aART"):
        for name in (tags or {}).get(key, []):
            add_person(p.contributors, name, ContributorRole.AUTHOR)
    p.year = year_of(_first(tags, "\xa9day"))
    p.description = clean_block(str(_first(tags, "ldes") or _first(tags, "desc") or ""))
    cover = _first(tags, "covr")
    p.cover = bytes(cover) if cover else None
    for chapter in list(audio.chapters or [])[:MAX_CHAPTERS]:
        p.chapters.append(Chapter(clean(chapter.title, LABEL_MAX), float(chapter.start)))
    return p


def _ogg(path: Path) -> Proposal:
    """Vorbis comments: TITLE, ALBUM, ARTIST, DATE, LANGUAGE, ORGANIZATION, DESCRIPTION."""
    for kind in OGG_KINDS:
        try:
            audio = kind(path)
        except Exception:  # not this codec (or damaged): try the next  # noqa: S112
            continue
        p = Proposal(duration_seconds=_duration(audio.info))
        tags = audio.tags
        _titles(p, _first(tags, "title"), _first(tags, "album"))
        for name in (tags or {}).get("artist", []) if tags is not None else []:
            add_person(p.contributors, name, ContributorRole.AUTHOR)
        p.year = year_of(_first(tags, "date"))
        p.language = language_code(_first(tags, "language"))
        p.publisher = clean(_first(tags, "organization"), column_limit("publisher"))
        p.description = clean_block(str(_first(tags, "description") or ""))
        return p
    raise refused("file_corrupt")
