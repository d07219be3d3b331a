"""The library's data model: cards, licences, loans and holds.

A *patron* is a user with a library card (``LibraryCard``): desk-issued cards may belong to a
user without an e-mail address, who signs in with card number and PIN. A *licence* is what the
library bought for an item (the ODL model: copies at once, an optional cap of checkouts, an
optional expiry, the longest loan and the protection terms); its kind is derived from those
fields. A *loan* takes one copy of one licence; a *hold* (Vormerkung) waits in a FIFO queue per
item and, when a copy comes back, becomes ready and reserves that copy for a while.

The invariants the database itself guards (CHECK constraints and partial unique indexes):

- ``0 <= active_loans`` and ``0 <= reserved`` and ``active_loans + reserved <= concurrency`` on
  each licence — the services move the counters in the same transaction as the loan or hold
  rows, under the licence's row lock, so a copy can never be lent twice;
- ``checkouts_left`` never below 0 (and never above ``checkouts_total``), and at least the
  copies reserved for ready holds on a metered licence;
- triggers of migration 0010 (not in the models, like the search structures): a licence's
  ``checkouts_left`` never rises, and no loan starts on or outlives an expired licence;
- one open loan and one open hold per patron and item.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from library.rules import POSITION_CFI_MAX, POSITION_SECONDS_MAX
from media.models import MediaFile, MediaItem
from vhs.accounts.models import User
from vhs.db import db, enum_type, utcnow

# --- patrons ---------------------------------------------------------------------------------


class CardState(enum.StrEnum):
    """Applied online (staff confirm), active, or blocked by staff (lost, misuse)."""

    APPLIED = "applied"
    ACTIVE = "active"
    BLOCKED = "blocked"


class LibraryCard(db.Model):
    """A library card (Bibliotheksausweis): what makes a user a patron."""

    __tablename__ = "library_cards"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    # Printed on the card and typed into reading apps; unique, never reused.
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    pin_hash: Mapped[str | None] = mapped_column(sa.String(255))
    state: Mapped[CardState] = mapped_column(enum_type(CardState), default=CardState.APPLIED)
    # The last day the card may borrow (in the configured time zone).
    valid_until: Mapped[date | None]
    # The annual fee is paid up to this day (None: never paid; irrelevant when no fee is set).
    fee_paid_until: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    issued_at: Mapped[datetime | None]
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    blocked_reason: Mapped[str] = mapped_column(sa.String(300), default="")
    # The patron's opt-in to a "read before" list: ended loans keep them (only where the
    # library allows it, ``VHS_LIBRARY_KEEP_HISTORY``); off, a loan forgets its patron at its end.
    keep_history: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    fees: Mapped[list[LibraryCardFee]] = relationship(
        back_populates="card",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="LibraryCardFee.period_until",
    )

    def __repr__(self) -> str:
        return f"<LibraryCard {self.id} {self.state.value}>"


class LibraryCardFee(db.Model):
    """The annual fee for one validity period of a card: what a payment's purpose names.

    Payments pay for a purpose once (``purpose_type`` ``library_card``, ``purpose_id`` this
    row), so each period is a purpose of its own: the fee for the next year is a new row, paid
    by a new payment, with its own invoice from the core's one series.
    """

    __tablename__ = "library_card_fees"

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(
        sa.ForeignKey("library_cards.id", ondelete="CASCADE"), index=True
    )
    # The card's last valid day this fee pays for (``fee_paid_until`` once paid).
    period_until: Mapped[date]
    amount_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[datetime | None]

    card: Mapped[LibraryCard] = relationship(back_populates="fees")

    __table_args__ = (
        sa.UniqueConstraint("card_id", "period_until", name="uq_library_card_fees_period"),
        sa.CheckConstraint("amount_cents > 0", name="amount_positive"),
    )


class RetiredCardNumber(db.Model):
    """A number of a card that no longer exists (erased with its account, or replaced).

    Only the number: it belongs to nobody any more, and is kept so that it is never issued
    again (a found old card must never open someone else's account).
    """

    __tablename__ = "library_retired_card_numbers"

    number: Mapped[str] = mapped_column(sa.String(20), primary_key=True)


# --- licences --------------------------------------------------------------------------------


class LicenceKind(enum.StrEnum):
    """Derived from a licence's terms, never stored."""

    PERPETUAL = "perpetual"  # no expiry, no cap (one-copy-one-user bought outright)
    TIME_LIMITED = "time_limited"  # an expiry date
    METERED = "metered"  # a cap of checkouts ("K-Lizenz")
    METERED_TIME_LIMITED = "metered_time_limited"  # both


class Licence(db.Model):
    """What the library bought for an item, from a provider (``local``: held here)."""

    __tablename__ = "library_licences"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(
        sa.ForeignKey("media_items.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(sa.String(30), default="local")
    # The provider's own identifier of the licence (an ODL licence id); "" for local ones.
    external_id: Mapped[str] = mapped_column(sa.String(200), default="")
    concurrency: Mapped[int] = mapped_column(default=1)
    checkouts_total: Mapped[int | None]
    checkouts_left: Mapped[int | None]
    expires_at: Mapped[datetime | None]
    max_loan_days: Mapped[int] = mapped_column(default=21)
    download_allowed: Mapped[bool] = mapped_column(default=True)
    streaming_allowed: Mapped[bool] = mapped_column(default=True)
    print_allowed: Mapped[bool] = mapped_column(default=False)
    copy_allowed: Mapped[bool] = mapped_column(default=False)
    # Counters moved with the loan and hold rows under this row's lock (see the module doc).
    active_loans: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    note: Mapped[str] = mapped_column(sa.String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    item: Mapped[MediaItem] = relationship()
    dedications: Mapped[list[LicenceDedication]] = relationship(
        back_populates="licence", cascade="all, delete-orphan", order_by="LicenceDedication.id"
    )

    __table_args__ = (
        sa.CheckConstraint("concurrency >= 1", name="concurrency"),
        sa.CheckConstraint("active_loans >= 0", name="active_loans"),
        sa.CheckConstraint("reserved >= 0", name="reserved"),
        sa.CheckConstraint("active_loans + reserved <= concurrency", name="copies"),
        sa.CheckConstraint(
            "(checkouts_total IS NULL AND checkouts_left IS NULL) OR "
            # IS NOT NULL spelled out: a CHECK passes when its expression is NULL.
            "(checkouts_total IS NOT NULL AND checkouts_left IS NOT NULL AND "
            "checkouts_total >= 1 AND checkouts_left >= 0 AND checkouts_left <= checkouts_total)",
            name="checkouts",
        ),
        # Each reserved copy will take a checkout when its patron borrows it.
        sa.CheckConstraint(
            "checkouts_left IS NULL OR reserved <= checkouts_left", name="reserved_checkouts"
        ),
        sa.CheckConstraint("max_loan_days >= 1 AND max_loan_days <= 366", name="max_loan_days"),
        # A provider's licence is imported once; local licences have no external id.
        sa.Index(
            "uq_library_licences_external",
            "provider",
            "external_id",
            unique=True,
            sqlite_where=sa.text("external_id <> ''"),
            postgresql_where=sa.text("external_id <> ''"),
        ),
    )

    @property
    def kind(self) -> LicenceKind:
        """Perpetual, time-limited, metered, or both — read from the terms."""
        if self.checkouts_total is not None:
            if self.expires_at is not None:
                return LicenceKind.METERED_TIME_LIMITED
            return LicenceKind.METERED
        return LicenceKind.TIME_LIMITED if self.expires_at is not None else LicenceKind.PERPETUAL

    def __repr__(self) -> str:
        return f"<Licence {self.id} item={self.item_id} {self.kind.value}>"


class LicenceDedication(db.Model):
    """Copies of a licence set aside for a closed group (a course) until a day.

    ``group_type``/``group_id`` name the group without the library knowing what it is
    (``course``/<id>); the domain that owns the group registers who belongs to it.
    """

    __tablename__ = "library_licence_dedications"

    id: Mapped[int] = mapped_column(primary_key=True)
    licence_id: Mapped[int] = mapped_column(
        sa.ForeignKey("library_licences.id", ondelete="CASCADE"), index=True
    )
    group_type: Mapped[str] = mapped_column(sa.String(30))
    group_id: Mapped[int]
    copies: Mapped[int] = mapped_column(default=1)
    # Loans on these copies end by this time at the latest; afterwards they are general again.
    ends_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Open loans on these copies: moved with the loan rows under the licence's lock, like
    # ``Licence.active_loans`` (which counts them too). Migration 0011.
    active_loans: Mapped[int] = mapped_column(default=0, server_default=sa.text("0"))

    licence: Mapped[Licence] = relationship(back_populates="dedications")

    __table_args__ = (
        sa.CheckConstraint("copies >= 1", name="copies"),
        sa.CheckConstraint("active_loans >= 0 AND active_loans <= copies", name="active_loans"),
        sa.Index("ix_library_dedications_group", "group_type", "group_id"),
    )


# --- loans and holds -------------------------------------------------------------------------


class LoanEnd(enum.StrEnum):
    """How a loan ended."""

    RETURNED = "returned"  # by the patron, early
    EXPIRED = "expired"  # at its due time
    REVOKED = "revoked"  # by staff, or the patron left the course of a course-bound loan


class Loan(db.Model):
    """One patron holding one copy of one licence until ``due_at`` (or until returned)."""

    __tablename__ = "library_loans"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("media_items.id", ondelete="CASCADE"))
    licence_id: Mapped[int] = mapped_column(sa.ForeignKey("library_licences.id"), index=True)
    # None once the loan ended and its patron is forgotten (no history kept by default).
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    dedication_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("library_licence_dedications.id", ondelete="SET NULL")
    )
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime]
    renewals: Mapped[int] = mapped_column(default=0)
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[LoanEnd | None] = mapped_column(enum_type(LoanEnd))
    # A provider's own handle of the loan (ODL: the loan's status document); "" for local ones.
    external_id: Mapped[str] = mapped_column(sa.String(500), default="")
    # When "your loan ends soon" was mailed (once per due date: a renewal clears it).
    reminder_sent_at: Mapped[datetime | None]

    item: Mapped[MediaItem] = relationship()
    licence: Mapped[Licence] = relationship()
    user: Mapped[User | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint("due_at > started_at", name="due_after_start"),
        sa.CheckConstraint("ended_at IS NOT NULL OR user_id IS NOT NULL", name="open_has_patron"),
        sa.CheckConstraint("renewals >= 0", name="renewals"),
        sa.CheckConstraint(
            "(ended_at IS NULL AND end_reason IS NULL) OR "
            "(ended_at IS NOT NULL AND end_reason IS NOT NULL)",
            name="ended",
        ),
        # One open loan per patron and item.
        sa.Index(
            "uq_library_loans_open",
            "user_id",
            "item_id",
            unique=True,
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        ),
        # The expiry job and "my loans" read open loans by due time / by patron.
        sa.Index(
            "ix_library_loans_open_due",
            "due_at",
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        ),
        sa.Index("ix_library_loans_user", "user_id", "ended_at"),
        sa.Index("ix_library_loans_item", "item_id", "ended_at"),
    )

    @property
    def is_open(self) -> bool:
        """Not returned, expired or revoked (the due time may still have passed: see services)."""
        return self.ended_at is None


class HoldState(enum.StrEnum):
    """Waiting in the queue; ready (a copy reserved until ``ready_until``); ended."""

    WAITING = "waiting"
    READY = "ready"
    ENDED = "ended"


class HoldEnd(enum.StrEnum):
    """How a hold ended."""

    BORROWED = "borrowed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # the pick-up window passed


class Hold(db.Model):
    """A reservation (Vormerkung): first come, first served per item."""

    __tablename__ = "library_holds"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("media_items.id", ondelete="CASCADE"))
    # None once the hold ended: who waited for what is not kept (as for loans).
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    state: Mapped[HoldState] = mapped_column(enum_type(HoldState), default=HoldState.WAITING)
    # The queue's order: when the hold was placed (ties broken by id).
    placed_at: Mapped[datetime] = mapped_column(default=utcnow)
    ready_at: Mapped[datetime | None]
    ready_until: Mapped[datetime | None]
    # The licence whose copy is reserved while ready (its ``reserved`` counter counts it).
    licence_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("library_licences.id", ondelete="SET NULL")
    )
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[HoldEnd | None] = mapped_column(enum_type(HoldEnd))

    item: Mapped[MediaItem] = relationship()
    user: Mapped[User | None] = relationship()
    licence: Mapped[Licence | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint(
            "(state = 'ready') = (licence_id IS NOT NULL AND ready_until IS NOT NULL)",
            name="ready_reserves",
        ),
        sa.CheckConstraint(
            "(state = 'ended') = (ended_at IS NOT NULL AND end_reason IS NOT NULL)",
            name="ended",
        ),
        sa.CheckConstraint("state = 'ended' OR user_id IS NOT NULL", name="open_has_patron"),
        # One open hold per patron and item.
        sa.Index(
            "uq_library_holds_open",
            "user_id",
            "item_id",
            unique=True,
            sqlite_where=sa.text("state <> 'ended'"),
            postgresql_where=sa.text("state <> 'ended'"),
        ),
        sa.Index(
            "ix_library_holds_queue",
            "item_id",
            "placed_at",
            "id",
            sqlite_where=sa.text("state <> 'ended'"),
            postgresql_where=sa.text("state <> 'ended'"),
        ),
        sa.Index("ix_library_holds_user", "user_id", "state"),
    )


