"""Booking and payment invariants as a stateful property test (issue 10).

Hypothesis drives the services in random order, each call in its own unit of work as a request
would: enrol, cancel (in time, late, staff override), expire holds, change a capacity, move,
cancel a course, pay by bank transfer or Stripe, mark paid at the office, staff refunds; and on
Stripe's side (``tests/stripe_side.py``, over the stand-in): the customer pays by card or SEPA,
the debit clears or bounces, a checkout expires, someone refunds in the dashboard, Stripe goes
down and comes back. Everything Stripe does becomes a signed webhook event, delivered in any order, any
number of times, or not yet. After every step (``BookingMachine.assert_invariants``):

- seats: ``seats_taken`` counts the pending and confirmed bookings and stays within the
  capacity; the waiting list is numbered 1..n without gaps and agrees with
  ``waitlist_count``; nobody waits for a published course that has a free seat; a cancelled
  course holds no active booking;
- money, per booking (its own payments and those of its charges, issue 14): received −
  refunded = what the booking says is owed: while it is confirmed, the price less refunds
  granted at discretion (by staff, or in Stripe's dashboard) and less charges not yet paid (a
  move to a dearer course owes the rest as a charge; a move to a cheaper one refunds the
  difference, which is the price's doing, not discretion);
  once the participant cancelled, the cancellation fee the VHS kept (less discretionary refunds
  since); otherwise nothing. Each payment's ``refunded_cents`` and status agree with its
  refunds. A full dashboard refund of a confirmed booking therefore checks out whether the
  booking stays confirmed (owed: price − price = 0) or is cancelled (owed: 0). The test runs
  without and with a cancellation fee;
- invoices: numbered ``YYYY-NNNNNN`` from 1 without gaps up to the year's counter, one
  standing per payment, for its amount; every paid payment has a valid invoice, every failed or
  closed one a cancelled invoice (if any); credit notes (issue 14) are numbered
  ``GS-YYYY-NNNNN`` without gaps, every cancelled invoice has its cancellation invoice and
  every refund that succeeded its credit note, for its amount;
- purposes: every payment belongs to an existing booking (or a charge of one) of the same
  person; open payments ask for the booking's price (the charge's amount), only for bookings
  that await payment (charges: for active bookings), at most one open payment per booking;
- a booking cancelled by a person or by the VHS stays cancelled.

``stripe_catches_up`` brings Stripe back, runs the refund job and delivers every pending
event, then checks that our books agree with Stripe's (paid there ⇔ paid here; refunded there
= refunded here).

Each example starts from the accounts and courses the test built, by a savepoint per example
(see ``tests/service_machine.py``); the Stripe stand-in is reset per example. Budget:
``VHS_PROPERTY_EXAMPLES`` (default 25) and ``VHS_PROPERTY_STEPS`` (default 40); a long run:

    VHS_PROPERTY_EXAMPLES=2000 VHS_PROPERTY_STEPS=60 .venv/bin/pytest -q tests/courses/test_invariants.py
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    initialize,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from courses.enrolment import services as enrolment_services
from courses.enrolment.charges import CHARGE_PURPOSE
from courses.enrolment.models import EnrolmentCharge
from courses.enrolment.payments import PURPOSE, pay_enrolment
from courses.models import (
    SEAT_STATUSES,
    Course,
    CourseStatus,
    Enrolment,
    EnrolmentStatus,
)
from courses.planning import services as planning_services
from tests.courses import factories
from tests.service_machine import ServiceMachine, property_settings
from tests.stripe_side import StripeSide
from tests.stripe_standin import StripeStandIn
from vhs.accounts.models import Role, User
from vhs.db import db, utcnow
from vhs.payments import refunds as payment_refunds
from vhs.payments import services as payment_services
from vhs.payments.models import (
    PAID_STATUSES,
    CreditNote,
    CreditNoteCounter,
    CreditNoteKind,
    Invoice,
    InvoiceCounter,
    InvoiceStatus,
    Payment,
    PaymentStatus,
    Provider,
    Refund,
    RefundStatus,
)
from vhs.payments.providers.stripe import process_requested_refunds
from vhs.uow import unit_of_work

S = PaymentStatus
FEES = (0, 4000, 7900)
RESIDENTS = 5
COURSES = 3
STRIPE_DOWN = ("payment_provider_error", "payment_provider_unavailable")


@dataclass(frozen=True)
class World:
    """What every example starts from: accounts and courses built once per test."""

    staff_id: int
    resident_ids: tuple[int, ...]
    course_ids: tuple[int, ...]
    standin: StripeStandIn
    cancellation_fee_cents: int


@pytest.fixture
def stripe_standin(app: Flask) -> Iterator[StripeStandIn]:
    """A running Stripe stand-in, and the app configured to use it (payment holds 30 min)."""
    standin = StripeStandIn()
    base = standin.start()
    settings = app.config["VHS"]
    names = (
        "stripe_secret_key",
        "stripe_webhook_secret",
        "stripe_api_base",
        "payment_hold_minutes",
    )
    saved = {name: getattr(settings, name) for name in names}
    settings.stripe_secret_key = "sk_test_standin"
    settings.stripe_webhook_secret = standin.webhook_secret
    settings.stripe_api_base = base
    settings.payment_hold_minutes = 30
    try:
        yield standin
    finally:
        standin.stop()
        for name, value in saved.items():
            setattr(settings, name, value)


def build_world(standin: StripeStandIn, cancellation_fee_cents: int) -> World:
    """Accounts and three published courses, committed once (inside the test's transaction)."""
    with unit_of_work():
        staff = factories.new_user(Role.STAFF, name="Sabine Sachbearbeiterin")
        residents = [factories.new_user(name=f"Teilnehmerin {n}") for n in range(RESIDENTS)]
        term = factories.new_term()
        category = factories.new_category()
        courses = [
            factories.new_course(
                capacity=2,
                fee_cents=4000,
                starts_in_days=30,
                cancellation_days=7,
                term=term,
                category=category,
            )
            for _ in range(COURSES)
        ]
    return World(
        staff_id=staff.id,
        resident_ids=tuple(u.id for u in residents),
        course_ids=tuple(c.id for c in courses),
        standin=standin,
        cancellation_fee_cents=cancellation_fee_cents,
    )


class BookingMachine(ServiceMachine):
    """Bookings, waiting lists and their money, driven through the services."""

    # Ids of what the rules made; a rule may pick one whose booking has ended (a refusal).
    bookings = Bundle("bookings")
    payments = Bundle("payments")

    def __init__(self, world: World) -> None:
        super().__init__()
        self.world = world
        self.stripe = StripeSide(world.standin)
        self.refunds_may_wait = False  # a unit ran while Stripe was down
        self.course_cancelled = False
        # Bookings ended by a person or by the VHS (not by a lapsed hold): they stay ended.
        self.ended_for_good: set[int] = set()
        # Bookings the participant cancelled: the fee the VHS kept, and the last refund id then.
        self.fee_kept: dict[int, tuple[int, int]] = {}
        with self.reading():
            leaked = db.session.scalar(sa.select(sa.func.count(Enrolment.id)))
            assert leaked == 0, "an earlier example left bookings behind"

    # --- helpers -------------------------------------------------------------------------

    @property
    def staff(self) -> User:
        """The office account, in the current session."""
        return db.session.get(User, self.world.staff_id)

    def after_unit(self) -> None:
        """Whatever Stripe did during the unit (after-commit refunds, expiries) sends events."""
        self.refunds_may_wait |= self.stripe.down
        self.stripe.observe()

    def deliver(self, event: dict[str, Any]) -> str | None:
        """What the webhook view does with one delivery; None if Stripe was down meanwhile."""
        payload, headers = self.stripe.signed(event)
        answer = self.call(
            lambda: payment_services.process_webhook(Provider.STRIPE, payload, headers),
            refusals=STRIPE_DOWN if self.stripe.down else (),
        )
        if answer is None:
            return None
        status, outcome = answer
        assert status == 200, (status, outcome)
        return outcome

    # --- the office sets the courses up --------------------------------------------------

    @initialize(
        capacities=st.lists(st.integers(1, 3), min_size=COURSES, max_size=COURSES),
        fees=st.lists(st.sampled_from(FEES), min_size=COURSES, max_size=COURSES),
    )
    def plan_courses(self, capacities: list[int], fees: list[int]) -> None:
        """Each example gives the three courses their own capacity and fee."""
        for course_id, capacity, fee in zip(self.world.course_ids, capacities, fees, strict=True):
            self.call(
                lambda c=course_id, n=capacity, f=fee: planning_services.save_course(
                    self.staff,
                    {"capacity": n, "fee_cents": f},
                    db.session.get(Course, c),
                )
            )

    # --- participants and the office -----------------------------------------------------

    @rule(
        target=bookings,
        user_id=st.sampled_from(range(RESIDENTS)),
        course=st.sampled_from(range(COURSES)),
    )
    def enrol(self, user_id: int, course: int) -> Any:
        """A resident books a course (a seat, or a place on the waiting list)."""
        user_id, course_id = self.world.resident_ids[user_id], self.world.course_ids[course]
        enrolment = self.call(
            lambda: enrolment_services.enrol(
                db.session.get(Course, course_id), db.session.get(User, user_id)
            ),
            refusals=("already_enrolled", "course_cancelled"),
        )
        return multiple() if enrolment is None else enrolment.id

    @rule(booking=bookings, late=st.booleans(), by_staff=st.booleans())
    def cancel(self, booking: int, late: bool, by_staff: bool) -> None:
        """The participant cancels (in time, or refused when late); staff may override."""

        def cancel() -> Enrolment:
            enrolment = db.session.get(Enrolment, booking)
            deadline = enrolment.course.cancellation_deadline
            now = deadline + timedelta(hours=1) if late else utcnow()
            actor = self.staff if by_staff else enrolment.user
            return enrolment_services.cancel_enrolment(
                enrolment, actor, override=late and by_staff, now=now
            )

        with self.reading():  # what the fee is kept from: the money held right now
            held = [p.refundable_cents for p in payment_services.payments_for(PURPOSE, booking)]
            last_refund = db.session.scalar(sa.select(sa.func.max(Refund.id))) or 0
        # Only a participant who is late is refused (staff may override the deadline).
        refusals = ("not_active",) + (
            ("cancellation_deadline_passed",) if late and not by_staff else ()
        )
        if self.call(cancel, refusals=refusals):
            self.ended_for_good.add(booking)
            fee = self.world.cancellation_fee_cents
            self.fee_kept[booking] = (sum(min(fee, cents) for cents in held), last_refund)

    @rule(minutes=st.sampled_from([10, 60]))
    def expire_holds(self, minutes: int) -> None:
        """The hold job runs, ``minutes`` from now (holds last 30 minutes with Stripe on)."""
        self.call(
            lambda: enrolment_services.expire_holds(now=utcnow() + timedelta(minutes=minutes))
        )

    @rule(course=st.sampled_from(range(COURSES)), capacity=st.integers(1, 4))
    def change_capacity(self, course: int, capacity: int) -> None:
        """The office changes a course's capacity (never below the seats taken)."""
        course_id = self.world.course_ids[course]
        with self.reading():
            seats_taken = db.session.get(Course, course_id).seats_taken
        self.call(
            lambda: planning_services.save_course(
                self.staff, {"capacity": capacity}, db.session.get(Course, course_id)
            ),
            refusals=("invalid",) if capacity < seats_taken else (),
        )

    @rule(target=bookings, booking=bookings, to=st.sampled_from(range(COURSES)))
    def move(self, booking: int, to: int) -> Any:
        """The office moves a participant to another course."""
        target_id = self.world.course_ids[to]
        moved = self.call(
            lambda: enrolment_services.move_enrolment(
                self.staff, db.session.get(Enrolment, booking), db.session.get(Course, target_id)
            ),
            refusals=(
                "invalid",
                "not_active",
                "not_published",
                "already_enrolled",
                "course_full",
                "payment_processing",  # a fee change waits for a direct debit in flight
            ),
        )
        if moved is None:
            return multiple()
        self.ended_for_good.discard(booking)  # its successor carries on
        return moved.id

    @precondition(lambda self: not self.course_cancelled)
    @rule(course=st.sampled_from(range(COURSES)))
    def cancel_course(self, course: int) -> None:
        """The VHS calls a course off (one per example): everyone is cancelled and refunded."""
        course_id = self.world.course_ids[course]
        ended = self.call(
            lambda: planning_services.cancel_course(
                self.staff, db.session.get(Course, course_id), "Krank"
            )
        )
        self.course_cancelled = True
        self.ended_for_good.update(e.id for e in ended or [])

    def open_payment(self, booking: int, provider: Provider) -> Any:
        """The participant opens a payment for a booking with ``provider``."""

        def pay() -> Payment:
            enrolment = db.session.get(Enrolment, booking)
            return pay_enrolment(enrolment, enrolment.user, provider)

        refusals = ("nothing_to_pay", "already_paid", "payment_processing")
        payment = self.call(pay, refusals=refusals + (STRIPE_DOWN if self.stripe.down else ()))
        return multiple() if payment is None else payment.id

    @rule(target=payments, booking=bookings)
    def pay_by_transfer(self, booking: int) -> Any:
        """The participant chooses a bank transfer (an invoice with the bank details)."""
        return self.open_payment(booking, Provider.MANUAL)

    @rule(target=payments, booking=bookings)
    def pay_online(self, booking: int) -> Any:
        """The participant opens a Stripe Checkout."""
        return self.open_payment(booking, Provider.STRIPE)

    @rule(payment=payments)
    def transfer_arrives(self, payment: int) -> None:
        """A bank transfer arrives and the office marks the payment as paid."""
        self.call(
            lambda: payment_services.mark_paid_manually(
                db.session.get(Payment, payment), self.staff
            ),
            refusals=("not_manual", "already_paid", "illegal_payment_transition"),
        )

    @rule(payment=payments, data=st.data(), whole=st.booleans())
    def staff_refund(self, payment: int, data: st.DataObject, whole: bool) -> None:
        """The office pays money back at its discretion (never more than is refundable)."""
        with self.reading():
            amount = db.session.get(Payment, payment).amount_cents
        cents = amount if whole else data.draw(st.integers(1, amount), label="cents")
        self.call(
            lambda: payment_refunds.refund_by_staff(
                db.session.get(Payment, payment), self.staff, cents, "Kulanz"
            ),
            refusals=("refund_too_large",),
        )

    @precondition(lambda self: self.refunds_may_wait and not self.stripe.down)
    @rule()
    def refund_job(self) -> None:
        """The job sends the refunds Stripe could not take while it was down."""
        self.call(process_requested_refunds)
        self.refunds_may_wait = False

    # --- Stripe's side ---------------------------------------------------------------------

    @precondition(lambda self: self.stripe.open_sessions())
    @rule(data=st.data(), card=st.booleans())
    def customer_pays(self, data: st.DataObject, card: bool) -> None:
        """The customer pays a Checkout: by card (paid) or SEPA debit (processing)."""
        sid = data.draw(st.sampled_from(self.stripe.open_sessions()), label="session")
        self.stripe.customer_pays(sid, card=card)

    @precondition(lambda self: self.stripe.processing_sessions())
    @rule(data=st.data(), clears=st.booleans())
    def debit_settles(self, data: st.DataObject, clears: bool) -> None:
        """A SEPA debit clears or bounces."""
        sid = data.draw(st.sampled_from(self.stripe.processing_sessions()), label="session")
        self.stripe.debit_settles(sid, clears=clears)

    @precondition(lambda self: self.stripe.open_sessions())
    @rule(data=st.data())
    def checkout_expires(self, data: st.DataObject) -> None:
        """A Checkout Session runs out at Stripe before anyone paid it."""
        self.stripe.checkout_expires(
            data.draw(st.sampled_from(self.stripe.open_sessions()), label="session")
        )

    @precondition(lambda self: self.stripe.refundable())
    @rule(data=st.data(), whole=st.booleans())
    def dashboard_refund(self, data: st.DataObject, whole: bool) -> None:
        """Someone refunds a charge in Stripe's dashboard (Stripe refuses more than is left)."""
        left = self.stripe.refundable()
        sid = data.draw(st.sampled_from(list(left)), label="session")
        cents = left[sid] if whole else data.draw(st.integers(1, left[sid]), label="cents")
        self.stripe.dashboard_refund(sid, cents)

    @precondition(lambda self: not self.stripe.down)
    @rule()
    def stripe_goes_down(self) -> None:
        """Stripe's API fails (HTTP 500): checkouts, refunds and webhook look-ups fail."""
        self.stripe.go_down()

    @precondition(lambda self: self.stripe.down)
    @rule()
    def stripe_comes_back(self) -> None:
        """Stripe's API works again."""
        self.stripe.go_down(False)

    @precondition(lambda self: self.stripe.pending)
    @rule(data=st.data())
    def webhook_arrives(self, data: st.DataObject) -> None:
        """One of the events Stripe sent arrives (in any order); kept if Stripe was down."""
        index = data.draw(st.integers(0, len(self.stripe.pending) - 1), label="event")
        event = self.stripe.pending.pop(index)
        if self.deliver(event) is None:
            self.stripe.pending.append(event)
        else:
            self.stripe.delivered.append(event)

    @precondition(lambda self: self.stripe.delivered)
    @rule(data=st.data())
    def webhook_again(self, data: st.DataObject) -> None:
        """Stripe delivers an event a second time: it changes nothing."""
        event = data.draw(st.sampled_from(self.stripe.delivered), label="event")
        outcome = self.deliver(event)
        assert outcome in (None, "duplicate"), outcome

    @precondition(lambda self: self.stripe.pending or self.stripe.down or self.refunds_may_wait)
    @rule(data=st.data())
    def stripe_catches_up(self, data: st.DataObject) -> None:
        """Stripe is back, the refund job runs, every event arrives: the books agree."""
        self.stripe.go_down(False)
        self.call(process_requested_refunds)
        self.refunds_may_wait = False
        for _round in range(20):
            if not self.stripe.pending:
                break
            order = data.draw(st.permutations(range(len(self.stripe.pending))), label="order")
            events = [self.stripe.pending[i] for i in order]
            self.stripe.pending.clear()
            for event in events:
                assert self.deliver(event) is not None
                self.stripe.delivered.append(event)
            self.call(process_requested_refunds)
        assert not self.stripe.pending, "Stripe and the app keep sending each other news"
        with self.reading():
            self.stripe.check_books(
                db.session.execute(
                    sa.select(Payment).where(Payment.provider == Provider.STRIPE)
                ).scalars()
            )

    # --- invariants ----------------------------------------------------------------------

    def assert_invariants(self) -> None:
        """Seats, money, invoices and purposes agree after every step."""
        enrolments = list(db.session.execute(sa.select(Enrolment)).scalars())
        payments = list(db.session.execute(sa.select(Payment)).scalars())
        self.check_seats(enrolments)
        self.check_money(enrolments, payments)
        self.check_invoices(payments)
        self.check_purposes(enrolments, payments)
        for enrolment in enrolments:
            if enrolment.id in self.ended_for_good:
                assert enrolment.status is EnrolmentStatus.CANCELLED, (
                    f"booking {enrolment.id} was cancelled and came back as {enrolment.status}"
                )

    def check_seats(self, enrolments: list[Enrolment]) -> None:
        """Seats and waiting lists agree with the bookings, within the capacity."""
        for course in db.session.execute(sa.select(Course)).scalars():
            mine = [e for e in enrolments if e.course_id == course.id]
            seats = sum(1 for e in mine if e.status in SEAT_STATUSES)
            waiting = sorted(
                e.waitlist_position for e in mine if e.status is EnrolmentStatus.WAITLISTED
            )
            assert course.seats_taken == seats, (course.id, course.seats_taken, seats)
            assert seats <= course.capacity, (course.id, seats, course.capacity)
            assert waiting == list(range(1, len(waiting) + 1)), (course.id, waiting)
            assert course.waitlist_count == len(waiting), (course.id, course.waitlist_count)
            assert all(
                e.waitlist_position is None
                for e in mine
                if e.status is not EnrolmentStatus.WAITLISTED
            )
            if course.status is CourseStatus.PUBLISHED and waiting:
                assert seats == course.capacity, f"course {course.id}: people wait, seats free"
            if course.status is CourseStatus.CANCELLED:
                assert not any(e.active for e in mine), course.id

    def check_money(self, enrolments: list[Enrolment], payments: list[Payment]) -> None:
        """Per booking: received − refunded = price − discretionary refunds − unpaid charges,
        if confirmed."""
        charges = list(db.session.execute(sa.select(EnrolmentCharge)).scalars())
        booking_of = {(PURPOSE, e.id): e.id for e in enrolments}
        booking_of.update({(CHARGE_PURPOSE, c.id): c.enrolment_id for c in charges})
        by_booking: dict[int, list[Payment]] = {}
        for p in payments:
            by_booking.setdefault(booking_of[(p.purpose_type, p.purpose_id)], []).append(p)
            counting = sum(r.amount_cents for r in p.refunds if r.counts)
            assert p.refunded_cents == counting, (p.id, p.refunded_cents, counting)
            if p.status in PAID_STATUSES:
                expected = (
                    S.SUCCEEDED
                    if counting == 0
                    else S.REFUNDED
                    if counting == p.amount_cents
                    else S.PARTIALLY_REFUNDED
                )
                assert p.status is expected, (p.id, p.status, counting)
            else:
                assert counting == 0, (p.id, p.status, counting)
        charge_ids: dict[int, set[int]] = {}
        for c in charges:
            charge_ids.setdefault(c.enrolment_id, set()).add(c.id)
        for e in enrolments:
            mine = by_booking.get(e.id, [])
            received = sum(p.amount_cents for p in mine if p.status in PAID_STATUSES)
            refunds = [r for p in mine for r in p.refunds if r.counts]
            refunded = sum(r.amount_cents for r in refunds)
            discretionary = [
                r
                for r in refunds
                if r.created_by_id is not None
                or r.provider_refund_id in self.stripe.dashboard_refund_ids
            ]
            given = sum(r.amount_cents for r in discretionary)
            unpaid = sum(
                p.amount_cents
                for p in payments
                if p.purpose_type == CHARGE_PURPOSE
                and p.purpose_id in charge_ids.get(e.id, ())
                and p.is_open
            )
            if e.status is EnrolmentStatus.CONFIRMED:
                owed = e.price_cents - given - unpaid
            elif e.status is EnrolmentStatus.CANCELLED and e.id in self.fee_kept:
                kept, last_refund = self.fee_kept[e.id]
                given_since = sum(r.amount_cents for r in discretionary if r.id > last_refund)
                owed = max(kept - given_since, 0)
            else:
                owed = 0
            assert received - refunded == owed, (
                f"booking {e.id} ({e.status.value}, price {e.price_cents}): received {received}, "
                f"refunded {refunded}, discretionary {given}, unpaid charges {unpaid}, "
                f"owed {owed}; payments {[(p.id, p.provider.value, p.status.value) for p in mine]}"
            )

    def check_invoices(self, payments: list[Payment]) -> None:
        """Invoice numbers run from 1 without gaps; each matches its payment's fate."""
        invoices = list(db.session.execute(sa.select(Invoice)).scalars())
        counters = {
            c.year: c.last_sequence for c in db.session.execute(sa.select(InvoiceCounter)).scalars()
        }
        for year, last in counters.items():
            numbers = sorted(i.sequence for i in invoices if i.year == year)
            assert numbers == list(range(1, last + 1)), (year, numbers, last)
        for invoice in invoices:
            assert invoice.year in counters
            assert invoice.number == f"{invoice.year}-{invoice.sequence:06d}"
            assert invoice.amount_cents == invoice.payment.amount_cents
        for p in payments:
            if p.status in PAID_STATUSES:
                assert p.invoice is not None and p.invoice.status is InvoiceStatus.ISSUED, (
                    f"payment {p.id} ({p.status.value}) has invoice "
                    f"{p.invoice and p.invoice.status.value}"
                )
            elif p.status in (S.FAILED, S.EXPIRED) and p.invoice is not None:
                assert p.invoice.status is InvoiceStatus.CANCELLED, (p.id, p.status)
            elif p.provider is Provider.MANUAL and p.status is S.PENDING:
                assert p.invoice is not None and p.invoice.status is InvoiceStatus.ISSUED
        self.check_credit_notes(invoices, payments)

    def check_credit_notes(self, invoices: list[Invoice], payments: list[Payment]) -> None:
        """Credit notes: gapless per year; one per cancelled invoice and per refund paid back."""
        notes = list(db.session.execute(sa.select(CreditNote)).scalars())
        counters = {
            c.year: c.last_sequence
            for c in db.session.execute(sa.select(CreditNoteCounter)).scalars()
        }
        for year, last in counters.items():
            numbers = sorted(n.sequence for n in notes if n.year == year)
            assert numbers == list(range(1, last + 1)), (year, numbers, last)
        for note in notes:
            assert note.number == f"GS-{note.year}-{note.sequence:05d}"
            assert note.invoice_number == note.invoice.number
        cancellations = {n.invoice_id: n for n in notes if n.kind is CreditNoteKind.CANCELLATION}
        for invoice in invoices:
            if invoice.status is InvoiceStatus.CANCELLED:
                assert cancellations[invoice.id].amount_cents == invoice.amount_cents, invoice.id
            else:
                assert invoice.id not in cancellations, invoice.id
        by_refund = {n.refund_id: n for n in notes if n.refund_id is not None}
        for p in payments:
            for r in p.refunds:
                if r.status is RefundStatus.SUCCEEDED:
                    assert by_refund[r.id].amount_cents == r.amount_cents, r.id

    def check_purposes(self, enrolments: list[Enrolment], payments: list[Payment]) -> None:
        """Every payment pays for an existing booking (or a charge of one); open ones ask for
        what is owed now, and only for a booking that waits (a charge: an active booking)."""
        by_id = {e.id: e for e in enrolments}
        charges = {c.id: c for c in db.session.execute(sa.select(EnrolmentCharge)).scalars()}
        open_per_booking: dict[int, int] = {}
        for p in payments:
            if p.purpose_type == CHARGE_PURPOSE:
                charge = charges.get(p.purpose_id)
                assert charge is not None, p.id
                e = by_id[charge.enrolment_id]
                assert (p.user_id, p.amount_cents) == (e.user_id, charge.amount_cents), p.id
                if p.status in (S.CREATED, S.PENDING):
                    assert e.active, (p.id, e.id, e.status)
                continue
            e = by_id.get(p.purpose_id)
            assert p.purpose_type == PURPOSE and e is not None, (p.id, p.purpose_type)
            assert p.user_id == e.user_id, p.id
            if p.status in (S.CREATED, S.PENDING):
                assert e.status is EnrolmentStatus.PENDING_PAYMENT, (p.id, e.id, e.status)
            if p.is_open:
                assert p.amount_cents == e.price_cents, (p.id, p.amount_cents, e.price_cents)
                open_per_booking[e.id] = open_per_booking.get(e.id, 0) + 1
        assert all(n == 1 for n in open_per_booking.values()), open_per_booking
        for e in enrolments:
            if e.status is EnrolmentStatus.PENDING_PAYMENT:
                assert e.price_cents > 0 and e.hold_expires_at is not None, e.id


@pytest.mark.parametrize("fee_cents", [0, 500], ids=["no-fee", "cancellation-fee"])
def test_bookings_and_payments_keep_their_invariants(
    app: Flask, stripe_standin: StripeStandIn, fee_cents: int
):
    """Random sequences of bookings, payments, refunds and webhooks never break an invariant."""
    settings = app.config["VHS"]
    saved, settings.cancellation_fee_cents = settings.cancellation_fee_cents, fee_cents
    try:
        with app.app_context():
            world = build_world(stripe_standin, fee_cents)
            run_state_machine_as_test(lambda: BookingMachine(world), settings=property_settings())
    finally:
        settings.cancellation_fee_cents = saved
