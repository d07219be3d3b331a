"""Teaching units: derived from the held sessions, a recorded staff override, the effective figure.

The derived figure follows every session change (a cancelled session is not counted); the
override is set and removed through the staff page (with a confirmation step) and the API,
each refusal answered by field; certificates, the catalogue and the API use the effective
figure. Migration 0016 turns typed-in values into overrides only where they differ.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from courses import rules
from courses.certificates.services import _details
from courses.models import Course, SessionStatus
from courses.planning import sessions as session_services
from courses.planning.units import parse_units, set_units_override
from tests.conftest import base_config, fresh_database_url
from tests.courses import factories
from tests.courses.factories_staff import (  # noqa: F401  (fixtures)
    audit_actions_fixture,
    query_fixture,
    staff_fixture,
)
from vhs import create_app
from vhs.accounts.models import Role
from vhs.db import db
from vhs.errors import Forbidden, Invalid
from vhs.uow import unit_of_work

# --- the rule ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "tenths"),
    [(45, 10), (90, 20), (60, 13), (100, 22), (120, 27), (30, 7), (135, 30), (2, 0), (3, 1)],
)
def test_a_session_counts_minutes_over_45_to_one_decimal_half_up(minutes: int, tenths: int) -> None:
    assert rules.units_tenths(minutes) == tenths


def test_units_read_as_whole_numbers_where_they_are() -> None:
    assert rules.units_value(200) == 20 and isinstance(rules.units_value(200), int)
    assert rules.units_value(133) == 13.3


@pytest.mark.parametrize(
    ("typed", "tenths"), [("13,5", 135), ("13.5", 135), (20, 200), (0, 0), ("2000", 20000)]
)
def test_parse_units_accepts_a_decimal_comma(typed: Any, tenths: int) -> None:
    assert parse_units(typed) == tenths


@pytest.mark.parametrize("typed", ["abc", "12,34", "-1", "2000,1", "", "nan", "inf", True, None])
def test_parse_units_refuses_what_is_not_a_unit_count(typed: Any) -> None:
    with pytest.raises(Invalid) as exc:
        parse_units(typed)
    assert "teaching_units" in exc.value.errors


# --- derivation ------------------------------------------------------------------------------


def test_derived_units_follow_the_sessions_and_skip_cancelled_ones(app: Any) -> None:
    """3 × 90 minutes = 6 units; cancelling one leaves 4; a 60-minute session adds 1.3."""
    with app.app_context(), unit_of_work():
        staff = factories.new_user("staff")
        course = factories.new_course(sessions=3, duration_minutes=90)
        assert (course.units_derived_tenths, course.teaching_units) == (60, 6)
        session_services.cancel_session(staff, course.sessions[0])
        assert course.teaching_units == 4
        start = course.sessions[-1].starts_at + timedelta(days=7)
        session_services.add_session(
            staff, course, {"starts_at": start, "ends_at": start + timedelta(minutes=60)}
        )
        assert (course.units_derived_tenths, course.teaching_units) == (53, 5.3)
        moved = next(s for s in course.sessions if s.status is SessionStatus.SCHEDULED)
        session_services.update_session(
            staff, moved, {"ends_at": moved.starts_at + timedelta(minutes=45)}
        )
        assert course.teaching_units == 4.3


def test_the_override_wins_and_is_recorded(app: Any, audit_actions: Any) -> None:
    with app.app_context(), unit_of_work():
        staff = factories.new_user("staff", name="Sabine Sachbearbeiterin")
        course = factories.new_course(sessions=2, duration_minutes=90)
        set_units_override(staff, course, "6,5", "Selbstlernphase")
        assert (course.teaching_units, course.teaching_units_derived) == (6.5, 4)
        assert course.units_override_by_id == staff.id
        assert course.units_override_reason == "Selbstlernphase"
        assert course.units_override_at is not None
        # The certificate says what counts: the override.
        person = factories.new_user()
        assert _details(course, person, 2, 2)["teaching_units"] == 6.5
        set_units_override(staff, course, None, "")
        assert (course.teaching_units, course.units_override_tenths) == (4, None)
        code = course.code
    actions = audit_actions()
    overridden = [d for a, _, d in actions if a == "course.units_overridden"]
    assert overridden == [
        {
            "code": code,
            "derived": 4,
            "before": None,
            "after": 6.5,
            "reason": "Selbstlernphase",
        }
    ]
    assert [a for a, _, _ in actions if a == "course.units_override_cleared"]


def test_an_override_needs_a_reason_and_staff(app: Any) -> None:
    with app.app_context(), unit_of_work():
        course = factories.new_course()
        staff = factories.new_user("staff")
        with pytest.raises(Invalid) as exc:
            set_units_override(staff, course, "12", "  ")
        assert list(exc.value.errors) == ["reason"]
        with pytest.raises(Invalid) as exc:
            set_units_override(staff, course, "12", "x" * (rules.REASON_MAX + 1))
        assert list(exc.value.errors) == ["reason"]
        for role in (Role.INSTRUCTOR, Role.RESIDENT):
            with pytest.raises(Forbidden):
                set_units_override(factories.new_user(role), course, "12", "weil")


# --- the staff page --------------------------------------------------------------------------


def test_the_course_page_shows_derived_and_override_side_by_side(
    client: Any, make_user: Any, login: Any, make_course: Any, load: Any
) -> None:
    """German page: "4" derived, "6,5" override with who and why; then removed after asking."""
    staff = make_user(Role.STAFF, name="Sabine Sachbearbeiterin")
    login(staff)
    course = make_course(sessions=2, duration_minutes=90)
    page = client.get(f"/staff/courses/{course.id}/edit").get_data(as_text=True)
    assert "Aus den Terminen errechnet" in page and "Abweichend festlegen" in page
    resp = client.submit(
        f"/staff/courses/{course.id}/teaching-units",
        {"units-teaching_units": "6,5", "units-reason": "BAMF-Zählung"},
    )
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "auf 6,5 festgelegt" in page  # the flash
    assert "<strong>6,5</strong>" in page and "Sabine Sachbearbeiterin" in page
    assert "BAMF-Zählung" in page
    assert load(Course, course.id).units_override_tenths == 65

    confirm = client.get(f"/staff/courses/{course.id}/teaching-units/clear")
    assert confirm.status_code == 200
    assert "Abweichende Unterrichtseinheiten entfernen?" in confirm.get_data(as_text=True)
    assert load(Course, course.id).units_override_tenths == 65  # asking changes nothing
    resp = client.submit(f"/staff/courses/{course.id}/teaching-units/clear", {"reason": ""})
    assert resp.status_code == 302
    assert load(Course, course.id).units_override_tenths is None
    assert "Die Abweichung wurde entfernt" in client.get(resp.headers["Location"]).get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    ("units", "reason", "field"),
    [
        ("zwölf", "weil", "units-teaching_units"),
        ("12,25", "weil", "units-teaching_units"),
        ("2001", "weil", "units-teaching_units"),
        ("12", "", "units-reason"),
    ],
)
def test_the_page_refuses_a_bad_override_by_field(
    client: Any, staff: Any, make_course: Any, load: Any, units: str, reason: str, field: str
) -> None:
    course = make_course()
    resp = client.submit(
        f"/staff/courses/{course.id}/teaching-units",
        {"units-teaching_units": units, "units-reason": reason},
    )
    assert resp.status_code == 422
    assert f'id="{field}-error"' in resp.get_data(as_text=True)
    assert load(Course, course.id).units_override_tenths is None


def test_the_public_page_shows_fractional_units_in_german(client: Any, make_course: Any) -> None:
    course = make_course(sessions=1, duration_minutes=60)
    page = client.get(f"/courses/{course.id}").get_data(as_text=True)
    assert "1,3 Unterrichtseinheiten à 45 Minuten" in page


# --- the API ---------------------------------------------------------------------------------


def test_the_api_sets_reads_and_clears_the_override(
    client: Any, make_user: Any, api_token: Any, make_course: Any
) -> None:
    headers = api_token(make_user(Role.STAFF, name="Sabine Sachbearbeiterin"))
    course = make_course(sessions=3, duration_minutes=60)
    url = f"/api/v1/staff/courses/{course.id}/teaching-units"
    got = client.get(url, headers=headers).json
    assert (got["teaching_units"], got["teaching_units_derived"]) == (3.9, 3.9)
    assert got["teaching_units_override"] is None
    resp = client.put(url, json={"teaching_units": 4, "reason": "Abschlusstest"}, headers=headers)
    assert resp.status_code == 200, resp.json
    assert (
        resp.json["teaching_units"] == 4 and resp.json["override_by"] == "Sabine Sachbearbeiterin"
    )
    detail = client.get(f"/api/v1/staff/courses/{course.id}", headers=headers).json
    assert (detail["teaching_units"], detail["teaching_units_derived"]) == (4, 3.9)
    resp = client.put(url, json={"teaching_units": None}, headers=headers)
    assert resp.status_code == 200 and resp.json["teaching_units_override"] is None


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"teaching_units": 4.25, "reason": "x"}, "teaching_units"),
        ({"teaching_units": "4", "reason": "x"}, "teaching_units"),
        ({"teaching_units": 2001, "reason": "x"}, "teaching_units"),
        ({"teaching_units": 4}, "reason"),
    ],
)
def test_the_api_refuses_a_bad_override(
    client: Any, make_user: Any, api_token: Any, make_course: Any, payload: dict, field: str
) -> None:
    headers = api_token(make_user(Role.STAFF))
    course = make_course()
    resp = client.put(
        f"/api/v1/staff/courses/{course.id}/teaching-units", json=payload, headers=headers
    )
    assert resp.status_code == 422
    assert resp.mimetype == "application/problem+json"
    assert field in str(resp.json.get("errors"))


def test_the_api_refuses_instructors(
    client: Any, make_user: Any, api_token: Any, make_course: Any
) -> None:
    teacher = make_user(Role.INSTRUCTOR)
    course = make_course(instructors=[teacher.id])
    resp = client.put(
        f"/api/v1/staff/courses/{course.id}/teaching-units",
        json={"teaching_units": 1, "reason": "mehr"},
        headers=api_token(teacher),
    )
    assert resp.status_code == 403


# --- migration 0016 --------------------------------------------------------------------------


@pytest.fixture
def fresh_url(tmp_path: Any) -> Iterator[str]:
    """An empty database of the suite's kind."""
    yield from fresh_database_url(tmp_path, "migration_0016")


