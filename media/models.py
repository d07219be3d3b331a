"""The e-media catalogue's data model: items with contributors, identifiers and subjects, and
their files.

Items are what a library stocks (an e-book, an audiobook, an issue of an e-magazine, a video,
a document); files are the bytes patrons read or hear (an item may have an EPUB and a PDF, or
an M4B and MP3 chapters). File bytes live in storage (``media.files.storage``) under a key made
from their SHA-256, never from a name a user chose, so the same file uploaded twice is stored
once.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vhs.db import db, enum_type, utcnow


class MediaKind(enum.StrEnum):
    """What kind of medium an item is."""

    EBOOK = "ebook"
    AUDIOBOOK = "audiobook"
    EMAGAZINE = "emagazine"
    VIDEO = "video"
    DOCUMENT = "document"


class PublicationState(enum.StrEnum):
    """Drafts are for staff; published items are in the catalogue; withdrawn ones leave it."""

    DRAFT = "draft"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


class ContributorRole(enum.StrEnum):
    """What a person did for an item (MARC relator terms: aut, nrt, edt, trl, ill)."""

    AUTHOR = "author"
    NARRATOR = "narrator"
    EDITOR = "editor"
    TRANSLATOR = "translator"
    ILLUSTRATOR = "illustrator"


class IdentifierScheme(enum.StrEnum):
    """ISBN-13 (check digit verified), ISSN for magazines, or another publisher's number."""

    ISBN = "isbn"
    ISSN = "issn"
    OTHER = "other"


class FileFormat(enum.StrEnum):
    """Formats detected from a file's content (magic bytes; EPUB by its container)."""

    EPUB = "epub"
    PDF = "pdf"
    MP3 = "mp3"
    M4A = "m4a"  # MPEG-4 audio, audiobooks as .m4b
    OGG = "ogg"
    MP4 = "mp4"  # MPEG-4 video
    WEBM = "webm"


# Age ratings as German youth protection labels them (FSK/USK): 0, 6, 12, 16, 18.
AGE_RATINGS = (0, 6, 12, 16, 18)


class MediaItem(db.Model):
    """A title the library stocks, described for finding and lending."""

    __tablename__ = "media_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[MediaKind] = mapped_column(enum_type(MediaKind))
    state: Mapped[PublicationState] = mapped_column(
        enum_type(PublicationState), default=PublicationState.DRAFT
    )
    title: Mapped[str] = mapped_column(sa.String(500))
    subtitle: Mapped[str] = mapped_column(sa.String(500), default="")
    publisher: Mapped[str] = mapped_column(sa.String(300), default="")
    year: Mapped[int | None]
    # ISO 639-1 where there is one ("de"), else ISO 639-2/B ("gsw").
    language: Mapped[str] = mapped_column(sa.String(3), default="de")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    # Classification of German public libraries (ASB/SfB/KAB notation, e.g. "Sh 100").
    classification: Mapped[str] = mapped_column(sa.String(100), default="")
    series_title: Mapped[str] = mapped_column(sa.String(300), default="")
    series_number: Mapped[int | None]
    # The youngest age the item is suitable for (FSK/USK-like; None: not rated).
    min_age: Mapped[int | None]
    pages: Mapped[int | None]
    duration_seconds: Mapped[int | None]
    # The cover's SHA-256: its storage key, and the ETag of its thumbnails.
    cover_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    # What full-text search reads, kept by the services: the head (title, subtitle, series,
    # contributors) ranks above the rest (subjects, classification, publisher, description).
    search_head: Mapped[str] = mapped_column(sa.Text, default="")
    search_document: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]

    contributors: Mapped[list[Contributor]] = relationship(
        back_populates="item", order_by="Contributor.position", cascade="all, delete-orphan"
    )
    identifiers: Mapped[list[Identifier]] = relationship(
        back_populates="item", order_by="Identifier.id", cascade="all, delete-orphan"
    )
    subjects: Mapped[list[Subject]] = relationship(
        back_populates="item", order_by="Subject.term", cascade="all, delete-orphan"
    )
    files: Mapped[list[MediaFile]] = relationship(
        back_populates="item", order_by="MediaFile.position", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.CheckConstraint("year IS NULL OR (year >= 1400 AND year <= 2200)", name="year"),
        sa.CheckConstraint("series_number IS NULL OR series_number >= 0", name="series_number"),
        sa.CheckConstraint("min_age IS NULL OR min_age IN (0, 6, 12, 16, 18)", name="min_age"),
        sa.CheckConstraint("pages IS NULL OR pages > 0", name="pages"),
        sa.CheckConstraint(
            "duration_seconds IS NULL OR duration_seconds > 0", name="duration_seconds"
        ),
        sa.Index("ix_media_items_state_kind", "state", "kind"),
        sa.Index("ix_media_items_series_title", "series_title"),
    )

    @property
    def isbn(self) -> str | None:
        """The first ISBN, if any."""
        return next((i.value for i in self.identifiers if i.scheme is IdentifierScheme.ISBN), None)

    def names(self, role: ContributorRole) -> list[str]:
        """The names of the contributors in ``role``, in their order."""
        return [c.name for c in self.contributors if c.role is role]


