"""The lending jobs, run as cron runs them (each in its own unit of work): idempotent."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import Flask

from library.models import Hold, HoldEnd, HoldState, Licence, Loan, LoanEnd
from tests.library.seed import give_card, item_with_licence
from vhs import jobs
from vhs.db import db, utcnow
from vhs.mail.models import OutboxMessage
from vhs.uow import unit_of_work


def test_jobs_are_registered(app: Flask) -> None:
    registered = jobs.registered_jobs()
    assert registered["library_expire_loans"].every == timedelta(seconds=60)
    assert registered["library_expire_holds"].every == timedelta(seconds=60)
    assert registered["library_loan_reminders"].every == timedelta(minutes=15)


def test_expiry_and_reminder_jobs_act_once(app: Flask, make_user) -> None:
    item_id, licence_id = item_with_licence(app)
    reader, waiting = make_user(), make_user()
    give_card(app, waiting)
    now = utcnow()
    with app.app_context(), unit_of_work():
        # A loan that ran out an hour ago (the job is late), and a patron waiting for it.
        db.session.add(
            Loan(
                item_id=item_id,
                licence_id=licence_id,
                user_id=reader.id,
                started_at=now - timedelta(days=21),
                due_at=now - timedelta(hours=1),
            )
        )
        db.session.get(Licence, licence_id).active_loans = 1
        db.session.add(Hold(item_id=item_id, user_id=waiting.id, placed_at=now - timedelta(days=3)))

    with app.app_context():
        assert jobs.run_job("library_expire_loans") == 1
        assert jobs.run_job("library_expire_loans") == 0
        loan = db.session.execute(sa.select(Loan).where(Loan.item_id == item_id)).scalar_one()
        hold = db.session.execute(sa.select(Hold).where(Hold.item_id == item_id)).scalar_one()
        assert (loan.end_reason, loan.user_id) == (LoanEnd.EXPIRED, None)
        assert hold.state is HoldState.READY
        assert (
            "library_hold_ready"
            in db.session.scalars(
                sa.select(OutboxMessage.template).where(OutboxMessage.to_address == waiting.email)
            ).all()
        )

    with app.app_context(), unit_of_work():
        hold = db.session.execute(sa.select(Hold).where(Hold.item_id == item_id)).scalar_one()
        hold.ready_at = now - timedelta(hours=50)
        hold.ready_until = now - timedelta(hours=2)
    with app.app_context():
        assert jobs.run_job("library_expire_holds") == 1
        assert jobs.run_job("library_expire_holds") == 0
        hold = db.session.execute(sa.select(Hold).where(Hold.item_id == item_id)).scalar_one()
        assert hold.end_reason is HoldEnd.EXPIRED
        assert db.session.get(Licence, licence_id).reserved == 0


def test_reminder_job_mails_once(app: Flask, make_user) -> None:
    item_id, licence_id = item_with_licence(app, "Erinnerung")
    reader = make_user()
    now = utcnow()
    with app.app_context(), unit_of_work():
        db.session.add(
            Loan(
                item_id=item_id,
                licence_id=licence_id,
                user_id=reader.id,
                started_at=now - timedelta(days=12),
                due_at=now + timedelta(days=1, hours=12),
            )
        )
        db.session.get(Licence, licence_id).active_loans = 1
    with app.app_context():
        assert jobs.run_job("library_loan_reminders") == 1
        assert jobs.run_job("library_loan_reminders") == 0
        mails = db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.to_address == reader.email)
        ).all()
        assert [m.template for m in mails] == ["library_loan_due_soon"]
        assert "endet bald" in mails[0].subject
