"""Attendance by hand and the report; certificates: eligibility, the PDF, verification, revoking."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from pypdf import PdfReader

from courses.certificates import services as certificate_services
from courses.models import Course, CourseStatus, SessionStatus
from courses.webinars import attendance as attendance_services
from courses.webinars.models import Attendance, Certificate
from tests.courses import factories
from tests.courses.webinars.helpers import attend, online_course
from vhs.accounts.models import Role, User
from vhs.audit import AuditEntry
from vhs.db import db


def test_the_threshold_is_exact() -> None:
    assert not attendance_services.reaches_threshold(79, 100, 80)
    assert attendance_services.reaches_threshold(80, 100, 80)
    assert attendance_services.reaches_threshold(4, 5, 80)
    assert not attendance_services.reaches_threshold(3, 4, 80)
    assert not attendance_services.reaches_threshold(0, 0, 0)


@pytest.fixture
def held(app: Flask, make_user: Any) -> dict[str, Any]:
    """A completed online course of five weekly sessions, all in the past, with two people."""
    teacher = make_user(Role.INSTRUCTOR, name="Karla Kursleiterin")
    good = make_user(name="Jürgen Müller-Lüdenscheidt", email="juergen@example.org")
    weak = make_user(name="Bärbel Schäfer", locale="en")
    with app.app_context():
        course = online_course(
            starts_in=timedelta(days=-40),
            sessions=5,
            instructors=[teacher],
            title="Englisch für Anfänger – Grundstufe",
            code="271-105",
            units_override_tenths=200,
        )
        for person in (good, weak):
            factories.new_enrolment(course, person.id, status="confirmed")
        sessions = sorted(course.sessions, key=lambda s: s.starts_at)
        # good: 3 sessions from Jitsi (over a minute), one marked by hand -> 4 of 5 = 80 %
        for s in sessions[:3]:
            attend(s, good, seconds=50 * 60)
        attend(sessions[3], good, manual=True)
        attend(sessions[4], good, seconds=30)  # 30 seconds: not attended
        # weak: 3 of 5 = 60 %
        for s in sessions[:3]:
            attend(s, weak, seconds=3600)
        course.status = CourseStatus.COMPLETED
        db.session.commit()
        return {
            "course_id": course.id,
            "session_ids": [s.id for s in sessions],
            "teacher": teacher,
            "good": good,
            "weak": weak,
        }


def test_eligibility_80_percent_yes_81_no(
    app: Flask, held: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    with app.app_context():
        course = db.session.get(Course, held["course_id"])
        good = db.session.get(User, held["good"].id)
        weak = db.session.get(User, held["weak"].id)
        status = certificate_services.certificate_status(good, course)
        assert (status.present, status.total, status.available) == (4, 5, True)
        assert certificate_services.certificate_status(weak, course).code == "not_eligible"
        monkeypatch.setattr(app.config["VHS"], "certificate_min_attendance", 81)
        assert certificate_services.certificate_status(good, course).code == "not_eligible"
        monkeypatch.setattr(app.config["VHS"], "certificate_min_attendance", 60)
        assert certificate_services.certificate_status(weak, course).available


def test_cancelled_sessions_do_not_count(app: Flask, held: dict[str, Any]) -> None:
    with app.app_context():
        course = db.session.get(Course, held["course_id"])
        weak = db.session.get(User, held["weak"].id)
        for s in course.sessions:
            if s.id in held["session_ids"][3:]:
                s.status = SessionStatus.CANCELLED
        db.session.flush()
        status = certificate_services.certificate_status(weak, course)
        assert (status.present, status.total, status.available) == (3, 3, True)


def test_the_pdf_says_everything_with_umlauts(
    app: Flask, client: Any, login: Any, held: dict[str, Any]
) -> None:
    login(held["good"])
    resp = client.get(f"/courses/{held['course_id']}/certificate.pdf")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert resp.mimetype == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(resp.data)).pages)
    flat = " ".join(text.split())
    with app.app_context():
        cert = db.session.execute(sa.select(Certificate)).scalar_one()
        code, issued_by = cert.code, cert.issued_by_id
    assert issued_by is None  # issued to the participant automatically
    for expected in (
        "vhs",
        "Volkshochschule Iserlohn",
        "Teilnahmebescheinigung",
        "Jürgen Müller-Lüdenscheidt",
        "271-105",
        "Englisch für Anfänger – Grundstufe",
        "20 Unterrichtseinheiten",
        "4 von 5",
        "Karla Kursleiterin",
        "Ausstellungsdatum",
        code,
        f"http://vhs.test/certificates/verify/{code}",
    ):
        assert expected in flat, f"{expected!r} missing from:\n{text}"
    # The same certificate again, not a second one.
    assert client.get(f"/courses/{held['course_id']}/certificate.pdf").status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Certificate.id))) == 1


def test_the_pdf_speaks_the_holders_language(
    app: Flask, client: Any, login: Any, held: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.config["VHS"], "certificate_min_attendance", 60)
    login(held["weak"])
    resp = client.get(f"/courses/{held['course_id']}/certificate.pdf")
    text = " ".join(PdfReader(io.BytesIO(resp.data)).pages[0].extract_text().split())
    assert "Certificate of attendance" in text and "Bärbel Schäfer" in text
    assert "3 of 5 sessions" in text


def test_refusals(
    app: Flask, client: Any, login: Any, make_user: Any, held: dict[str, Any]
) -> None:
    login(held["weak"])
    resp = client.get(
        f"/courses/{held['course_id']}/certificate.pdf", headers={"Accept": "application/json"}
    )
    assert (resp.status_code, resp.get_json()["code"]) == (403, "not_eligible")
    login(make_user())
    resp = client.get(
        f"/courses/{held['course_id']}/certificate.pdf", headers={"Accept": "application/json"}
    )
    assert (resp.status_code, resp.get_json()["code"]) == (403, "not_participant")
    with app.app_context():
        db.session.get(Course, held["course_id"]).status = CourseStatus.PUBLISHED
        db.session.commit()
    login(held["good"])
    resp = client.get(
        f"/courses/{held['course_id']}/certificate.pdf", headers={"Accept": "application/json"}
    )
    assert (resp.status_code, resp.get_json()["code"]) == (409, "course_not_completed")
    assert client.get("/courses/2147483647/certificate.pdf").status_code == 404


def test_course_page_offers_the_certificate(
    app: Flask, client: Any, login: Any, held: dict[str, Any]
) -> None:
    login(held["good"])
    html = client.get(f"/courses/{held['course_id']}").get_data(as_text=True)
    assert f"/courses/{held['course_id']}/certificate.pdf" in html
    login(held["weak"])
    html = client.get(f"/courses/{held['course_id']}").get_data(as_text=True)
    assert "certificate.pdf" not in html
    assert "You attended 3 of 5 sessions" in html


def test_verify_page_and_api_confirm_what_the_certificate_says(
    app: Flask, client: Any, login: Any, held: dict[str, Any]
) -> None:
    login(held["good"])
    client.get(f"/courses/{held['course_id']}/certificate.pdf")
    with app.app_context():
        code = db.session.execute(sa.select(Certificate.code)).scalar_one()
    client.post("/account/logout", data={"csrf_token": client.csrf()})
    page = client.get(f"/certificates/verify/{code}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Jürgen Müller-Lüdenscheidt" in html and "271-105" in html
    assert "juergen@example.org" not in html  # nothing more than the certificate says
    # Codes typed by hand: lower case, without hyphens.
    assert client.get(f"/certificates/verify/{code.replace('-', '').lower()}").status_code == 200
    api = client.get(f"/api/v1/certificates/verify/{code}").get_json()
    assert api["valid"] is True
    assert api["participant_name"] == "Jürgen Müller-Lüdenscheidt"
    assert api["course_code"] == "271-105" and api["teaching_units"] == 20
    assert api["instructors"] == ["Karla Kursleiterin"]
    assert "email" not in api
    assert client.get("/certificates/verify/AAAA-BBBB").status_code == 404
    assert client.get("/api/v1/certificates/verify/nonsense").status_code == 404


def test_staff_revoke_and_issue_by_hand_audited(
    app: Flask, client: Any, login: Any, make_user: Any, held: dict[str, Any]
) -> None:
    login(held["good"])
    client.get(f"/courses/{held['course_id']}/certificate.pdf")
    with app.app_context():
        cert = db.session.execute(sa.select(Certificate)).scalar_one()
        cert_id, code = cert.id, cert.code
    staff = make_user(Role.STAFF, locale="en")
    login(staff)
    page = client.get(f"/staff/courses/{held['course_id']}/certificates").get_data(as_text=True)
    assert code in page and "Bärbel Schäfer" in page
    resp = client.submit(
        f"/staff/certificates/{cert_id}/revoke", {"reason": "Anwesenheit falsch erfasst"}
    )
    assert resp.status_code == 302
    html = client.get(f"/certificates/verify/{code}").get_data(as_text=True)
    assert "revoked" in html
    assert client.get(f"/api/v1/certificates/verify/{code}").get_json()["valid"] is False
    assert (
        client.submit(f"/staff/certificates/{cert_id}/revoke", {"reason": "x"}).status_code == 409
    )
    # Revoked stays revoked for the participant ...
    login(held["good"])
    resp = client.get(
        f"/courses/{held['course_id']}/certificate.pdf", headers={"Accept": "application/json"}
    )
    assert (resp.status_code, resp.get_json()["code"]) == (403, "certificate_revoked")
    # ... until staff issue a new one by hand (also to someone below the threshold).
    login(staff)
    for person in (held["good"], held["weak"]):
        resp = client.submit(
            f"/staff/courses/{held['course_id']}/certificates", {"user_id": person.id}
        )
        assert resp.status_code == 302
    assert (
        client.submit(
            f"/staff/courses/{held['course_id']}/certificates", {"user_id": held["weak"].id}
        ).status_code
        == 409
    )
    with app.app_context():
        certs = db.session.execute(sa.select(Certificate).order_by(Certificate.id)).scalars().all()
        assert len(certs) == 3 and certs[0].revoked and certs[0].code == code
        assert certs[1].code != code and certs[1].issued_by_id == staff.id
        actions = (
            db.session.execute(
                sa.select(AuditEntry.action)
                .where(AuditEntry.actor_id == staff.id)
                .order_by(AuditEntry.id)
            )
            .scalars()
            .all()
        )
        assert actions == ["certificate.revoked", "certificate.issued", "certificate.issued"]
    pdf = client.get(f"/staff/certificates/{certs[2].id}.pdf")
    assert pdf.status_code == 200
    assert "Bärbel Schäfer" in PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    login(held["weak"])
    assert client.get(f"/courses/{held['course_id']}/certificate.pdf").status_code == 200


def test_nobody_but_staff_issues_or_revokes(
    app: Flask, client: Any, login: Any, held: dict[str, Any]
) -> None:
    login(held["teacher"])
    url = f"/staff/courses/{held['course_id']}/certificates"
    assert client.get(url).status_code == 403
    assert client.submit(url, {"user_id": held["good"].id}).status_code == 403


# --- attendance by hand and the report ---------------------------------------------------------


@pytest.fixture
def class_now(app: Flask, make_user: Any) -> dict[str, Any]:
    """An in-person course: one session an hour ago, one next week; two participants."""
    teacher = make_user(Role.INSTRUCTOR, locale="en")
    anna, bernd = make_user(name="Anna Ärger"), make_user(name="Bernd Öz")
    with app.app_context():
        course = online_course(
            starts_in=timedelta(hours=-1), sessions=2, instructors=[teacher], online=False
        )
        for p in (anna, bernd):
            factories.new_enrolment(course, p.id, status="confirmed")
        past, future = sorted(course.sessions, key=lambda s: s.starts_at)
        db.session.commit()
        return {
            "course_id": course.id,
            "past": past.id,
            "future": future.id,
            "teacher": teacher,
            "anna": anna,
            "bernd": bernd,
        }


def test_instructors_mark_attendance_by_hand(
    app: Flask, client: Any, login: Any, class_now: dict[str, Any]
) -> None:
    login(class_now["teacher"])
    url = f"/teaching/sessions/{class_now['past']}/attendance"
    page = client.get(url)
    assert page.status_code == 200
    assert "Anna Ärger" in page.get_data(as_text=True)
    anna, bernd = class_now["anna"].id, class_now["bernd"].id
    resp = client.submit(url, {f"mark_{anna}": "present", f"mark_{bernd}": "absent"})
    assert resp.status_code == 302
    with app.app_context():
        rows = {a.user_id: a for a in db.session.execute(sa.select(Attendance)).scalars()}
        assert rows[anna].manual_present is True and rows[bernd].manual_present is False
        assert rows[anna].marked_by_id == class_now["teacher"].id
        assert db.session.execute(
            sa.select(AuditEntry).where(AuditEntry.action == "attendance.marked")
        ).scalar_one()
    # Clearing a mark.
    client.submit(url, {f"mark_{anna}": "", f"mark_{bernd}": "absent"})
    with app.app_context():
        assert (
            db.session.execute(
                sa.select(Attendance.manual_present).where(Attendance.user_id == anna)
            ).scalar_one()
            is None
        )
    # A value that is not offered is refused; so is a session that has not started.
    assert client.submit(url, {f"mark_{anna}": "maybe"}).status_code == 422
    future = f"/teaching/sessions/{class_now['future']}/attendance"
    assert client.submit(future, {f"mark_{anna}": "present"}).status_code == 409


def test_only_the_courses_instructors_and_staff_see_or_mark_attendance(
    app: Flask, client: Any, login: Any, make_user: Any, api_token: Any, class_now: dict[str, Any]
) -> None:
    other = make_user(Role.INSTRUCTOR)
    login(other)
    for url in (
        f"/teaching/sessions/{class_now['past']}/attendance",
        f"/teaching/courses/{class_now['course_id']}/attendance",
        f"/teaching/courses/{class_now['course_id']}/attendance.csv",
    ):
        assert client.get(url).status_code == 403
    mark = client.submit(
        f"/teaching/sessions/{class_now['past']}/attendance",
        {f"mark_{class_now['anna'].id}": "present"},
    )
    assert mark.status_code == 403
    client.post("/account/logout", data={"csrf_token": client.csrf()})
    api = client.get(
        f"/api/v1/courses/{class_now['course_id']}/attendance", headers=api_token(other)
    )
    assert (api.status_code, api.get_json()["code"]) == (403, "not_instructor")
    resident = make_user()
    assert (
        client.get(
            f"/api/v1/courses/{class_now['course_id']}/attendance", headers=api_token(resident)
        ).status_code
        == 403
    )
    staff = make_user(Role.STAFF)
    assert (
        client.get(
            f"/api/v1/courses/{class_now['course_id']}/attendance", headers=api_token(staff)
        ).status_code
        == 200
    )


def test_report_html_csv_and_api_show_both_sources(
    app: Flask, client: Any, login: Any, api_token: Any, class_now: dict[str, Any]
) -> None:
    with app.app_context():
        from courses.models import Session

        past = db.session.get(Session, class_now["past"])
        attend(past, class_now["anna"], seconds=45 * 60)
        attend(past, class_now["bernd"], manual=True)
        db.session.commit()
    login(class_now["teacher"])
    html = client.get(f"/teaching/courses/{class_now['course_id']}/attendance").get_data(
        as_text=True
    )
    assert "Anna Ärger" in html and "Bernd Öz" in html
    assert html.count("✓") == 2

    resp = client.get(f"/teaching/courses/{class_now['course_id']}/attendance.csv")
    assert resp.mimetype == "text/csv"
    raw = resp.get_data()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:2] == ["Name", "E-mail address"] and len(rows[0]) == 2 + 2 + 3
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["Anna Ärger"][2] == "present (45 min in Jitsi)"
    assert by_name["Bernd Öz"][2] == "present"
    assert by_name["Anna Ärger"][3] == ""  # not held yet
    assert by_name["Anna Ärger"][4] == "1/2"

    body = client.get(
        f"/api/v1/courses/{class_now['course_id']}/attendance",
        headers=api_token(class_now["teacher"]),
    ).get_json()
    assert [s["id"] for s in body["sessions"]] == [class_now["past"], class_now["future"]]
    anna = next(p for p in body["participants"] if p["user_id"] == class_now["anna"].id)
    assert anna["present"] == 1 and anna["total"] == 2 and anna["percent"] == 50
    cell = anna["sessions"][0]
    assert cell["seconds_present"] == 45 * 60 and cell["manual_present"] is None and cell["present"]
    bernd = next(p for p in body["participants"] if p["user_id"] == class_now["bernd"].id)
    assert bernd["sessions"][0]["manual_present"] is True


def test_a_manual_absent_mark_overrides_jitsi(app: Flask, class_now: dict[str, Any]) -> None:
    with app.app_context():
        from courses.models import Session

        row = attend(
            db.session.get(Session, class_now["past"]),
            class_now["anna"],
            seconds=3600,
            manual=False,
        )
        assert not attendance_services.is_present(row)
        row.manual_present = None
        assert attendance_services.is_present(row)


def test_gdpr_export_lists_attendance_and_certificates(
    app: Flask, client: Any, login: Any, held: dict[str, Any]
) -> None:
    login(held["good"])
    client.get(f"/courses/{held['course_id']}/certificate.pdf")
    data = client.get("/account/export").get_json()
    part = data["webinars"] if "webinars" in data else data["sections"]["webinars"]
    assert len(part["attendance"]) == 5
    assert part["certificates"][0]["course_code"] == "271-105"
