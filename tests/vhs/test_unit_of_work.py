"""One unit of work for requests, jobs, CLI commands and Celery tasks (``vhs.uow``).

Tests run inside an outer transaction where a commit releases a savepoint and a rollback
returns to it, so what a unit rolled back is really gone when the test looks afterwards; each
refusal test has a control in which the same work commits and is seen.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Blueprint, Flask, jsonify, redirect, request

from courses.models import Enrolment, EnrolmentStatus
from tests.conftest import Client, base_config
from tests.courses.test_payments_stripe import book_and_checkout, session_of
from tests.courses.test_payments_stripe import stripe_api as stripe_api  # the fixture
from vhs import create_app, jobs
from vhs.accounts.models import Role, User
from vhs.celery_app import make_celery
from vhs.db import db, utcnow
from vhs.errors import Conflict
from vhs.mail import queue_mail
from vhs.mail.models import MailStatus
from vhs.payments.models import Payment, PaymentStatus
from vhs.uow import current_unit, on_commit, unit_of_work

# After-commit work that ran, by the address it was registered for.
ran: list[str] = []


@pytest.fixture(autouse=True)
def _forget_ran() -> Iterator[None]:
    ran.clear()
    yield
    ran.clear()


def write_account(email: str) -> User:
    """Write an account, queue a mail to it and register after-commit work: a unit's writes."""
    user = User(
        email=email,
        name="Uwe Einheit",
        role=Role.RESIDENT,
        password_hash="-",
        locale="de",
        session_token=secrets.token_hex(16),
    )
    db.session.add(user)
    db.session.flush()
    queue_mail(user, "password_changed", {})
    on_commit(lambda: ran.append(email))
    return user


def stored(app: Flask, email: str) -> bool:
    """Whether an account with ``email`` is in the database (a fresh session looks)."""
    with app.app_context():
        return bool(db.session.scalar(sa.select(sa.func.count()).where(User.email == email)))


# --- requests -------------------------------------------------------------------------------

probe = Blueprint("uow_probe", __name__)


@probe.post("/uow-probe/form")
def probe_form() -> Any:
    """A form view that writes, then shows the form again when the name is missing."""
    write_account(request.form["email"])
    if not request.form.get("name"):
        return "<p>Bitte geben Sie Ihren Namen ein.</p>", int(request.form.get("status", 422))
    return redirect("/")


@probe.post("/api/v1/uow-probe")
def probe_api() -> Any:
    """An API endpoint that writes, then refuses by answer or by raising a domain error."""
    data = request.get_json()
    write_account(data["email"])
    if data.get("answer"):
        return jsonify(code="conflict"), data["answer"]
    if data.get("raise"):
        raise Conflict(code="probe_conflict")
    return jsonify(ok=True), 201


@pytest.fixture(scope="module")
def probe_app(app: Flask) -> Flask:
    """The application with probe routes (routes cannot be added once an app has served)."""
    application = create_app(base_config())
    application.register_blueprint(probe)
    application.test_client_class = Client
    return application


@pytest.fixture
def probe_client(probe_app: Flask) -> Client:
    """A browser-like client of the probe app."""
    return probe_app.test_client()  # type: ignore[return-value]


@pytest.mark.parametrize("status", [422, 400])
def test_form_error_commits_nothing_and_sends_no_mail(app, probe_client, outbox, status):
    resp = probe_client.submit(
        "/uow-probe/form", {"email": "formfehler@example.org", "status": status}
    )
    assert resp.status_code == status
    assert not stored(app, "formfehler@example.org")
    assert outbox("formfehler@example.org") == []
    assert ran == []


def test_form_that_succeeds_commits_and_then_mails(app, probe_client, outbox):
    resp = probe_client.submit("/uow-probe/form", {"email": "form@example.org", "name": "Uwe"})
    assert resp.status_code == 302
    assert stored(app, "form@example.org")
    [mail] = outbox("form@example.org")
    assert mail.status is MailStatus.SENT  # delivered (to the log) after the commit
    assert ran == ["form@example.org"]


@pytest.mark.parametrize("refusal", [{"answer": 409}, {"answer": 403}, {"raise": True}])
def test_api_refusal_commits_nothing(app, probe_client, outbox, refusal):
    resp = probe_client.post("/api/v1/uow-probe", json={"email": "api@example.org", **refusal})
    assert resp.status_code in (403, 409)
    assert not stored(app, "api@example.org")
    assert outbox("api@example.org") == []
    assert ran == []


def test_api_success_commits(app, probe_client):
    resp = probe_client.post("/api/v1/uow-probe", json={"email": "api-ok@example.org"})
    assert resp.status_code == 201
    assert stored(app, "api-ok@example.org")
    assert ran == ["api-ok@example.org"]


# --- jobs -----------------------------------------------------------------------------------


@pytest.fixture
def register_job(monkeypatch) -> Callable[[str, Callable[[], Any]], None]:
    """Register a job for this test only, due hourly."""

    def _register(name: str, func: Callable[[], Any]) -> None:
        monkeypatch.setitem(jobs._registry, name, jobs.Job(name, func, timedelta(hours=1)))

    return _register


