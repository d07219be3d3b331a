"""Terms, categories, courses, sessions and enrolments."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from courses.rules import (
    CANCELLATION_DAYS_DEFAULT,
    CAPACITY_DEFAULT,
    CATEGORY_NAME_MAX,
    CODE_MAX,
    MIN_PARTICIPANTS_DEFAULT,
    ROOM_MAX,
    SLUG_MAX,
    SUBTITLE_MAX,
    TERM_NAME_MAX,
    TITLE_MAX,
    VENUE_MAX,
    units_tenths,
    units_value,
)
from vhs.accounts.models import User
from vhs.db import db, enum_type, utcnow


class TermStatus(enum.StrEnum):
    """A term is planned in draft, then published with its programme, then archived."""

    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class CourseFormat(enum.StrEnum):
    """Where a course meets."""

    ONLINE = "online"
    HYBRID = "hybrid"
    IN_PERSON = "in_person"


class CourseStatus(enum.StrEnum):
    """Life cycle of a course."""

    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


class SessionStatus(enum.StrEnum):
    """Whether a session takes place."""

    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class EnrolmentStatus(enum.StrEnum):
    """Where an enrolment stands; the first three are "active"."""

    PENDING_PAYMENT = "pending_payment"
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


ACTIVE_STATUSES = (
    EnrolmentStatus.PENDING_PAYMENT,
    EnrolmentStatus.CONFIRMED,
    EnrolmentStatus.WAITLISTED,
)
SEAT_STATUSES = (EnrolmentStatus.PENDING_PAYMENT, EnrolmentStatus.CONFIRMED)


class ReductionReason(enum.StrEnum):
    """Grounds for the reduced fee (Ermäßigung), checked by staff."""

    STUDENT = "student"
    JOBSEEKER = "jobseeker"
    BUERGERGELD = "buergergeld"
    DISABILITY = "disability"
    VOLUNTEER_CARD = "volunteer_card"


CEFR_LEVELS = ("A1", "A2", "B1", "B2", "C1", "C2")


class Term(db.Model):
    """A programme period, e.g. "Frühjahr 2027"."""

    __tablename__ = "terms"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(TERM_NAME_MAX))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    enrolment_opens_at: Mapped[datetime]
    status: Mapped[TermStatus] = mapped_column(enum_type(TermStatus), default=TermStatus.DRAFT)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (sa.CheckConstraint("ends_on >= starts_on", name="term_dates"),)


class Category(db.Model):
    """A subject area in a tree (Sprachen > Englisch)."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("categories.id", ondelete="RESTRICT"), index=True
    )
    slug: Mapped[str] = mapped_column(sa.String(SLUG_MAX), unique=True)
    name_de: Mapped[str] = mapped_column(sa.String(CATEGORY_NAME_MAX))
    name_en: Mapped[str] = mapped_column(sa.String(CATEGORY_NAME_MAX))
    position: Mapped[int] = mapped_column(default=0)

    parent: Mapped[Category | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Category]] = relationship(
        back_populates="parent", order_by="Category.position"
    )

    def name(self, locale: str) -> str:
        """The name in the page's language."""
        return self.name_en if locale == "en" else self.name_de


