"""What the library keeps of its ODL distributors, their licences and the loans made there.

- ``Distributor``: a feed the library buys from, the account it signs in with there (the
  password kept encrypted and never shown back), and a random key of its own from which each
  patron's opaque id at that distributor is derived (an HMAC of our user id: never a card
  number or a name, and different at every distributor, so two distributors cannot match
  their patrons).
- ``OdlLicence``: the ODL half of a licence of provider ``odl`` (its row in
  ``library_licences`` holds the terms and counters like any licence): the distributor, the
  publication it belongs to in the feed, the checkout link template and the License Info
  Document's URL.
- ``OdlLoan``: the ODL half of a loan made there: the checkout id we sent (what the
  notification URL names), the Loan Status Document's URL, its last known status and links,
  and a return that is owed to the distributor (recorded at once, retried until confirmed).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from library.models import Licence
from vhs.db import db, enum_type, utcnow


class Distributor(db.Model):
    """An ODL distributor: its feed, the library's account there, the last sync's outcome."""

    __tablename__ = "library_distributors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    feed_url: Mapped[str] = mapped_column(sa.String(1000))
    username: Mapped[str] = mapped_column(sa.String(200), default="")
    # The password, encrypted with a key derived from VHS_SECRET_KEY (Fernet); "" for none.
    secret_encrypted: Mapped[str] = mapped_column(sa.Text, default="")
    # Random, per distributor: the key of the patrons' opaque ids there (hex).
    patron_key: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    sync_requested_at: Mapped[datetime | None]
    last_synced_at: Mapped[datetime | None]
    last_sync_ok: Mapped[bool | None]
    last_sync_summary: Mapped[str] = mapped_column(sa.Text, default="")

    licences: Mapped[list[OdlLicence]] = relationship(
        back_populates="distributor", passive_deletes=True
    )

    __table_args__ = (sa.UniqueConstraint("feed_url", name="uq_library_distributors_feed_url"),)

    @property
    def has_secret(self) -> bool:
        """Whether a password is stored (what forms show instead of the password)."""
        return bool(self.secret_encrypted)

    def __repr__(self) -> str:
        return f"<Distributor {self.id} {self.name!r}>"


class OdlLicence(db.Model):
    """The distributor's side of a licence of provider ``odl``."""

    __tablename__ = "library_odl_licences"

    licence_id: Mapped[int] = mapped_column(
        sa.ForeignKey("library_licences.id", ondelete="CASCADE"), primary_key=True
    )
    distributor_id: Mapped[int] = mapped_column(
        sa.ForeignKey("library_distributors.id", ondelete="CASCADE"), index=True
    )
    # The publication's identifier in the feed (metadata.identifier), shared by its licences.
    publication_id: Mapped[str] = mapped_column(sa.String(500))
    # RFC 6570 template of the checkout link (rel http://opds-spec.org/acquisition/borrow).
    checkout_template: Mapped[str] = mapped_column(sa.String(2000))
    # The License Info Document (application/vnd.odl.info+json).
    info_url: Mapped[str] = mapped_column(sa.String(1000))
    # The publication's metadata as last imported (a digest: unchanged -> the item is left).
    metadata_digest: Mapped[str] = mapped_column(sa.String(64), default="")
    cover_href: Mapped[str] = mapped_column(sa.String(1000), default="")
    # The License Info Document's status as last read ("available", "unavailable", ...).
    status: Mapped[str] = mapped_column(sa.String(30), default="available")
    # Gone from the feed: the licence stopped lending then (its expiry set to that time).
    removed_at: Mapped[datetime | None]
    checked_at: Mapped[datetime | None]

    licence: Mapped[Licence] = relationship()
    distributor: Mapped[Distributor] = relationship(back_populates="licences")

    __table_args__ = (
        sa.Index("ix_library_odl_licences_publication", "distributor_id", "publication_id"),
    )


class ReturnState(enum.StrEnum):
    """Whether the distributor still has to hear that a loan ended."""

    NONE = "none"  # the loan runs, or the distributor ended it itself (expired, revoked)
    PENDING = "pending"  # returned here; the return is retried until the distributor confirms
    CONFIRMED = "confirmed"


# Loan Status Document statuses in which the checkout no longer runs at the distributor.
ENDED_STATUSES = frozenset({"returned", "revoked", "expired", "cancelled"})


class OdlLoan(db.Model):
    """The distributor's side of a loan of an ``odl`` licence (``Loan.external_id`` holds
    the checkout id, as this row does)."""

    __tablename__ = "library_odl_loans"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Our checkout id (a UUID): sent with the checkout, named by the notification URL.
    checkout_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    licence_id: Mapped[int] = mapped_column(
        sa.ForeignKey("library_licences.id", ondelete="CASCADE"), index=True
    )
    lsd_url: Mapped[str] = mapped_column(sa.String(1000))
    # The Loan Status Document as last read: its status and its links (rel -> href/templated).
    status: Mapped[str] = mapped_column(sa.String(30))
    links: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    checked_at: Mapped[datetime | None]
    return_state: Mapped[ReturnState] = mapped_column(
        enum_type(ReturnState), default=ReturnState.NONE
    )
    return_attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(sa.String(500), default="")

    licence: Mapped[Licence] = relationship()

    __table_args__ = (
        sa.CheckConstraint("return_attempts >= 0", name="return_attempts"),
        # The returns job reads the owed returns by when they are due.
        sa.Index(
            "ix_library_odl_loans_returns_due",
            "next_attempt_at",
            sqlite_where=sa.text("return_state = 'pending'"),
            postgresql_where=sa.text("return_state = 'pending'"),
        ),
    )

    @property
    def ended_there(self) -> bool:
        """Whether the distributor says the checkout no longer runs."""
        return self.status in ENDED_STATUSES