def test_job_that_raises_after_writing_leaves_nothing_and_runs_no_after_commit_work(
    app, register_job, outbox
):
    def half_done() -> None:
        write_account("job-kaputt@example.org")
        raise RuntimeError("kaputt")

    register_job("test_half_done", half_done)
    with app.app_context():
        assert jobs.run_due()["test_half_done"] is None
        run = db.session.get(jobs.JobRun, "test_half_done")
        assert run.last_outcome == "error: RuntimeError: kaputt"  # the failure is recorded
    assert not stored(app, "job-kaputt@example.org")
    assert outbox("job-kaputt@example.org") == []
    assert ran == []


def test_job_commits_once_then_runs_its_after_commit_work(app, register_job, outbox):
    register_job("test_writer", lambda: write_account("job@example.org").id)
    with app.app_context():
        user_id = jobs.run_due()["test_writer"]
    assert stored(app, "job@example.org") and user_id
    assert ran == ["job@example.org"]
    [mail] = outbox("job@example.org")
    assert mail.status is MailStatus.SENT


def test_expire_holds_job_expires_the_stripe_checkout(
    app, client, make_user, api_token, plan, stripe_api
):
    course_id = plan(capacity=1, fee_cents=4500)
    _user, _headers, enrolment, pay = book_and_checkout(client, make_user, api_token, course_id)
    sid = session_of(stripe_api, pay)
    assert stripe_api.sessions[sid]["status"] == "open"
    with app.app_context(), unit_of_work():  # the hold ran out a minute ago
        db.session.get(Enrolment, enrolment["id"]).hold_expires_at = utcnow() - timedelta(minutes=1)

    with app.app_context():  # exactly what cron's ``flask jobs run-due`` does
        assert jobs.run_due()["expire_holds"] == 1

    assert stripe_api.sessions[sid]["status"] == "expired"
    assert ("POST", f"/v1/checkout/sessions/{sid}/expire") in [
        (method, path) for method, path, _p, _k in stripe_api.requests
    ]
    with app.app_context():
        assert db.session.get(Enrolment, enrolment["id"]).status is EnrolmentStatus.EXPIRED
        assert db.session.get(Payment, pay["id"]).status is PaymentStatus.EXPIRED


def test_celery_task_runs_the_job_as_one_unit(app, register_job):
    register_job("test_celery_writer", lambda: write_account("celery@example.org").id)
    task = make_celery(app).tasks["vhs.run_job"]
    task.apply(args=("test_celery_writer",))  # in this process: a fresh app context, as a worker
    assert stored(app, "celery@example.org")
    assert ran == ["celery@example.org"]


# --- the unit itself ------------------------------------------------------------------------


def test_on_commit_outside_a_unit_of_work_raises(app):
    with app.app_context():
        with pytest.raises(RuntimeError, match="no unit of work"):
            on_commit(lambda: ran.append("never"))
        with pytest.raises(RuntimeError, match="no unit of work"):
            write_account("ohne-einheit@example.org")  # queue_mail registers delivery
        db.session.rollback()
    assert ran == []


def test_nested_unit_on_the_same_session_raises(app):
    with (
        app.app_context(),
        unit_of_work(),
        pytest.raises(RuntimeError, match="already open"),
        unit_of_work(),
    ):
        pass


def test_a_nested_app_context_has_its_own_unit(app):
    with app.app_context(), unit_of_work() as outer:
        with app.app_context(), unit_of_work() as inner:
            assert current_unit() is inner
            on_commit(lambda: ran.append("inner"))
        assert ran == ["inner"]
        assert current_unit() is outer


def test_rollback_inside_a_unit_drops_the_work_registered_before_it(app):
    with app.app_context(), unit_of_work():
        write_account("verworfen@example.org")
        db.session.rollback()  # a view undoing a refused attempt before showing the form
        write_account("behalten@example.org")
    assert ran == ["behalten@example.org"]
    assert not stored(app, "verworfen@example.org") and stored(app, "behalten@example.org")


def test_work_before_a_commit_inside_the_unit_survives_a_later_error(app):
    """A checkout row committed before Stripe hears of it: its work runs even if a later step
    fails, and only the work after that commit is dropped."""
    with app.app_context(), pytest.raises(RuntimeError), unit_of_work():
        write_account("vorher@example.org")
        db.session.commit()
        write_account("nachher@example.org")
        raise RuntimeError("Stripe antwortet nicht")
    assert ran == ["vorher@example.org"]
    assert stored(app, "vorher@example.org") and not stored(app, "nachher@example.org")


def test_failing_after_commit_work_does_not_stop_the_rest(app):
    def broken() -> None:
        raise RuntimeError("Mailserver weg")

    def writes_and_registers() -> None:
        write_account("danach@example.org")  # after-commit work is a unit of its own

    with app.app_context(), unit_of_work():
        on_commit(broken)
        on_commit(writes_and_registers)
    assert ran == ["danach@example.org"]
    assert stored(app, "danach@example.org")


def test_discarded_unit_rolls_back(app):
    with app.app_context(), unit_of_work() as uow:
        write_account("abgelehnt@example.org")
        uow.discard()
    assert ran == []
    assert not stored(app, "abgelehnt@example.org")
