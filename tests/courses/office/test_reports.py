"""Staff reports per term: the figures, the filters, the page in German, the CSV and the API.

One term with three categories' courses: Englisch (under Sprachen) at the Stadtbahnhof with
three bookings (two reduced), one cancellation and two payments (one partly refunded); a
Gesundheit course at the Hallenbad starting in five days below its minimum, with a teaching
units override; a cancelled Sprachen course; a draft that counts for nothing.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from courses.models import Category, Course, CourseStatus, ReductionReason, Term
from courses.office import reports as report_services
from courses.planning.units import set_units_override
from tests.courses import factories
from vhs.accounts.models import Role
from vhs.db import db
from vhs.errors import Forbidden, Invalid
from vhs.payments.models import Payment, PaymentStatus, Provider
from vhs.uow import unit_of_work


def _pay(enrolment: Any, cents: int, status: PaymentStatus, refunded: int = 0) -> None:
    db.session.add(
        Payment(
            purpose_type="enrolment",
            purpose_id=enrolment.id,
            user_id=enrolment.user_id,
            description="Kursentgelt",
            amount_cents=cents,
            provider=Provider.MANUAL,
            status=status,
            refunded_cents=refunded,
        )
    )


@pytest.fixture
def world(app: Any) -> dict[str, int]:
    """The term described above; ids by name."""
    with app.app_context(), unit_of_work():
        staff = factories.new_user("staff")
        term = factories.new_term(name="Frühjahr Bericht")
        sprachen = factories.new_category(name_de="Sprachen", name_en="Languages")
        englisch = factories.new_category(name_de="Englisch", name_en="English", parent=sprachen)
        gesundheit = factories.new_category(name_de="Gesundheit", name_en="Health")
        a = factories.new_course(
            term=term,
            category=englisch,
            venue="Stadtbahnhof",
            capacity=10,
            fee_cents=10000,
            sessions=3,
            duration_minutes=90,
        )
        for reason in (ReductionReason.STUDENT, ReductionReason.JOBSEEKER, None):
            e = factories.new_enrolment(a, status="confirmed", reduction=reason)
            if reason is not ReductionReason.JOBSEEKER:
                _pay(
                    e,
                    10000,
                    PaymentStatus.SUCCEEDED if reason else PaymentStatus.PARTIALLY_REFUNDED,
                    refunded=0 if reason else 2500,
                )
            else:
                _pay(e, 10000, PaymentStatus.FAILED)
        factories.new_enrolment(a, status="cancelled", reduction=ReductionReason.STUDENT)
        b = factories.new_course(
            term=term,
            category=gesundheit,
            venue="Hallenbad",
            capacity=5,
            min_participants=3,
            sessions=2,
            duration_minutes=90,
            starts_in_days=5,
        )
        factories.new_enrolment(b, status="confirmed", reduction=ReductionReason.STUDENT)
        set_units_override(staff, b, 5, "Zusatztermin")
        c = factories.new_course(term=term, category=sprachen, venue="Stadtbahnhof")
        factories.new_enrolment(c, status="cancelled")
        c.status = CourseStatus.CANCELLED
        factories.new_course(term=term, category=sprachen, status="draft", venue="Stadtbahnhof")
        return {
            "term": term.id,
            "sprachen": sprachen.id,
            "englisch": englisch.id,
            "gesundheit": gesundheit.id,
            "a": a.id,
            "b": b.id,
            "c": c.id,
        }


def _report(app: Any, world: dict[str, int], **kw: Any) -> Any:
    with app.app_context():
        staff = factories.new_user("staff")
        filters = report_services.parse_filters(world["term"], kw.get("category"), kw.get("venue"))
        return report_services.term_report(staff, filters)


def test_the_term_in_figures(app: Any, world: dict[str, int]) -> None:
    report = _report(app, world)
    t = report.total
    assert (t.courses, t.cancelled_courses, t.bookings, t.cancellations) == (2, 1, 4, 2)
    assert (t.seats_taken, t.capacity, t.utilisation_percent) == (4, 15, 26.7)
    assert t.units == 11  # 3 × 90 min = 6, and the override 5
    assert (t.revenue_cents, t.refunds_cents, t.net_cents) == (20000, 2500, 17500)
    assert report.reductions[ReductionReason.STUDENT] == 2  # the cancelled one does not count
    assert report.reductions[ReductionReason.JOBSEEKER] == 1
    assert report.reductions[ReductionReason.DISABILITY] == 0
    assert [c.id for c in report.below_minimum] == [world["b"]]
    groups = {(c.name_de, venue): row for c, venue, row in report.groups}
    assert set(groups) == {
        ("Englisch", "Stadtbahnhof"),
        ("Sprachen", "Stadtbahnhof"),
        ("Gesundheit", "Hallenbad"),
    }
    assert groups[("Sprachen", "Stadtbahnhof")].cancelled_courses == 1
    assert groups[("Gesundheit", "Hallenbad")].utilisation_percent == 20.0
    stats = {s.area.name_de: (s.courses, s.units, s.enrolments) for s in report.statistics}
    assert stats == {"Sprachen": (1, 6, 3), "Gesundheit": (1, 5, 1)}


def test_a_category_filter_takes_its_sub_categories(app: Any, world: dict[str, int]) -> None:
    report = _report(app, world, category=world["sprachen"])
    assert (report.total.courses, report.total.cancelled_courses, report.total.bookings) == (
        1,
        1,
        3,
    )
    assert report.below_minimum == []
    assert [s.area.name_de for s in report.statistics] == ["Sprachen"]


def test_a_venue_filter(app: Any, world: dict[str, int]) -> None:
    report = _report(app, world, venue="Hallenbad")
    assert (report.total.courses, report.total.bookings, report.total.units) == (1, 1, 5)
    assert report.reductions[ReductionReason.STUDENT] == 1


def test_refusals(app: Any, world: dict[str, int]) -> None:
    with app.app_context():
        with pytest.raises(Invalid) as exc:
            report_services.parse_filters(999999, "x", "y" * 300)
        assert set(exc.value.errors) == {"term_id", "category_id", "venue"}
        filters = report_services.parse_filters(world["term"])
        with pytest.raises(Forbidden):
            report_services.term_report(factories.new_user("instructor"), filters)


def test_the_page_shows_german_numbers(
    client: Any, make_user: Any, login: Any, world: dict[str, int]
) -> None:
    login(make_user(Role.STAFF))
    resp = client.get(f"/staff/reports/term?term_id={world['term']}")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "26,7 %" in page and "175,00" in page and "Volkshochschul-Statistik" in page
    assert "Hallenbad" in page and "Schüler/innen und Studierende" in page
    filtered = client.get(
        f"/staff/reports/term?term_id={world['term']}&category_id={world['gesundheit']}&venue="
    ).get_data(as_text=True)
    assert "Hallenbad" in filtered and "Stadtbahnhof</td>" not in filtered
    bad = client.get(f"/staff/reports/term?term_id={world['term']}&category_id=999999")
    assert bad.status_code == 422


def test_the_csv_is_for_german_excel(
    client: Any, make_user: Any, login: Any, world: dict[str, int]
) -> None:
    login(make_user(Role.STAFF))
    resp = client.get(f"/staff/reports/term.csv?term_id={world['term']}")
    raw = resp.get_data(as_text=True)
    assert resp.mimetype == "text/csv" and raw.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(raw.lstrip("\ufeff")), delimiter=";"))
    total = next(r for r in rows if r and r[0] == "Gesamt")
    assert total[2:] == [
        "2",
        "1",
        "4",
        "2",
        "0",
        "4",
        "15",
        "26,7",
        "11",
        "200,00",
        "25,00",
        "175,00",
    ]
    assert ["Gesundheit", "1", "5", "1"] in rows
    assert client.get("/staff/reports/term.csv?term_id=abc").status_code == 422


def test_the_api_answers_json(
    client: Any, make_user: Any, api_token: Any, world: dict[str, int]
) -> None:
    headers = api_token(make_user(Role.STAFF))
    resp = client.get(f"/api/v1/staff/reports/term?term_id={world['term']}", headers=headers)
    assert resp.status_code == 200
    data = resp.json
    assert data["total"]["net_cents"] == 17500 and data["total"]["teaching_units"] == 11
    assert data["reductions"]["student"] == 2 and data["below_minimum_window_days"] == 14
    assert [b["course_id"] for b in data["below_minimum"]] == [world["b"]]
    assert {s["subject_area"] for s in data["statistics"]} == {"Sprachen", "Gesundheit"}
    venue = client.get(
        f"/api/v1/staff/reports/term?term_id={world['term']}&venue=Hallenbad", headers=headers
    ).json
    assert venue["total"]["courses"] == 1
    refused = client.get("/api/v1/staff/reports/term?term_id=999999", headers=headers)
    assert refused.status_code == 422 and "term_id" in refused.json["errors"]
    teacher = client.get(
        f"/api/v1/staff/reports/term?term_id={world['term']}",
        headers=api_token(make_user(Role.INSTRUCTOR)),
    )
    assert teacher.status_code == 403
    with client.application.app_context():
        assert db.session.get(Term, world["term"]) and db.session.get(Category, world["sprachen"])
        assert db.session.get(Course, world["c"]).status is CourseStatus.CANCELLED
