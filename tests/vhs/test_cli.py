"""Operator commands: users create, users token, demo seed, jobs run-due."""

from __future__ import annotations

import json

import sqlalchemy as sa

from courses.models import Enrolment, EnrolmentStatus
from tests.vhs.conftest import tr
from vhs.accounts.models import Role, User
from vhs.audit import AuditEntry
from vhs.db import db
from vhs.demo import DEMO_LOGINS
from vhs.payments.models import Invoice, Payment, PaymentStatus


def account(app, email):
    with app.app_context():
        user = db.session.execute(sa.select(User).where(User.email == email)).scalar_one_or_none()
        if user is not None:
            db.session.expunge(user)
        return user


def test_users_create_makes_a_verified_account_with_role(runner, app, client):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "Sachbearbeiter@VHS.example",
            "--name",
            "Stefan Sommer",
            "--role",
            "staff",
            "--password",
            "start-passwort-1",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "sachbearbeiter@vhs.example (staff)" in result.output
    user = account(app, "sachbearbeiter@vhs.example")
    assert user.role is Role.STAFF
    assert user.name == "Stefan Sommer"
    assert user.email_verified_at is not None
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count(AuditEntry.id)).where(
                    AuditEntry.action == "user.created_by_operator",
                    AuditEntry.object_id == str(user.id),
                )
            )
            == 1
        )
    resp = client.submit(
        "/account/login", {"email": "sachbearbeiter@vhs.example", "password": "start-passwort-1"}
    )
    assert resp.status_code == 302


def test_users_create_without_password_prints_a_generated_one(runner, app, client):
    result = runner.invoke(
        args=["users", "create", "doz@vhs.example", "--name", "Dr. Ingrid Brückner"]
    )
    assert result.exit_code == 0, result.output
    assert account(app, "doz@vhs.example").role is Role.RESIDENT
    password = result.output.strip().splitlines()[-1].removeprefix("Password: ")
    assert len(password) >= 10
    resp = client.submit("/account/login", {"email": "doz@vhs.example", "password": password})
    assert resp.status_code == 302


def test_users_create_refusals(runner, app, make_user):
    make_user(email="vergeben@vhs.example")
    result = runner.invoke(args=["users", "create", "vergeben@vhs.example", "--name", "X"])
    assert result.exit_code != 0
    assert result.output.strip() == "Error: " + tr(app, "This address belongs to another account.")
    result = runner.invoke(
        args=["users", "create", "kurz@vhs.example", "--name", "X", "--password", "kurz"]
    )
    assert result.exit_code != 0
    assert result.output.strip() == "Error: password: " + tr(
        app, "Use at least %(n)d characters.", n=10
    )
    assert account(app, "kurz@vhs.example") is None
    result = runner.invoke(
        args=["users", "create", "k@vhs.example", "--name", "X", "--role", "kaiser"]
    )
    assert result.exit_code != 0
    assert account(app, "k@vhs.example") is None


def test_users_token_prints_a_working_token_on_its_last_line(runner, client, make_user):
    user = make_user(Role.STAFF, verified=False)
    result = runner.invoke(args=["users", "token", user.email.upper()])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    resp = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
    assert resp.json["email"] == user.email
    assert resp.json["role"] == "staff"
    assert resp.json["email_verified"] is True  # the operator vouches for the account
    assert (
        client.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )


def test_users_token_for_unknown_address_fails(runner):
    result = runner.invoke(args=["users", "token", "niemand@vhs.example"])
    assert result.exit_code != 0
    assert "niemand@vhs.example" in result.output


def test_demo_seed_creates_the_demo_logins(runner, app, new_client):
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    for role, email in DEMO_LOGINS["accounts"].items():
        assert email in result.output
        user = account(app, email)
        assert user is not None and user.role is Role(role)
        assert user.email_verified_at is not None
    assert DEMO_LOGINS["password"] in result.output
    with app.app_context():
        counts = dict(
            db.session.execute(
                sa.select(User.role, sa.func.count(User.id)).group_by(User.role)
            ).all()
        )
    assert counts[Role.RESIDENT] >= 200 and counts[Role.INSTRUCTOR] >= 12
    browser = new_client()
    resp = browser.submit(
        "/account/login",
        {"email": DEMO_LOGINS["accounts"]["resident"], "password": DEMO_LOGINS["password"]},
    )
    assert resp.status_code == 302
    # The demo resident's paid bookings were paid, as a real booking is: the payments page
    # lists them with their invoices (not "Noch keine Zahlungen").
    page = browser.get("/me/payments").get_data(as_text=True)
    assert "Noch keine Zahlungen" not in page and "No payments yet" not in page
    with app.app_context():
        paid_bookings = db.session.execute(
            sa.select(Enrolment).where(
                Enrolment.price_cents > 0,
                Enrolment.status.in_([EnrolmentStatus.CONFIRMED, EnrolmentStatus.PENDING_PAYMENT]),
            )
        ).scalars()
        for booking in paid_bookings:
            [payment] = db.session.execute(
                sa.select(Payment).where(
                    Payment.purpose_type == "enrolment", Payment.purpose_id == booking.id
                )
            ).scalars()
            assert payment.amount_cents == booking.price_cents
            assert payment.invoice is not None
            expected = (
                PaymentStatus.SUCCEEDED
                if booking.status is EnrolmentStatus.CONFIRMED
                else PaymentStatus.PENDING
            )
            assert payment.status is expected
        sequences = sorted(db.session.execute(sa.select(Invoice.sequence)).scalars())
        assert sequences == list(range(1, len(sequences) + 1))  # numbered without gaps
    # Seeding again with --if-empty leaves things as they are.
    again = runner.invoke(args=["demo", "seed", "--if-empty"])
    assert again.exit_code == 0, again.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == sum(counts.values())


def test_jobs_run_due_runs_each_job_once(runner):
    result = runner.invoke(args=["jobs", "run-due"])
    assert result.exit_code == 0, result.output
    ran = json.loads(result.output.strip().splitlines()[-1])
    assert "deliver_mail" in ran
    result = runner.invoke(args=["jobs", "run-due"])
    assert "deliver_mail" not in json.loads(result.output.strip().splitlines()[-1])
    result = runner.invoke(args=["jobs", "run-due", "--force"])
    assert "deliver_mail" in json.loads(result.output.strip().splitlines()[-1])


def test_jobs_list(runner):
    result = runner.invoke(args=["jobs", "list"])
    assert result.exit_code == 0
    assert "deliver_mail: every 60 s" in result.output
