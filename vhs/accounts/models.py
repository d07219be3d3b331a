"""User accounts, roles and personal API tokens."""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vhs.db import db, enum_type, utcnow


class Role(enum.StrEnum):
    """What a person may do on the platform; one role per account."""

    RESIDENT = "resident"
    INSTRUCTOR = "instructor"
    STAFF = "staff"
    ADMIN = "admin"


class User(UserMixin, db.Model):
    """A person with an account: resident, instructor, staff member or administrator."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(
        enum_type(Role),
        default=Role.RESIDENT,
    )
    locale: Mapped[str] = mapped_column(sa.String(5), default="de")
    street: Mapped[str] = mapped_column(sa.String(200), default="")
    postal_code: Mapped[str] = mapped_column(sa.String(10), default="")
    city: Mapped[str] = mapped_column(sa.String(100), default="")
    email_verified_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # Rotated on password change, logout-everywhere and erasure: old sessions stop working.
    session_token: Mapped[str] = mapped_column(sa.String(64))
    erased_at: Mapped[datetime | None]

    api_tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="ApiToken.id"
    )

    def get_id(self) -> str:
        """Flask-Login identity: id plus session token, so rotating the token logs out."""
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        """Erased accounts can never log in again."""
        return self.erased_at is None

    @property
    def email_verified(self) -> bool:
        """Whether the e-mail address has been confirmed by the mailed link."""
        return self.email_verified_at is not None

    @property
    def is_staff(self) -> bool:
        """Staff and administrators run the VHS office."""
        return self.role in (Role.STAFF, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        """Administrators may also grant roles."""
        return self.role is Role.ADMIN

    @property
    def is_instructor(self) -> bool:
        """Whether the person teaches (instructors; staff may teach too)."""
        return self.role is Role.INSTRUCTOR

    @property
    def postal_address(self) -> str:
        """The address printed on invoices, one line."""
        parts = [self.street, f"{self.postal_code} {self.city}".strip()]
        return ", ".join(p for p in parts if p)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role.value}>"


class ApiToken(db.Model):
    """A personal API token; only its SHA-256 digest is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    prefix: Mapped[str] = mapped_column(sa.String(12))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="api_tokens")

    @staticmethod
    def digest(plaintext: str) -> str:
        """The stored form of a token (tokens are random, so a plain hash is enough)."""
        return hashlib.sha256(plaintext.encode()).hexdigest()

    @property
    def active(self) -> bool:
        """A token works until it is revoked."""
        return self.revoked_at is None
