"""Reductions (Ermäßigung) are claimed at booking and verified or rejected by staff.

A rejection makes the booking cost the full fee: a paid booking owes the rest as a new payment
with its invoice, an unpaid one simply owes more; the resident gets a mail with the note. The
participant lists and the payments desk show the state; ``reduction_counts`` counts them.
"""

from __future__ import annotations

import sqlalchemy as sa

from courses.enrolment.models import ChargeKind, EnrolmentCharge, ReductionCheck, ReductionState
from courses.enrolment.reductions import reduction_counts
from courses.models import Course, Enrolment, ReductionReason
from tests.courses import factories
from tests.courses.planning.test_staff_views import check_accessible
from vhs.accounts.models import Role
from vhs.audit import AuditEntry
from vhs.db import db
from vhs.payments.models import CreditNoteKind, InvoiceStatus, Payment, PaymentStatus
from vhs.uow import unit_of_work


def claim(client, api_token, make_user, course_id, reason="student", name="Lena Lernt"):
    user = make_user(name=name)
    headers = api_token(user)
    resp = client.post(
        f"/api/v1/courses/{course_id}/enrolments",
        json={"reduction_reason": reason},
        headers=headers,
    )
    assert resp.status_code == 201, resp.json
    return user, headers, resp.json


def decide(client, headers, enrolment_id, decision, note=""):
    return client.post(
        f"/api/v1/enrolments/{enrolment_id}/reduction",
        json={"decision": decision, "note": note},
        headers=headers,
    )


def test_a_claim_is_recorded_and_staff_verify_it_once(client, app, make_user, api_token, plan):
    course_id = plan(fee_cents=8000, reduced_fee_cents=5600)
    staff_user = make_user(Role.STAFF)
    staff = api_token(staff_user)
    _u, headers, e = claim(client, api_token, make_user, course_id)
    check = client.get(f"/api/v1/enrolments/{e['id']}/reduction", headers=staff).json
    assert (check["state"], check["reduction_reason"], check["decided_by_id"]) == (
        "claimed",
        "student",
        None,
    )
    resp = decide(client, staff, e["id"], "verified", "Studierendenausweis gesehen")
    assert resp.status_code == 200
    export = client.get("/api/v1/me/export", headers=headers).json
    (booking,) = export["enrolments"]
    assert booking["reduction_check"]["state"] == "verified"
    assert booking["reduction_check"]["note"] == "Studierendenausweis gesehen"
    assert (resp.json["state"], resp.json["decided_by_id"]) == ("verified", staff_user.id)
    assert resp.json["decided_at"] and resp.json["price_cents"] == 5600
    again = decide(client, staff, e["id"], "rejected", "doch nicht")
    assert (again.status_code, again.json["code"]) == (409, "reduction_already_decided")
    with app.app_context():
        actions = db.session.execute(
            sa.select(AuditEntry.action).where(AuditEntry.actor_id == staff_user.id)
        ).scalars()
        assert "reduction.verified" in set(actions)


def test_rejecting_a_paid_reduction_makes_the_rest_due_with_an_invoice_and_a_mail(
    client, app, make_user, api_token, plan, outbox
):
    course_id = plan(fee_cents=8000, reduced_fee_cents=5600)
    staff = api_token(make_user(Role.STAFF))
    user, headers, e = claim(client, api_token, make_user, course_id)
    payment = client.post(f"/api/v1/enrolments/{e['id']}/payment", json={}, headers=headers).json
    assert payment["amount_cents"] == 5600
    resp = client.post(f"/api/v1/staff/payments/{payment['id']}/mark-paid", headers=staff)
    assert resp.status_code == 200
    resp = decide(client, staff, e["id"], "rejected", "Kein Nachweis vorgelegt")
    assert resp.status_code == 200 and resp.json["state"] == "rejected"
    assert resp.json["price_cents"] == 8000
    with app.app_context():
        charge = db.session.execute(sa.select(EnrolmentCharge)).scalar_one()
        assert (charge.enrolment_id, charge.kind, charge.amount_cents) == (
            e["id"],
            ChargeKind.REDUCTION_REJECTED,
            2400,
        )
        due = db.session.execute(
            sa.select(Payment).where(Payment.purpose_type == "enrolment_charge")
        ).scalar_one()
        assert (due.amount_cents, due.status, due.user_id) == (2400, PaymentStatus.PENDING, user.id)
        number = due.invoice.number
        assert db.session.get(Enrolment, e["id"]).status.value == "confirmed"
    (mail,) = [m for m in outbox(user.email) if m.template == "reduction_rejected"]
    assert "Kein Nachweis vorgelegt" in mail.body_text
    assert "24,00" in mail.body_text and number in mail.body_text


