"""Credit notes and cancellation invoices (Gutschrift / Stornorechnung), and GoBD immutability.

Every refund that paid money back and every cancelled invoice issues one, numbered in a gapless
series of its own, naming the original invoice; resident and staff get it as PDF (page and
API) and in the data export. Issued invoices and credit notes refuse every change, in the ORM
and in the database.
"""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from courses.enrolment import services as enrolment_services
from vhs.accounts.models import Role, User
from vhs.db import db, utcnow
from vhs.payments import services
from vhs.payments.invoices import cancel_invoice
from vhs.payments.models import (
    CreditNote,
    CreditNoteCounter,
    CreditNoteKind,
    DocumentImmutable,
    Invoice,
    InvoiceStatus,
)
from vhs.uow import unit_of_work


def paid_booking(client, make_user, api_token, plan, fee_cents=7900, name="Jürgen Groß"):
    """A resident's booking paid by transfer and marked paid at the desk: (user, headers,
    payment json, staff headers)."""
    course_id = plan(capacity=3, fee_cents=fee_cents)
    user = make_user(name=name)
    headers = api_token(user)
    e = client.post(f"/api/v1/courses/{course_id}/enrolments", json={}, headers=headers).json
    payment = client.post(f"/api/v1/enrolments/{e['id']}/payment", json={}, headers=headers).json
    staff = api_token(make_user(Role.STAFF))
    resp = client.post(f"/api/v1/staff/payments/{payment['id']}/mark-paid", headers=staff)
    assert resp.status_code == 200
    return user, headers, resp.json, staff


def refund(client, staff, payment_id, cents, reason="Kulanz"):
    return client.post(
        f"/api/v1/staff/payments/{payment_id}/refunds",
        json={"amount_cents": cents, "reason": reason},
        headers=staff,
    )


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_partial_then_full_refund_issue_numbered_credit_notes_naming_the_invoice(
    client, app, make_user, api_token, plan, outbox
):
    user, _h, payment, staff = paid_booking(client, make_user, api_token, plan)
    assert refund(client, staff, payment["id"], 1000).status_code == 201
    assert refund(client, staff, payment["id"], 6900, "Kurs abgebrochen").status_code == 201
    year = utcnow().year
    with app.app_context():
        invoice = db.session.execute(sa.select(Invoice)).scalar_one()
        notes = list(db.session.execute(sa.select(CreditNote).order_by(CreditNote.id)).scalars())
        assert [(n.kind, n.amount_cents, n.reason) for n in notes] == [
            (CreditNoteKind.REFUND, 1000, "Kulanz"),
            (CreditNoteKind.REFUND, 6900, "Kurs abgebrochen"),
        ]
        assert [n.number for n in notes] == [f"GS-{year}-00001", f"GS-{year}-00002"]
        assert all(n.invoice_id == invoice.id for n in notes)
        assert all(n.invoice_number == invoice.number for n in notes)
        assert all(n.invoice_issued_at == invoice.issued_at for n in notes)
        assert all(n.refund_id is not None for n in notes)
        assert invoice.status is InvoiceStatus.ISSUED  # a refund credits, it does not cancel
        assert invoice.credited_cents == 7900
        counter = db.session.get(CreditNoteCounter, year)
        assert counter.last_sequence == 2
    mail = [m for m in outbox(user.email) if m.template == "refund_issued"]
    assert len(mail) == 2 and f"GS-{year}-00002" in mail[1].body_text


def test_expired_transfer_cancels_its_invoice_with_a_cancellation_invoice(
    client, app, make_user, api_token, plan
):
    course_id = plan(capacity=1, fee_cents=7900)
    headers = api_token(make_user())
    e = client.post(f"/api/v1/courses/{course_id}/enrolments", json={}, headers=headers).json
    client.post(f"/api/v1/enrolments/{e['id']}/payment", json={}, headers=headers)
    with app.app_context(), unit_of_work():
        enrolment_services.expire_holds(now=utcnow().replace(year=utcnow().year + 1))
    with app.app_context():
        invoice = db.session.execute(sa.select(Invoice)).scalar_one()
        assert invoice.status is InvoiceStatus.CANCELLED
        (note,) = invoice.credit_notes
        assert (note.kind, note.amount_cents, note.reason, note.refund_id) == (
            CreditNoteKind.CANCELLATION,
            7900,
            "payment closed",
            None,
        )
        # Cancelling again issues nothing more.
        with unit_of_work():
            assert cancel_invoice(db.session.get(Invoice, invoice.id), "again") is None
        assert db.session.scalar(sa.select(sa.func.count(CreditNote.id))) == 1


