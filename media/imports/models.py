"""Import runs and what they refused.

A run is one file (and optionally a folder or ZIP of files) imported by one actor. Its counts
and its position in the file are committed together with each batch of records, so the page
shows progress and a run cut off by a crashed process resumes where its last batch ended.

Refusals live in a table of their own rather than in a JSON column of the run: a file of
10,000 records may have thousands, each batch appends its own rows (a JSON document would be
rewritten whole every batch), and the run page and the CSV report page through them in order.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vhs.db import db, utcnow


def _enum(cls: type[enum.Enum], length: int = 20) -> sa.Enum:
    return sa.Enum(
        cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


class ImportFormat(enum.StrEnum):
    """The record formats an import reads."""

    MARC = "marc"  # MARC 21, ISO 2709 binary
    MARCXML = "marcxml"
    ONIX = "onix"  # ONIX for Books 3.0, reference names or short tags
    CSV = "csv"


class ImportState(enum.StrEnum):
    """Queued until a runner claims it; running; done (even with refusals) or failed."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class RejectionKind(enum.StrEnum):
    """A record refused, a file of the files folder/ZIP refused, or a note about the file."""

    RECORD = "record"
    FILE = "file"
    NOTICE = "notice"


class ImportRun(db.Model):
    """One import of a file of records."""

    __tablename__ = "media_import_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[ImportState] = mapped_column(_enum(ImportState), default=ImportState.QUEUED)
    format: Mapped[ImportFormat] = mapped_column(_enum(ImportFormat))
    # The uploaded name, shown to staff only; the bytes are in storage under ``source_key``.
    filename: Mapped[str] = mapped_column(sa.String(255), default="")
    # ``imports/<sha256>`` in media storage; empty for a CLI run that reads a local path.
    source_key: Mapped[str] = mapped_column(sa.String(100), default="")
    files_key: Mapped[str] = mapped_column(sa.String(100), default="")
    files_name: Mapped[str] = mapped_column(sa.String(255), default="")
    publish: Mapped[bool] = mapped_column(default=False)
    # Refusals are written in the language of whoever started the run.
    locale: Mapped[str] = mapped_column(sa.String(10), default="de")
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    # Records in the file when known, records settled so far (committed with their batch).
    total: Mapped[int | None]
    position: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    withdrawn: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    files_attached: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(sa.Text, default="")
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    # Written with every batch: a running run whose heartbeat is old was left by a dead runner.
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    rejections: Mapped[list[ImportRejection]] = relationship(
        back_populates="run",
        order_by="ImportRejection.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise",  # thousands per run: read through runs.rejections_of, in pages
    )

    __table_args__ = (
        sa.Index("ix_media_import_runs_state", "state", "id"),
        sa.CheckConstraint("position >= 0", name="position"),
    )

    @property
    def finished(self) -> bool:
        """Whether the run has ended (done or failed)."""
        return self.state in (ImportState.DONE, ImportState.FAILED)


class ImportRejection(db.Model):
    """A record or file an import run did not take, and why."""

    __tablename__ = "media_import_rejections"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("media_import_runs.id", ondelete="CASCADE"))
    kind: Mapped[RejectionKind] = mapped_column(_enum(RejectionKind), default=RejectionKind.RECORD)
    position: Mapped[int | None]
    identifier: Mapped[str] = mapped_column(sa.String(300), default="")
    title: Mapped[str] = mapped_column(sa.String(500), default="")
    reason: Mapped[str] = mapped_column(sa.Text, default="")

    run: Mapped[ImportRun] = relationship(back_populates="rejections")

    __table_args__ = (sa.Index("ix_media_import_rejections_run_id", "run_id", "id"),)