class Contributor(db.Model):
    """A person (or body) who made an item, in a role, in the order the title page names them."""

    __tablename__ = "media_contributors"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("media_items.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(sa.String(300))
    role: Mapped[ContributorRole] = mapped_column(enum_type(ContributorRole))

    item: Mapped[MediaItem] = relationship(back_populates="contributors")

    __table_args__ = (
        sa.Index("ix_media_contributors_item_id", "item_id"),
        sa.Index("ix_media_contributors_name", "name"),
    )


class Identifier(db.Model):
    """An ISBN, ISSN or other number; one number belongs to one item (imports match on it)."""

    __tablename__ = "media_identifiers"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("media_items.id", ondelete="CASCADE"))
    scheme: Mapped[IdentifierScheme] = mapped_column(enum_type(IdentifierScheme))
    value: Mapped[str] = mapped_column(sa.String(100))

    item: Mapped[MediaItem] = relationship(back_populates="identifiers")

    __table_args__ = (
        sa.UniqueConstraint("scheme", "value", name="uq_media_identifiers_scheme_value"),
        sa.Index("ix_media_identifiers_item_id", "item_id"),
    )


class Subject(db.Model):
    """A free keyword ("Krimi", "Nordsee") an item is about."""

    __tablename__ = "media_subjects"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("media_items.id", ondelete="CASCADE"))
    term: Mapped[str] = mapped_column(sa.String(200))

    item: Mapped[MediaItem] = relationship(back_populates="subjects")

    __table_args__ = (
        sa.UniqueConstraint("item_id", "term", name="uq_media_subjects_item_term"),
        sa.Index("ix_media_subjects_term", "term"),
    )


class MediaFile(db.Model):
    """One file of an item; its bytes are in storage under ``files/<sha256>``."""

    __tablename__ = "media_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("media_items.id", ondelete="CASCADE"))
    format: Mapped[FileFormat] = mapped_column(enum_type(FileFormat))
    media_type: Mapped[str] = mapped_column(sa.String(100))
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    # Order among an item's files (MP3 chapters) and a label for them ("Kapitel 3").
    position: Mapped[int] = mapped_column(default=0)
    label: Mapped[str] = mapped_column(sa.String(200), default="")
    pages: Mapped[int | None]
    duration_seconds: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    item: Mapped[MediaItem] = relationship(back_populates="files")

    __table_args__ = (
        sa.UniqueConstraint("item_id", "sha256", name="uq_media_files_item_sha256"),
        sa.CheckConstraint("size_bytes > 0", name="size"),
        sa.Index("ix_media_files_item_id", "item_id"),
        sa.Index("ix_media_files_sha256", "sha256"),
    )

    @property
    def storage_key(self) -> str:
        """Where the bytes are: derived from their hash, never from a user's file name."""
        return f"files/{self.sha256}"
