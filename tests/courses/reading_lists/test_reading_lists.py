"""Course reading lists (courses/reading_lists): who may edit, the API, the course page, and
participants borrowing the course's own copies from there."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from courses.reading_lists.models import CourseReadingItem
from library.dedications import services as dedications
from library.models import CardState, LibraryCard, Licence, Loan
from media.models import MediaItem, MediaKind, PublicationState
from vhs.accounts.models import User
from vhs.db import db, utcnow
from vhs.uow import unit_of_work


@pytest.fixture
def teacher(make_user):
    return make_user("instructor", name="Karla Kursleiterin")


@pytest.fixture
def course(make_course, teacher):
    return make_course(instructors=[teacher], starts_in_days=2, title="Lesekreis Krimi")


@pytest.fixture
def make_medium(app):
    """Factory: a published e-book with one licence of ``copies`` copies; returns its id."""

    def _make(title: str = "Tod am Deich", copies: int = 1, state: str = "published") -> int:
        with app.app_context(), unit_of_work():
            item = MediaItem(
                kind=MediaKind.EBOOK,
                title=title,
                state=PublicationState(state),
                published_at=utcnow(),
            )
            db.session.add(item)
            db.session.flush()
            db.session.add(Licence(item_id=item.id, concurrency=copies, active_loans=0, reserved=0))
            return item.id

    return _make


def card_for(app, user) -> None:
    with app.app_context(), unit_of_work():
        db.session.add(
            LibraryCard(
                user_id=user.id,
                number=f"R{user.id:09d}",
                state=CardState.ACTIVE,
                valid_until=date.today() + timedelta(days=365),
            )
        )


def listed(app, course_id: int) -> list[tuple[int, int, str]]:
    with app.app_context():
        return [
            (row.item_id, row.position, row.note)
            for row in db.session.execute(
                sa.select(CourseReadingItem)
                .where(CourseReadingItem.course_id == course_id)
                .order_by(CourseReadingItem.position)
            ).scalars()
        ]


def url(course, suffix: str = "") -> str:
    return f"/api/v1/courses/{course.id}/reading-list{suffix}"


# --- API -------------------------------------------------------------------------------------


def test_instructors_of_the_course_and_staff_edit_the_list(
    app, client, course, teacher, make_user, make_medium, api_token
) -> None:
    first, second = make_medium("Erstes Buch"), make_medium("Zweites Buch")
    resp = client.post(
        url(course),
        json={"item_id": first, "note": "bis zum 3. Termin lesen"},
        headers=api_token(teacher),
    )
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert (body["title"], body["note"], body["position"]) == (
        "Erstes Buch",
        "bis zum 3. Termin lesen",
        1,
    )
    staff = make_user("staff")
    resp = client.post(url(course), json={"item_id": second}, headers=api_token(staff))
    assert resp.status_code == 201
    entry = resp.get_json()["id"]
    resp = client.patch(
        url(course, f"/{entry}"), json={"position": 1, "note": "zuerst"}, headers=api_token(staff)
    )
    assert resp.status_code == 200
    assert listed(app, course.id) == [(second, 1, "zuerst"), (first, 2, "bis zum 3. Termin lesen")]
    public = client.get(url(course))
    assert [e["title"] for e in public.get_json()] == ["Zweites Buch", "Erstes Buch"]
    assert client.delete(url(course, f"/{entry}"), headers=api_token(teacher)).status_code == 204
    assert listed(app, course.id) == [(first, 1, "bis zum 3. Termin lesen")]


def test_other_instructors_and_residents_are_refused(
    client, course, make_user, make_course, make_medium, api_token
) -> None:
    item = make_medium()
    other_teacher = make_user("instructor", name="Ines Andere")
    make_course(instructors=[other_teacher])
    for who in (other_teacher, make_user("resident")):
        resp = client.post(url(course), json={"item_id": item}, headers=api_token(who))
        assert resp.status_code == 403
        assert resp.get_json()["code"] == "not_instructor"
    assert client.post(url(course), json={"item_id": item}).status_code == 401


def test_refusals_of_the_api(
    client, course, teacher, make_course, make_medium, api_token, make_user
) -> None:
    headers = api_token(teacher)
    item = make_medium()
    assert client.post(url(course), json={"item_id": item}, headers=headers).status_code == 201
    again = client.post(url(course), json={"item_id": item}, headers=headers)
    assert (again.status_code, again.get_json()["code"]) == (409, "already_listed")
    draft = make_medium("Entwurf", state="draft")
    resp = client.post(url(course), json={"item_id": draft}, headers=headers)
    assert resp.status_code == 422
    assert "item_id" in resp.get_json()["errors"]
    resp = client.post(url(course), json={"item_id": item, "note": "x" * 301}, headers=headers)
    assert resp.status_code == 422
    # An entry of another course is not found through this one.
    other = make_course(instructors=[teacher])
    resp = client.post(url(other), json={"item_id": item}, headers=headers)
    entry = resp.get_json()["id"]
    assert client.delete(url(course, f"/{entry}"), headers=headers).status_code == 404
    resp = client.patch(url(course, "/1"), json={"position": 5}, headers=headers)
    assert resp.status_code in (404, 422)


def test_the_list_of_a_draft_course_is_not_public(client, make_course, teacher) -> None:
    draft = make_course(status="draft", instructors=[teacher])
    resp = client.get(url(draft))
    assert (resp.status_code, resp.get_json()["code"]) == (404, "course_not_found")


# --- course page and borrowing ---------------------------------------------------------------


def test_participants_see_the_course_copies_and_borrow_them(
    app, client, course, teacher, make_user, make_enrolment, make_medium, api_token, login
) -> None:
    item = make_medium("Kurslektüre", copies=1)
    client.post(url(course), json={"item_id": item}, headers=api_token(teacher))
    staff = make_user("staff")
    with app.app_context(), unit_of_work():
        licence = db.session.execute(sa.select(Licence).where(Licence.item_id == item)).scalar_one()
        dedications.dedicate(
            db.session.get(User, staff.id), licence, {"group_id": course.id, "copies": 1}
        )
    outsider = make_user()
    card_for(app, outsider)
    login(outsider)
    page = client.get(f"/courses/{course.id}").get_data(as_text=True)
    assert "Kurslektüre" in page
    assert "0 von 1 verfügbar" in page
    assert f"/library/media/{item}/loans" not in page
    refused = client.submit(f"/library/media/{item}/loans", {"days": ""})
    assert refused.status_code == 409
    participant = make_user()
    card_for(app, participant)
    make_enrolment(course, participant)
    client.get("/account/logout")
    login(participant)
    page = client.get(f"/courses/{course.id}").get_data(as_text=True)
    assert "1 von 1 verfügbar" in page
    assert f"/library/media/{item}/loans" in page
    assert client.submit(f"/library/media/{item}/loans", {"days": ""}).status_code == 302
    with app.app_context():
        loan = db.session.execute(sa.select(Loan).where(Loan.item_id == item)).scalar_one()
        assert loan.user_id == participant.id and loan.dedication_id is not None
    listed_api = client.get(url(course)).get_json()
    assert listed_api[0]["course_copies"] == 1


def test_visitors_see_the_list_without_numbers(
    client, course, teacher, make_medium, api_token
) -> None:
    item = make_medium("Öffentliche Lektüre")
    client.post(
        url(course), json={"item_id": item, "note": "bis Termin 2"}, headers=api_token(teacher)
    )
    page = client.get(f"/courses/{course.id}").get_data(as_text=True)
    assert "Öffentliche Lektüre" in page and "bis Termin 2" in page
    assert "verfügbar" not in page.split("reading-h", 1)[1].split("</section>", 1)[0]


# --- the editing page ------------------------------------------------------------------------


def test_the_editing_page_adds_and_removes_with_a_confirmation(
    app, client, course, teacher, make_medium, login
) -> None:
    item = make_medium("Suchbares Buch")
    login(teacher)
    page = client.get(f"/courses/{course.id}/reading-list?q=Suchbar")
    assert page.status_code == 200
    assert f"Nr. {item}" in page.get_data(as_text=True)
    resp = client.submit(
        f"/courses/{course.id}/reading-list", {"item_id": str(item), "note": "Kapitel 1"}
    )
    assert resp.status_code == 302
    [(item_id, _pos, note)] = listed(app, course.id)
    assert (item_id, note) == (item, "Kapitel 1")
    again = client.submit(f"/courses/{course.id}/reading-list", {"item_id": str(item)})
    assert again.status_code == 422
    with app.app_context():
        entry = db.session.execute(sa.select(CourseReadingItem.id)).scalars().first()
    confirm = client.get(f"/courses/{course.id}/reading-list/{entry}/remove")
    assert confirm.status_code == 200 and "Suchbares Buch" in confirm.get_data(as_text=True)
    assert listed(app, course.id)  # asking removes nothing
    assert client.submit(f"/courses/{course.id}/reading-list/{entry}/remove").status_code == 302
    assert listed(app, course.id) == []


def test_the_editing_page_refuses_other_instructors(client, course, make_user, login) -> None:
    login(make_user("instructor", name="Ines Andere"))
    assert client.get(f"/courses/{course.id}/reading-list").status_code == 403
