"""Booking rules: enrol, confirm, waiting list, cancel, expire unpaid holds, move.

Every function that counts or takes seats locks the course row first (``lock_course``) and
does all its work in the caller's unit of work.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from courses import signals as course_signals
from courses.access import is_instructor_of, lock_course, require_manager
from courses.enrolment import charges, reductions
from courses.enrolment.models import ChargeKind, ReductionCheck
from courses.models import (
    ACTIVE_STATUSES,
    Course,
    CourseStatus,
    Enrolment,
    EnrolmentStatus,
    ReductionReason,
)
from vhs import signals
from vhs.accounts.models import User
from vhs.audit import audit
from vhs.calendar import attachments_for
from vhs.db import db, utcnow
from vhs.errors import Conflict, Forbidden, Invalid, NotFound
from vhs.i18n import fmt_datetime
from vhs.mail import queue_mail


def get_enrolment(enrolment_id: int, user: User) -> Enrolment:
    """An enrolment the user may act on (their own, or any for staff), else 404."""
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None or (enrolment.user_id != user.id and not user.is_staff):
        raise NotFound(_l("This booking does not exist."), code="enrolment_not_found")
    return enrolment


# --- enrolment -----------------------------------------------------------------------------


def _hold_period() -> timedelta:
    settings = current_app.config["VHS"]
    if settings.stripe_enabled:
        return timedelta(minutes=max(settings.payment_hold_minutes, 30))
    return timedelta(days=settings.manual_payment_hold_days)


def enrolment_closes_at(course: Course) -> datetime | None:
    """When booking ends: the configured date, else when the last session starts."""
    return course.enrolment_closes_at or course.last_session_at


def check_can_enrol(
    course: Course, user: User, now: datetime | None = None, *, require_verified: bool = True
) -> None:
    """Raise the reason why ``user`` cannot book ``course`` now (shared by page and API).

    Staff booking at the counter vouch for the person, so only the e-mail check is waived.
    """
    now = now or utcnow()
    if require_verified and not user.email_verified:
        raise Conflict(
            _l("Please confirm your e-mail address before booking."), code="email_not_verified"
        )
    if course.status is CourseStatus.CANCELLED:
        raise Conflict(_l("This course has been cancelled."), code="course_cancelled")
    if course.status is not CourseStatus.PUBLISHED:
        raise Conflict(_l("This course is not open for booking."), code="not_published")
    if course.term.enrolment_opens_at > now:
        raise Conflict(_l("Booking for this term has not started yet."), code="enrolment_not_open")
    closes = enrolment_closes_at(course)
    if closes is not None and closes <= now:
        raise Conflict(_l("Booking for this course has closed."), code="enrolment_closed")
    if is_instructor_of(user, course):
        raise Conflict(_l("You teach this course."), code="own_course")


def active_enrolment(course_id: int, user_id: int) -> Enrolment | None:
    """The user's pending, confirmed or waiting enrolment in a course, if any."""
    return db.session.execute(
        sa.select(Enrolment).where(
            Enrolment.course_id == course_id,
            Enrolment.user_id == user_id,
            Enrolment.status.in_(ACTIVE_STATUSES),
        )
    ).scalar_one_or_none()


def enrol(
    course: Course,
    user: User,
    *,
    reduction: ReductionReason | None = None,
    actor: User | None = None,
    now: datetime | None = None,
) -> Enrolment:
    """Book a seat (or a waiting-list place) for ``user``; ``actor`` is staff acting for them."""
    now = now or utcnow()
    on_behalf = actor is not None and actor.id != user.id
    if on_behalf:
        require_manager(actor)
    course = lock_course(course.id)
    check_can_enrol(course, user, now, require_verified=not on_behalf)
    if active_enrolment(course.id, user.id) is not None:
        raise Conflict(_l("You are already booked on this course."), code="already_enrolled")
    if reduction is not None and course.reduced_fee_cents is None:
        raise Invalid(
            _l("This course has no reduced fee."),
            code="reduction_not_offered",
            errors={"reduction_reason": [_l("This course has no reduced fee.")]},
        )
    price = course.reduced_fee_cents if reduction is not None else course.fee_cents
    enrolment = Enrolment(
        course_id=course.id,
        user_id=user.id,
        price_cents=price or 0,
        currency=course.currency,
        reduction_reason=reduction,
        created_by_id=actor.id if actor else user.id,
        created_at=now,
    )
    if course.seats_taken < course.capacity:
        _take_seat(course, enrolment, now)
    else:
        course.waitlist_count += 1
        enrolment.status = EnrolmentStatus.WAITLISTED
        enrolment.waitlist_position = course.waitlist_count
    db.session.add(enrolment)
    db.session.flush()
    if reduction is not None:
        db.session.add(ReductionCheck(enrolment_id=enrolment.id, created_at=now))
    if on_behalf:
        audit(actor, "enrolment.created_on_behalf", enrolment, user=user.id, course=course.id)
    _mail_enrolment(enrolment, course, user)
    return enrolment