def test_resident_sees_own_credit_notes_with_pdf_and_not_others(
    client, app, make_user, api_token, plan, login
):
    user, headers, payment, staff = paid_booking(client, make_user, api_token, plan)
    assert refund(client, staff, payment["id"], 2500).status_code == 201
    _other, other_headers, other_payment, _s = paid_booking(
        client, make_user, api_token, plan, name="Ö. Andere"
    )
    assert refund(client, staff, other_payment["id"], 100).status_code == 201
    mine = client.get("/api/v1/credit-notes", headers=headers)
    assert mine.status_code == 200
    assert [(n["amount_cents"], n["kind"]) for n in mine.json] == [(2500, "refund")]
    note = mine.json[0]
    assert note["invoice_number"] == payment["invoice_number"]
    assert re.fullmatch(r"GS-\d{4}-\d{5}", note["number"])
    # "everyone" is for staff: a resident still sees only their own
    assert len(client.get("/api/v1/credit-notes?everyone=true", headers=headers).json) == 1
    everyone = client.get("/api/v1/credit-notes?everyone=true", headers=staff).json
    assert len(everyone) == 2
    pdf = client.get(f"/api/v1/credit-notes/{note['id']}/pdf", headers=headers)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = pdf_text(pdf.data)
    assert note["number"] in text and payment["invoice_number"] in text
    assert "Gutschrift" in text and "25,00" in text and "Jürgen Groß" in text
    theirs = client.get("/api/v1/credit-notes", headers=other_headers).json[0]
    resp = client.get(f"/api/v1/credit-notes/{theirs['id']}/pdf", headers=headers)
    assert (resp.status_code, resp.json["code"]) == (404, "credit_note_not_found")
    assert client.get(f"/api/v1/credit-notes/{theirs['id']}/pdf", headers=staff).status_code == 200
    assert client.get("/api/v1/credit-notes").status_code == 401
    # the resident's payments page lists it with its PDF link
    login(user)
    page = client.get("/me/payments").get_data(as_text=True)
    assert note["number"] in page and f"/credit-notes/{note['id']}.pdf" in page
    assert theirs["number"] not in page
    resp = client.get(f"/credit-notes/{note['id']}.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert client.get(f"/credit-notes/{theirs['id']}.pdf").status_code == 404
    detail = client.get(f"/payments/{payment['id']}").get_data(as_text=True)
    assert note["number"] in detail


def test_cancellation_invoice_pdf_and_the_data_export(client, app, make_user, api_token, plan):
    course_id = plan(capacity=1, fee_cents=4200)
    user = make_user()
    headers = api_token(user)
    e = client.post(f"/api/v1/courses/{course_id}/enrolments", json={}, headers=headers).json
    payment = client.post(f"/api/v1/enrolments/{e['id']}/payment", json={}, headers=headers).json
    assert client.delete(f"/api/v1/enrolments/{e['id']}", headers=headers).status_code == 200
    (note,) = client.get("/api/v1/credit-notes", headers=headers).json
    assert (note["kind"], note["amount_cents"]) == ("cancellation", 4200)
    text = pdf_text(client.get(f"/api/v1/credit-notes/{note['id']}/pdf", headers=headers).data)
    assert "Stornorechnung" in text and payment["invoice_number"] in text
    assert "Zahlung ohne Eingang geschlossen" in text  # the reason, in German
    export = client.get("/api/v1/me/export", headers=headers).json
    exported = export["payments"][0]
    assert [c["number"] for c in exported["credit_notes"]] == [note["number"]]
    assert exported["invoices"][0]["status"] == "cancelled"
    assert client.get(f"/api/v1/payments/{payment['id']}", headers=headers).json[
        "credit_note_numbers"
    ] == [note["number"]]


def test_staff_csv_lists_a_payment_with_two_invoices_once(
    client, app, make_user, api_token, plan, login
):
    """Paid after its invoice was cancelled: a new invoice; the export shows the payment once,
    with the invoice that stands."""
    course_id = plan(capacity=1, fee_cents=5000)
    staff_user = make_user(Role.STAFF)
    staff = api_token(staff_user)
    user = make_user()
    headers = api_token(user)
    e = client.post(f"/api/v1/courses/{course_id}/enrolments", json={}, headers=headers).json
    payment = client.post(f"/api/v1/enrolments/{e['id']}/payment", json={}, headers=headers).json
    assert client.delete(f"/api/v1/enrolments/{e['id']}", headers=headers).status_code == 200
    paid = client.post(f"/api/v1/staff/payments/{payment['id']}/mark-paid", headers=staff).json
    assert paid["invoice_number"] != payment["invoice_number"]
    login(staff_user)
    csv = client.get("/staff/payments.csv").get_data(as_text=True)
    rows = [line for line in csv.splitlines()[1:] if line.startswith(f"{payment['id']};")]
    assert len(rows) == 1 and paid["invoice_number"] in rows[0]


# --- GoBD: issued documents never change ------------------------------------------------------


@pytest.fixture
def documents(client, app, make_user, api_token, plan):
    """An issued invoice with a credit note: (invoice id, credit note id)."""
    _u, _h, payment, staff = paid_booking(client, make_user, api_token, plan)
    assert refund(client, staff, payment["id"], 500).status_code == 201
    with app.app_context():
        note = db.session.execute(sa.select(CreditNote)).scalar_one()
        return note.invoice_id, note.id


@pytest.mark.parametrize(
    ("model", "field", "value"),
    [
        (Invoice, "amount_cents", 1),
        (Invoice, "recipient_name", "Jemand anders"),
        (Invoice, "number", "2000-000001"),
        (Invoice, "lines", [{"description": "x", "amount_cents": 1}]),
        (CreditNote, "amount_cents", 1),
        (CreditNote, "reason", "anders"),
    ],
)
def test_the_orm_refuses_to_change_an_issued_document(app, documents, model, field, value):
    invoice_id, note_id = documents
    with app.app_context():
        obj = db.session.get(model, invoice_id if model is Invoice else note_id)
        setattr(obj, field, value)
        with pytest.raises(DocumentImmutable):
            db.session.flush()
        db.session.rollback()


def test_the_orm_refuses_bulk_updates_and_deletes(app, documents):
    invoice_id, note_id = documents
    with app.app_context():
        with pytest.raises(DocumentImmutable):
            db.session.execute(
                sa.update(Invoice).where(Invoice.id == invoice_id).values(recipient_address="")
            )
        with pytest.raises(DocumentImmutable):
            db.session.execute(sa.delete(CreditNote).where(CreditNote.id == note_id))
        db.session.delete(db.session.get(Invoice, invoice_id))
        with pytest.raises(DocumentImmutable):
            db.session.flush()
        db.session.rollback()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE invoices SET amount_cents = 1 WHERE id = :invoice",
        "UPDATE invoices SET recipient_name = 'Jemand' WHERE id = :invoice",
        "UPDATE invoices SET issued_at = issued_at + INTERVAL '1 day' WHERE id = :invoice",
        "UPDATE credit_notes SET amount_cents = 1 WHERE id = :note",
        "UPDATE credit_notes SET reason = 'anders' WHERE id = :note",
        "DELETE FROM credit_notes WHERE id = :note",
        "DELETE FROM invoices WHERE id = :invoice",
    ],
)
def test_the_database_refuses_raw_changes(app, documents, statement):
    """The trigger holds even for SQL that never passes through the ORM."""
    invoice_id, note_id = documents
    if "INTERVAL" in statement:
        with app.app_context():
            if db.engine.dialect.name == "sqlite":
                statement = (
                    "UPDATE invoices SET issued_at = '2000-01-01 00:00:00' WHERE id = :invoice"
                )
    with app.app_context():
        connection = db.session.connection()
        with pytest.raises(sa.exc.DBAPIError) as caught, connection.begin_nested():
            connection.execute(sa.text(statement), {"invoice": invoice_id, "note": note_id})
        assert "cannot be" in str(caught.value)
        assert db.session.get(Invoice, invoice_id).amount_cents == 7900


def test_the_database_lets_an_invoice_be_cancelled_but_never_revived(app, documents):
    invoice_id, _note = documents
    with app.app_context():
        connection = db.session.connection()
        with connection.begin_nested():
            connection.execute(
                sa.text("UPDATE invoices SET status = 'cancelled' WHERE id = :i"), {"i": invoice_id}
            )
        with pytest.raises(sa.exc.DBAPIError), connection.begin_nested():
            connection.execute(
                sa.text("UPDATE invoices SET status = 'issued' WHERE id = :i"), {"i": invoice_id}
            )


def test_erasure_leaves_documents_as_issued(client, app, make_user, api_token, plan):
    user, _h, payment, staff = paid_booking(client, make_user, api_token, plan)
    assert refund(client, staff, payment["id"], 900).status_code == 201
    with app.app_context(), unit_of_work():
        services.erase_payments(db.session.get(User, user.id))
    with app.app_context():
        invoice = db.session.execute(sa.select(Invoice)).scalar_one()
        note = db.session.execute(sa.select(CreditNote)).scalar_one()
        assert invoice.recipient_name == note.recipient_name == "Jürgen Groß"