course_instructors = sa.Table(
    "course_instructors",
    db.metadata,
    sa.Column("course_id", sa.ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Index("ix_course_instructors_user_id", "user_id"),
)


class Course(db.Model):
    """A course offered in a term; counters are kept by the services under the course lock."""

    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(sa.ForeignKey("terms.id", ondelete="RESTRICT"))
    category_id: Mapped[int] = mapped_column(
        sa.ForeignKey("categories.id", ondelete="RESTRICT"), index=True
    )
    code: Mapped[str] = mapped_column(sa.String(CODE_MAX))
    title: Mapped[str] = mapped_column(sa.String(TITLE_MAX))
    subtitle: Mapped[str] = mapped_column(sa.String(SUBTITLE_MAX), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    language: Mapped[str] = mapped_column(sa.String(5), default="de")
    level: Mapped[str | None] = mapped_column(sa.String(2))
    format: Mapped[CourseFormat] = mapped_column(
        enum_type(CourseFormat), default=CourseFormat.IN_PERSON
    )
    venue: Mapped[str] = mapped_column(sa.String(VENUE_MAX), default="")
    room: Mapped[str] = mapped_column(sa.String(ROOM_MAX), default="")
    fee_cents: Mapped[int] = mapped_column(default=0)
    reduced_fee_cents: Mapped[int | None]
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")
    capacity: Mapped[int] = mapped_column(default=CAPACITY_DEFAULT)
    min_participants: Mapped[int] = mapped_column(default=MIN_PARTICIPANTS_DEFAULT)
    enrolment_closes_at: Mapped[datetime | None]
    cancellation_days: Mapped[int] = mapped_column(default=CANCELLATION_DAYS_DEFAULT)
    # Teaching units in tenths: derived from the held (not cancelled) sessions by the planning
    # services (``refresh_schedule``), and a staff override with who, when and why.
    units_derived_tenths: Mapped[int] = mapped_column(default=0)
    units_override_tenths: Mapped[int | None]
    units_override_reason: Mapped[str] = mapped_column(sa.Text, default="")
    # Who set it, as an id and a name (like the audit log): no foreign key, so the course row
    # is altered in place by migration 0016 (a rebuild on SQLite would cascade to sessions).
    units_override_by_id: Mapped[int | None]
    units_override_by_name: Mapped[str] = mapped_column(sa.String(200), default="")
    units_override_at: Mapped[datetime | None]
    status: Mapped[CourseStatus] = mapped_column(
        enum_type(CourseStatus), default=CourseStatus.DRAFT
    )
    # Denormalised for the catalogue (one query per page): kept by the services.
    seats_taken: Mapped[int] = mapped_column(default=0)
    waitlist_count: Mapped[int] = mapped_column(default=0)
    first_session_at: Mapped[datetime | None] = mapped_column(index=True)
    last_session_at: Mapped[datetime | None]
    weekday: Mapped[int | None] = mapped_column(sa.SmallInteger)  # ISO 1=Mon (Berlin time)
    start_minute: Mapped[int | None] = mapped_column(sa.SmallInteger)  # minutes after midnight
    session_count: Mapped[int] = mapped_column(default=0)
    search_document: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    cancelled_reason: Mapped[str] = mapped_column(sa.Text, default="")

    term: Mapped[Term] = relationship()
    category: Mapped[Category] = relationship()
    instructors: Mapped[list[User]] = relationship(secondary=course_instructors, order_by=User.name)
    sessions: Mapped[list[Session]] = relationship(
        back_populates="course", order_by="Session.starts_at", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.UniqueConstraint("term_id", "code", name="uq_courses_term_code"),
        sa.CheckConstraint("capacity >= 0", name="capacity_nonneg"),
        sa.CheckConstraint("fee_cents >= 0", name="fee_nonneg"),
        sa.CheckConstraint("seats_taken >= 0", name="seats_nonneg"),
        # The catalogue's default order (start date, then id) straight from the index, on every
        # page: no sort of all published courses (migration 0004_perf_indexes).
        sa.Index("ix_courses_status_first_id", "status", "first_session_at", "id"),
        sa.Index("ix_courses_term_status", "term_id", "status"),
    )

    @property
    def teaching_units_tenths(self) -> int:
        """The effective teaching units in tenths: the override where staff set one."""
        if self.units_override_tenths is not None:
            return self.units_override_tenths
        return self.units_derived_tenths

    @property
    def teaching_units(self) -> int | float:
        """The effective teaching units as a number (20 or 13.3): certificates, reports, API."""
        return units_value(self.teaching_units_tenths)

    @property
    def teaching_units_derived(self) -> int | float:
        """The units the held sessions give (45 minutes each, one decimal)."""
        return units_value(self.units_derived_tenths)

    @property
    def teaching_units_override(self) -> int | float | None:
        """The staff override, if any."""
        if self.units_override_tenths is None:
            return None
        return units_value(self.units_override_tenths)

    @property
    def seats_left(self) -> int:
        """Free places right now (never negative)."""
        return max(self.capacity - self.seats_taken, 0)

    @property
    def is_full(self) -> bool:
        """Whether new enrolments go to the waiting list."""
        return self.seats_taken >= self.capacity

    @property
    def is_free(self) -> bool:
        """Courses without a fee never touch a payment provider."""
        return self.fee_cents == 0

    @property
    def cancellation_deadline(self) -> datetime | None:
        """Free cancellation until N days before the first session."""
        if self.first_session_at is None:
            return None
        return self.first_session_at - timedelta(days=self.cancellation_days)

    @property
    def is_online(self) -> bool:
        """Online and hybrid courses meet (partly) in Jitsi."""
        return self.format in (CourseFormat.ONLINE, CourseFormat.HYBRID)

    def next_session(self, now: datetime | None = None) -> Session | None:
        """The next scheduled meeting (from the loaded ``sessions``, in time order)."""
        now = now or utcnow()
        for s in self.sessions:
            if s.status is SessionStatus.SCHEDULED and s.ends_at > now:
                return s
        return None


class Session(db.Model):
    """A dated meeting of a course. ``sequence`` counts changes of time, place or status."""

    __tablename__ = "course_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(sa.String(36), unique=True, default=lambda: str(uuid.uuid4()))
    course_id: Mapped[int] = mapped_column(
        sa.ForeignKey("courses.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    online: Mapped[bool] = mapped_column(default=False)
    room: Mapped[str] = mapped_column(sa.String(ROOM_MAX), default="")
    status: Mapped[SessionStatus] = mapped_column(
        enum_type(SessionStatus), default=SessionStatus.SCHEDULED
    )
    sequence: Mapped[int] = mapped_column(default=0)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    jitsi_room: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    course: Mapped[Course] = relationship(back_populates="sessions")

    __table_args__ = (sa.CheckConstraint("ends_at > starts_at", name="session_times"),)

    @property
    def duration_minutes(self) -> int:
        """Length of the meeting in minutes."""
        return int((self.ends_at - self.starts_at).total_seconds() // 60)

    @property
    def units_tenths(self) -> int:
        """Teaching units of this meeting in tenths (0 when it is cancelled)."""
        if self.status is SessionStatus.CANCELLED:
            return 0
        return units_tenths(self.duration_minutes)


class Enrolment(db.Model):
    """A person's place (or waiting-list place) in a course."""

    __tablename__ = "enrolments"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(
        sa.ForeignKey("courses.id", ondelete="RESTRICT"), index=True
    )
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    status: Mapped[EnrolmentStatus] = mapped_column(enum_type(EnrolmentStatus))
    waitlist_position: Mapped[int | None]
    hold_expires_at: Mapped[datetime | None] = mapped_column(index=True)
    price_cents: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")
    reduction_reason: Mapped[ReductionReason | None] = mapped_column(enum_type(ReductionReason))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    confirmed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancelled_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    course: Mapped[Course] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])

    __table_args__ = (
        # One active enrolment per person and course, enforced by the database.
        sa.Index(
            "uq_enrolments_active",
            "course_id",
            "user_id",
            unique=True,
            sqlite_where=sa.text("status IN ('pending_payment', 'confirmed', 'waitlisted')"),
            postgresql_where=sa.text("status IN ('pending_payment', 'confirmed', 'waitlisted')"),
        ),
        sa.Index("ix_enrolments_course_status", "course_id", "status"),
        sa.CheckConstraint("price_cents >= 0", name="price_nonneg"),
    )

    @property
    def active(self) -> bool:
        """Pending, confirmed or waiting."""
        return self.status in ACTIVE_STATUSES

    @property
    def holds_seat(self) -> bool:
        """Whether this enrolment counts against the capacity."""
        return self.status in SEAT_STATUSES

    def as_dict(self) -> dict[str, Any]:
        """A compact summary for mails and exports."""
        return {
            "id": self.id,
            "course": self.course.code,
            "status": self.status.value,
            "price_cents": self.price_cents,
        }