def _take_seat(course: Course, enrolment: Enrolment, now: datetime) -> None:
    course.seats_taken += 1
    enrolment.waitlist_position = None
    if enrolment.price_cents == 0:
        enrolment.status = EnrolmentStatus.CONFIRMED
        enrolment.confirmed_at = now
        enrolment.hold_expires_at = None
    else:
        enrolment.status = EnrolmentStatus.PENDING_PAYMENT
        enrolment.hold_expires_at = now + _hold_period()


def calendar_attachments(course: Course, user: User, cancelled: bool = False) -> list[Any]:
    """Calendar files for mails, provided by the calendar issue's builder when present."""

    return attachments_for("course", course=course, user=user, cancelled=cancelled)


def _mail_enrolment(enrolment: Enrolment, course: Course, user: User) -> None:
    if not user.email:
        return
    template = {
        EnrolmentStatus.CONFIRMED: "enrolment_confirmed",
        EnrolmentStatus.PENDING_PAYMENT: "enrolment_pending_payment",
        EnrolmentStatus.WAITLISTED: "enrolment_waitlisted",
    }[enrolment.status]
    attachments = (
        calendar_attachments(course, user) if enrolment.status is EnrolmentStatus.CONFIRMED else []
    )
    queue_mail(user, template, {"course": course, "enrolment": enrolment}, attachments=attachments)


def confirm_enrolment(enrolment: Enrolment, now: datetime | None = None) -> bool:
    """Confirm a paid enrolment. If its hold lapsed, retake a seat when one is free.

    Returns False when no seat could be had, or the booking was cancelled (the caller refunds);
    never overbooks.
    """
    now = now or utcnow()
    course = lock_course(enrolment.course_id)
    db.session.refresh(enrolment)
    if enrolment.status is EnrolmentStatus.CONFIRMED:
        return True
    if enrolment.status is EnrolmentStatus.CANCELLED:
        return False  # the person or the VHS ended it: money arriving later goes back
    if enrolment.status is EnrolmentStatus.PENDING_PAYMENT:
        enrolment.status = EnrolmentStatus.CONFIRMED
        enrolment.confirmed_at = now
        enrolment.hold_expires_at = None
        _mail_enrolment(enrolment, course, enrolment.user)
        course_signals.enrolment_confirmed.send(enrolment)
        return True
    if enrolment.status is EnrolmentStatus.WAITLISTED:
        _leave_waitlist(course, enrolment)
    if course.status is not CourseStatus.PUBLISHED or course.seats_taken >= course.capacity:
        return False
    if active_enrolment(course.id, enrolment.user_id) not in (None, enrolment):
        return False
    course.seats_taken += 1
    enrolment.status = EnrolmentStatus.CONFIRMED
    enrolment.confirmed_at = now
    enrolment.hold_expires_at = None
    enrolment.cancelled_at = None
    _mail_enrolment(enrolment, course, enrolment.user)
    course_signals.enrolment_confirmed.send(enrolment)
    return True


def _leave_waitlist(course: Course, enrolment: Enrolment) -> None:
    position = enrolment.waitlist_position
    enrolment.waitlist_position = None
    course.waitlist_count = max(course.waitlist_count - 1, 0)
    if position is not None:
        db.session.flush()
        db.session.execute(
            sa.update(Enrolment)
            .where(
                Enrolment.course_id == course.id,
                Enrolment.status == EnrolmentStatus.WAITLISTED,
                Enrolment.waitlist_position > position,
            )
            .values(waitlist_position=Enrolment.waitlist_position - 1)
            .execution_options(synchronize_session="fetch")
        )


