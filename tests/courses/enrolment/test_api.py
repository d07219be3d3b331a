"""Enrolment rules through the API: results, refusals, waiting list, cancellation, staff moves."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from courses.enrolment import services as enrolment_services
from courses.models import (
    Course,
    CourseStatus,
    Enrolment,
    EnrolmentStatus,
    Session,
    SessionStatus,
)
from courses.planning import sessions as session_services
from vhs.accounts.models import Role, User
from vhs.audit import AuditEntry
from vhs.db import db, utcnow
from vhs.uow import unit_of_work

BERLIN = ZoneInfo("Europe/Berlin")  # the test apps' VHS_TIMEZONE


def enrol(client, headers, course_id, **body):
    return client.post(f"/api/v1/courses/{course_id}/enrolments", json=body, headers=headers)


def test_free_course_confirms_then_waitlists_with_positions(
    client, make_user, api_token, plan, outbox
):
    course_id = plan(capacity=1)
    people = [make_user() for _ in range(3)]
    results = [enrol(client, api_token(p), course_id) for p in people]
    assert [r.status_code for r in results] == [201, 201, 201]
    assert [r.json["status"] for r in results] == ["confirmed", "waitlisted", "waitlisted"]
    assert [r.json["waitlist_position"] for r in results] == [None, 1, 2]
    templates = [m.template for m in outbox()]
    assert templates.count("enrolment_confirmed") == 1
    assert templates.count("enrolment_waitlisted") == 2
    detail = client.get(f"/api/v1/courses/{course_id}").json
    assert detail["seats_left"] == 0 and detail["waitlist"] is True


def test_paid_course_holds_seat_until_expiry(client, app, make_user, api_token, plan):
    course_id = plan(capacity=1, fee_cents=7900)
    user = make_user()
    resp = enrol(client, api_token(user), course_id)
    assert resp.status_code == 201
    assert resp.json["status"] == "pending_payment"
    assert resp.json["price_cents"] == 7900
    hold = datetime.fromisoformat(resp.json["hold_expires_at"])
    assert hold > utcnow() + timedelta(days=6)  # manual payment: 7 days by default


def test_reduced_fee_and_reduction_refused_when_not_offered(client, make_user, api_token, plan):
    with_reduction = plan(fee_cents=8000, reduced_fee_cents=5600)
    without = plan(fee_cents=8000)
    user = make_user()
    headers = api_token(user)
    resp = enrol(client, headers, with_reduction, reduction_reason="student")
    assert resp.status_code == 201 and resp.json["price_cents"] == 5600
    assert resp.json["reduction_reason"] == "student"
    resp = enrol(client, headers, without, reduction_reason="student")
    assert resp.status_code == 422 and resp.json["code"] == "reduction_not_offered"
    resp = enrol(client, headers, without, reduction_reason="rich")
    assert resp.status_code == 422 and "reduction_reason" in resp.json["errors"]


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"status": CourseStatus.DRAFT}, "course_not_found"),
        ({"status": CourseStatus.CANCELLED}, "course_cancelled"),
        ({"status": CourseStatus.COMPLETED}, "not_published"),
        ({"closes_in_days": -1}, "enrolment_closed"),
        ({"opens_in_days": 3}, "enrolment_not_open"),
    ],
)
def test_refusals_by_course_state(client, make_user, api_token, plan, kwargs, code):
    course_id = plan(**kwargs)
    resp = enrol(client, api_token(make_user()), course_id)
    assert resp.json["code"] == code
    assert resp.status_code == (404 if code == "course_not_found" else 409)
    assert resp.mimetype == "application/problem+json"


def test_refusals_by_person(client, app, make_user, api_token, plan):
    teacher = make_user(Role.INSTRUCTOR)
    course_id = plan(instructors=[teacher])
    resp = enrol(client, api_token(teacher), course_id)
    assert (resp.status_code, resp.json["code"]) == (409, "own_course")
    unverified = make_user(verified=False)
    with app.app_context():
        u = db.session.get(User, unverified.id)
        u.email_verified_at = utcnow()  # tokens need a verified account ...
        from vhs.accounts.services import create_api_token

        _t, plaintext = create_api_token(u, "t")
        u.email_verified_at = None  # ... then the address is "unverified" again
        db.session.commit()
    resp = enrol(client, {"Authorization": f"Bearer {plaintext}"}, course_id)
    assert (resp.status_code, resp.json["code"]) == (409, "email_not_verified")
    person = make_user()
    headers = api_token(person)
    assert enrol(client, headers, course_id).status_code == 201
    resp = enrol(client, headers, course_id)
    assert (resp.status_code, resp.json["code"]) == (409, "already_enrolled")
    assert enrol(client, {}, course_id).status_code == 401


def test_database_refuses_second_active_enrolment(app, make_user, plan):
    course_id = plan()
    user = make_user()
    with app.app_context():
        db.session.add(
            Enrolment(course_id=course_id, user_id=user.id, status=EnrolmentStatus.CONFIRMED)
        )
        db.session.flush()
        db.session.add(
            Enrolment(course_id=course_id, user_id=user.id, status=EnrolmentStatus.WAITLISTED)
        )
        with pytest.raises(sa.exc.IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_cancel_promotes_first_waiting_person(client, make_user, api_token, plan, outbox, app):
    course_id = plan(capacity=1, fee_cents=5000)
    a, b, c = make_user(), make_user(), make_user()
    ea = enrol(client, api_token(a), course_id).json
    eb = enrol(client, api_token(b), course_id).json
    ec = enrol(client, api_token(c), course_id).json
    assert (eb["waitlist_position"], ec["waitlist_position"]) == (1, 2)
    resp = client.delete(f"/api/v1/enrolments/{ea['id']}", headers=api_token(a))
    assert resp.status_code == 200 and resp.json["status"] == "cancelled"
    with app.app_context():
        nb = db.session.get(Enrolment, eb["id"])
        nc = db.session.get(Enrolment, ec["id"])
        assert nb.status is EnrolmentStatus.PENDING_PAYMENT and nb.hold_expires_at is not None
        assert nb.waitlist_position is None
        assert (nc.status, nc.waitlist_position) == (EnrolmentStatus.WAITLISTED, 1)
        course = db.session.get(Course, course_id)
        assert (course.seats_taken, course.waitlist_count) == (1, 1)
    assert [m.template for m in outbox(b.email)][-1] == "enrolment_promoted"
    # cancelling twice is a conflict; someone else's enrolment is invisible
    again = client.delete(f"/api/v1/enrolments/{ea['id']}", headers=api_token(a))
    assert (again.status_code, again.json["code"]) == (409, "not_active")
    other = client.delete(f"/api/v1/enrolments/{ec['id']}", headers=api_token(a))
    assert other.status_code == 404


def test_cancel_after_deadline_refused_but_staff_may_override(client, make_user, api_token, plan):
    course_id = plan(starts_in_days=3, cancellation_days=7)
    user = make_user()
    e = enrol(client, api_token(user), course_id).json
    resp = client.delete(f"/api/v1/enrolments/{e['id']}", headers=api_token(user))
    assert (resp.status_code, resp.json["code"]) == (409, "cancellation_deadline_passed")
    resp = client.delete(f"/api/v1/enrolments/{e['id']}?override=true", headers=api_token(user))
    assert resp.status_code == 403
    staff = make_user(Role.STAFF)
    resp = client.delete(f"/api/v1/enrolments/{e['id']}?override=true", headers=api_token(staff))
    assert resp.status_code == 200 and resp.json["status"] == "cancelled"


def test_my_enrolments_lists_status_position_and_next_session(client, make_user, api_token, plan):
    full = plan(capacity=0 + 1)
    other = make_user()
    enrol(client, api_token(other), full)
    user = make_user()
    headers = api_token(user)
    enrol(client, headers, full)
    resp = client.get("/api/v1/me/enrolments", headers=headers)
    assert resp.status_code == 200
    (row,) = resp.json
    assert row["status"] == "waitlisted" and row["waitlist_position"] == 1
    assert row["next_session"]["starts_at"].endswith(("+01:00", "+02:00"))
    assert client.get("/api/v1/me/enrolments").status_code == 401


def test_staff_books_on_behalf_and_moves_with_audit(client, app, make_user, api_token, plan):
    staff = make_user(Role.STAFF)
    person = make_user()
    source = plan(capacity=5)
    target = plan(capacity=1)
    headers = api_token(staff)
    resp = enrol(client, headers, source, user_id=person.id)
    assert resp.status_code == 201 and resp.json["user_id"] == person.id
    resident_try = enrol(client, api_token(make_user()), source, user_id=person.id)
    assert resident_try.status_code == 403
    moved = client.post(
        f"/api/v1/enrolments/{resp.json['id']}/move", json={"course_id": target}, headers=headers
    )
    assert moved.status_code == 201 and moved.json["course_id"] == target
    assert moved.json["status"] == "confirmed"
    with app.app_context():
        actions = set(
            db.session.execute(
                sa.select(AuditEntry.action).where(AuditEntry.actor_id == staff.id)
            ).scalars()
        )
        assert {"enrolment.created_on_behalf", "enrolment.moved"} <= actions
        assert db.session.get(Course, source).seats_taken == 0
        assert db.session.get(Course, target).seats_taken == 1
    # the target is now full: a second move is refused
    second = enrol(client, headers, source, user_id=make_user().id).json
    resp = client.post(
        f"/api/v1/enrolments/{second['id']}/move", json={"course_id": target}, headers=headers
    )
    assert (resp.status_code, resp.json["code"]) == (409, "course_full")


def test_moving_from_a_waiting_list_to_a_course_with_room_takes_a_seat(
    client, make_user, api_token, plan
):
    """Found by tests/courses/test_invariants.py: the person waited while the seat stayed free."""
    source = plan(capacity=1, fee_cents=3000)
    target = plan(capacity=1, fee_cents=3000)
    enrol(client, api_token(make_user()), source)
    waiting = enrol(client, api_token(make_user()), source).json
    assert waiting["status"] == "waitlisted"
    headers = api_token(make_user(Role.STAFF))
    moved = client.post(
        f"/api/v1/enrolments/{waiting['id']}/move", json={"course_id": target}, headers=headers
    )
    assert moved.status_code == 201
    assert (moved.json["status"], moved.json["waitlist_position"]) == ("pending_payment", None)


def test_expire_holds_releases_seat_and_promotes(app, make_user, plan, client, api_token):
    course_id = plan(capacity=1, fee_cents=3000)
    a, b = make_user(), make_user()
    ea = enrol(client, api_token(a), course_id).json
    eb = enrol(client, api_token(b), course_id).json
    with app.app_context():
        later = utcnow() + timedelta(days=8)
        with unit_of_work():
            assert enrolment_services.expire_holds(now=later) == 1
        assert db.session.get(Enrolment, ea["id"]).status is EnrolmentStatus.EXPIRED
        assert db.session.get(Enrolment, eb["id"]).status is EnrolmentStatus.PENDING_PAYMENT
        with unit_of_work():
            assert enrolment_services.expire_holds(now=later) == 0


def test_session_generator_keeps_berlin_wall_clock_across_dst(app, make_user, plan):
    staff = make_user(Role.STAFF)
    course_id = plan(sessions=0, status=CourseStatus.DRAFT)
    with app.app_context():
        course = db.session.get(Course, course_id)
        actor = db.session.get(User, staff.id)
        p = session_services.SessionPlan(
            first_date=date(2027, 3, 15),
            weekday=2,
            start=time(18, 0),
            end=time(19, 30),
            count=4,
            skip_dates=frozenset({date(2027, 3, 23)}),
        )
        created = session_services.generate_sessions(actor, course, p)
        local = [s.starts_at.astimezone(BERLIN) for s in created]
        assert [d.date() for d in local] == [
            date(2027, 3, 16),
            date(2027, 3, 30),
            date(2027, 4, 6),
            date(2027, 4, 13),
        ]
        assert {(d.hour, d.minute) for d in local} == {(18, 0)}
        db.session.flush()
        db.session.expire_all()
        assert [s.starts_at.utcoffset() for s in created] == [timedelta(0)] * 4  # stored UTC
        assert local[0].utcoffset() == timedelta(hours=1) and local[1].utcoffset() == timedelta(
            hours=2
        )
        assert course.weekday == 2 and course.start_minute == 18 * 60


def test_session_change_bumps_sequence_and_cancel_notifies(
    app, make_user, plan, client, api_token, outbox
):
    staff = make_user(Role.STAFF)
    course_id = plan()
    person = make_user()
    enrol(client, api_token(person), course_id)
    with app.app_context():
        session = (
            db.session.execute(sa.select(Session).where(Session.course_id == course_id))
            .scalars()
            .first()
        )
        sid, start = session.id, session.starts_at
    headers = api_token(staff)
    resp = client.patch(f"/api/v1/staff/sessions/{sid}", json={"room": "2.12"}, headers=headers)
    assert resp.status_code == 200 and resp.json["sequence"] == 1
    resp = client.patch(
        f"/api/v1/staff/sessions/{sid}", json={"note": "Bitte Buch mitbringen"}, headers=headers
    )
    assert resp.json["sequence"] == 1  # a note is neither time nor place
    resp = client.patch(
        f"/api/v1/staff/sessions/{sid}",
        json={"starts_at": (start + timedelta(hours=2)).isoformat(), "ends_at": start.isoformat()},
        headers=headers,
    )
    assert resp.status_code == 422
    resp = client.post(
        f"/api/v1/staff/sessions/{sid}/cancel", json={"reason": "Krankheit"}, headers=headers
    )
    assert (
        resp.status_code == 200
        and resp.json["status"] == "cancelled"
        and resp.json["sequence"] == 2
    )
    assert "session_cancelled" in [m.template for m in outbox(person.email)]
    again = client.post(f"/api/v1/staff/sessions/{sid}/cancel", json={}, headers=headers)
    assert again.status_code == 409


def test_cancel_course_cancels_everyone_and_fires_signal(
    app, make_user, plan, client, api_token, outbox
):
    from courses import signals

    staff = make_user(Role.STAFF)
    course_id = plan(capacity=1)
    a, b = make_user(), make_user()
    enrol(client, api_token(a), course_id)
    enrol(client, api_token(b), course_id)
    received = []

    def receiver(course, **kw):
        received.append((course.id, len(kw["enrolments"])))

    signals.course_cancelled.connect(receiver)
    try:
        resp = client.post(
            f"/api/v1/staff/courses/{course_id}/cancel",
            json={"reason": "Zu wenige"},
            headers=api_token(staff),
        )
    finally:
        signals.course_cancelled.disconnect(receiver)
    assert resp.status_code == 200 and resp.json["status"] == "cancelled"
    assert received == [(course_id, 2)]
    with app.app_context():
        statuses = (
            db.session.execute(sa.select(Enrolment.status).where(Enrolment.course_id == course_id))
            .scalars()
            .all()
        )
        assert set(statuses) == {EnrolmentStatus.CANCELLED}
        assert {s.status for s in db.session.get(Course, course_id).sessions} == {
            SessionStatus.CANCELLED
        }
    assert "course_cancelled" in [m.template for m in outbox(a.email)]
    again = client.post(
        f"/api/v1/staff/courses/{course_id}/cancel", json={}, headers=api_token(staff)
    )
    assert again.status_code == 409


def test_staff_api_creates_publishes_and_copies(client, app, make_user, api_token, plan):
    staff = make_user(Role.STAFF)
    headers = api_token(staff)
    term = client.post(
        "/api/v1/terms",
        json={
            "name": "Herbst 2027",
            "starts_on": "2027-08-30",
            "ends_on": "2027-12-18",
            "enrolment_opens_at": "2027-06-01T08:00:00+02:00",
        },
        headers=headers,
    )
    assert term.status_code == 201
    cat = client.post(
        "/api/v1/categories",
        json={"slug": "yoga", "name_de": "Yoga", "name_en": "Yoga"},
        headers=headers,
    )
    assert cat.status_code == 201
    bad = client.post(
        "/api/v1/staff/courses",
        json={
            "term_id": term.json["id"],
            "category_id": cat.json["id"],
            "code": "!!",
            "title": "",
            "fee_cents": 1000,
            "reduced_fee_cents": 2000,
            "capacity": 0,
        },
        headers=headers,
    )
    assert bad.status_code == 422
    course = client.post(
        "/api/v1/staff/courses",
        json={
            "term_id": term.json["id"],
            "category_id": cat.json["id"],
            "code": "372-001",
            "title": "Yoga am Morgen",
            "fee_cents": 6900,
            "capacity": 12,
        },
        headers=headers,
    )
    assert course.status_code == 201 and course.json["status"] == "draft"
    cid = course.json["id"]
    assert client.get(f"/api/v1/courses/{cid}").status_code == 404  # drafts are not public
    resp = client.post(f"/api/v1/staff/courses/{cid}/publish", headers=headers)
    assert (resp.status_code, resp.json["code"]) == (409, "no_sessions")
    gen = client.post(
        f"/api/v1/staff/courses/{cid}/sessions/generate",
        json={
            "first_date": "2027-09-01",
            "weekday": 3,
            "start": "09:00",
            "end": "10:30",
            "count": 3,
        },
        headers=headers,
    )
    assert gen.status_code == 201 and len(gen.json) == 3
    assert gen.json[0]["starts_at"] == "2027-09-01T09:00:00+02:00"
    assert client.post(f"/api/v1/staff/courses/{cid}/publish", headers=headers).status_code == 200
    assert client.get(f"/api/v1/courses/{cid}").status_code == 200
    dup = client.post(
        "/api/v1/staff/courses",
        json={
            "term_id": term.json["id"],
            "category_id": cat.json["id"],
            "code": "372-001",
            "title": "Doppelt",
            "capacity": 5,
        },
        headers=headers,
    )
    assert dup.status_code == 422 and "code" in dup.json["errors"]
    spring = plan()
    with app.app_context():
        spring_term = db.session.get(Course, spring).term_id
    copied = client.post(
        f"/api/v1/staff/courses/{cid}/copy", json={"term_id": spring_term}, headers=headers
    )
    assert copied.status_code == 201 and copied.json["status"] == "draft"
    assert len(copied.json["sessions"]) == 3
    assert copied.json["sessions"][0]["starts_at"].endswith("T09:00:00+01:00")  # winter time now
    resident = api_token(make_user())
    assert client.post("/api/v1/terms", json={}, headers=resident).status_code == 403
    assert client.post(f"/api/v1/staff/courses/{cid}/publish", headers=resident).status_code == 403


def test_catalogue_api_filters_and_sorts(client, app, plan, make_user):
    teacher = make_user(Role.INSTRUCTOR, name="Ingrid Brückner")
    a = plan(fee_cents=9000, instructors=[teacher], code="271-101")
    b = plan(fee_cents=1000, code="271-102")
    resp = client.get("/api/v1/courses?max_price=5000")
    assert [i["id"] for i in resp.json["items"]] == [b]
    resp = client.get(f"/api/v1/courses?instructor={teacher.id}")
    assert [i["id"] for i in resp.json["items"]] == [a]
    resp = client.get("/api/v1/courses?q=Brückner")
    assert [i["id"] for i in resp.json["items"]] == [a]
    resp = client.get("/api/v1/courses?q=271-102")
    assert b in [i["id"] for i in resp.json["items"]]
    resp = client.get("/api/v1/courses?sort=price")
    ids = [i["id"] for i in resp.json["items"]]
    assert ids.index(b) < ids.index(a)
    assert client.get("/api/v1/courses?weekday=9").status_code == 422
    assert client.get("/api/v1/courses?sort=evil").status_code == 422
    page = client.get("/api/v1/courses?per_page=1&page=2").json
    assert page["per_page"] == 1 and page["page"] == 2 and page["pages"] >= 2


def test_staff_booking_on_behalf_waives_only_the_email_check(client, make_user, api_token, plan):
    staff = api_token(make_user(Role.STAFF))
    unverified = make_user(verified=False)
    open_course = plan()
    resp = client.post(
        f"/api/v1/courses/{open_course}/enrolments", json={"user_id": unverified.id}, headers=staff
    )
    assert resp.status_code == 201  # staff vouch for someone booking at the counter
    closed = plan(closes_in_days=-1)
    resp = client.post(
        f"/api/v1/courses/{closed}/enrolments", json={"user_id": unverified.id}, headers=staff
    )
    assert (resp.status_code, resp.json["code"]) == (409, "enrolment_closed")


def test_changed_and_cancelled_sessions_mail_calendar_updates(
    app, make_user, plan, client, api_token, outbox
):
    import base64

    staff = api_token(make_user(Role.STAFF))
    course_id = plan()
    person = make_user()
    enrol(client, api_token(person), course_id)
    with app.app_context():
        sid = (
            db.session.execute(sa.select(Session.id).where(Session.course_id == course_id))
            .scalars()
            .first()
        )
    assert (
        client.patch(
            f"/api/v1/staff/sessions/{sid}", json={"room": "3.01"}, headers=staff
        ).status_code
        == 200
    )
    assert (
        client.post(f"/api/v1/staff/sessions/{sid}/cancel", json={}, headers=staff).status_code
        == 200
    )
    mails = {m.template: m for m in outbox(person.email)}
    changed = mails["session_changed"]
    ics = base64.b64decode(changed.attachments[0]["data"]).decode()
    assert "SEQUENCE:1" in ics and "3.01" in ics
    cancelled = base64.b64decode(mails["session_cancelled"].attachments[0]["data"]).decode()
    assert "STATUS:CANCELLED" in cancelled and "SEQUENCE:2" in cancelled


def test_booking_and_paying_need_no_body(client, make_user, api_token, plan):
    """Nothing in these bodies is required, so a client may leave the body out entirely."""
    course_id = plan(capacity=2, fee_cents=4900)
    headers = api_token(make_user())
    booked = client.post(f"/api/v1/courses/{course_id}/enrolments", headers=headers)
    assert booked.status_code == 201, booked.json
    paid = client.post(f"/api/v1/enrolments/{booked.json['id']}/payment", headers=headers)
    assert paid.status_code in (200, 201), paid.json
    # a body that is there must still be JSON
    text = client.post(
        f"/api/v1/courses/{course_id}/enrolments",
        data="reduction_reason=student",
        headers={**headers, "Content-Type": "text/plain"},
    )
    assert text.status_code == 415
