"""The annual fee's API twin (``POST /api/v1/me/card/fee/payment``) and the invoice as PDF
(``GET /api/v1/payments/{id}/invoice.pdf``)."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from vhs.db import db
from vhs.payments.models import Payment, PaymentStatus, Provider

FEE = 1200
PAY = "/api/v1/me/card/fee/payment"


@pytest.fixture(autouse=True)
def annual_fee(settings):
    with settings(library_card_fee_cents=FEE):
        yield


def test_pay_the_fee_by_bank_transfer_through_the_api(
    app, client, make_user, make_card, api_token, outbox
):
    user = make_user(email="zahlerin@example.org", name="Zora Zahlerin")
    card = make_card(user)
    headers = api_token(user)
    resp = client.post(PAY, json={"provider": "manual"}, headers=headers)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    body = resp.json
    assert (body["provider"], body["status"], body["amount_cents"]) == ("manual", "pending", FEE)
    assert body["instructions"]["reference"] == body["invoice_number"]
    assert [m.template for m in outbox("zahlerin@example.org")] == ["payment_instructions"]
    # Asking again resumes the same payment; without a body the preferred method is used.
    assert client.post(PAY, headers=headers).json["id"] == body["id"]
    with app.app_context():
        payment = db.session.execute(sa.select(Payment)).scalar_one()
        assert payment.purpose_type == "library_card" and card.number in payment.description
    # The invoice, as the page's receipt.pdf gives it.
    pdf = client.get(f"/api/v1/payments/{body['id']}/invoice.pdf", headers=headers)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.headers["Cache-Control"] == "private, no-store"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert body["invoice_number"] in text and "Zora Zahlerin" in text and "12,00" in text


def test_fee_refusals(app, client, make_user, make_card, api_token, settings):
    nobody = make_user()
    resp = client.post(PAY, json={"provider": "manual"}, headers=api_token(nobody))
    assert (resp.status_code, resp.json["code"]) == (404, "no_card")
    expired = make_user()
    make_card(expired, valid_until=date.today() - timedelta(days=1))
    resp = client.post(PAY, json={"provider": "manual"}, headers=api_token(expired))
    assert (resp.status_code, resp.json["code"]) == (409, "nothing_to_pay")
    user = make_user()
    make_card(user)
    headers = api_token(user)
    with settings(library_card_fee_cents=0):
        resp = client.post(PAY, json={"provider": "manual"}, headers=headers)
        assert (resp.status_code, resp.json["code"]) == (409, "nothing_to_pay")
    # Stripe is not configured; a method that does not exist; an unknown field.
    resp = client.post(PAY, json={"provider": "stripe"}, headers=headers)
    assert (resp.status_code, resp.json["code"]) == (422, "provider_unavailable")
    assert client.post(PAY, json={"provider": "bitcoin"}, headers=headers).status_code == 422
    assert client.post(PAY, json={"amount_cents": 1}, headers=headers).status_code == 422
    assert client.post(PAY, json={"provider": "manual"}).status_code == 401
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Payment)) == 0


def test_the_invoice_pdf_is_the_payers_own_and_staffs(app, client, make_user, make_card, api_token):
    payer = make_user(name="Zora Zahlerin")
    make_card(payer)
    paid = client.post(PAY, json={"provider": "manual"}, headers=api_token(payer)).json
    url = f"/api/v1/payments/{paid['id']}/invoice.pdf"
    other = client.get(url, headers=api_token(make_user()))
    assert (other.status_code, other.json["code"]) == (404, "payment_not_found")
    assert "Zora" not in other.get_data(as_text=True)
    assert client.get(url).status_code == 401
    assert client.get(url, headers=api_token(make_user("staff"))).status_code == 200
    missing = client.get("/api/v1/payments/999999/invoice.pdf", headers=api_token(payer))
    assert missing.status_code == 404


def test_no_invoice_yet_is_a_404_with_its_code(app, client, make_user, api_token):
    payer = make_user()
    with app.app_context():
        payment = Payment(
            purpose_type="library_card",
            purpose_id=1,
            user_id=payer.id,
            description="Karte",
            amount_cents=FEE,
            provider=Provider.STRIPE,
            status=PaymentStatus.PENDING,
        )
        db.session.add(payment)
        db.session.commit()
        payment_id = payment.id
    resp = client.get(f"/api/v1/payments/{payment_id}/invoice.pdf", headers=api_token(payer))
    assert (resp.status_code, resp.json["code"]) == (404, "no_invoice")