def test_rejecting_an_unpaid_reduction_changes_the_amount_due(
    client, app, make_user, api_token, plan, outbox
):
    course_id = plan(fee_cents=8000, reduced_fee_cents=5600)
    staff = api_token(make_user(Role.STAFF))
    user, headers, e = claim(client, api_token, make_user, course_id)
    first = client.post(f"/api/v1/enrolments/{e['id']}/payment", json={}, headers=headers).json
    resp = decide(client, staff, e["id"], "rejected", "Ausweis abgelaufen")
    assert resp.status_code == 200 and resp.json["price_cents"] == 8000
    with app.app_context():
        old = db.session.get(Payment, first["id"])
        assert old.status is PaymentStatus.EXPIRED
        assert old.invoice.status is InvoiceStatus.CANCELLED
        assert [n.kind for n in old.credit_notes] == [CreditNoteKind.CANCELLATION]
        assert db.session.scalar(sa.select(sa.func.count(EnrolmentCharge.id))) == 0
    again = client.post(f"/api/v1/enrolments/{e['id']}/payment", json={}, headers=headers).json
    assert again["amount_cents"] == 8000
    (mail,) = [m for m in outbox(user.email) if m.template == "reduction_rejected"]
    assert "80,00" in mail.body_text and "Ausweis abgelaufen" in mail.body_text


def test_decision_refusals(client, app, make_user, api_token, plan):
    course_id = plan(fee_cents=8000, reduced_fee_cents=5600, capacity=5)
    staff = api_token(make_user(Role.STAFF))
    _u, headers, e = claim(client, api_token, make_user, course_id)
    resp = decide(client, headers, e["id"], "verified")  # the resident themself
    assert resp.status_code == 403
    resp = decide(client, staff, e["id"], "rejected", "   ")
    assert (resp.status_code, list(resp.json["errors"])) == (422, ["note"])
    resp = decide(client, staff, e["id"], "claimed")
    assert resp.status_code == 422
    resp = decide(client, staff, e["id"], "verified", "x" * 1001)
    assert resp.status_code == 422
    full_fee = client.post(
        f"/api/v1/courses/{course_id}/enrolments", json={}, headers=api_token(make_user())
    ).json
    resp = decide(client, staff, full_fee["id"], "verified")
    assert (resp.status_code, resp.json["code"]) == (409, "no_reduction")
    resp = client.get(f"/api/v1/enrolments/{full_fee['id']}/reduction", headers=staff)
    assert (resp.status_code, resp.json["code"]) == (404, "no_reduction")
    assert decide(client, staff, 999_999, "verified").status_code == 404
    assert client.delete(f"/api/v1/enrolments/{e['id']}", headers=headers).status_code == 200
    resp = decide(client, staff, e["id"], "verified")
    assert (resp.status_code, resp.json["code"]) == (409, "not_active")
    with app.app_context():
        check = db.session.execute(sa.select(ReductionCheck)).scalar_one()
        assert check.state is ReductionState.CLAIMED


def test_staff_page_confirms_before_rejecting_and_lists_show_the_state(
    client, app, make_user, api_token, plan, login, outbox
):
    teacher = make_user(Role.INSTRUCTOR)
    course_id = plan(fee_cents=8000, reduced_fee_cents=5600, instructors=[teacher])
    staff_user = make_user(Role.STAFF)
    user, headers, e = claim(client, api_token, make_user, course_id)
    payment = client.post(f"/api/v1/enrolments/{e['id']}/payment", json={}, headers=headers).json
    login(staff_user)
    listing = client.get(f"/staff/courses/{course_id}/enrolments").get_data(as_text=True)
    assert "noch nicht geprüft" in listing and f"/staff/enrolments/{e['id']}/reduction" in listing
    desk = client.get(f"/staff/payments/{payment['id']}").get_data(as_text=True)
    assert "Ermäßigung: Schüler/innen und Studierende – beantragt, noch nicht geprüft" in desk
    url = f"/staff/enrolments/{e['id']}/reduction"
    assert client.get(url).status_code == 200
    missing_note = client.submit(url, {"decision": "rejected", "note": ""})
    assert missing_note.status_code == 422
    confirm = client.submit(url, {"decision": "rejected", "note": "Kein Nachweis"})
    assert confirm.status_code == 200
    page = confirm.get_data(as_text=True)
    assert "80,00" in page and 'name="confirmed" value="y"' in page
    with app.app_context():  # nothing decided yet
        assert db.session.execute(sa.select(ReductionCheck)).scalar_one().state.value == "claimed"
    done = client.submit(url, {"decision": "rejected", "note": "Kein Nachweis", "confirmed": "y"})
    assert done.status_code == 302
    with app.app_context():
        check = db.session.execute(sa.select(ReductionCheck)).scalar_one()
        assert (check.state, check.note, check.decided_by_id) == (
            ReductionState.REJECTED,
            "Kein Nachweis",
            staff_user.id,
        )
    assert [m.template for m in outbox(user.email)].count("reduction_rejected") == 1
    listing = client.get(f"/staff/courses/{course_id}/enrolments").get_data(as_text=True)
    assert "abgelehnt" in listing
    desk = client.get("/staff/payments").get_data(as_text=True)
    assert "abgelehnt" in desk
    # a decided reduction is not offered again, neither at the first step nor confirmed
    assert 'name="decision"' not in client.get(url).get_data(as_text=True)
    assert client.submit(url, {"decision": "verified"}).status_code == 409
    assert client.submit(url, {"decision": "verified", "confirmed": "y"}).status_code == 409
    login(teacher)
    teaching = client.get(f"/teaching/courses/{course_id}").get_data(as_text=True)
    assert "abgelehnt" in teaching


