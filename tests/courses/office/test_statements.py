"""Instructor fees and fee statements (Honorarabrechnungen).

Rates per instructor and course (per unit or flat); a statement per instructor and term lists
the held sessions only (not cancelled, already over); issuing numbers it without gaps per year
and freezes it: later session changes do not alter it, and the ORM refuses any change. An
instructor sees and downloads their own statements only.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from courses.models import Course, Term
from courses.office import statements as statement_services
from courses.office.models import FeeStatement, FeeStatementLine, InstructorRate, RateKind
from courses.planning import sessions as session_services
from tests.conftest import PASSWORD
from tests.courses import factories
from tests.courses.office.factories import new_held_course, new_statement, office_staff
from vhs.accounts.models import Role, User
from vhs.accounts.services import erase_account
from vhs.audit import AuditEntry
from vhs.db import db, utcnow
from vhs.errors import Conflict, Forbidden, Invalid, NotFound
from vhs.i18n import local_zone
from vhs.uow import unit_of_work

# --- the draft: held sessions only -----------------------------------------------------------


def test_a_statement_lists_held_sessions_only(app: Any) -> None:
    """Two past sessions count; a cancelled past one and a future one do not."""
    with app.app_context(), unit_of_work():
        teacher = factories.new_user("instructor", name="Karla Kursleiterin")
        course = new_held_course(teacher, sessions=3, rate_cents=3500)
        future = course.sessions[-1]
        future.starts_at = utcnow() + timedelta(days=2)
        future.ends_at = future.starts_at + timedelta(minutes=90)
        session_services.cancel_session(office_staff(), course.sessions[0])
        draft = statement_services.draft_statement(teacher, course.term)
        assert [line.session_id for line in draft.lines] == [course.sessions[1].id]
        (line,) = draft.lines
        assert (line.units_tenths, line.rate_cents, line.amount_cents) == (20, 3500, 7000)
        assert (draft.units, draft.total_cents, draft.can_issue) == (2, 7000, True)


def test_per_unit_amounts_round_half_up_per_line(app: Any) -> None:
    """60 minutes are 1.3 units: 1.3 × 33,33 € = 43,329 → 43,33 €."""
    with app.app_context(), unit_of_work():
        teacher = factories.new_user("instructor")
        course = new_held_course(teacher, sessions=2, rate_cents=3333, duration_minutes=60)
        draft = statement_services.draft_statement(teacher, course.term)
        assert [line.amount_cents for line in draft.lines] == [4333, 4333]
        assert statement_services.per_unit_amount(5, 1) == 1  # 0,5 ct rounds up


def test_a_flat_fee_is_one_line_after_the_sessions(app: Any) -> None:
    with app.app_context(), unit_of_work():
        teacher = factories.new_user("instructor")
        course = new_held_course(teacher, sessions=2, rate_cents=48000, kind=RateKind.FLAT)
        draft = statement_services.draft_statement(teacher, course.term)
        assert [(line.session_id is None, line.amount_cents) for line in draft.lines] == [
            (False, 0),
            (False, 0),
            (True, 48000),
        ]
        assert (draft.units, draft.total_cents) == (4, 48000)


def test_missing_rates_and_nothing_held_refuse_the_issue(app: Any) -> None:
    with app.app_context(), unit_of_work():
        staff = office_staff()
        teacher = factories.new_user("instructor")
        course = new_held_course(teacher, rate_cents=None)
        with pytest.raises(Conflict) as exc:
            statement_services.issue_statement(staff, teacher, course.term)
        assert exc.value.code == "rate_missing" and course.code in str(exc.value.detail)
        other = factories.new_user("instructor")
        future = factories.new_course(instructors=[other.id], starts_in_days=10)
        with pytest.raises(Conflict) as exc:
            statement_services.issue_statement(staff, other, future.term)
        assert exc.value.code == "nothing_held"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FeeStatement)) == 0


def test_only_staff_preview_and_issue_and_only_for_teachers(app: Any) -> None:
    with app.app_context(), unit_of_work():
        teacher = factories.new_user("instructor")
        course = new_held_course(teacher)
        for role in (Role.INSTRUCTOR, Role.RESIDENT):
            actor = teacher if role is Role.INSTRUCTOR else factories.new_user(role)
            with pytest.raises(Forbidden):
                statement_services.issue_statement(actor, teacher, course.term)
            with pytest.raises(Forbidden):
                statement_services.preview_statement(actor, teacher, course.term)
        with pytest.raises(NotFound):
            statement_services.issue_statement(office_staff(), factories.new_user(), course.term)


# --- issuing: numbers and freezing -----------------------------------------------------------


def test_numbers_are_gapless_per_year_and_one_statement_per_term(app: Any) -> None:
    with app.app_context(), unit_of_work():
        year = utcnow().astimezone(local_zone()).year
        first = new_statement(factories.new_user("instructor"))
        second = new_statement(factories.new_user("instructor"))
        assert (first.number, second.number) == (f"H-{year}-00001", f"H-{year}-00002")
        assert (first.sequence, second.sequence) == (1, 2)
        teacher = db.session.get(User, first.instructor_id)
        with pytest.raises(Conflict) as exc:
            statement_services.issue_statement(office_staff(), teacher, first.term)
        assert exc.value.code == "statement_exists"
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "fee_statement.issued")
            )
            == 2
        )


def test_an_issued_statement_does_not_follow_later_session_changes(app: Any) -> None:
    """Freezing: a session moved, another cancelled, the rate changed — the statement stays."""
    with app.app_context(), unit_of_work():
        teacher = factories.new_user("instructor")
        statement = new_statement(teacher, sessions=2, rate_cents=4000)
        before = [(x.starts_at, x.ends_at, x.units_tenths, x.amount_cents) for x in statement.lines]
        assert statement.total_cents == 16000
        course = db.session.get(Course, statement.lines[0].course_id)
        staff = office_staff()
        session_services.update_session(
            staff,
            course.sessions[0],
            {"ends_at": course.sessions[0].starts_at + timedelta(hours=3)},
        )
        session_services.cancel_session(staff, course.sessions[1])
        statement_services.set_rate(staff, course, teacher.id, RateKind.PER_UNIT, 9900)
        statement_id = statement.id
    with app.app_context():
        again = db.session.get(FeeStatement, statement_id)
        after = [(x.starts_at, x.ends_at, x.units_tenths, x.amount_cents) for x in again.lines]
        assert after == before and again.total_cents == 16000
        # What a statement issued now would say is different: the rules did apply to the draft.
        draft = statement_services.draft_statement(
            db.session.get(User, again.instructor_id), again.term
        )
        assert draft.total_cents != again.total_cents


@pytest.mark.parametrize("target", ["statement", "line"])
def test_the_orm_refuses_to_change_an_issued_statement(app: Any, target: str) -> None:
    with app.app_context(), unit_of_work():
        statement_id = new_statement(factories.new_user("instructor")).id
    with app.app_context():
        statement = db.session.get(FeeStatement, statement_id)
        if target == "statement":
            statement.total_cents = 1
        else:
            statement.lines[0].amount_cents = 1
        with pytest.raises(Conflict) as exc:
            db.session.flush()
        assert exc.value.code == "statement_frozen"
        db.session.rollback()
        line = db.session.get(FeeStatementLine, statement.lines[0].id)
        db.session.delete(line)
        with pytest.raises(Conflict):
            db.session.flush()
        db.session.rollback()
        assert db.session.get(FeeStatement, statement_id).total_cents > 1


# --- rates -----------------------------------------------------------------------------------


def test_rates_are_for_the_course_s_own_instructors_within_bounds(app: Any) -> None:
    with app.app_context(), unit_of_work():
        staff = office_staff()
        teacher = factories.new_user("instructor")
        course = factories.new_course(instructors=[teacher.id])
        rate = statement_services.set_rate(staff, course, teacher.id, "flat", 30000)
        assert (rate.kind, rate.amount_cents) == (RateKind.FLAT, 30000)
        with pytest.raises(NotFound):
            statement_services.set_rate(
                staff, course, factories.new_user("instructor").id, "flat", 1
            )
        with pytest.raises(Invalid) as exc:
            statement_services.set_rate(staff, course, teacher.id, "hourly", -1)
        assert set(exc.value.errors) == {"kind", "amount_cents"}
        with pytest.raises(Forbidden):
            statement_services.set_rate(teacher, course, teacher.id, "flat", 1)


# --- pages -----------------------------------------------------------------------------------


def _held(app: Any, teacher: User, **kw: Any) -> tuple[int, int]:
    with app.app_context(), unit_of_work():
        course = new_held_course(teacher.id, **kw)
        return course.id, course.term_id


def test_staff_set_a_rate_preview_and_issue_on_pages(
    app: Any, client: Any, make_user: Any, login: Any
) -> None:
    staff = make_user(Role.STAFF, name="Sabine Sachbearbeiterin")
    teacher = make_user(Role.INSTRUCTOR, name="Karla Kursleiterin")
    login(staff)
    course_id, term_id = _held(app, teacher, rate_cents=None, sessions=2, duration_minutes=60)
    page = client.get(f"/staff/courses/{course_id}/rates").get_data(as_text=True)
    assert "Noch kein Honorar vereinbart." in page
    prefix = f"rate-{teacher.id}"
    bad = client.submit(
        f"/staff/courses/{course_id}/rates/{teacher.id}",
        {f"{prefix}-kind": "per_unit", f"{prefix}-amount_cents": "zehn"},
    )
    assert bad.status_code == 422 and f'id="{prefix}-amount_cents-error"' in bad.get_data(
        as_text=True
    )
    resp = client.submit(
        f"/staff/courses/{course_id}/rates/{teacher.id}",
        {f"{prefix}-kind": "per_unit", f"{prefix}-amount_cents": "33,50"},
    )
    assert resp.status_code == 302
    assert "wurde gespeichert" in client.get(resp.headers["Location"]).get_data(as_text=True)

    listing = client.get(f"/staff/statements?term_id={term_id}").get_data(as_text=True)
    assert "Karla Kursleiterin" in listing and "Vorschau und ausstellen" in listing
    preview = client.get(f"/staff/statements/preview?term_id={term_id}&instructor_id={teacher.id}")
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200
    # 2 × 60 min = 2 × 1,3 UE at 33,50 € = 2 × 43,55 €
    assert "1,3" in text and "43,55" in text and "87,10" in text
    assert "Abrechnung jetzt ausstellen" in text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FeeStatement)) == 0
    resp = client.submit(
        "/staff/statements/issue", {"term_id": str(term_id), "instructor_id": str(teacher.id)}
    )
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "wurde ausgestellt" in page and "87,10" in page
    again = client.submit(
        "/staff/statements/issue", {"term_id": str(term_id), "instructor_id": str(teacher.id)}
    )
    assert again.status_code == 302
    assert "bereits ausgestellt" in client.get(again.headers["Location"]).get_data(as_text=True)


def test_a_rate_for_someone_who_does_not_teach_the_course_is_404(
    app: Any, client: Any, make_user: Any, login: Any
) -> None:
    login(make_user(Role.STAFF))
    teacher = make_user(Role.INSTRUCTOR)
    course_id, _term = _held(app, teacher)
    stranger = make_user(Role.INSTRUCTOR)
    resp = client.submit(
        f"/staff/courses/{course_id}/rates/{stranger.id}",
        {f"rate-{stranger.id}-kind": "flat", f"rate-{stranger.id}-amount_cents": "10,00"},
    )
    assert resp.status_code == 404


def _issued(app: Any, teacher: User, **kw: Any) -> int:
    with app.app_context(), unit_of_work():
        return new_statement(teacher.id, **kw).id


def test_an_instructor_reads_and_downloads_their_own_statement(
    app: Any, client: Any, make_user: Any, login: Any
) -> None:
    teacher = make_user(Role.INSTRUCTOR, name="Jürgen Müller-Lüdenscheidt")
    statement_id = _issued(app, teacher, sessions=2, rate_cents=3550)
    login(teacher)
    listing = client.get("/teaching/statements").get_data(as_text=True)
    assert "Meine Honorarabrechnungen" in listing and "H-" in listing
    page = client.get(f"/teaching/statements/{statement_id}").get_data(as_text=True)
    assert "142,00" in page  # 2 × 2 UE × 35,50 €

    pdf = client.get(f"/teaching/statements/{statement_id}.pdf")
    assert pdf.mimetype == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Honorarabrechnung H-" in text and "Jürgen Müller-Lüdenscheidt" in text
    assert "142,00" in text and "je UE" in text

    resp = client.get(f"/teaching/statements/{statement_id}.csv")
    raw = resp.get_data(as_text=True)
    assert raw.startswith("\ufeff") and resp.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(raw.lstrip("\ufeff")), delimiter=";"))
    session_rows = [r for r in rows if len(r) == 8 and r[5] == "je UE"]
    assert len(session_rows) == 2 and session_rows[0][4] == "2" and session_rows[0][7] == "71,00"
    assert rows[-1][0] == "Gesamt" and rows[-1][-1] == "142,00"


@pytest.mark.parametrize("suffix", ["", ".pdf", ".csv"])
def test_another_instructor_gets_403_and_nothing_of_the_statement(
    app: Any, client: Any, make_user: Any, login: Any, suffix: str
) -> None:
    owner = make_user(Role.INSTRUCTOR, name="Ines Andere")
    statement_id = _issued(app, owner)
    login(make_user(Role.INSTRUCTOR, name="Bernd Neugier"))
    resp = client.get(f"/teaching/statements/{statement_id}{suffix}")
    assert resp.status_code == 403
    assert "Ines Andere" not in resp.get_data(as_text=True)
    assert "H-" not in resp.get_data(as_text=True)
    listing = client.get("/teaching/statements").get_data(as_text=True)
    assert "Ines Andere" not in listing
    assert "Für Sie wurde noch keine Honorarabrechnung ausgestellt." in listing


# --- API -------------------------------------------------------------------------------------


def test_the_api_sets_rates_previews_issues_and_serves_the_statement(
    app: Any, client: Any, make_user: Any, api_token: Any
) -> None:
    staff = api_token(make_user(Role.STAFF))
    teacher = make_user(Role.INSTRUCTOR, name="Karla Kursleiterin")
    course_id, term_id = _held(app, teacher, rate_cents=None, sessions=2)
    resp = client.put(
        f"/api/v1/staff/courses/{course_id}/rates/{teacher.id}",
        json={"kind": "per_unit", "amount_cents": 3000},
        headers=staff,
    )
    assert resp.status_code == 200 and resp.json["instructor_name"] == "Karla Kursleiterin"
    assert (
        client.get(f"/api/v1/staff/courses/{course_id}/rates", headers=staff).json[0][
            "amount_cents"
        ]
        == 3000
    )
    preview = client.get(
        f"/api/v1/staff/statements/preview?term_id={term_id}&instructor_id={teacher.id}",
        headers=staff,
    ).json
    assert (preview["units"], preview["total_cents"], preview["can_issue"]) == (4, 12000, True)
    resp = client.post(
        "/api/v1/staff/statements",
        json={"term_id": term_id, "instructor_id": teacher.id},
        headers=staff,
    )
    assert resp.status_code == 201, resp.json
    statement = resp.json
    assert statement["total_cents"] == 12000 and len(statement["lines"]) == 2
    assert statement["lines"][0]["units"] == 2
    again = client.post(
        "/api/v1/staff/statements",
        json={"term_id": term_id, "instructor_id": teacher.id},
        headers=staff,
    )
    assert again.status_code == 409 and again.json["code"] == "statement_exists"
    overview = client.get(f"/api/v1/staff/statements?term_id={term_id}", headers=staff).json
    assert overview[0]["statement"]["number"] == statement["number"]

    own = api_token(teacher)
    assert [s["id"] for s in client.get("/api/v1/statements", headers=own).json] == [
        statement["id"]
    ]
    assert (
        client.get(f"/api/v1/statements/{statement['id']}", headers=own).json["number"]
        == (statement["number"])
    )
    pdf = client.get(f"/api/v1/statements/{statement['id']}/pdf", headers=own)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    other = api_token(make_user(Role.INSTRUCTOR))
    for path in (
        f"/api/v1/statements/{statement['id']}",
        f"/api/v1/statements/{statement['id']}/pdf",
    ):
        refused = client.get(path, headers=other)
        assert refused.status_code == 403 and refused.json["code"] == "not_your_statement"
    assert client.get("/api/v1/statements", headers=other).json == []
    assert client.get("/api/v1/statements/999999", headers=own).status_code == 404


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"kind": "hourly", "amount_cents": 3000}, 422),
        ({"kind": "flat", "amount_cents": -1}, 422),
        ({"kind": "flat", "amount_cents": 30.5}, 422),
        ({"kind": "flat"}, 422),
    ],
)
def test_the_api_refuses_bad_rates(
    app: Any, client: Any, make_user: Any, api_token: Any, payload: dict, status: int
) -> None:
    teacher = make_user(Role.INSTRUCTOR)
    course_id, _term = _held(app, teacher, rate_cents=None)
    resp = client.put(
        f"/api/v1/staff/courses/{course_id}/rates/{teacher.id}",
        json=payload,
        headers=api_token(make_user(Role.STAFF)),
    )
    assert resp.status_code == status
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(InstructorRate)) == 0


def test_the_api_refuses_an_issue_without_rate_or_for_unknown_people(
    app: Any, client: Any, make_user: Any, api_token: Any
) -> None:
    staff = api_token(make_user(Role.STAFF))
    teacher = make_user(Role.INSTRUCTOR)
    _course, term_id = _held(app, teacher, rate_cents=None)
    resp = client.post(
        "/api/v1/staff/statements",
        json={"term_id": term_id, "instructor_id": teacher.id},
        headers=staff,
    )
    assert resp.status_code == 409 and resp.json["code"] == "rate_missing"
    resident = make_user(Role.RESIDENT)
    resp = client.post(
        "/api/v1/staff/statements",
        json={"term_id": term_id, "instructor_id": resident.id},
        headers=staff,
    )
    assert resp.status_code == 404
    with app.app_context():
        assert db.session.get(Term, term_id) is not None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FeeStatement)) == 0


# --- personal data -----------------------------------------------------------------------------


def test_the_data_export_holds_the_instructor_s_statements_and_erasure_keeps_them(
    app: Any, client: Any, make_user: Any, login: Any
) -> None:
    teacher = make_user(Role.INSTRUCTOR, name="Karla Kursleiterin")
    statement_id = _issued(app, teacher, sessions=2, rate_cents=3000)
    login(teacher)
    data = client.get("/account/export").get_json()
    (exported,) = data["fee_statements"]["statements"]
    assert exported["total_cents"] == 12000 and exported["teaching_units"] == 4
    assert [line["amount_cents"] for line in exported["lines"]] == [6000, 6000]
    with app.app_context(), unit_of_work():
        erase_account(db.session.get(User, teacher.id), PASSWORD)
    with app.app_context():
        kept = db.session.get(FeeStatement, statement_id)
        assert kept.instructor_name == "Karla Kursleiterin" and kept.total_cents == 12000


def test_the_issue_and_preview_pages_refuse_unknown_or_missing_ids(
    app: Any, client: Any, make_user: Any, login: Any
) -> None:
    login(make_user(Role.STAFF))
    teacher = make_user(Role.INSTRUCTOR)
    _course, term_id = _held(app, teacher)
    resident = make_user(Role.RESIDENT)
    assert client.get(f"/staff/statements/preview?term_id={term_id}").status_code == 404
    assert (
        client.get(
            f"/staff/statements/preview?term_id={term_id}&instructor_id={resident.id}"
        ).status_code
        == 404
    )
    assert client.submit("/staff/statements/issue", {"term_id": str(term_id)}).status_code == 422
    resp = client.submit(
        "/staff/statements/issue", {"term_id": "999999", "instructor_id": str(teacher.id)}
    )
    assert resp.status_code == 404
    assert client.get("/staff/statements?term_id=abc").status_code == 422
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FeeStatement)) == 0
