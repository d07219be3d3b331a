"""The API twins of the webinar pages: attendance marks, a new room, certificates and their PDF."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from pypdf import PdfReader

from courses.models import Course, CourseStatus, Session, SessionStatus
from courses.webinars.join import room_for
from courses.webinars.models import Attendance, Certificate
from tests.courses import factories
from tests.courses.webinars.helpers import attend, online_course
from vhs.accounts.models import Role
from vhs.audit import AuditEntry
from vhs.db import db


def _problem(resp: Any) -> tuple[int, str]:
    assert resp.mimetype == "application/problem+json", resp.get_data(as_text=True)
    return resp.status_code, resp.get_json().get("code", "")


@pytest.fixture
def lesson(app: Flask, make_user: Any, api_token: Any) -> dict[str, Any]:
    """An online course: a session an hour ago, one next week; two participants, one teacher."""
    teacher = make_user(Role.INSTRUCTOR)
    anna, bernd = make_user(name="Anna Ärger"), make_user(name="Bernd Öz")
    with app.app_context():
        course = online_course(starts_in=timedelta(hours=-1), sessions=2, instructors=[teacher])
        for person in (anna, bernd):
            factories.new_enrolment(course, person.id, status="confirmed")
        past, future = sorted(course.sessions, key=lambda s: s.starts_at)
        db.session.commit()
        ids = {"course_id": course.id, "past": past.id, "future": future.id}
    return {**ids, "teacher": api_token(teacher), "anna": anna, "bernd": bernd, "t": teacher}


def test_the_instructor_marks_attendance_through_the_api(
    app: Flask, client: Any, lesson: dict[str, Any]
) -> None:
    url = f"/api/v1/sessions/{lesson['past']}/attendance"
    anna, bernd = lesson["anna"].id, lesson["bernd"].id
    sheet = client.get(url, headers=lesson["teacher"])
    assert sheet.status_code == 200 and sheet.get_json()["can_mark"] is True
    assert {e["name"] for e in sheet.get_json()["entries"]} == {"Anna Ärger", "Bernd Öz"}
    marks = {"marks": [{"user_id": anna, "present": True}, {"user_id": bernd, "present": False}]}
    resp = client.patch(url, json=marks, headers=lesson["teacher"])
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["changed"] == 2
    entries = {e["user_id"]: e for e in body["entries"]}
    assert entries[anna]["manual_present"] is True and entries[anna]["present"] is True
    assert entries[bernd]["manual_present"] is False
    # The same marks again change nothing; null clears one mark and leaves the other.
    again = client.patch(url, json=marks, headers=lesson["teacher"])
    assert again.get_json()["changed"] == 0
    cleared = {"marks": [{"user_id": anna, "present": None}]}
    assert client.patch(url, json=cleared, headers=lesson["teacher"]).get_json()["changed"] == 1
    with app.app_context():
        rows = {a.user_id: a for a in db.session.execute(sa.select(Attendance)).scalars()}
        assert rows[anna].manual_present is None and rows[bernd].manual_present is False
        assert rows[bernd].marked_by_id == lesson["t"].id
        audits = db.session.execute(
            sa.select(AuditEntry).where(AuditEntry.action == "attendance.marked")
        ).scalars()
        assert len(list(audits)) == 2
    assert client.get(url, headers=lesson["teacher"]).headers["Cache-Control"] == (
        "private, no-store"
    )


def test_marking_attendance_refusals(
    app: Flask, client: Any, make_user: Any, api_token: Any, lesson: dict[str, Any]
) -> None:
    url = f"/api/v1/sessions/{lesson['past']}/attendance"
    mark = {"marks": [{"user_id": lesson["anna"].id, "present": True}]}
    # Not logged in, a participant, an instructor of another course.
    assert _problem(client.patch(url, json=mark))[0] == 401
    participant = api_token(lesson["anna"])
    assert _problem(client.patch(url, json=mark, headers=participant)) == (403, "not_instructor")
    assert _problem(client.get(url, headers=participant)) == (403, "not_instructor")
    other = api_token(make_user(Role.INSTRUCTOR))
    assert _problem(client.patch(url, json=mark, headers=other)) == (403, "not_instructor")
    # Someone who is not a confirmed participant, a value that is no mark, a missing list.
    stranger = make_user()
    resp = client.patch(
        url, json={"marks": [{"user_id": stranger.id, "present": True}]}, headers=lesson["teacher"]
    )
    assert _problem(resp)[0] == 422 and "marks" in resp.get_json()["errors"]
    bad = {"marks": [{"user_id": lesson["anna"].id, "present": "maybe"}]}
    assert _problem(client.patch(url, json=bad, headers=lesson["teacher"]))[0] == 422
    assert _problem(client.patch(url, json={"marks": []}, headers=lesson["teacher"]))[0] == 422
    assert _problem(client.patch(url, json={}, headers=lesson["teacher"]))[0] == 422
    # A session that has not started, and a cancelled one: 409 with the page's codes.
    future = f"/api/v1/sessions/{lesson['future']}/attendance"
    resp = client.patch(future, json=mark, headers=lesson["teacher"])
    assert _problem(resp) == (409, "not_started")
    assert client.get(future, headers=lesson["teacher"]).get_json()["can_mark"] is False
    with app.app_context():
        db.session.get(Session, lesson["past"]).status = SessionStatus.CANCELLED
        db.session.commit()
    assert _problem(client.patch(url, json=mark, headers=lesson["teacher"])) == (
        409,
        "session_cancelled",
    )
    # No such session.
    assert _problem(client.get("/api/v1/sessions/999999/attendance", headers=lesson["teacher"]))[
        0
    ] == (404)
    with app.app_context():
        assert db.session.execute(sa.select(Attendance)).first() is None


def test_staff_replace_a_room_through_the_api(
    app: Flask, client: Any, make_user: Any, api_token: Any, lesson: dict[str, Any]
) -> None:
    with app.app_context():
        old = room_for(db.session.get(Session, lesson["future"]))
        db.session.commit()
    url = f"/api/v1/staff/sessions/{lesson['future']}/room/replace"
    # The course's own instructor may not (the page is staff-only too), nor a participant.
    assert _problem(client.post(url, headers=lesson["teacher"]))[0] == 403
    assert _problem(client.post(url, headers=api_token(lesson["anna"])))[0] == 403
    assert _problem(client.post(url))[0] == 401
    staff = api_token(make_user(Role.STAFF))
    resp = client.post(url, headers=staff)
    assert resp.status_code == 204 and resp.data == b""
    with app.app_context():
        new = db.session.get(Session, lesson["future"]).jitsi_room
        assert new and new != old
        entry = db.session.execute(
            sa.select(AuditEntry).where(AuditEntry.action == "session.room_replaced")
        ).scalar_one()
        assert old not in str(entry.details) and new not in str(entry.details)
    assert _problem(client.post("/api/v1/staff/sessions/999999/room/replace", headers=staff))[
        0
    ] == (404)


def test_a_room_is_replaced_only_for_an_online_session(
    app: Flask, client: Any, make_user: Any, api_token: Any
) -> None:
    with app.app_context():
        course = online_course(online=False)
        session_id = course.sessions[0].id
        db.session.commit()
    resp = client.post(
        f"/api/v1/staff/sessions/{session_id}/room/replace",
        headers=api_token(make_user(Role.STAFF)),
    )
    assert _problem(resp) == (409, "not_online")


# --- certificates ------------------------------------------------------------------------------


@pytest.fixture
def held(app: Flask, make_user: Any) -> dict[str, Any]:
    """A completed course of two past sessions: Gina attended both, Willi none."""
    gina, willi = make_user(name="Gina Gründlich"), make_user(name="Willi Wenig")
    with app.app_context():
        course = online_course(
            starts_in=timedelta(days=-20),
            sessions=2,
            instructors=[factories.new_user("instructor").id],
            code="271-777",
        )
        for person in (gina, willi):
            factories.new_enrolment(course, person.id, status="confirmed")
        for s in course.sessions:
            attend(s, gina.id, manual=True)
        course.status = CourseStatus.COMPLETED
        db.session.commit()
        return {"course_id": course.id, "gina": gina, "willi": willi}


def test_the_participant_downloads_their_certificate_through_the_api(
    app: Flask, client: Any, api_token: Any, held: dict[str, Any]
) -> None:
    url = f"/api/v1/courses/{held['course_id']}/certificate.pdf"
    resp = client.get(url, headers=api_token(held["gina"]))
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.headers["Cache-Control"] == "private, no-store"
    assert "Gina Gründlich" in PdfReader(io.BytesIO(resp.data)).pages[0].extract_text()
    # The second download is the same certificate (issued once).
    client.get(url, headers=api_token(held["gina"]))
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Certificate)) == 1
    # Too little attendance: 403 with the page's reason; not logged in: 401.
    assert _problem(client.get(url, headers=api_token(held["willi"])))[0] == 403
    assert _problem(client.get(url))[0] == 401
    assert (
        _problem(
            client.get("/api/v1/courses/999999/certificate.pdf", headers=api_token(held["gina"]))
        )[0]
        == 404
    )


def test_no_certificate_before_the_course_is_completed(
    app: Flask, client: Any, api_token: Any, held: dict[str, Any]
) -> None:
    with app.app_context():
        db.session.get(Course, held["course_id"]).status = CourseStatus.PUBLISHED
        db.session.commit()
    resp = client.get(
        f"/api/v1/courses/{held['course_id']}/certificate.pdf", headers=api_token(held["gina"])
    )
    assert _problem(resp) == (409, "course_not_completed")


def test_staff_issue_list_revoke_and_print_certificates_through_the_api(
    app: Flask, client: Any, make_user: Any, api_token: Any, held: dict[str, Any]
) -> None:
    staff_user = make_user(Role.STAFF)
    staff = api_token(staff_user)
    base = f"/api/v1/staff/courses/{held['course_id']}/certificates"
    assert client.get(base, headers=staff).get_json() == []
    # Willi did not attend enough, but staff may issue by hand.
    resp = client.post(base, json={"user_id": held["willi"].id}, headers=staff)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    issued = resp.get_json()
    assert issued["valid"] is True and issued["issued_by_staff"] is True
    assert issued["participant_name"] == "Willi Wenig" and issued["user_id"] == held["willi"].id
    again = client.post(base, json={"user_id": held["willi"].id}, headers=staff)
    assert _problem(again) == (409, "already_issued")
    listed = client.get(base, headers=staff).get_json()
    assert [c["id"] for c in listed] == [issued["id"]]
    pdf = client.get(f"/api/v1/staff/certificates/{issued['id']}/certificate.pdf", headers=staff)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "Willi Wenig" in PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    # Revoking says why; verification then says so; a second revoke is a conflict.
    revoke = f"/api/v1/staff/certificates/{issued['id']}/revoke"
    resp = client.post(revoke, json={"reason": "Anwesenheit falsch erfasst"}, headers=staff)
    assert resp.status_code == 200
    assert resp.get_json()["valid"] is False
    assert resp.get_json()["revoke_reason"] == "Anwesenheit falsch erfasst"
    check = client.get(f"/api/v1/certificates/verify/{issued['code']}").get_json()
    assert check["valid"] is False
    assert _problem(client.post(revoke, json={"reason": "noch mal"}, headers=staff)) == (
        409,
        "already_revoked",
    )
    with app.app_context():
        actions = db.session.execute(
            sa.select(AuditEntry.action)
            .where(AuditEntry.actor_id == staff_user.id)
            .order_by(AuditEntry.id)
        ).scalars()
        assert list(actions) == ["certificate.issued", "certificate.revoked"]


def test_certificate_refusals(
    app: Flask, client: Any, make_user: Any, api_token: Any, held: dict[str, Any]
) -> None:
    staff = api_token(make_user(Role.STAFF))
    base = f"/api/v1/staff/courses/{held['course_id']}/certificates"
    # Only staff issue, list, revoke and print; instructors and participants get 403.
    for who in (api_token(make_user(Role.INSTRUCTOR)), api_token(held["gina"])):
        assert _problem(client.get(base, headers=who))[0] == 403
        assert _problem(client.post(base, json={"user_id": held["gina"].id}, headers=who))[0] == 403
    assert _problem(client.post(base, json={"user_id": held["gina"].id}))[0] == 401
    # Not a participant, no such person, no body, an unknown field.
    outsider = make_user()
    for body in ({"user_id": outsider.id}, {"user_id": 999999}, {}, {"user_id": 1, "x": 1}):
        resp = client.post(base, json=body, headers=staff)
        assert _problem(resp)[0] == 422, body
    resp = client.post(base, json={"user_id": outsider.id}, headers=staff)
    assert _problem(resp) == (422, "invalid") and "user_id" in resp.get_json()["errors"]
    # No such course, no such certificate.
    missing = client.post(
        "/api/v1/staff/courses/999999/certificates", json={"user_id": 1}, headers=staff
    )
    assert _problem(missing)[0] == 404
    resp = client.post(
        "/api/v1/staff/certificates/999999/revoke", json={"reason": "x"}, headers=staff
    )
    assert _problem(resp) == (404, "certificate_not_found")
    pdf = client.get("/api/v1/staff/certificates/999999/certificate.pdf", headers=staff)
    assert _problem(pdf) == (404, "certificate_not_found")
    # A reason is required, and blank is no reason.
    issued = client.post(base, json={"user_id": held["gina"].id}, headers=staff).get_json()
    revoke = f"/api/v1/staff/certificates/{issued['id']}/revoke"
    for body in ({}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 301}):
        assert _problem(client.post(revoke, json=body, headers=staff))[0] == 422, body
    teacher = api_token(make_user(Role.INSTRUCTOR))
    assert _problem(client.post(revoke, json={"reason": "x"}, headers=teacher))[0] == 403
    assert (
        _problem(
            client.get(
                f"/api/v1/staff/certificates/{issued['id']}/certificate.pdf", headers=teacher
            )
        )[0]
        == 403
    )
    with app.app_context():
        assert db.session.get(Certificate, issued["id"]).revoked_at is None


def test_issuing_waits_for_the_course_to_be_completed(
    app: Flask, client: Any, make_user: Any, api_token: Any, held: dict[str, Any]
) -> None:
    with app.app_context():
        db.session.get(Course, held["course_id"]).status = CourseStatus.PUBLISHED
        db.session.commit()
    resp = client.post(
        f"/api/v1/staff/courses/{held['course_id']}/certificates",
        json={"user_id": held["gina"].id},
        headers=api_token(make_user(Role.STAFF)),
    )
    assert _problem(resp) == (409, "course_not_completed")
