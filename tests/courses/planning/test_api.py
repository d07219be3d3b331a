"""The staff planning API: regressions from the attack report (issue 10, items 3, 5 and 8)."""

from __future__ import annotations

import pytest

from courses.models import Course
from vhs.accounts.models import Role
from vhs.db import db


@pytest.fixture
def staff_headers(make_user, api_token):
    """An API token of a staff member."""
    return api_token(make_user(Role.STAFF))


def new_course_body(make_term, make_category, **fields):
    """A valid course for ``POST /api/v1/staff/courses``, with ``fields`` changed."""
    term, cat = make_term(), make_category()
    body = {
        "term_id": term.id,
        "category_id": cat.id,
        "code": "372-001",
        "title": "Yoga am Morgen",
        "fee_cents": 6900,
        "capacity": 12,
    }
    return {**body, **fields}


# --- item 3: format through the API ----------------------------------------------------------


@pytest.mark.parametrize("fmt", ["online", "hybrid", "in_person"])
def test_staff_api_creates_a_course_with_a_format(
    client, app, staff_headers, make_term, make_category, fmt
):
    body = new_course_body(make_term, make_category, format=fmt)
    resp = client.post("/api/v1/staff/courses", json=body, headers=staff_headers)
    assert resp.status_code == 201, resp.json
    assert resp.json["format"] == fmt
    with app.app_context():
        assert db.session.get(Course, resp.json["id"]).format.value == fmt


def test_staff_api_changes_the_format(client, app, staff_headers, plan):
    course_id = plan()
    resp = client.patch(
        f"/api/v1/staff/courses/{course_id}",
        json={"format": "online", "title": "  Englisch online  "},
        headers=staff_headers,
    )
    assert resp.status_code == 200, resp.json
    assert resp.json["format"] == "online" and resp.json["title"] == "Englisch online"
    bad = client.patch(
        f"/api/v1/staff/courses/{course_id}", json={"format": "zoom"}, headers=staff_headers
    )
    assert bad.status_code == 422 and "format" in bad.json["errors"]


# --- item 8: booking times in a sane range ---------------------------------------------------

FAR = ["0001-01-01T00:00:00+00:00", "9999-12-31T12:00:00+00:00", "2200-01-01T00:00:00+01:00"]


@pytest.mark.parametrize("when", FAR)
def test_course_booking_close_outside_the_range_is_refused(
    client, app, staff_headers, plan, make_term, make_category, when
):
    body = new_course_body(make_term, make_category, enrolment_closes_at=when)
    resp = client.post("/api/v1/staff/courses", json=body, headers=staff_headers)
    assert resp.status_code == 422 and "enrolment_closes_at" in resp.json["errors"]
    course_id = plan()
    resp = client.patch(
        f"/api/v1/staff/courses/{course_id}",
        json={"enrolment_closes_at": when},
        headers=staff_headers,
    )
    assert resp.status_code == 422 and "enrolment_closes_at" in resp.json["errors"]
    with app.app_context():
        assert db.session.get(Course, course_id).enrolment_closes_at is None


@pytest.mark.parametrize("when", FAR)
def test_term_booking_start_and_dates_outside_the_range_are_refused(
    client, staff_headers, make_term, when
):
    term = {
        "name": "Herbst 2027",
        "starts_on": "2027-08-30",
        "ends_on": "2027-12-18",
        "enrolment_opens_at": when,
    }
    resp = client.post("/api/v1/terms", json=term, headers=staff_headers)
    assert resp.status_code == 422 and "enrolment_opens_at" in resp.json["errors"]
    resp = client.post("/api/v1/terms", json={**term, "ends_on": when[:10]}, headers=staff_headers)
    assert resp.status_code == 422 and "ends_on" in resp.json["errors"]
    existing = make_term()
    resp = client.patch(
        f"/api/v1/terms/{existing.id}", json={"enrolment_opens_at": when}, headers=staff_headers
    )
    assert resp.status_code == 422 and "enrolment_opens_at" in resp.json["errors"]


def test_booking_times_at_the_edges_of_the_range_are_accepted(
    client, staff_headers, make_term, make_category
):
    for when in ("1990-01-01T00:00:00+01:00", "2199-12-31T23:59:00+01:00"):
        body = new_course_body(make_term, make_category, code=f"E-{when[:4]}")
        body["enrolment_closes_at"] = when
        resp = client.post("/api/v1/staff/courses", json=body, headers=staff_headers)
        assert resp.status_code == 201, resp.json


@pytest.mark.parametrize(
    ("url", "field", "value"),
    [
        ("/staff/courses/new", "enrolment_closes_at", "9999-12-31T12:00"),
        ("/staff/courses/new", "enrolment_closes_at", "0001-01-01T00:00"),
        ("/staff/terms", "enrolment_opens_at", "9999-12-31T12:00"),
        ("/staff/terms", "starts_on", "0001-01-01"),
    ],
)
def test_staff_pages_refuse_booking_times_outside_the_range(
    client, app, make_user, login, make_term, make_category, url, field, value
):
    login(make_user(Role.STAFF, locale="en"))
    term, cat = make_term(), make_category()
    data = {
        "/staff/courses/new": {
            "term_id": str(term.id),
            "category_id": str(cat.id),
            "code": "271-105",
            "title": "Englisch A1",
            "language": "en",
            "format": "in_person",
            "fee_cents": "79,50",
            "capacity": "12",
            "min_participants": "6",
            "cancellation_days": "7",
        },
        "/staff/terms": {
            "name": "Herbst 2027",
            "starts_on": "2027-08-30",
            "ends_on": "2027-12-18",
            "enrolment_opens_at": "2027-06-01T08:00",
            "status": "draft",
        },
    }[url]
    resp = client.submit(url, {**data, field: value})
    assert resp.status_code == 422
    assert "Choose a date between 1990 and 2199." in resp.get_data(as_text=True)
