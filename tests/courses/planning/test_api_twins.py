"""The planning pages' API twins: completing a course, renaming and moving a category."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from courses.models import Category, Course, CourseStatus
from vhs.accounts.models import Role
from vhs.audit import AuditEntry
from vhs.db import db


def _problem(resp: Any) -> tuple[int, str]:
    assert resp.mimetype == "application/problem+json", resp.get_data(as_text=True)
    return resp.status_code, resp.get_json().get("code", "")


@pytest.fixture
def staff(make_user, api_token):
    """An API token of a staff member."""
    return api_token(make_user(Role.STAFF))


# --- POST /api/v1/staff/courses/{id}/complete -------------------------------------------------


def test_staff_complete_a_published_course(app, client, staff, make_course):
    course = make_course(code="271-900")
    resp = client.post(f"/api/v1/staff/courses/{course.id}/complete", headers=staff)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["status"] == "completed"
    with app.app_context():
        assert db.session.get(Course, course.id).status is CourseStatus.COMPLETED
        entry = db.session.execute(
            sa.select(AuditEntry).where(AuditEntry.action == "course.completed")
        ).scalar_one()
        assert entry.details["code"] == "271-900"


@pytest.mark.parametrize("status", ["draft", "completed", "cancelled"])
def test_only_a_published_course_can_be_completed(app, client, staff, make_course, status):
    course = make_course(status=status)
    resp = client.post(f"/api/v1/staff/courses/{course.id}/complete", headers=staff)
    assert _problem(resp) == (409, "illegal_transition")
    with app.app_context():
        assert db.session.get(Course, course.id).status.value == status


def test_completing_is_for_staff_only(app, client, make_user, api_token, make_course, staff):
    teacher = make_user(Role.INSTRUCTOR)
    course = make_course(instructors=[teacher])
    url = f"/api/v1/staff/courses/{course.id}/complete"
    assert _problem(client.post(url))[0] == 401
    for who in (make_user(), teacher):
        assert _problem(client.post(url, headers=api_token(who)))[0] == 403
    assert _problem(client.post("/api/v1/staff/courses/999999/complete", headers=staff))[0] == 404
    with app.app_context():
        assert db.session.get(Course, course.id).status is CourseStatus.PUBLISHED


# --- PATCH /api/v1/categories/{id} -------------------------------------------------------------


def test_staff_rename_and_move_a_category(app, client, staff, make_category):
    languages = make_category(slug="sprachen", name_de="Sprachen", name_en="Languages")
    english = make_category(slug="englisch", name_de="Englisch", name_en="English")
    url = f"/api/v1/categories/{english.id}"
    resp = client.patch(
        url, json={"name_de": "  Englisch B1  ", "parent_id": languages.id}, headers=staff
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert (body["name_de"], body["name_en"], body["slug"]) == (
        "Englisch B1",
        "English",
        "englisch",
    )
    assert body["parent_id"] == languages.id
    # null moves it back to the top level; the other fields stay.
    top = client.patch(url, json={"parent_id": None}, headers=staff).get_json()
    assert top["parent_id"] is None and top["name_de"] == "Englisch B1"
    with app.app_context():
        assert db.session.get(Category, english.id).name_de == "Englisch B1"
        assert (
            db.session.execute(
                sa.select(sa.func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "category.saved")
            ).scalar_one()
            == 2
        )


def test_category_refusals(app, client, staff, make_user, api_token, make_category):
    parent = make_category(slug="eltern", name_de="Eltern")
    child = make_category(slug="kind", name_de="Kind", parent=parent.id)
    taken = make_category(slug="vergeben")
    url = f"/api/v1/categories/{parent.id}"
    for body, field in (
        ({"parent_id": child.id}, "parent_id"),  # inside its own child
        ({"parent_id": parent.id}, "parent_id"),  # inside itself
        ({"parent_id": 999999}, "parent_id"),
        ({"slug": "vergeben"}, "slug"),
        ({"slug": "Groß Buchstaben"}, "slug"),
        ({"name_de": ""}, "name_de"),
        ({"position": 10**9}, "position"),
        ({"colour": "rot"}, "colour"),
    ):
        resp = client.patch(url, json=body, headers=staff)
        assert _problem(resp)[0] == 422, body
        assert field in resp.get_json()["errors"], (body, resp.get_json())
    assert _problem(client.patch(url, json={"name_de": "X"}))[0] == 401
    for role in (Role.RESIDENT, Role.INSTRUCTOR):
        resp = client.patch(url, json={"name_de": "X"}, headers=api_token(make_user(role)))
        assert _problem(resp)[0] == 403
    assert _problem(client.patch("/api/v1/categories/999999", json={}, headers=staff))[0] == 404
    with app.app_context():
        unchanged = db.session.get(Category, parent.id)
        assert (unchanged.name_de, unchanged.slug, unchanged.parent_id) == (
            "Eltern",
            "eltern",
            None,
        )
        assert db.session.get(Category, taken.id).slug == "vergeben"