def promote_waitlist(course: Course, now: datetime | None = None) -> list[Enrolment]:
    """Give free seats to the first people on the waiting list (caller holds the lock)."""
    now = now or utcnow()
    promoted = []
    if course.status is not CourseStatus.PUBLISHED:
        return promoted
    while course.seats_taken < course.capacity and course.waitlist_count > 0:
        db.session.flush()
        nxt = db.session.execute(
            sa.select(Enrolment)
            .where(Enrolment.course_id == course.id, Enrolment.status == EnrolmentStatus.WAITLISTED)
            .order_by(Enrolment.waitlist_position, Enrolment.id)
            .limit(1)
        ).scalar_one_or_none()
        if nxt is None:
            course.waitlist_count = 0
            break
        _leave_waitlist(course, nxt)
        _take_seat(course, nxt, now)
        promoted.append(nxt)
        if nxt.user.email:
            queue_mail(
                nxt.user,
                "enrolment_promoted",
                {"course": course, "enrolment": nxt},
                attachments=calendar_attachments(course, nxt.user)
                if nxt.status is EnrolmentStatus.CONFIRMED
                else [],
            )
    return promoted


def can_cancel_free(enrolment: Enrolment, now: datetime | None = None) -> bool:
    """Whether the participant may still cancel (and get their money back)."""
    now = now or utcnow()
    if enrolment.status is EnrolmentStatus.WAITLISTED:
        return True
    deadline = enrolment.course.cancellation_deadline
    return deadline is None or now <= deadline


def cancel_enrolment(
    enrolment: Enrolment,
    actor: User,
    *,
    override: bool = False,
    now: datetime | None = None,
    notify: bool = True,
) -> Enrolment:
    """Cancel a booking; the freed seat goes at once to the first on the waiting list."""
    now = now or utcnow()
    is_staff = actor.is_staff
    if enrolment.user_id != actor.id and not is_staff:
        raise NotFound(_l("This booking does not exist."), code="enrolment_not_found")
    if override and not is_staff:
        raise Forbidden(_l("Only staff can override the deadline."), code="forbidden_role")
    course = lock_course(enrolment.course_id)
    db.session.refresh(enrolment)
    if not enrolment.active:
        raise Conflict(_l("This booking is no longer active."), code="not_active")
    in_time = can_cancel_free(enrolment, now)
    if not in_time and not (is_staff and override):
        raise Conflict(
            _l(
                "The free cancellation period ended on %(date)s. Please contact the VHS office.",
                date=_fmt_deadline(course),
            ),
            code="cancellation_deadline_passed",
        )
    held_seat = enrolment.holds_seat
    previous = enrolment.status
    if enrolment.status is EnrolmentStatus.WAITLISTED:
        _leave_waitlist(course, enrolment)
    enrolment.status = EnrolmentStatus.CANCELLED
    enrolment.cancelled_at = now
    enrolment.cancelled_by_id = actor.id
    enrolment.hold_expires_at = None
    if held_seat:
        course.seats_taken = max(course.seats_taken - 1, 0)
        promote_waitlist(course, now)
    db.session.flush()
    if actor.id != enrolment.user_id:
        audit(actor, "enrolment.cancelled_on_behalf", enrolment, override=override)
    if notify and enrolment.user.email:
        queue_mail(
            enrolment.user,
            "enrolment_cancelled",
            {"course": course, "enrolment": enrolment},
            attachments=calendar_attachments(course, enrolment.user, cancelled=True)
            if previous is EnrolmentStatus.CONFIRMED
            else [],
        )
    course_signals.enrolment_cancelled.send(
        enrolment, actor=actor, previous=previous, in_time=in_time or override
    )
    return enrolment


def _fmt_deadline(course: Course) -> str:
    return fmt_datetime(course.cancellation_deadline, "short")