def test_reduction_counts_by_reason_and_state_per_term(client, app, make_user, api_token, plan):
    first = plan(fee_cents=8000, reduced_fee_cents=5600, capacity=5)
    second = plan(fee_cents=8000, reduced_fee_cents=5600, capacity=5)
    staff = api_token(make_user(Role.STAFF))
    claims = [
        claim(client, api_token, make_user, first, "student")[2],
        claim(client, api_token, make_user, first, "student")[2],
        claim(client, api_token, make_user, first, "jobseeker")[2],
        claim(client, api_token, make_user, second, "student")[2],
    ]
    assert decide(client, staff, claims[0]["id"], "verified").status_code == 200
    with app.app_context():
        term_id = db.session.get(Course, first).term_id
        assert reduction_counts(term_id) == [
            (ReductionReason.JOBSEEKER, ReductionState.CLAIMED, 1),
            (ReductionReason.STUDENT, ReductionState.CLAIMED, 1),
            (ReductionReason.STUDENT, ReductionState.VERIFIED, 1),
        ]
        everything = {(r, s): n for r, s, n in reduction_counts(None)}
        assert everything[(ReductionReason.STUDENT, ReductionState.CLAIMED)] == 2
    # a moved booking counts once, on its new course
    third = plan(fee_cents=8000, reduced_fee_cents=5600, capacity=5)
    moved = client.post(
        f"/api/v1/enrolments/{claims[3]['id']}/move", json={"course_id": third}, headers=staff
    )
    assert moved.status_code == 201
    with app.app_context():
        everything = {(r, s): n for r, s, n in reduction_counts(None)}
        assert everything[(ReductionReason.STUDENT, ReductionState.CLAIMED)] == 2


def test_a_claim_without_a_check_row_is_decided_as_claimed(client, app, make_user, api_token):
    """Bookings written before checks existed (the migration back-fills them) or not through
    ``enrol``: the decision creates the check."""
    staff = api_token(make_user(Role.STAFF))
    with app.app_context(), unit_of_work():
        course = factories.new_course(fee_cents=8000, reduced_fee_cents=5600)
        enrolment = factories.new_enrolment(course, status="confirmed", reduction="student")
        enrolment_id = enrolment.id
        assert db.session.scalar(sa.select(sa.func.count(ReductionCheck.id))) == 0
    resp = decide(client, staff, enrolment_id, "verified", "Ausweis gesehen")
    assert resp.status_code == 200 and resp.json["state"] == "verified"


def test_the_new_pages_are_accessible(client, app, make_user, api_token, plan, login):
    """Labelled fields, one h1, ordered headings, captioned tables (the staff area's audit)."""
    course_id = plan(fee_cents=8000, reduced_fee_cents=5600, code="271-801")
    plan(fee_cents=6000, code="271-802")
    staff_user = make_user(Role.STAFF)
    user, headers, e = claim(client, api_token, make_user, course_id)
    payment = client.post(f"/api/v1/enrolments/{e['id']}/payment", json={}, headers=headers).json
    resp = client.post(
        f"/api/v1/staff/payments/{payment['id']}/mark-paid", headers=api_token(staff_user)
    )
    assert resp.status_code == 200
    assert (
        client.post(
            f"/api/v1/staff/payments/{payment['id']}/refunds",
            json={"amount_cents": 100, "reason": "Kulanz"},
            headers=api_token(staff_user),
        ).status_code
        == 201
    )
    login(staff_user)
    reduction = f"/staff/enrolments/{e['id']}/reduction"
    move = f"/staff/enrolments/{e['id']}/move"
    pages = {
        "reduction": client.get(reduction),
        "reduction confirm": client.submit(reduction, {"decision": "rejected", "note": "x"}),
        "reduction refused": client.submit(reduction, {"decision": "rejected", "note": ""}),
        "move confirm": client.submit(move, {"course_id": "271-802"}),
        "desk": client.get(f"/staff/payments/{payment['id']}"),
    }
    resident = app.test_client()
    login(user, c=resident)
    pages["my payments"] = resident.get("/me/payments")
    pages["payment"] = resident.get(f"/payments/{payment['id']}")
    for name, resp in pages.items():
        assert resp.status_code in (200, 422), name
        assert check_accessible(resp.get_data(as_text=True)) == [], name