# --- access: the watermark of downloaded EPUBs -----------------------------------------------


class Watermark(db.Model):
    """The code a loan's EPUB carries when downloaded, one per loan and file.

    The code is random (``W-7K3M-Q9XD``), not the loan's id, so a file does not tell which
    loan number to guess next; staff look it up to learn which loan a file comes from. The
    patron is not stored here: they are known through the loan for as long as the loan knows
    them (until it ends, unless ``VHS_LIBRARY_KEEP_HISTORY`` keeps ended loans' patrons).
    """

    __tablename__ = "library_watermarks"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    loan_id: Mapped[int] = mapped_column(
        sa.ForeignKey("library_loans.id", ondelete="CASCADE"), index=True
    )
    file_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("media_files.id", ondelete="SET NULL")
    )
    first_downloaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_downloaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    downloads: Mapped[int] = mapped_column(default=1)

    loan: Mapped[Loan] = relationship()
    file: Mapped[MediaFile | None] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("loan_id", "file_id", name="uq_library_watermarks_loan_file"),
        sa.CheckConstraint("downloads >= 1", name="downloads"),
    )


# --- reader: where the patron is in a loan ---------------------------------------------------


class ReadingPosition(db.Model):
    """Where the patron stopped in a loan's file, so another device resumes there.

    One row per loan: an EPUB's spot as a CFI, or seconds into an audio or video file (which
    file, for an audiobook in chapters), and the progress through it (0..1). The row lives only
    as long as the loan is open: ending a loan deletes it (``library.loans.services``), so what
    somebody read, and how far, is not kept beyond the loan.
    """

    __tablename__ = "library_reading_positions"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(
        sa.ForeignKey("library_loans.id", ondelete="CASCADE"), unique=True
    )
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("media_files.id", ondelete="CASCADE"))
    cfi: Mapped[str | None] = mapped_column(sa.String(POSITION_CFI_MAX))
    # FLOAT: double precision on PostgreSQL, REAL on SQLite (the same on both).
    seconds: Mapped[float | None] = mapped_column(sa.Float)
    progress: Mapped[float] = mapped_column(sa.Float, default=0.0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    loan: Mapped[Loan] = relationship()
    file: Mapped[MediaFile] = relationship()

    __table_args__ = (
        sa.CheckConstraint("(cfi IS NULL) <> (seconds IS NULL)", name="cfi_or_seconds"),
        sa.CheckConstraint(
            f"seconds IS NULL OR (seconds >= 0 AND seconds <= {POSITION_SECONDS_MAX})",
            name="seconds",
        ),
        sa.CheckConstraint("progress >= 0 AND progress <= 1", name="progress"),
    )