def end_refunded_enrolment(enrolment: Enrolment, now: datetime | None = None) -> bool:
    """A booking whose whole fee was paid back ends; its seat goes to the waiting list.

    The rule for a full refund made outside a cancellation (in Stripe's dashboard, say): money
    and seat go together, so the seat is freed. Idempotent: a booking that holds no seat (already
    cancelled, expired, waiting) is left alone, so the refund and payment events may come in any
    order and any number of times. Audited for the office; the participant is told.
    """
    now = now or utcnow()
    course = lock_course(enrolment.course_id)
    db.session.refresh(enrolment)
    if not enrolment.holds_seat:
        return False
    previous = enrolment.status
    enrolment.status = EnrolmentStatus.CANCELLED
    enrolment.cancelled_at = now
    enrolment.cancelled_by_id = None
    enrolment.hold_expires_at = None
    course.seats_taken = max(course.seats_taken - 1, 0)
    promote_waitlist(course, now)
    db.session.flush()
    audit(
        None,
        "enrolment.cancelled_after_refund",
        enrolment,
        course=course.id,
        previous=previous.value,
    )
    if enrolment.user.email:
        queue_mail(
            enrolment.user,
            "enrolment_refunded",
            {"course": course, "enrolment": enrolment},
            attachments=calendar_attachments(course, enrolment.user, cancelled=True)
            if previous is EnrolmentStatus.CONFIRMED
            else [],
        )
    course_signals.enrolment_cancelled.send(enrolment, actor=None, previous=previous, in_time=False)
    return True


def expire_enrolment(enrolment: Enrolment, now: datetime | None = None) -> bool:
    """End a payment hold that ran out, freeing the seat (caller need not hold the lock)."""
    now = now or utcnow()
    course = lock_course(enrolment.course_id)
    db.session.refresh(enrolment)
    if enrolment.status is not EnrolmentStatus.PENDING_PAYMENT:
        return False
    enrolment.status = EnrolmentStatus.EXPIRED
    enrolment.hold_expires_at = None
    course.seats_taken = max(course.seats_taken - 1, 0)
    promote_waitlist(course, now)
    course_signals.enrolment_cancelled.send(
        enrolment, actor=None, previous=EnrolmentStatus.PENDING_PAYMENT, in_time=False
    )
    if enrolment.user.email:
        queue_mail(enrolment.user, "enrolment_expired", {"course": course, "enrolment": enrolment})
    return True


def expire_holds(now: datetime | None = None, hold_guard: Any = None) -> int:
    """Expire every payment hold that ran out (a job); ``hold_guard`` may keep some alive."""
    now = now or utcnow()
    ids = (
        db.session.execute(
            sa.select(Enrolment.id).where(
                Enrolment.status == EnrolmentStatus.PENDING_PAYMENT, Enrolment.hold_expires_at < now
            )
        )
        .scalars()
        .all()
    )
    count = 0
    for enrolment_id in ids:
        enrolment = db.session.get(Enrolment, enrolment_id)
        if enrolment is None:
            continue
        answers = signals.purpose_expiring.send(
            enrolment, purpose_type="enrolment", purpose_id=enrolment.id
        )
        if any(result is False for _receiver, result in answers):
            continue  # a payment is still being processed (SEPA): keep the seat
        if expire_enrolment(enrolment, now):
            count += 1
    return count


def check_can_move(enrolment: Enrolment, target: Course) -> None:
    """Raise why ``enrolment`` cannot move to ``target`` now (the move asks again under the
    course locks; the confirmation page asks first, so staff are not asked to confirm a move
    that cannot happen)."""
    if target.id == enrolment.course_id:
        raise Invalid(errors={"course_id": [_l("Choose a different course.")]})
    if not enrolment.active:
        raise Conflict(_l("This booking is no longer active."), code="not_active")
    if target.status is not CourseStatus.PUBLISHED:
        raise Conflict(_l("The target course is not open for booking."), code="not_published")
    if active_enrolment(target.id, enrolment.user_id) is not None:
        raise Conflict(
            _l("This person is already booked on the target course."), code="already_enrolled"
        )
    if enrolment.holds_seat and target.seats_taken >= target.capacity:
        raise Conflict(_l("The target course is full."), code="course_full")


def move_enrolment(actor: User, enrolment: Enrolment, target: Course) -> Enrolment:
    """Move a participant to another course (staff, audited), settling a different fee."""
    return move_and_settle(actor, enrolment, target)[0]


