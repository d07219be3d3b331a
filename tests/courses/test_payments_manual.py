"""The manual payment method (bank transfer / office), receipts, the staff payment desk."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from courses.enrolment import services as enrolment_services
from courses.models import Course, Enrolment, EnrolmentStatus
from vhs.accounts.models import Role
from vhs.audit import AuditEntry
from vhs.db import db
from vhs.errors import Conflict
from vhs.payments import services
from vhs.payments.models import (
    TRANSITIONS,
    CreditNoteKind,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentStatus,
    Provider,
)
from vhs.uow import unit_of_work


def booked(client, make_user, api_token, plan, **kw):
    course_id = plan(capacity=kw.pop("capacity", 2), fee_cents=kw.pop("fee_cents", 7900), **kw)
    user = make_user(name="Jürgen Groß")
    headers = api_token(user)
    e = client.post(f"/api/v1/courses/{course_id}/enrolments", json={}, headers=headers).json
    return user, headers, e, course_id


def test_manual_payment_instructions_with_invoice_reference(
    client, app, make_user, api_token, plan, outbox
):
    user, headers, e, _c = booked(client, make_user, api_token, plan)
    resp = client.post(
        f"/api/v1/enrolments/{e['id']}/payment", json={"provider": "manual"}, headers=headers
    )
    assert resp.status_code == 201
    body = resp.json
    assert body["provider"] == "manual" and body["status"] == "pending"
    assert re.fullmatch(r"\d{4}-\d{6}", body["invoice_number"])
    assert body["instructions"]["reference"] == body["invoice_number"]
    assert body["instructions"]["iban"].startswith("DE")
    # asking again returns the same payment and invoice
    again = client.post(
        f"/api/v1/enrolments/{e['id']}/payment", json={"provider": "manual"}, headers=headers
    )
    assert again.json["id"] == body["id"]
    mail = [m for m in outbox(user.email) if m.template == "payment_instructions"]
    assert len(mail) == 1 and body["invoice_number"] in mail[0].body_text
    assert "79,00" in mail[0].body_text  # German money format for a German recipient
    # Stripe is not configured: asking for it is refused clearly
    resp = client.post(
        f"/api/v1/enrolments/{e['id']}/payment", json={"provider": "stripe"}, headers=headers
    )
    assert resp.status_code == 422 and resp.json["code"] == "provider_unavailable"


def test_pay_page_offers_only_manual_without_stripe(client, app, make_user, api_token, plan, login):
    user, _headers, e, _c = booked(client, make_user, api_token, plan)
    login(user)
    page = client.get(f"/enrolments/{e['id']}/pay")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert re.findall(r'name="provider"[^>]*value="([^"]+)"', html) == ["manual"]
    resp = client.submit(f"/enrolments/{e['id']}/pay", {"provider": "stripe"})
    assert resp.status_code == 422  # not a choice here
    resp = client.submit(f"/enrolments/{e['id']}/pay", {"provider": "manual"})
    assert resp.status_code == 302 and "/payments/" in resp.headers["Location"]


def test_staff_mark_paid_confirms_and_audits(
    client, app, make_user, api_token, plan, outbox, login
):
    user, headers, e, _c = booked(client, make_user, api_token, plan)
    payment = client.post(f"/api/v1/enrolments/{e['id']}/payment", json={}, headers=headers).json
    url = f"/api/v1/staff/payments/{payment['id']}/mark-paid"
    assert client.post(url, headers=headers).status_code == 403
    staff = make_user(Role.STAFF)
    resp = client.post(url, headers=api_token(staff))
    assert resp.status_code == 200 and resp.json["status"] == "succeeded"
    with app.app_context():
        assert db.session.get(Enrolment, e["id"]).status is EnrolmentStatus.CONFIRMED
        entry = db.session.execute(
            sa.select(AuditEntry).where(AuditEntry.action == "payment.marked_paid")
        ).scalar_one()
        assert entry.actor_id == staff.id
    again = client.post(url, headers=api_token(staff))
    assert (again.status_code, again.json["code"]) == (409, "already_paid")
    assert "payment_received" in [m.template for m in outbox(user.email)]


def test_staff_pages_list_filter_csv_and_refund(client, app, make_user, api_token, plan, login):
    _user, headers, e, _c = booked(client, make_user, api_token, plan)
    payment = client.post(f"/api/v1/enrolments/{e['id']}/payment", json={}, headers=headers).json
    staff = make_user(Role.STAFF)
    login(staff)
    page = client.get("/staff/payments?status=pending")
    assert page.status_code == 200 and "Jürgen Groß" in page.get_data(as_text=True)
    csv_resp = client.get("/staff/payments.csv")
    text = csv_resp.get_data(as_text=True)
    assert text.startswith("\ufeff") and ";" in text.splitlines()[0]
    assert "79,00" in text and payment["invoice_number"] in text
    resp = client.submit(f"/staff/payments/{payment['id']}/mark-paid")
    assert resp.status_code == 302
    resp = client.submit(
        f"/staff/payments/{payment['id']}/refund", {"amount": "10,50", "reason": "Kulanz"}
    )
    assert resp.status_code == 302
    with app.app_context():
        p = db.session.get(Payment, payment["id"])
        assert p.refunded_cents == 1050 and p.status is PaymentStatus.PARTIALLY_REFUNDED
    bad = client.submit(
        f"/staff/payments/{payment['id']}/refund", {"amount": "1000,00", "reason": "x"}
    )
    assert bad.status_code == 422
    bad = client.submit(
        f"/staff/payments/{payment['id']}/refund", {"amount": "zehn", "reason": "x"}
    )
    assert bad.status_code == 422


def test_resident_pages_and_receipt_pdf(client, app, make_user, api_token, plan, login):
    user, _headers, e, _c = booked(client, make_user, api_token, plan)
    login(user)
    page = client.get(f"/enrolments/{e['id']}/pay")
    assert page.status_code == 200 and "79,00" in page.get_data(as_text=True)
    resp = client.submit(f"/enrolments/{e['id']}/pay", {"provider": "manual"})
    assert resp.status_code == 302 and "/payments/" in resp.headers["Location"]
    detail = client.get(resp.headers["Location"])
    html = detail.get_data(as_text=True)
    assert "IBAN" in html and re.search(r"\d{4}-\d{6}", html)
    staff_id = make_user(Role.STAFF).id
    with app.app_context():
        with unit_of_work():
            payment = db.session.execute(sa.select(Payment)).scalar_one()
            services.mark_paid_manually(payment, db.session.get(type(payment.user), staff_id))
        pid, number = payment.id, payment.invoice.number
    receipt = client.get(f"/payments/{pid}/receipt")
    assert receipt.status_code == 200 and number in receipt.get_data(as_text=True)
    pdf = client.get(f"/payments/{pid}/receipt.pdf")
    assert pdf.mimetype == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert number in text and "Jürgen Groß" in text and "79,00" in text
    assert "UStG" in text  # the VAT exemption note for adult education
    other = make_user()
    login(other)
    assert client.get(f"/payments/{pid}/receipt").status_code == 404
    assert client.get(f"/payments/{pid}/receipt.pdf").status_code == 404
    assert client.get(f"/api/v1/payments/{pid}", headers=api_token(other)).status_code == 404


def test_invoice_numbers_are_consecutive(client, app, make_user, api_token, plan):
    numbers = []
    for _ in range(3):
        _u, headers, e, _c = booked(client, make_user, api_token, plan)
        numbers.append(
            client.post(f"/api/v1/enrolments/{e['id']}/payment", json={}, headers=headers).json[
                "invoice_number"
            ]
        )
    seqs = [int(n.split("-")[1]) for n in numbers]
    assert seqs == list(range(seqs[0], seqs[0] + 3))


def test_expired_manual_hold_cancels_invoice_but_keeps_number(
    client, app, make_user, api_token, plan
):
    from datetime import timedelta

    pass
    from vhs.db import utcnow
    from vhs.payments.models import InvoiceStatus

    _u, headers, e, _c = booked(client, make_user, api_token, plan)
    client.post(f"/api/v1/enrolments/{e['id']}/payment", json={}, headers=headers)
    with app.app_context():
        with unit_of_work():
            assert enrolment_services.expire_holds(now=utcnow() + timedelta(days=8)) == 1
        invoice = db.session.execute(sa.select(Invoice)).scalar_one()
        assert invoice.status is InvoiceStatus.CANCELLED
        assert db.session.execute(sa.select(Payment)).scalar_one().status is PaymentStatus.EXPIRED


def test_state_machine_refuses_illegal_transitions(app, make_user):
    user = make_user()
    with app.app_context():
        p = Payment(
            purpose_type="x",
            purpose_id=1,
            user_id=user.id,
            description="t",
            amount_cents=100,
            provider=Provider.MANUAL,
            status=PaymentStatus.REFUNDED,
        )
        for new in PaymentStatus:
            if new in TRANSITIONS[PaymentStatus.REFUNDED]:
                continue
            with pytest.raises(Conflict):
                services.transition(p, new)
        p.status = PaymentStatus.PENDING
        services.transition(p, PaymentStatus.PROCESSING)
        with pytest.raises(Conflict):
            services.transition(p, PaymentStatus.EXPIRED)  # a debit in flight cannot lapse
        services.transition(p, PaymentStatus.SUCCEEDED)
        services.transition(p, PaymentStatus.PARTIALLY_REFUNDED)
        services.transition(p, PaymentStatus.REFUNDED)
        assert p.status is PaymentStatus.REFUNDED


def test_free_course_never_touches_a_provider(client, make_user, api_token, plan):
    course_id = plan(fee_cents=0)
    headers = api_token(make_user())
    e = client.post(f"/api/v1/courses/{course_id}/enrolments", json={}, headers=headers).json
    assert e["status"] == "confirmed"
    resp = client.post(f"/api/v1/enrolments/{e['id']}/payment", json={}, headers=headers)
    assert (resp.status_code, resp.json["code"]) == (409, "nothing_to_pay")


def test_gdpr_erasure_keeps_invoice_as_issued_and_cancels_it_with_a_credit_note(
    client, app, make_user, api_token, plan, login
):
    """Invoices are accounting records kept unchanged (GoBD, § 147 AO; GDPR Art. 17(3)(b)):
    erasure ends the open booking, which cancels its invoice with a cancellation invoice."""
    user, headers, e, _c = booked(client, make_user, api_token, plan)
    client.post(f"/api/v1/enrolments/{e['id']}/payment", json={}, headers=headers)
    export = client.get("/api/v1/me/export", headers=headers).json
    assert export["payments"][0]["invoice_number"]
    login(user)
    resp = client.submit("/account/delete", {"password": "correct horse battery", "confirm": "y"})
    assert resp.status_code == 302
    with app.app_context():
        invoice = db.session.execute(sa.select(Invoice)).scalar_one()
        assert (invoice.recipient_name, invoice.amount_cents) == ("Jürgen Groß", 7900)
        assert invoice.status is InvoiceStatus.CANCELLED
        (note,) = invoice.credit_notes
        assert (note.kind, note.amount_cents, note.invoice_number) == (
            CreditNoteKind.CANCELLATION,
            7900,
            invoice.number,
        )


def test_transfer_arriving_after_the_booking_was_cancelled_is_refunded(
    client, app, make_user, api_token, plan
):
    """Found by tests/courses/test_invariants.py: the cancelled booking came back on its own,
    and the paid payment kept its cancelled invoice."""
    _u, headers, e, course_id = booked(client, make_user, api_token, plan, capacity=1)
    payment = client.post(f"/api/v1/enrolments/{e['id']}/payment", json={}, headers=headers).json
    assert client.delete(f"/api/v1/enrolments/{e['id']}", headers=headers).status_code == 200
    staff = api_token(make_user(Role.STAFF))
    url = f"/api/v1/staff/payments/{payment['id']}/mark-paid"
    assert client.post(url, headers=staff).status_code == 200  # the transfer came anyway
    with app.app_context():
        assert db.session.get(Enrolment, e["id"]).status is EnrolmentStatus.CANCELLED
        assert db.session.get(Course, course_id).seats_taken == 0
        paid = db.session.get(Payment, payment["id"])
        assert (paid.status, paid.refunded_cents) == (PaymentStatus.REFUNDED, 7900)
        # The first invoice was cancelled (with a cancellation invoice) when the booking ended;
        # it is never revived: the money that came after all gets a new invoice, and its
        # refund a credit note on that one.
        first, second = paid.invoices
        assert (first.number, first.status) == (payment["invoice_number"], InvoiceStatus.CANCELLED)
        assert second.status is InvoiceStatus.ISSUED and second.sequence == first.sequence + 1
        assert [(n.kind, n.invoice_id, n.amount_cents) for n in paid.credit_notes] == [
            (CreditNoteKind.CANCELLATION, first.id, 7900),
            (CreditNoteKind.REFUND, second.id, 7900),
        ]
