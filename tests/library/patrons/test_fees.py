"""The annual fee through the core's payments: bank transfer, the desk, Stripe; refunds; each
validity period a purpose of its own; an unpaid fee stops borrowing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from library.models import LibraryCard, LibraryCardFee
from library.patrons.eligibility import require_borrower
from tests.courses.test_payments_stripe import deliver
from tests.library.conftest import text
from vhs.accounts.models import User
from vhs.audit import AuditEntry
from vhs.db import db
from vhs.errors import Conflict
from vhs.payments.models import Invoice, Payment, PaymentStatus, Provider

FEE = 1200


@pytest.fixture(autouse=True)
def annual_fee(settings):
    with settings(library_card_fee_cents=FEE):
        yield


def payments_of(app, user_id):
    with app.app_context():
        rows = db.session.execute(
            sa.select(Payment).where(Payment.user_id == user_id).order_by(Payment.id)
        ).scalars()
        return [(p.purpose_type, p.provider, p.status, p.amount_cents) for p in rows]


def may_borrow(app, user):
    with app.app_context(), app.test_request_context():
        try:
            require_borrower(db.session.get(User, user.id))
        except Conflict as exc:
            return exc.code
        return True


def test_bank_transfer_then_the_office_records_it(
    app, client, login_as, make_card, card_of_user, make_user, login, outbox
):
    user = login_as(email="zahlerin@example.org")
    card = make_card(user)
    assert may_borrow(app, user) == "fee_unpaid"
    page = text(client.get("/me/library"))
    assert "Jahresgebühr bezahlen" in page and "12,00" in page
    resp = client.submit("/me/library/fee", {"provider": "manual"})
    assert resp.status_code == 302 and "/payments/" in resp.headers["Location"]
    (row,) = payments_of(app, user.id)
    assert row == ("library_card", Provider.MANUAL, PaymentStatus.PENDING, FEE)
    with app.app_context():
        payment = db.session.execute(sa.select(Payment)).scalar_one()
        fee = db.session.get(LibraryCardFee, payment.purpose_id)
        assert fee.card_id == card.id and fee.period_until == card.valid_until
        assert card.number in payment.description and payment.invoice is not None
        payment_id, invoice_number = payment.id, payment.invoice.number
    mail = [m for m in outbox("zahlerin@example.org") if m.template == "payment_instructions"]
    assert invoice_number in mail[0].body_text
    # paying twice for the same period is not possible; asking again resumes the same payment
    client.submit("/me/library/fee", {"provider": "manual"})
    assert len(payments_of(app, user.id)) == 1

    login(make_user("staff"))
    assert client.submit(f"/staff/payments/{payment_id}/mark-paid").status_code == 302
    assert card_of_user(user.id).fee_paid_until == card.valid_until
    assert may_borrow(app, user) is True
    assert "payment_received" in [m.template for m in outbox("zahlerin@example.org")]


def test_the_desk_records_the_fee_with_date_amount_and_invoice(
    app, client, login_as, make_user, make_card, card_of_user, outbox
):
    staff = login_as("staff")
    patron = make_user(email="bar@example.org")
    card = make_card(patron)
    page = text(client.get(f"/staff/library/cards/{card.id}"))
    assert "Gebühr von 12,00" in page and "an der Theke bezahlt" in page
    resp = client.submit(f"/staff/library/cards/{card.id}/fee")
    assert resp.status_code == 302
    with app.app_context():
        payment = db.session.execute(sa.select(Payment)).scalar_one()
        assert (payment.provider, payment.status, payment.amount_cents) == (
            Provider.MANUAL,
            PaymentStatus.SUCCEEDED,
            FEE,
        )
        assert payment.succeeded_at is not None and payment.marked_paid_by_id == staff.id
        assert db.session.execute(sa.select(Invoice)).scalar_one().payment_id == payment.id
        audited = {a.action for a in db.session.execute(sa.select(AuditEntry)).scalars()}
        assert {"payment.marked_paid", "library.fee_paid_at_desk"} <= audited
    assert card_of_user(patron.id).fee_paid_until == card.valid_until
    # no transfer instructions for money already in hand; a receipt
    assert [m.template for m in outbox("bar@example.org")] == ["payment_received"]
    # nothing more to pay for this period
    assert client.submit(f"/staff/library/cards/{card.id}/fee").status_code == 409


def test_a_person_without_email_pays_at_the_desk(app, client, login_as, make_card, card_of_user):
    login_as("staff")
    with app.app_context():
        person = User(name="Ohne Mail", email=None, session_token="x" * 32)
        db.session.add(person)
        db.session.commit()
        person_id = person.id
    card = make_card(db_user(app, person_id))
    assert client.submit(f"/staff/library/cards/{card.id}/fee").status_code == 302
    assert card_of_user(person_id).fee_paid_until == card.valid_until


def db_user(app, user_id):
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def test_a_new_validity_is_a_new_fee_period(
    app, client, login_as, make_user, make_card, card_of_user
):
    login_as("staff")
    patron = make_user()
    card = make_card(patron, valid_until=date.today() + timedelta(days=30))
    client.submit(f"/staff/library/cards/{card.id}/fee")
    longer = date.today() + timedelta(days=395)
    client.submit(f"/staff/library/cards/{card.id}/validity", {"valid_until": longer.isoformat()})
    after = card_of_user(patron.id)
    assert after.fee_paid_until == card.valid_until  # still borrows until the paid period ends
    assert may_borrow(app, patron) is True
    assert may_borrow_on(app, patron, card.valid_until + timedelta(days=1)) == "fee_unpaid"
    assert client.submit(f"/staff/library/cards/{card.id}/fee").status_code == 302
    assert card_of_user(patron.id).fee_paid_until == longer
    with app.app_context():
        periods = db.session.execute(sa.select(LibraryCardFee.period_until)).scalars().all()
        assert sorted(periods) == [card.valid_until, longer]
        assert len({i.number for i in db.session.execute(sa.select(Invoice)).scalars()}) == 2


def may_borrow_on(app, user, day):
    with app.app_context(), app.test_request_context():
        try:
            require_borrower(db.session.get(User, user.id), on=day)
        except Conflict as exc:
            return exc.code
        return True


def test_nothing_to_pay_when_cards_are_free_or_the_card_cannot_borrow(
    app, client, login_as, make_card, settings
):
    user = login_as()
    make_card(user, valid_until=date.today() - timedelta(days=1))
    assert client.submit("/me/library/fee", {"provider": "manual"}).status_code == 409
    with settings(library_card_fee_cents=0):
        assert "kostenlos" in text(client.get("/me/library"))
        assert client.submit("/me/library/fee", {"provider": "manual"}).status_code == 409
    assert payments_of(app, user.id) == []


def test_a_full_refund_makes_the_period_unpaid_again(
    app, client, login_as, make_user, make_card, card_of_user
):
    login_as("staff")
    patron = make_user()
    card = make_card(patron)
    client.submit(f"/staff/library/cards/{card.id}/fee")
    with app.app_context():
        payment_id = db.session.execute(sa.select(Payment.id)).scalar_one()
    part = client.submit(
        f"/staff/payments/{payment_id}/refund", {"amount": "2,00", "reason": "Rabatt"}
    )
    assert part.status_code == 302
    assert card_of_user(patron.id).fee_paid_until == card.valid_until  # a discount
    rest = client.submit(
        f"/staff/payments/{payment_id}/refund", {"amount": "10,00", "reason": "Kündigung"}
    )
    assert rest.status_code == 302
    assert card_of_user(patron.id).fee_paid_until is None
    assert may_borrow(app, patron) == "fee_unpaid"


def test_stripe_checkout_pays_the_fee(
    app, client, login_as, make_card, card_of_user, stripe_api, outbox
):
    user = login_as(email="online@example.org")
    card = make_card(user)
    resp = client.submit("/me/library/fee", {"provider": "stripe"})
    assert resp.status_code == 303
    (sid,) = stripe_api.sessions
    session = stripe_api.sessions[sid]
    assert resp.headers["Location"] == session["url"]
    params = session["_params"]
    assert params["line_items"][0]["price_data"]["unit_amount"] == str(FEE)
    assert card.number in params["line_items"][0]["price_data"]["product_data"]["name"]
    assert "/me/library?paid=1" in params["success_url"]
    back = text(client.get("/me/library?paid=1"))
    assert "Ihre Zahlung wird bestätigt" in back
    stripe_api.complete(sid, paid=True)
    assert (
        deliver(
            client, stripe_api, "checkout.session.completed", stripe_api.sessions[sid]
        ).status_code
        == 200
    )
    assert card_of_user(user.id).fee_paid_until == card.valid_until
    assert may_borrow(app, user) is True
    assert "payment_received" in [m.template for m in outbox("online@example.org")]
    # a duplicate delivery changes nothing
    assert (
        deliver(
            client, stripe_api, "checkout.session.completed", stripe_api.sessions[sid]
        ).status_code
        == 200
    )
    assert payments_of(app, user.id) == [
        ("library_card", Provider.STRIPE, PaymentStatus.SUCCEEDED, FEE)
    ]


def test_money_for_an_erased_card_goes_back(app, make_user, make_card):
    """Paid after the card was erased (a late Stripe success): the purpose is gone, refund."""
    from library.patrons.services import retire_card
    from vhs.payments import services as payments
    from vhs.uow import unit_of_work

    patron = make_user()
    staff = make_user("staff")
    card = make_card(patron)
    with app.app_context(), app.test_request_context(), unit_of_work():
        fee = LibraryCardFee(card_id=card.id, period_until=card.valid_until, amount_cents=FEE)
        db.session.add(fee)
        db.session.flush()
        fee_id = fee.id
    with app.app_context(), app.test_request_context(), unit_of_work():
        retire_card(db.session.get(LibraryCard, card.id))
    with app.app_context(), app.test_request_context(), unit_of_work():
        assert db.session.get(LibraryCardFee, fee_id) is None  # went with its card
        payment = payments.record_office_payment(
            actor=db.session.get(User, staff.id),
            user=db.session.get(User, patron.id),
            purpose_type="library_card",
            purpose_id=fee_id,
            amount_cents=FEE,
            description="Jahresgebühr",
        )
        assert payment.status is PaymentStatus.REFUNDED