def _insert(conn: Any, table: str, **values: Any) -> int:
    cols = ", ".join(values)
    marks = ", ".join(f":{k}" for k in values)
    conn.execute(sa.text(f"INSERT INTO {table} ({cols}) VALUES ({marks})"), values)
    return conn.execute(sa.text(f"SELECT max(id) FROM {table}")).scalar_one()


@pytest.mark.live
def test_migration_keeps_typed_units_only_where_they_differ(fresh_url: str) -> None:
    """Typed 20 for 3 × 90 min (6 units) → override 20; typed 6 → none; typed 0 → none."""
    app = create_app(base_config(fresh_url))
    now = datetime(2027, 3, 1, 17, 0, tzinfo=UTC)
    with app.app_context():
        upgrade(revision="0015_odl_distributors")
        with db.engine.begin() as conn:
            term = _insert(
                conn,
                "terms",
                name="Frühjahr 2027",
                starts_on="2027-02-01",
                ends_on="2027-07-31",
                enrolment_opens_at=now,
                status="published",
                created_at=now,
            )
            cat = _insert(
                conn,
                "categories",
                slug="sprachen",
                name_de="Sprachen",
                name_en="Languages",
                position=0,
            )
            ids = {}
            for code, typed in (("A-1", 20), ("A-2", 6), ("A-3", 0)):
                ids[code] = _insert(
                    conn,
                    "courses",
                    term_id=term,
                    category_id=cat,
                    code=code,
                    title=code,
                    subtitle="",
                    description="",
                    language="de",
                    format="in_person",
                    venue="",
                    room="",
                    fee_cents=0,
                    currency="EUR",
                    capacity=10,
                    min_participants=1,
                    cancellation_days=7,
                    teaching_units=typed,
                    status="published",
                    seats_taken=0,
                    waitlist_count=0,
                    session_count=3,
                    search_document=code,
                    created_at=now,
                    updated_at=now,
                    cancelled_reason="",
                )
                for n in range(4):
                    start = now + timedelta(days=7 * n)
                    _insert(
                        conn,
                        "course_sessions",
                        uuid=f"{code}-{n}",
                        course_id=ids[code],
                        starts_at=start,
                        ends_at=start + timedelta(minutes=90),
                        online=False,
                        room="",
                        status="cancelled" if n == 3 else "scheduled",
                        sequence=0,
                        note="",
                        created_at=now,
                        updated_at=now,
                    )
        upgrade(revision="0016_office")
        with db.engine.connect() as conn:
            rows = {
                r.code: r
                for r in conn.execute(
                    sa.text(
                        "SELECT code, units_derived_tenths, units_override_tenths, "
                        "units_override_reason FROM courses"
                    )
                )
            }
            found = (
                conn.execute(
                    sa.text("SELECT rowid FROM courses_fts WHERE courses_fts MATCH 'A'")
                ).all()
                if conn.dialect.name == "sqlite"
                else [1]
            )
        assert {c: (r[1], r[2]) for c, r in rows.items()} == {
            "A-1": (60, 200),
            "A-2": (60, None),
            "A-3": (60, None),
        }
        assert "Migration 0016" in rows["A-1"][3] and rows["A-2"][3] == ""
        assert found, "the full-text index survives the table rebuild"

        downgrade(revision="0015_odl_distributors")
        with db.engine.connect() as conn:
            back = dict(conn.execute(sa.text("SELECT code, teaching_units FROM courses")).all())
        assert back == {"A-1": 20, "A-2": 6, "A-3": 6}
        db.engine.dispose()
