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
