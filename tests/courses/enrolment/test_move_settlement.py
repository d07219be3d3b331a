"""Moving a booking to a course with another fee settles the difference.

Paid and cheaper: the difference is refunded (with a credit note). Paid and dearer: a new
payment with its invoice is due for the rest. Not paid yet: the amount due simply changes
(the open payment and its invoice are cancelled, the next payment asks for the new price).
The staff page says what will happen before the move; the resident is told by mail.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from courses.enrolment.models import ChargeKind, EnrolmentCharge
from courses.models import Enrolment, EnrolmentStatus
from vhs.accounts.models import Role
from vhs.db import db
from vhs.payments import services as payment_services
from vhs.payments.models import (
    CreditNote,
    CreditNoteKind,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentStatus,
)
from vhs.uow import unit_of_work


def book(client, api_token, make_user, course_id, **body):
    user = make_user(name="Maria Muster")
    headers = api_token(user)
    e = client.post(f"/api/v1/courses/{course_id}/enrolments", json=body, headers=headers).json
    return user, headers, e


def pay(client, headers, staff, enrolment_id):
    payment = client.post(
        f"/api/v1/enrolments/{enrolment_id}/payment", json={}, headers=headers
    ).json
    resp = client.post(f"/api/v1/staff/payments/{payment['id']}/mark-paid", headers=staff)
    assert resp.status_code == 200
    return payment


def move(client, staff, enrolment_id, course_id):
    return client.post(
        f"/api/v1/enrolments/{enrolment_id}/move", json={"course_id": course_id}, headers=staff
    )


def preview(client, headers, enrolment_id, course_id):
    return client.get(
        f"/api/v1/enrolments/{enrolment_id}/move-preview?course_id={course_id}", headers=headers
    )


def test_paid_booking_moved_to_a_cheaper_course_is_refunded_with_a_credit_note(
    client, app, make_user, api_token, plan, outbox
):
    source, target = plan(fee_cents=9000), plan(fee_cents=6000)
    staff = api_token(make_user(Role.STAFF))
    user, headers, e = book(client, api_token, make_user, source)
    payment = pay(client, headers, staff, e["id"])
    seen = preview(client, staff, e["id"], target).json
    assert seen == {
        "old_price_cents": 9000,
        "new_price_cents": 6000,
        "settle": "refund",
        "amount_cents": 3000,
        "reduction_kept": False,
        "cancelled_charges_cents": 0,
    }
    resp = move(client, staff, e["id"], target)
    assert resp.status_code == 201 and resp.json["price_cents"] == 6000
    assert resp.json["status"] == "confirmed"
    with app.app_context():
        paid = db.session.get(Payment, payment["id"])
        assert (paid.purpose_id, paid.refunded_cents) == (resp.json["id"], 3000)
        assert paid.status is PaymentStatus.PARTIALLY_REFUNDED
        (note,) = paid.credit_notes
        assert (note.kind, note.amount_cents, note.invoice_number) == (
            CreditNoteKind.REFUND,
            3000,
            payment["invoice_number"],
        )
        assert note.reason == "moved to a cheaper course"
    (mail,) = [m for m in outbox(user.email) if m.template == "enrolment_moved"]
    assert "30,00" in mail.body_text and "Gutschrift" in mail.body_text


def test_paid_booking_moved_to_a_dearer_course_owes_the_rest_with_an_invoice(
    client, app, make_user, api_token, plan, outbox, login
):
    source, target = plan(fee_cents=6000), plan(fee_cents=9000)
    staff = api_token(make_user(Role.STAFF))
    user, headers, e = book(client, api_token, make_user, source)
    pay(client, headers, staff, e["id"])
    assert preview(client, staff, e["id"], target).json["settle"] == "charge"
    resp = move(client, staff, e["id"], target)
    assert resp.status_code == 201 and resp.json["price_cents"] == 9000
    assert resp.json["status"] == "confirmed"  # the seat stays confirmed; the rest is owed
    with app.app_context():
        charge = db.session.execute(sa.select(EnrolmentCharge)).scalar_one()
        assert (charge.enrolment_id, charge.kind, charge.amount_cents) == (
            resp.json["id"],
            ChargeKind.MOVED,
            3000,
        )
        due = db.session.execute(
            sa.select(Payment).where(
                Payment.purpose_type == "enrolment_charge", Payment.purpose_id == charge.id
            )
        ).scalar_one()
        assert (due.amount_cents, due.status, due.user_id) == (3000, PaymentStatus.PENDING, user.id)
        assert due.invoice is not None and due.invoice.amount_cents == 3000
        number = due.invoice.number
        due_id = due.id
    (mail,) = [m for m in outbox(user.email) if m.template == "enrolment_moved"]
    assert "30,00" in mail.body_text and number in mail.body_text
    assert [m.template for m in outbox(user.email)].count("payment_instructions") == 2
    # the resident sees it on "Meine Kurse" and among their payments, and pays the usual way
    browser = app.test_client()
    login(user, c=browser)
    page = browser.get("/me/courses").get_data(as_text=True)
    assert "noch 30,00" in page and f"/payments/{due_id}" in page
    mine = client.get("/api/v1/me/payments", headers=headers).json
    assert any(p["id"] == due_id and p["status"] == "pending" for p in mine)
    assert (
        client.post(f"/api/v1/staff/payments/{due_id}/mark-paid", headers=staff).status_code == 200
    )
    with app.app_context():
        assert db.session.get(Payment, due_id).status is PaymentStatus.SUCCEEDED


def test_unpaid_booking_moved_simply_owes_the_new_amount(
    client, app, make_user, api_token, plan, outbox
):
    source, target = plan(fee_cents=6000), plan(fee_cents=9000)
    staff = api_token(make_user(Role.STAFF))
    user, headers, e = book(client, api_token, make_user, source)
    first = client.post(f"/api/v1/enrolments/{e['id']}/payment", json={}, headers=headers).json
    assert preview(client, staff, e["id"], target).json == {
        "old_price_cents": 6000,
        "new_price_cents": 9000,
        "settle": "reprice",
        "amount_cents": 9000,
        "reduction_kept": False,
        "cancelled_charges_cents": 0,
    }
    resp = move(client, staff, e["id"], target)
    assert resp.status_code == 201
    assert (resp.json["status"], resp.json["price_cents"]) == ("pending_payment", 9000)
    with app.app_context():
        old = db.session.get(Payment, first["id"])
        assert old.status is PaymentStatus.EXPIRED
        assert old.invoice.status is InvoiceStatus.CANCELLED
        (note,) = old.credit_notes
        assert (note.kind, note.amount_cents) == (CreditNoteKind.CANCELLATION, 6000)
        assert db.session.scalar(sa.select(sa.func.count(EnrolmentCharge.id))) == 0
    again = client.post(f"/api/v1/enrolments/{resp.json['id']}/payment", json={}, headers=headers)
    assert again.status_code == 201 and again.json["amount_cents"] == 9000
    assert again.json["id"] != first["id"]
    (mail,) = [m for m in outbox(user.email) if m.template == "enrolment_moved"]
    assert "90,00" in mail.body_text


def test_move_keeps_a_standing_reduction_where_the_target_offers_one(
    client, app, make_user, api_token, plan
):
    source = plan(fee_cents=9000, reduced_fee_cents=4500)
    with_reduction = plan(fee_cents=8000, reduced_fee_cents=4000)
    without = plan(fee_cents=8000)
    staff = api_token(make_user(Role.STAFF))
    _u, _h, e = book(client, api_token, make_user, source, reduction_reason="student")
    assert preview(client, staff, e["id"], with_reduction).json["new_price_cents"] == 4000
    assert preview(client, staff, e["id"], without).json == {
        "old_price_cents": 4500,
        "new_price_cents": 8000,
        "settle": "reprice",
        "amount_cents": 8000,
        "reduction_kept": False,
        "cancelled_charges_cents": 0,
    }
    moved = move(client, staff, e["id"], with_reduction).json
    assert (moved["price_cents"], moved["reduction_reason"]) == (4000, "student")
    check = client.get(f"/api/v1/enrolments/{moved['id']}/reduction", headers=staff)
    assert check.status_code == 200 and check.json["state"] == "claimed"


def test_same_fee_moves_no_money(client, app, make_user, api_token, plan):
    source, target = plan(fee_cents=6000), plan(fee_cents=6000)
    staff = api_token(make_user(Role.STAFF))
    _u, headers, e = book(client, api_token, make_user, source)
    pay(client, headers, staff, e["id"])
    assert preview(client, staff, e["id"], target).json["settle"] == "nothing"
    assert move(client, staff, e["id"], target).status_code == 201
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(CreditNote.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(EnrolmentCharge.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 1


def test_move_preview_refusals(client, make_user, api_token, plan):
    source, target = plan(fee_cents=6000), plan(fee_cents=9000)
    staff = api_token(make_user(Role.STAFF))
    _u, headers, e = book(client, api_token, make_user, source)
    resp = preview(client, headers, e["id"], target)  # the resident
    assert (resp.status_code, resp.json["code"]) == (403, "forbidden_role")
    resp = preview(client, staff, e["id"], 999_999)
    assert (resp.status_code, resp.json["code"]) == (404, "course_not_found")
    resp = preview(client, staff, 999_999, target)
    assert resp.status_code == 404
    resp = client.get(f"/api/v1/enrolments/{e['id']}/move-preview", headers=staff)
    assert resp.status_code == 422


def test_staff_page_says_what_happens_before_moving(client, app, make_user, api_token, plan, login):
    source = plan(fee_cents=9000, code="271-901")
    plan(fee_cents=6000, code="271-902")
    staff_user = make_user(Role.STAFF)
    staff = api_token(staff_user)
    _u, headers, e = book(client, api_token, make_user, source)
    pay(client, headers, staff, e["id"])
    login(staff_user)
    url = f"/staff/enrolments/{e['id']}/move"
    page = client.submit(url, {"course_id": "271-902"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "30,00" in text and "Gutschrift" in text and 'name="confirmed" value="y"' in text
    with app.app_context():  # nothing moved yet
        assert db.session.get(Enrolment, e["id"]).status is EnrolmentStatus.CONFIRMED
        assert db.session.scalar(sa.select(sa.func.count(CreditNote.id))) == 0
    done = client.submit(url, {"course_id": "271-902", "confirmed": "y"})
    assert done.status_code == 302
    flashed = client.get(done.headers["Location"]).get_data(as_text=True)
    assert re.search(r"30,00\s*€ werden erstattet", flashed)
    with app.app_context():
        assert db.session.get(Enrolment, e["id"]).status is EnrolmentStatus.CANCELLED
        assert db.session.scalar(sa.select(sa.func.count(CreditNote.id))) == 1
    # an unknown course is refused on the first step, with the message next to the field
    other = book(client, api_token, make_user, source)[2]
    resp = client.submit(f"/staff/enrolments/{other['id']}/move", {"course_id": "nope"})
    assert resp.status_code == 422 and "Kurs" in resp.get_data(as_text=True)


def test_moving_back_cancels_a_charge_not_yet_paid(client, app, make_user, api_token, plan):
    """Found by tests/courses/test_invariants.py: free → dearer (a charge) → free again left the
    charge open although nothing was owed any more."""
    free, dear, free_again = plan(fee_cents=0), plan(fee_cents=4000), plan(fee_cents=0)
    staff = api_token(make_user(Role.STAFF))
    _u, _h, e = book(client, api_token, make_user, free)
    assert e["status"] == "confirmed"
    moved = move(client, staff, e["id"], dear).json
    seen = preview(client, staff, moved["id"], free_again).json
    assert (seen["settle"], seen["amount_cents"], seen["cancelled_charges_cents"]) == (
        "nothing",
        0,
        4000,
    )
    back = move(client, staff, moved["id"], free_again)
    assert back.status_code == 201 and back.json["price_cents"] == 0
    with app.app_context():
        due = db.session.execute(
            sa.select(Payment).where(Payment.purpose_type == "enrolment_charge")
        ).scalar_one()
        assert due.status is PaymentStatus.EXPIRED
        assert due.invoice.status is InvoiceStatus.CANCELLED
        assert [n.kind for n in due.credit_notes] == [CreditNoteKind.CANCELLATION]
        assert db.session.scalar(sa.select(sa.func.count(CreditNote.id))) == 1


def test_a_fee_change_waits_for_a_direct_debit_in_flight(client, app, make_user, api_token, plan):
    source, dearer, same = plan(fee_cents=6000), plan(fee_cents=9000), plan(fee_cents=6000)
    staff = api_token(make_user(Role.STAFF))
    _u, headers, e = book(client, api_token, make_user, source)
    payment = client.post(f"/api/v1/enrolments/{e['id']}/payment", json={}, headers=headers).json
    with app.app_context(), unit_of_work():
        payment_services.mark_processing(db.session.get(Payment, payment["id"]))
    resp = move(client, staff, e["id"], dearer)
    assert (resp.status_code, resp.json["code"]) == (409, "payment_processing")
    with app.app_context():
        assert db.session.get(Enrolment, e["id"]).status is EnrolmentStatus.PENDING_PAYMENT
    assert move(client, staff, e["id"], same).status_code == 201  # same fee: nothing to settle


def test_money_for_a_cancelled_charge_goes_back(client, app, make_user, api_token, plan):
    """The transfer for a charge that a later move settled arrives after all: refunded."""
    free, dear, free_again = plan(fee_cents=0), plan(fee_cents=4000), plan(fee_cents=0)
    staff = api_token(make_user(Role.STAFF))
    _u, _h, e = book(client, api_token, make_user, free)
    moved = move(client, staff, e["id"], dear).json
    assert move(client, staff, moved["id"], free_again).status_code == 201
    with app.app_context():
        due = db.session.execute(
            sa.select(Payment).where(Payment.purpose_type == "enrolment_charge")
        ).scalar_one()
        assert db.session.get(EnrolmentCharge, due.purpose_id).cancelled_at is not None
        due_id = due.id
    resp = client.post(f"/api/v1/staff/payments/{due_id}/mark-paid", headers=staff)
    assert resp.status_code == 200
    assert (resp.json["status"], resp.json["refunded_cents"]) == ("refunded", 4000)


def test_paid_booking_moved_to_a_free_course_stays_booked_and_gets_everything_back(
    client, app, make_user, api_token, plan
):
    source, free = plan(fee_cents=4000), plan(fee_cents=0)
    staff = api_token(make_user(Role.STAFF))
    _u, headers, e = book(client, api_token, make_user, source)
    payment = pay(client, headers, staff, e["id"])
    moved = move(client, staff, e["id"], free)
    assert moved.status_code == 201
    with app.app_context():
        new = db.session.get(Enrolment, moved.json["id"])
        assert (new.status, new.price_cents) == (EnrolmentStatus.CONFIRMED, 0)
        paid = db.session.get(Payment, payment["id"])
        assert (paid.status, paid.refunded_cents) == (PaymentStatus.REFUNDED, 4000)
        assert [n.amount_cents for n in paid.credit_notes] == [4000]


def test_a_transfer_for_the_old_amount_arriving_after_a_move_goes_back(
    client, app, make_user, api_token, plan, outbox
):
    """Found by tests/courses/test_invariants.py: the unpaid booking was moved to a free course
    (its transfer cancelled), then the transfer came after all and was kept."""
    source, free = plan(fee_cents=4000), plan(fee_cents=0)
    staff = api_token(make_user(Role.STAFF))
    user, headers, e = book(client, api_token, make_user, source)
    payment = client.post(f"/api/v1/enrolments/{e['id']}/payment", json={}, headers=headers).json
    moved = move(client, staff, e["id"], free).json
    assert (moved["status"], moved["price_cents"]) == ("confirmed", 0)
    resp = client.post(f"/api/v1/staff/payments/{payment['id']}/mark-paid", headers=staff)
    assert resp.status_code == 200
    assert (resp.json["status"], resp.json["refunded_cents"]) == ("refunded", 4000)
    with app.app_context():
        assert db.session.get(Enrolment, moved["id"]).status is EnrolmentStatus.CONFIRMED
        paid = db.session.get(Payment, payment["id"])
        assert [(n.kind, n.reason) for n in paid.credit_notes] == [
            (CreditNoteKind.CANCELLATION, "payment closed"),
            (CreditNoteKind.REFUND, "price changed"),
        ]
    templates = [m.template for m in outbox(user.email)]
    assert "refund_issued" in templates and "payment_refunded_no_seat" not in templates