def move_and_settle(
    actor: User, enrolment: Enrolment, target: Course
) -> tuple[Enrolment, charges.MoveSettlement]:
    """Move a participant to another course; the new booking and what the move did to money.

    A place on the waiting list becomes a seat at once when the target has one free. The
    booking costs the target's fee (reduced when its reduction stands and the target offers
    one): see ``charges.move_settlement`` for what that does to money paid or still due.
    """
    require_manager(actor)
    if target.id == enrolment.course_id:
        raise Invalid(errors={"course_id": [_l("Choose a different course.")]})
    first, second = sorted([enrolment.course_id, target.id])
    locked = {first: lock_course(first), second: lock_course(second)}
    source, target = locked[enrolment.course_id], locked[target.id]
    db.session.refresh(enrolment)
    check_can_move(enrolment, target)
    settlement = charges.move_settlement(enrolment, target)
    if settlement.new_price_cents != settlement.old_price_cents:
        charges.refuse_while_processing(enrolment)
    if settlement.settle is charges.Settle.REPRICE:
        charges.close_open_payments(enrolment)  # the next payment asks for the new price
    if settlement.cancelled_charges_cents:
        charges.cancel_open_charges(enrolment)
    now = utcnow()
    new = Enrolment(
        course_id=target.id,
        user_id=enrolment.user_id,
        price_cents=settlement.new_price_cents,
        currency=enrolment.currency,
        reduction_reason=enrolment.reduction_reason if settlement.reduction_kept else None,
        created_by_id=actor.id,
        created_at=now,
    )
    if enrolment.holds_seat:
        target.seats_taken += 1
        new.status = enrolment.status
        new.confirmed_at = enrolment.confirmed_at
        new.hold_expires_at = enrolment.hold_expires_at
        source.seats_taken = max(source.seats_taken - 1, 0)
        if new.status is EnrolmentStatus.PENDING_PAYMENT and new.price_cents == 0:
            new.status, new.confirmed_at, new.hold_expires_at = EnrolmentStatus.CONFIRMED, now, None
    else:
        _leave_waitlist(source, enrolment)
        target.waitlist_count += 1
        new.status = EnrolmentStatus.WAITLISTED
        new.waitlist_position = target.waitlist_count
    enrolment.status = EnrolmentStatus.CANCELLED
    enrolment.cancelled_at = now
    enrolment.cancelled_by_id = actor.id
    enrolment.waitlist_position = None
    db.session.add(new)
    db.session.flush()
    if settlement.reduction_kept:
        reductions.carry_check(enrolment, new)
    charges.carry_charges(enrolment, new)
    promote_waitlist(source, now)
    promote_waitlist(target, now)  # someone moved onto a waiting list takes a seat still free
    signals.purpose_moved.send(new, purpose_type="enrolment", old_id=enrolment.id, new_id=new.id)
    payment = None
    if settlement.settle is charges.Settle.REFUND:
        charges.refund_difference(new, settlement.amount_cents)
    elif settlement.settle is charges.Settle.CHARGE:
        _charge, payment = charges.add_charge(new, settlement.amount_cents, ChargeKind.MOVED, actor)
    audit(
        actor,
        "enrolment.moved",
        new,
        source=source.id,
        target=target.id,
        previous=enrolment.id,
        settle=settlement.settle.value,
        amount_cents=settlement.amount_cents,
    )
    if new.user.email:
        queue_mail(
            new.user,
            "enrolment_moved",
            {
                "source": source,
                "course": target,
                "enrolment": new,
                "settlement": settlement,
                "payment": payment,
            },
        )
    return new, settlement


# --- queries for pages and API --------------------------------------------------------------


def participants(
    course: Course, statuses: Sequence[EnrolmentStatus] = ACTIVE_STATUSES
) -> list[Enrolment]:
    """Enrolments of a course with their people, ordered by status and name."""
    return list(
        db.session.execute(
            sa.select(Enrolment)
            .join(User, Enrolment.user_id == User.id)
            .where(Enrolment.course_id == course.id, Enrolment.status.in_(statuses))
            .options(selectinload(Enrolment.user), selectinload(Enrolment.reduction_check))
            .order_by(Enrolment.status, Enrolment.waitlist_position, User.name)
        ).scalars()
    )


def my_enrolments(user: User) -> list[Enrolment]:
    """A person's bookings, newest courses first."""
    return list(
        db.session.execute(
            sa.select(Enrolment)
            .join(Course, Enrolment.course_id == Course.id)
            .where(Enrolment.user_id == user.id)
            .options(selectinload(Enrolment.course).selectinload(Course.sessions))
            .order_by(Course.first_session_at.desc().nulls_last(), Enrolment.id.desc())
        ).scalars()
    )
