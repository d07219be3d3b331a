"""Staff pages ("Verwaltung"): planning terms, categories, courses and sessions; bookings; reports.

Every write goes through the form as a browser sends it (CSRF included), and each test checks
the database afterwards. Refusals: bad input re-renders the form with 422 and the message next
to the field; an illegal transition is the shared 409 page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from markupsafe import escape

from courses import signals
from courses.enrolment.staff_views import find_target_course
from courses.models import (
    Category,
    Course,
    CourseStatus,
    Enrolment,
    EnrolmentStatus,
    Session,
    SessionStatus,
    Term,
    TermStatus,
)
from courses.planning.forms import parse_date_list
from tests.courses.factories_staff import (  # noqa: F401  (fixtures)
    audit_actions_fixture,
    query_fixture,
    staff_fixture,
)
from vhs.accounts.models import Role
from vhs.db import db
from vhs.formats import format_euros, parse_euros
from vhs.mail.models import OutboxMessage

BERLIN = ZoneInfo("Europe/Berlin")  # the test apps' VHS_TIMEZONE

# --- helpers ----------------------------------------------------------------------------------


def body(resp: Any) -> str:
    """The response as text."""
    return resp.get_data(as_text=True)


def shows(resp: Any, text: str) -> bool:
    """Whether an HTML response shows ``text`` (as Jinja escapes it)."""
    return str(escape(text)) in body(resp)


def field_error(resp: Any, field_id: str) -> str:
    """The error message rendered next to the field with this id (empty if none)."""
    match = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">([^<]*)</p>', body(resp))
    return match.group(1) if match else ""


def tr(app: Any, message: str, locale: str = "de", **variables: Any) -> str:
    """``message`` as the app shows it in ``locale``."""
    from flask_babel import force_locale, gettext

    with app.test_request_context(), force_locale(locale):
        return gettext(message, **variables)


def berlin(day: date, hour: int, minute: int = 0) -> datetime:
    """A Berlin wall-clock time as an aware datetime."""
    return datetime.combine(day, time(hour, minute), tzinfo=BERLIN)


@pytest.fixture
def outbox_for(app: Any) -> Callable[..., list[OutboxMessage]]:
    """Queued mails of one template (optionally to one address)."""

    def _outbox(template: str, to: str | None = None) -> list[OutboxMessage]:
        with app.app_context():
            stmt = sa.select(OutboxMessage).where(OutboxMessage.template == template)
            if to:
                stmt = stmt.where(OutboxMessage.to_address == to)
            rows = list(db.session.scalars(stmt))
            for r in rows:
                db.session.expunge(r)
            return rows

    return _outbox


@pytest.fixture
def world(make_course: Any, make_enrolment: Any, make_category: Any, make_user: Any) -> Any:
    """One of everything a staff URL can point at."""
    teacher = make_user(Role.INSTRUCTOR, name="Ines Instruktorin")
    course = make_course(fee_cents=7900, reduced_fee_cents=4900, instructors=[teacher])
    child = make_category(parent=course.category_id, name_de="Englisch", name_en="English")
    enrolment = make_enrolment(course, reduction="student")

    class World:
        term_id = course.term_id
        category_id = course.category_id
        child_id = child.id
        course_id = course.id
        session_id = course.sessions[0].id
        enrolment_id = enrolment.id
        instructor = teacher

    return World


def get_pages(w: Any) -> list[str]:
    """Every staff page reachable by GET."""
    return [
        "/staff",
        "/staff/terms",
        f"/staff/terms/{w.term_id}/edit",
        "/staff/categories",
        f"/staff/categories/{w.child_id}/edit",
        "/staff/courses",
        "/staff/courses/new",
        f"/staff/courses/{w.course_id}/edit",
        f"/staff/courses/{w.course_id}/cancel",
        f"/staff/courses/{w.course_id}/sessions",
        f"/staff/sessions/{w.session_id}/edit",
        f"/staff/courses/{w.course_id}/enrolments",
        f"/staff/enrolments/{w.enrolment_id}/move",
        "/staff/reports/below-minimum",
    ]


def post_pages(w: Any) -> list[str]:
    """Every staff URL that takes a POST."""
    return [
        "/staff/terms",
        f"/staff/terms/{w.term_id}/edit",
        "/staff/categories",
        f"/staff/categories/{w.child_id}/edit",
        "/staff/courses/new",
        f"/staff/courses/{w.course_id}/edit",
        f"/staff/courses/{w.course_id}/publish",
        f"/staff/courses/{w.course_id}/complete",
        f"/staff/courses/{w.course_id}/cancel",
        f"/staff/courses/{w.course_id}/copy",
        f"/staff/courses/{w.course_id}/sessions",
        f"/staff/courses/{w.course_id}/sessions/generate",
        f"/staff/sessions/{w.session_id}/edit",
        f"/staff/sessions/{w.session_id}/cancel",
        f"/staff/courses/{w.course_id}/enrolments",
        f"/staff/enrolments/{w.enrolment_id}/cancel",
        f"/staff/enrolments/{w.enrolment_id}/move",
    ]


class PageAudit(HTMLParser):
    """Collects what the accessibility checks need: labels, fields, headings, tables."""

    def __init__(self) -> None:
        super().__init__()
        self.label_for: set[str] = set()
        self.fields: list[dict[str, str | None]] = []
        self.headings: list[int] = []
        self.tables = 0
        self.captions = 0
        self.th_without_scope = 0
        self.scripts = 0
        self._in_label = 0
        self.wrapped: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Record one opening tag."""
        a = dict(attrs)
        if tag == "label":
            self._in_label += 1
            if a.get("for"):
                self.label_for.add(a["for"] or "")
        elif tag in ("input", "select", "textarea"):
            if a.get("type") not in ("hidden", "submit"):
                self.fields.append(a)
                if self._in_label and a.get("id"):
                    self.wrapped.add(a["id"] or "")
        elif re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        elif tag == "table":
            self.tables += 1
        elif tag == "caption":
            self.captions += 1
        elif tag == "th" and "scope" not in a:
            self.th_without_scope += 1
        elif tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag: str) -> None:
        """Record one closing tag."""
        if tag == "label":
            self._in_label -= 1


def check_accessible(html: str) -> list[str]:
    """Problems a screen-reader user would meet on a page."""
    page = PageAudit()
    page.feed(html)
    problems = []
    for f in page.fields:
        fid = f.get("id")
        if not fid or (fid not in page.label_for and fid not in page.wrapped):
            problems.append(f"field without label: {f}")
    if not page.headings or page.headings[0] != 1 or page.headings.count(1) != 1:
        problems.append(f"one h1 first, got {page.headings}")
    for prev, nxt in zip(page.headings, page.headings[1:], strict=False):
        if nxt > prev + 1:
            problems.append(f"heading level skipped: h{prev} -> h{nxt}")
    if page.captions != page.tables:
        problems.append("table without caption")
    if page.th_without_scope:
        problems.append("th without scope")
    if page.scripts:
        problems.append("the page needs JavaScript")
    return problems


# --- access -----------------------------------------------------------------------------------


def test_every_page_renders_for_staff_accessibly(client: Any, staff: Any, world: Any) -> None:
    """Staff see every page; each has labelled fields, ordered headings, captioned tables."""
    for url in get_pages(world):
        resp = client.get(url)
        assert resp.status_code == 200, (url, body(resp)[:300])
        assert check_accessible(body(resp)) == [], url


def test_administrators_are_staff_too(client: Any, make_user: Any, login: Any) -> None:
    """The administrator role passes every staff check."""
    login(make_user(Role.ADMIN))
    assert client.get("/staff").status_code == 200


@pytest.mark.parametrize("role", [Role.RESIDENT, Role.INSTRUCTOR])
def test_residents_and_instructors_are_refused(
    client: Any, make_user: Any, login: Any, world: Any, role: Role
) -> None:
    """Anyone but staff gets 403 on every staff page and every staff action."""
    login(make_user(role))
    for url in get_pages(world):
        assert client.get(url).status_code == 403, url
    for url in post_pages(world):
        assert client.submit(url, {}).status_code == 403, url


def test_anonymous_visitors_are_sent_to_log_in(client: Any, world: Any) -> None:
    """Pages redirect to the login page; posts answer 401."""
    for url in get_pages(world):
        resp = client.get(url)
        assert resp.status_code == 302, url
        assert "/account/login" in resp.headers["Location"]
    for url in post_pages(world):
        assert client.submit(url, {}).status_code == 401, url


def test_staff_see_the_staff_link_residents_do_not(client: Any, make_user: Any, login: Any) -> None:
    """The main navigation links to the staff area for staff only."""
    login(make_user(Role.RESIDENT))
    assert 'href="/staff"' not in body(client.get("/"))
    login(make_user(Role.STAFF))
    assert 'href="/staff"' in body(client.get("/"))


def test_unknown_objects_are_404(client: Any, staff: Any) -> None:
    """An id that does not exist is a 404 page, not a crash."""
    for url in (
        "/staff/terms/999999/edit",
        "/staff/courses/999999/edit",
        "/staff/sessions/999999/edit",
        "/staff/enrolments/999999/move",
    ):
        assert client.get(url).status_code == 404, url


def test_forms_without_csrf_token_are_refused(
    client: Any, staff: Any, make_course: Any, load: Any
) -> None:
    """A form posted from elsewhere (no token) changes nothing, buttons included."""
    draft = make_course(status="draft", sessions=1)
    assert client.post("/staff/terms", data={"name": "Herbst 2027"}).status_code == 400
    assert client.post(f"/staff/courses/{draft.id}/publish").status_code == 400
    assert load(Course, draft.id).status is CourseStatus.DRAFT


def test_dashboard_counts(client: Any, staff: Any, make_course: Any, make_enrolment: Any) -> None:
    """The overview counts courses per status and the people on waiting lists."""
    full = make_course(capacity=1)
    make_enrolment(full)
    make_enrolment(full)
    make_course(status="draft", sessions=0)
    resp = client.get("/staff")
    assert resp.status_code == 200
    assert "1 person is on a waiting list" in body(resp)
    assert 'href="/staff/courses?status=draft"' in body(resp)


def test_the_staff_area_speaks_german(app: Any, client: Any, make_user: Any, login: Any) -> None:
    """German is the default: the staff pages and their messages come out in German."""
    login(make_user(Role.STAFF, locale="de"))
    resp = client.get("/staff/terms")
    german = tr(app, "Staff area")
    assert german != "Staff area"
    assert shows(resp, tr(app, "New term"))
    resp = client.submit(
        "/staff/terms",
        {
            "name": "Herbst 2027",
            "starts_on": "01.09.2027",
            "ends_on": "2027-08-01",
            "enrolment_opens_at": "2027-06-01T08:00",
            "status": "draft",
        },
    )
    assert resp.status_code == 422
    assert field_error(resp, "ends_on") == str(
        escape(tr(app, "The end must not be before the start."))
    )
    assert (
        tr(app, "The end must not be before the start.") != "The end must not be before the start."
    )


# --- terms ------------------------------------------------------------------------------------

TERM = {
    "name": "Herbst 2027",
    "starts_on": "2027-09-01",
    "ends_on": "2028-01-31",
    "enrolment_opens_at": "2027-06-01T08:00",
    "status": "published",
}


def test_create_term(client: Any, staff: Any, query: Any, audit_actions: Any) -> None:
    """A new term is saved with its booking start in Berlin time (summer: UTC+2)."""
    resp = client.submit("/staff/terms", TERM)
    assert resp.status_code == 302
    (term,) = query(sa.select(Term).where(Term.name == "Herbst 2027"))
    assert term.starts_on == date(2027, 9, 1) and term.ends_on == date(2028, 1, 31)
    assert term.enrolment_opens_at == datetime(2027, 6, 1, 6, 0, tzinfo=UTC)
    assert term.status is TermStatus.PUBLISHED
    assert [a[0] for a in audit_actions("term.saved")] == ["term.saved"]
    assert "Herbst 2027" in body(client.get(resp.headers["Location"]))


def test_create_term_refusals(client: Any, staff: Any, query: Any) -> None:
    """A missing name or an end before the start: 422, messages at the fields, nothing saved."""
    resp = client.submit("/staff/terms", {**TERM, "name": ""})
    assert resp.status_code == 422
    assert field_error(resp, "name")
    resp = client.submit("/staff/terms", {**TERM, "ends_on": "2027-08-31"})
    assert resp.status_code == 422
    assert field_error(resp, "ends_on") == "The end must not be before the start."
    assert 'aria-invalid="true"' in body(resp)
    resp = client.submit("/staff/terms", {**TERM, "starts_on": "31.02.2027"})
    assert resp.status_code == 422
    assert field_error(resp, "starts_on")
    assert query(sa.select(Term).where(Term.name == "Herbst 2027")) == []


def test_edit_term(client: Any, staff: Any, make_term: Any, load: Any) -> None:
    """The edit form shows the term in Berlin time and saves changes."""
    term = make_term(enrolment_opens_at=datetime(2027, 1, 4, 7, 0, tzinfo=UTC))
    page = client.get(f"/staff/terms/{term.id}/edit")
    assert 'value="2027-01-04T08:00"' in body(page)
    resp = client.submit(f"/staff/terms/{term.id}/edit", {**TERM, "name": "Frühjahr 2028"})
    assert resp.status_code == 302
    saved = load(Term, term.id)
    assert saved.name == "Frühjahr 2028"
    assert saved.starts_on == date(2027, 9, 1)
    resp = client.submit(f"/staff/terms/{term.id}/edit", {**TERM, "ends_on": "2020-01-01"})
    assert resp.status_code == 422
    assert load(Term, term.id).ends_on == date(2028, 1, 31)


# --- categories -------------------------------------------------------------------------------


def test_create_categories_as_a_tree(client: Any, staff: Any, query: Any) -> None:
    """A top-level category and a child; the page shows them nested."""
    data = {"name_de": "Sprachen", "name_en": "Languages", "slug": "sprachen", "position": "1"}
    assert client.submit("/staff/categories", {**data, "parent_id": ""}).status_code == 302
    (parent,) = query(sa.select(Category).where(Category.slug == "sprachen"))
    child = {"name_de": "Englisch", "name_en": "English", "slug": "englisch", "position": "0"}
    resp = client.submit("/staff/categories", {**child, "parent_id": str(parent.id)})
    assert resp.status_code == 302
    (saved,) = query(sa.select(Category).where(Category.slug == "englisch"))
    assert saved.parent_id == parent.id
    html = body(client.get("/staff/categories"))
    assert re.search(r"Languages</a>.*?<ul>\s*<li><a [^>]*>English</a>", html, re.S)


def test_category_refusals(
    client: Any, staff: Any, make_category: Any, query: Any, load: Any
) -> None:
    """A used or malformed short name, or a category inside its own child: 422."""
    parent = make_category(slug="sprachen")
    child = make_category(slug="englisch", parent=parent)
    data = {"name_de": "X", "name_en": "X", "position": "0", "parent_id": ""}
    resp = client.submit("/staff/categories", {**data, "slug": "sprachen"})
    assert resp.status_code == 422
    assert field_error(resp, "slug") == "This short name is already used."
    resp = client.submit("/staff/categories", {**data, "slug": "Sprachen & mehr"})
    assert resp.status_code == 422
    assert field_error(resp, "slug") == "Use lower-case letters, digits and hyphens only."
    # The parent may not move below its own child (the service refuses the cycle).
    resp = client.submit(
        f"/staff/categories/{parent.id}/edit",
        {**data, "slug": "sprachen", "parent_id": str(child.id)},
    )
    assert resp.status_code == 422
    assert field_error(resp, "parent_id") == "A category cannot be inside itself."
    assert load(Category, parent.id).parent_id is None
    assert len(query(sa.select(Category))) == 2


def test_edit_category(client: Any, staff: Any, make_category: Any, load: Any) -> None:
    """Renaming a category keeps its place in the tree."""
    cat = make_category(slug="kochen", name_de="Kochen", name_en="Cooking")
    page = client.get(f"/staff/categories/{cat.id}/edit")
    # A category is not offered as its own parent.
    assert f'<option value="{cat.id}"' not in body(page)
    resp = client.submit(
        f"/staff/categories/{cat.id}/edit",
        {
            "name_de": "Kochen & Backen",
            "name_en": "Cooking",
            "slug": "kochen",
            "parent_id": "",
            "position": "3",
        },
    )
    assert resp.status_code == 302
    saved = load(Category, cat.id)
    assert (saved.name_de, saved.position) == ("Kochen & Backen", 3)


# --- money and dates --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "cents"),
    [
        ("79,50", 7950),
        ("79,00", 7900),
        ("79", 7900),
        ("79,5", 7950),
        ("0,10", 10),
        ("0,29", 29),  # float(0.29) * 100 == 28.999999999999996
        ("1.234,56", 123456),
        ("1.234", 123400),
        ("79.50", 7950),
        (" 79,50 € ", 7950),
        ("99.999,99", 9_999_999),
        ("0", 0),
    ],
)
def test_parse_euros(typed: str, cents: int) -> None:
    """Euros with a decimal comma become exact integer cents."""
    assert parse_euros(typed) == cents


@pytest.mark.parametrize(
    "typed", ["79,505", "-5", "abc", "1,2,3", "", "12.34.56", "100.000,00", "1e3", "7 9", "NaN"]
)
def test_parse_euros_refuses(typed: str) -> None:
    """Anything else is not an amount (three decimals, a sign, letters, too much)."""
    with pytest.raises(ValueError):
        parse_euros(typed)


def test_format_euros() -> None:
    """The edit form shows cents in euros again, with the comma in German."""
    assert format_euros(7950, "de") == "79,50"
    assert format_euros(5, "en") == "0.05"
    assert format_euros(None, "de") == ""


def test_parse_date_list() -> None:
    """Skip dates: German or ISO, separated by commas, semicolons or white space."""
    assert parse_date_list("16.02.2027, 2027-03-02;\n6.4.2027  16.02.2027") == [
        date(2027, 2, 16),
        date(2027, 3, 2),
        date(2027, 4, 6),
    ]
    assert parse_date_list("  ") == []
    with pytest.raises(ValueError, match=r"31\.02\.2027, morgen"):
        parse_date_list("31.02.2027, morgen, 01.03.2027")


# --- courses ----------------------------------------------------------------------------------


@pytest.fixture
def course_data(make_term: Any, make_category: Any, make_user: Any) -> dict[str, Any]:
    """A complete, valid course form."""
    term = make_term(name="Frühjahr 2027")
    category = make_category(slug="englisch-x", name_de="Englisch", name_en="English")
    teacher = make_user(Role.INSTRUCTOR, name="Ines Instruktorin")
    return {
        "term_id": str(term.id),
        "category_id": str(category.id),
        "code": "271-105",
        "title": "Englisch A1",
        "subtitle": "Für Anfänger",
        "description": "Mit *Spaß*",
        "language": "en",
        "level": "A1",
        "format": "hybrid",
        "venue": "VHS-Haus am Stadtbahnhof",
        "room": "1.04",
        "fee_cents": "79,50",
        "reduced_fee_cents": "49,00",
        "capacity": "12",
        "min_participants": "6",
        "enrolment_closes_at": "2027-03-01T12:00",
        "cancellation_days": "7",
        "instructor_ids": [str(teacher.id)],
    }


def test_create_course(
    client: Any, staff: Any, course_data: dict[str, Any], query: Any, audit_actions: Any
) -> None:
    """All fields are saved: the fee in exact cents, instructors, Berlin time, draft status."""
    resp = client.submit("/staff/courses/new", course_data)
    assert resp.status_code == 302, field_error(resp, "fee_cents") or body(resp)[:2000]
    (course,) = query(
        sa.select(Course)
        .where(Course.code == "271-105")
        .options(sa.orm.selectinload(Course.instructors))
    )
    assert resp.headers["Location"].endswith(f"/staff/courses/{course.id}/sessions")
    assert course.status is CourseStatus.DRAFT
    assert (course.fee_cents, course.reduced_fee_cents) == (7950, 4900)
    assert [i.name for i in course.instructors] == ["Ines Instruktorin"]
    assert course.format.value == "hybrid" and course.level == "A1" and course.language == "en"
    assert course.enrolment_closes_at == datetime(2027, 3, 1, 11, 0, tzinfo=UTC)
    assert (course.capacity, course.min_participants) == (12, 6)
    # No sessions yet: no teaching units, and no override (they are derived, not typed).
    assert (course.units_derived_tenths, course.units_override_tenths) == (0, None)
    assert audit_actions("course.created")


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"fee_cents": "79,505"}, "fee_cents", "Enter an amount in euros, for example 79,00."),
        ({"fee_cents": ""}, "fee_cents", "This field is required."),
        (
            {"reduced_fee_cents": "80,00"},
            "reduced_fee_cents",
            "The reduced fee must be between 0 and the full fee.",
        ),
        ({"code": "271 105!"}, "code", "Use a course number like 271-105."),
        (
            {"min_participants": "20"},
            "min_participants",
            "The minimum must be between 0 and the capacity.",
        ),
        ({"capacity": "0"}, "capacity", "Number must be between 1 and 10000."),
        ({"instructor_ids": ["999999"]}, "instructor_ids", ""),
    ],
)
def test_create_course_refusals(
    client: Any,
    staff: Any,
    course_data: dict[str, Any],
    query: Any,
    change: dict[str, Any],
    field: str,
    message: str,
) -> None:
    """Bad input: 422, the form again with the typed values and the message at the field."""
    resp = client.submit("/staff/courses/new", {**course_data, **change})
    assert resp.status_code == 422
    assert field_error(resp, field), body(resp)[:3000]
    if message:
        assert field_error(resp, field) == str(escape(message))
    assert 'value="Englisch A1"' in body(resp)
    # The summary at the top links to the field and is focused; the page stays accessible.
    assert f'<a href="#{field}">' in body(resp) and "autofocus" in body(resp)
    assert check_accessible(body(resp)) == []
    assert query(sa.select(Course)) == []


def test_course_numbers_are_unique_per_term(
    client: Any, staff: Any, course_data: dict[str, Any], query: Any
) -> None:
    """The second course with the same number in a term is refused by the service."""
    assert client.submit("/staff/courses/new", course_data).status_code == 302
    resp = client.submit("/staff/courses/new", {**course_data, "title": "Noch einer"})
    assert resp.status_code == 422
    assert field_error(resp, "code") == "This course number is already used in this term."
    assert len(query(sa.select(Course))) == 1


def test_edit_course(client: Any, staff: Any, make_course: Any, make_user: Any, load: Any) -> None:
    """The form shows the fee in euros; saving changes it in cents and swaps instructors."""
    old = make_user(Role.INSTRUCTOR, name="Otto Alt")
    new = make_user(Role.INSTRUCTOR, name="Nina Neu")
    course = make_course(fee_cents=7950, instructors=[old], status="draft")
    page = client.get(f"/staff/courses/{course.id}/edit")
    assert 'value="79.50"' in body(page)  # English page; German shows 79,50
    assert re.search(
        rf'<input checked id="instructor_ids-\d+" name="instructor_ids" type="checkbox" value="{old.id}">',
        body(page),
    )
    form = {
        "term_id": str(course.term_id),
        "category_id": str(course.category_id),
        "code": course.code,
        "title": "Englisch für Fortgeschrittene",
        "language": "de",
        "level": "",
        "format": "in_person",
        "fee_cents": "1.080,10",
        "reduced_fee_cents": "",
        "capacity": "15",
        "min_participants": "3",
        "cancellation_days": "14",
        "instructor_ids": [str(new.id)],
    }
    resp = client.submit(f"/staff/courses/{course.id}/edit", form)
    assert resp.status_code == 302
    saved = load(Course, course.id)
    assert saved.title == "Englisch für Fortgeschrittene"
    assert (saved.fee_cents, saved.reduced_fee_cents, saved.capacity) == (108010, None, 15)
    assert [i.name for i in saved.instructors] == ["Nina Neu"]
    assert saved.level is None


def test_capacity_cannot_drop_below_the_bookings(
    client: Any, staff: Any, make_course: Any, make_enrolment: Any, load: Any
) -> None:
    """A service refusal that depends on the data: the message lands at the capacity field."""
    course = make_course(capacity=5)
    for _ in range(3):
        make_enrolment(course)
    form = {
        "term_id": str(course.term_id),
        "category_id": str(course.category_id),
        "code": course.code,
        "title": course.title,
        "language": "de",
        "format": "in_person",
        "fee_cents": "0",
        "capacity": "2",
        "min_participants": "1",
        "cancellation_days": "7",
    }
    resp = client.submit(f"/staff/courses/{course.id}/edit", form)
    assert resp.status_code == 422
    assert "3 people already hold a seat" in field_error(resp, "capacity")
    assert load(Course, course.id).capacity == 5


def test_course_list_filters_and_pages(
    client: Any, staff: Any, make_course: Any, make_term: Any
) -> None:
    """Filter by term and status, search by number or title, 25 to a page."""
    spring = make_term(name="Frühjahr 2027")
    autumn = make_term(name="Herbst 2027")
    for n in range(27):
        make_course(term=spring, code=f"27-{n:03d}", title=f"Yoga {n}", sessions=0)
    make_course(term=autumn, code="28-001", title="Töpfern", status="draft", sessions=0)
    first = client.get("/staff/courses", query_string={"term": spring.id})
    assert "27 courses found" in body(first)
    assert body(first).count('<th scope="row">') == 25
    assert "Page 1 of 2" in body(first)
    second = client.get("/staff/courses", query_string={"term": spring.id, "page": 2})
    assert body(second).count('<th scope="row">') == 2
    drafts = client.get("/staff/courses", query_string={"status": "draft"})
    assert "1 course found" in body(drafts) and "Töpfern" in body(drafts)
    by_code = client.get("/staff/courses", query_string={"q": "27-01"})
    assert "10 courses found" in body(by_code)
    by_title = client.get("/staff/courses", query_string={"q": "YOGA 26"})
    assert "1 course found" in body(by_title) and "Yoga 26<" in body(by_title)
    odd = client.get("/staff/courses", query_string={"q": "100%_", "page": "x", "term": "y"})
    assert odd.status_code == 200 and "0 courses found" in body(odd)


# --- course status ----------------------------------------------------------------------------


def test_publish_needs_a_session(client: Any, staff: Any, make_course: Any, load: Any) -> None:
    """Publishing a draft without sessions is an illegal transition: the 409 page says why."""
    course = make_course(status="draft", sessions=0)
    resp = client.submit(f"/staff/courses/{course.id}/publish")
    assert resp.status_code == 409
    assert "Add at least one session before publishing." in body(resp)
    assert load(Course, course.id).status is CourseStatus.DRAFT


def test_publish_and_complete(client: Any, staff: Any, make_course: Any, load: Any) -> None:
    """Draft -> published -> completed; completing twice is refused."""
    course = make_course(status="draft", sessions=2)
    resp = client.submit(f"/staff/courses/{course.id}/publish")
    assert resp.status_code == 302
    assert load(Course, course.id).status is CourseStatus.PUBLISHED
    assert "is now in the catalogue" in body(client.get(resp.headers["Location"]))
    assert client.submit(f"/staff/courses/{course.id}/publish").status_code == 409
    assert client.submit(f"/staff/courses/{course.id}/complete").status_code == 302
    assert load(Course, course.id).status is CourseStatus.COMPLETED
    assert client.submit(f"/staff/courses/{course.id}/complete").status_code == 409


def test_cancel_course_asks_first_then_cancels_everything(
    client: Any,
    staff: Any,
    make_course: Any,
    make_enrolment: Any,
    load: Any,
    outbox_for: Any,
    query: Any,
) -> None:
    """A confirmation page, then every booking ends, mails are queued, the signal fires."""
    course = make_course(capacity=1, sessions=2)
    seat = make_enrolment(course)
    waiting = make_enrolment(course)
    assert waiting.status is EnrolmentStatus.WAITLISTED
    page = client.get(f"/staff/courses/{course.id}/cancel")
    assert page.status_code == 200
    assert "2 active bookings will be cancelled." in body(page)
    assert load(Course, course.id).status is CourseStatus.PUBLISHED  # GET changes nothing

    resp = client.submit(f"/staff/courses/{course.id}/cancel", {"reason": "  "})
    assert resp.status_code == 422
    assert field_error(resp, "reason")
    assert load(Course, course.id).status is CourseStatus.PUBLISHED

    fired = []
    with signals.course_cancelled.connected_to(lambda c, **kw: fired.append(kw["enrolments"])):
        resp = client.submit(
            f"/staff/courses/{course.id}/cancel", {"reason": "Die Kursleiterin ist erkrankt."}
        )
    assert resp.status_code == 302
    saved = load(Course, course.id)
    assert saved.status is CourseStatus.CANCELLED
    assert saved.cancelled_reason == "Die Kursleiterin ist erkrankt."
    assert {s.status for s in saved.sessions} == {SessionStatus.CANCELLED}
    assert load(Enrolment, seat.id).status is EnrolmentStatus.CANCELLED
    assert load(Enrolment, waiting.id).status is EnrolmentStatus.CANCELLED
    assert len(fired) == 1 and len(fired[0]) == 2
    for e in (seat, waiting):
        (mail,) = outbox_for("course_cancelled", e.user.email)
        assert "Die Kursleiterin ist erkrankt." in mail.body_text
    assert (
        client.submit(f"/staff/courses/{course.id}/cancel", {"reason": "Nochmal"}).status_code
        == 409
    )


def test_copy_course_into_another_term(
    client: Any, staff: Any, make_term: Any, make_course: Any, query: Any
) -> None:
    """The copy is a draft in the target term, sessions moved by whole weeks at the same time."""
    spring = make_term(name="Frühjahr 2027", starts_on=date(2027, 2, 1))
    autumn = make_term(name="Herbst 2027", starts_on=date(2027, 8, 30))  # 30 weeks later
    course = make_course(term=spring, code="271-105", sessions=3, start_time=time(18, 0))
    resp = client.submit(f"/staff/courses/{course.id}/copy", {"copy-term_id": str(autumn.id)})
    assert resp.status_code == 302
    (copy,) = query(
        sa.select(Course)
        .where(Course.term_id == autumn.id)
        .options(sa.orm.selectinload(Course.sessions))
    )
    assert resp.headers["Location"].endswith(f"/staff/courses/{copy.id}/edit")
    assert (copy.code, copy.status) == ("271-105", CourseStatus.DRAFT)
    assert len(copy.sessions) == 3
    for old, new in zip(course.sessions, copy.sessions, strict=True):
        old_local, new_local = old.starts_at.astimezone(BERLIN), new.starts_at.astimezone(BERLIN)
        assert new_local.date() == old_local.date() + timedelta(weeks=30)
        assert new_local.time() == old_local.time() == time(18, 0)

    # The number is taken in the target term now: a conflict, shown as the 409 page.
    again = client.submit(f"/staff/courses/{course.id}/copy", {"copy-term_id": str(autumn.id)})
    assert again.status_code == 409
    assert "already used in the target term" in body(again)
    # A term that is not offered: the edit page again with the message at the field.
    bad = client.submit(f"/staff/courses/{course.id}/copy", {"copy-term_id": "999999"})
    assert bad.status_code == 422
    assert field_error(bad, "copy-term_id")
    assert 'value="Englisch für Anfänger"' in body(bad)  # the details form as saved


# --- sessions ---------------------------------------------------------------------------------


def test_add_one_session_in_berlin_time(
    client: Any, staff: Any, make_course: Any, query: Any, load: Any
) -> None:
    """The day and times are Berlin wall-clock time; stored as UTC; the course is updated."""
    course = make_course(status="draft", sessions=0, room="2.12")
    page = client.get(f"/staff/courses/{course.id}/sessions")
    assert 'value="2.12"' in body(page)
    resp = client.submit(
        f"/staff/courses/{course.id}/sessions",
        {"one-day": "30.03.2027", "one-start": "18:00", "one-end": "19:30", "one-room": "1.01"},
    )
    assert resp.status_code == 302
    (session,) = query(sa.select(Session).where(Session.course_id == course.id))
    assert session.starts_at == datetime(2027, 3, 30, 16, 0, tzinfo=UTC)  # CEST = UTC+2
    assert session.ends_at == datetime(2027, 3, 30, 17, 30, tzinfo=UTC)
    assert session.room == "1.01" and session.online is False
    assert load(Course, course.id).session_count == 1
    listing = body(client.get(f"/staff/courses/{course.id}/sessions"))
    assert "18:00–19:30" in listing


def test_add_session_refusals(client: Any, staff: Any, make_course: Any, query: Any) -> None:
    """End before start (the service's rule), a time the clocks skip, a missing date: 422."""
    course = make_course(status="draft", sessions=0)
    url = f"/staff/courses/{course.id}/sessions"
    resp = client.submit(url, {"one-day": "2027-03-30", "one-start": "19:30", "one-end": "18:00"})
    assert resp.status_code == 422
    assert field_error(resp, "one-end") == "The end must be after the start."
    resp = client.submit(url, {"one-day": "2027-03-28", "one-start": "02:30", "one-end": "03:30"})
    assert resp.status_code == 422
    assert "clocks go forward" in field_error(resp, "one-start")
    resp = client.submit(url, {"one-day": "", "one-start": "18:00", "one-end": "19:00"})
    assert resp.status_code == 422
    assert field_error(resp, "one-day")
    assert query(sa.select(Session).where(Session.course_id == course.id)) == []


def test_generator_keeps_wall_clock_time_across_dst_and_skips_dates(
    client: Any, staff: Any, make_course: Any, query: Any, load: Any, audit_actions: Any
) -> None:
    """Weekly on Tuesday 18:00-19:30, 10 times from 2027-02-02, skipping two dates."""
    course = make_course(status="draft", sessions=0)
    resp = client.submit(
        f"/staff/courses/{course.id}/sessions/generate",
        {
            "gen-weekday": "2",
            "gen-start": "18:00",
            "gen-end": "19:30",
            "gen-count": "10",
            "gen-first_date": "2027-02-02",
            "gen-interval_weeks": "1",
            "gen-skip_dates": "16.02.2027, 2027-03-02",
        },
    )
    assert resp.status_code == 302
    sessions = query(
        sa.select(Session).where(Session.course_id == course.id).order_by(Session.starts_at)
    )
    days = [s.starts_at.astimezone(BERLIN).date() for s in sessions]
    assert days == [
        date(2027, 2, 2),
        date(2027, 2, 9),
        date(2027, 2, 23),
        date(2027, 3, 9),
        date(2027, 3, 16),
        date(2027, 3, 23),
        date(2027, 3, 30),  # after the switch to summer time on 28 March
        date(2027, 4, 6),
        date(2027, 4, 13),
        date(2027, 4, 20),
    ]
    for s in sessions:
        local_start, local_end = s.starts_at.astimezone(BERLIN), s.ends_at.astimezone(BERLIN)
        assert (local_start.time(), local_end.time()) == (time(18, 0), time(19, 30))
    assert sessions[5].starts_at == datetime(2027, 3, 23, 17, 0, tzinfo=UTC)  # CET
    assert sessions[6].starts_at == datetime(2027, 3, 30, 16, 0, tzinfo=UTC)  # CEST
    saved = load(Course, course.id)
    assert (saved.session_count, saved.weekday, saved.start_minute) == (10, 2, 18 * 60)
    assert audit_actions("session.generated")


def test_generator_every_other_week_from_a_wednesday(
    client: Any, staff: Any, make_course: Any, query: Any
) -> None:
    """The first session is the first chosen weekday on or after the start date."""
    course = make_course(status="draft", sessions=0)
    resp = client.submit(
        f"/staff/courses/{course.id}/sessions/generate",
        {
            "gen-weekday": "1",
            "gen-start": "09:00",
            "gen-end": "10:30",
            "gen-count": "3",
            "gen-first_date": "03.02.2027",
            "gen-interval_weeks": "2",
            "gen-skip_dates": "",
        },
    )
    assert resp.status_code == 302
    days = [
        s.starts_at.astimezone(BERLIN).date()
        for s in query(
            sa.select(Session).where(Session.course_id == course.id).order_by(Session.starts_at)
        )
    ]
    assert days == [date(2027, 2, 8), date(2027, 2, 22), date(2027, 3, 8)]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"gen-skip_dates": "31.02.2027 Ostern"}, "gen-skip_dates", "31.02.2027, Ostern"),
        ({"gen-count": "0"}, "gen-count", "Number must be between 1 and 200."),
        ({"gen-end": "17:00"}, "gen-end", "The end must be after the start."),
        ({"gen-weekday": "8"}, "gen-weekday", ""),
        ({"gen-start": "6 Uhr"}, "gen-start", ""),
    ],
)
def test_generator_refusals(
    client: Any,
    staff: Any,
    make_course: Any,
    query: Any,
    change: dict[str, str],
    field: str,
    message: str,
) -> None:
    """Bad plans are refused with the message at the field; no session is created."""
    course = make_course(status="draft", sessions=0)
    data = {
        "gen-weekday": "2",
        "gen-start": "18:00",
        "gen-end": "19:30",
        "gen-count": "10",
        "gen-first_date": "2027-02-02",
        "gen-interval_weeks": "1",
        **change,
    }
    resp = client.submit(f"/staff/courses/{course.id}/sessions/generate", data)
    assert resp.status_code == 422
    assert message in field_error(resp, field) and field_error(resp, field)
    assert query(sa.select(Session).where(Session.course_id == course.id)) == []


def test_edit_session_moves_it_and_bumps_the_sequence(
    client: Any, staff: Any, make_course: Any, load: Any
) -> None:
    """The edit form shows Berlin time; a new time is saved and calendars see a new sequence."""
    course = make_course(sessions=1, start_time=time(18, 0))
    session = course.sessions[0]
    page = client.get(f"/staff/sessions/{session.id}/edit")
    assert 'value="18:00"' in body(page)
    day = session.starts_at.astimezone(BERLIN).date()
    resp = client.submit(
        f"/staff/sessions/{session.id}/edit",
        {"day": day.isoformat(), "start": "18:30", "end": "20:00", "room": "EDV 2"},
    )
    assert resp.status_code == 302
    saved = load(Session, session.id)
    assert saved.starts_at.astimezone(BERLIN).time() == time(18, 30)
    assert saved.room == "EDV 2"
    assert saved.sequence == session.sequence + 1
    bad = client.submit(
        f"/staff/sessions/{session.id}/edit",
        {"day": day.isoformat(), "start": "18:30", "end": "08:00"},
    )
    assert bad.status_code == 422
    assert field_error(bad, "end") == "The end must be after the start."


def test_cancel_session_tells_participants(
    client: Any,
    staff: Any,
    make_course: Any,
    make_enrolment: Any,
    load: Any,
    outbox_for: Any,
) -> None:
    """A reason is required; participants and instructors get a mail; twice is refused."""
    course = make_course(sessions=2)
    enrolment = make_enrolment(course)
    session = course.sessions[0]
    url = f"/staff/sessions/{session.id}/cancel"
    resp = client.submit(url, {"cancel-reason": ""})
    assert resp.status_code == 422
    assert field_error(resp, "cancel-reason")
    assert load(Session, session.id).status is SessionStatus.SCHEDULED

    assert client.submit(url, {"cancel-reason": "Raum ist belegt"}).status_code == 302
    saved = load(Session, session.id)
    assert saved.status is SessionStatus.CANCELLED
    assert saved.sequence == session.sequence + 1
    (mail,) = outbox_for("session_cancelled", enrolment.user.email)
    assert "Raum ist belegt" in mail.body_text
    assert load(Course, course.id).session_count == 1
    assert client.submit(url, {"cancel-reason": "Nochmal"}).status_code == 409


# --- bookings ---------------------------------------------------------------------------------


def test_participants_page_shows_status_and_reduction_claims(
    client: Any, staff: Any, make_course: Any, make_enrolment: Any, make_user: Any
) -> None:
    """Participants and waiting list, with price and the reduction claimed (to be checked)."""
    course = make_course(capacity=1, fee_cents=7900, reduced_fee_cents=4900)
    make_enrolment(course, make_user(name="Paula Platz"), reduction="jobseeker")
    make_enrolment(course, make_user(name="Willi Warte"))
    html = body(client.get(f"/staff/courses/{course.id}/enrolments"))
    seats, waiting = html.split('id="waiting-h"')
    assert "Paula Platz" in seats and "Jobseekers" in seats and "Awaiting payment" in seats
    assert "Willi Warte" in waiting and "position 1" in waiting


def test_book_on_behalf_writes_an_audit_entry(
    client: Any,
    staff: Any,
    make_course: Any,
    make_user: Any,
    query: Any,
    audit_actions: Any,
    outbox_for: Any,
) -> None:
    """Staff find the person by e-mail address (any case) and book them; it is audited."""
    course = make_course(fee_cents=7900, reduced_fee_cents=4900)
    anna = make_user(email="anna@example.org", name="Anna Anders")
    resp = client.submit(
        f"/staff/courses/{course.id}/enrolments",
        {"book-email": " Anna@Example.org ", "book-reduction_reason": "student"},
    )
    assert resp.status_code == 302
    (enrolment,) = query(sa.select(Enrolment).where(Enrolment.course_id == course.id))
    assert enrolment.user_id == anna.id
    assert enrolment.status is EnrolmentStatus.PENDING_PAYMENT
    assert (enrolment.price_cents, enrolment.reduction_reason.value) == (4900, "student")
    assert enrolment.created_by_id == staff.id
    ((_action, actor, details),) = audit_actions("enrolment.created_on_behalf")
    assert actor == staff.id and details["user"] == anna.id and details["course"] == course.id
    assert outbox_for("enrolment_pending_payment", "anna@example.org")
    assert "Anna Anders is booked" in body(client.get(resp.headers["Location"]))


def test_book_on_behalf_refusals(
    client: Any, staff: Any, make_course: Any, make_user: Any, make_enrolment: Any, query: Any
) -> None:
    """Unknown address or a reduction the course does not offer: 422; booked twice: 409."""
    course = make_course()  # free, no reduced fee
    url = f"/staff/courses/{course.id}/enrolments"
    resp = client.submit(url, {"book-email": "niemand@example.org", "book-reduction_reason": ""})
    assert resp.status_code == 422
    assert field_error(resp, "book-email") == "There is no account with this address."
    bert = make_user(email="bert@example.org")
    resp = client.submit(
        url, {"book-email": "bert@example.org", "book-reduction_reason": "student"}
    )
    assert resp.status_code == 422
    assert field_error(resp, "book-reduction_reason")
    make_enrolment(course, bert)
    resp = client.submit(url, {"book-email": "bert@example.org", "book-reduction_reason": ""})
    assert resp.status_code == 409
    assert len(query(sa.select(Enrolment).where(Enrolment.course_id == course.id))) == 1


def test_cancel_on_behalf_after_the_deadline_needs_the_override(
    client: Any,
    staff: Any,
    make_course: Any,
    make_enrolment: Any,
    load: Any,
    audit_actions: Any,
) -> None:
    """Past the deadline: refused without the box (409), done with it; the seat moves on."""
    course = make_course(capacity=1, starts_in_days=3, cancellation_days=7)
    seat = make_enrolment(course)
    waiting = make_enrolment(course)
    url = f"/staff/enrolments/{seat.id}/cancel"
    resp = client.submit(url, {})
    assert resp.status_code == 409
    assert "free cancellation period ended" in body(resp)
    assert load(Enrolment, seat.id).status is EnrolmentStatus.CONFIRMED

    resp = client.submit(url, {"override": "y"})
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/staff/courses/{course.id}/enrolments")
    assert load(Enrolment, seat.id).status is EnrolmentStatus.CANCELLED
    assert load(Enrolment, waiting.id).status is EnrolmentStatus.CONFIRMED  # promoted
    ((_action, actor, details),) = audit_actions("enrolment.cancelled_on_behalf")
    assert actor == staff.id and details["override"] is True
    assert client.submit(url, {"override": "y"}).status_code == 409  # no longer active


def test_cancel_on_behalf_within_the_deadline(
    client: Any, staff: Any, make_course: Any, make_enrolment: Any, load: Any
) -> None:
    """Within the free period no override is needed."""
    course = make_course(starts_in_days=30, cancellation_days=7)
    enrolment = make_enrolment(course)
    assert client.submit(f"/staff/enrolments/{enrolment.id}/cancel", {}).status_code == 302
    assert load(Enrolment, enrolment.id).status is EnrolmentStatus.CANCELLED


def test_move_to_another_course(
    client: Any,
    staff: Any,
    make_term: Any,
    make_course: Any,
    make_enrolment: Any,
    query: Any,
    load: Any,
    outbox_for: Any,
) -> None:
    """Named by course number: the booking moves with its status; the person is told."""
    term = make_term()
    source = make_course(term=term, code="271-105")
    target = make_course(term=term, code="271-106")
    enrolment = make_enrolment(source)
    page = client.get(f"/staff/enrolments/{enrolment.id}/move")
    assert page.status_code == 200
    resp = client.submit(f"/staff/enrolments/{enrolment.id}/move", {"course_id": "271-106"})
    assert resp.status_code == 200  # first what happens to the money (issue 14), then move
    assert load(Enrolment, enrolment.id).status is EnrolmentStatus.CONFIRMED
    resp = client.submit(
        f"/staff/enrolments/{enrolment.id}/move", {"course_id": "271-106", "confirmed": "y"}
    )
    assert resp.status_code == 302
    assert load(Enrolment, enrolment.id).status is EnrolmentStatus.CANCELLED
    (moved,) = query(sa.select(Enrolment).where(Enrolment.course_id == target.id))
    assert moved.status is EnrolmentStatus.CONFIRMED and moved.user_id == enrolment.user_id
    assert load(Course, source.id).seats_taken == 0
    assert load(Course, target.id).seats_taken == 1
    assert outbox_for("enrolment_moved", enrolment.user.email)


def test_move_refusals(
    client: Any,
    staff: Any,
    make_course: Any,
    make_enrolment: Any,
    load: Any,
) -> None:
    """Unknown course or the same course: 422 at the field; a full target: 409."""
    source = make_course()
    full = make_course(capacity=1)
    make_enrolment(full)
    enrolment = make_enrolment(source)
    url = f"/staff/enrolments/{enrolment.id}/move"
    resp = client.submit(url, {"course_id": "999-999"})
    assert resp.status_code == 422
    assert field_error(resp, "course_id") == "There is no course with this number or id."
    resp = client.submit(url, {"course_id": str(source.id)})
    assert resp.status_code == 422
    assert field_error(resp, "course_id") == "Choose a different course."
    resp = client.submit(url, {"course_id": full.code})
    assert resp.status_code == 409
    assert "The target course is full." in body(resp)
    assert load(Enrolment, enrolment.id).status is EnrolmentStatus.CONFIRMED


def test_find_target_course_prefers_the_same_term(
    app: Any, make_term: Any, make_course: Any
) -> None:
    """A course number used in two terms means the source's term; otherwise it is ambiguous."""
    from vhs.errors import Invalid

    spring, autumn, winter = make_term(), make_term(), make_term()
    a = make_course(term=spring, code="300-1")
    b = make_course(term=autumn, code="300-1")
    other = make_course(term=winter, code="300-2")
    with app.app_context():
        source_spring = db.session.get(Course, a.id)
        source_winter = db.session.get(Course, other.id)
        assert find_target_course("300-1", source_spring).id == a.id
        assert find_target_course(f"#{b.id}", source_spring).id == b.id
        with pytest.raises(Invalid):
            find_target_course("300-1", source_winter)


# --- reports ----------------------------------------------------------------------------------


def test_below_minimum_report(
    client: Any, staff: Any, make_course: Any, make_enrolment: Any
) -> None:
    """Courses starting within N days with fewer bookings than their minimum."""
    soon = make_course(title="Aquarell", starts_in_days=5, min_participants=5)
    make_enrolment(soon)
    make_course(title="Pilates", starts_in_days=5, min_participants=1, capacity=3)
    make_course(title="Qigong", starts_in_days=40, min_participants=5)
    html = body(client.get("/staff/reports/below-minimum", query_string={"days": 14}))
    assert "Aquarell" in html and "Pilates" in html and "Qigong" not in html
    row = html[html.index("Aquarell") :]
    assert re.search(r"<td>1</td>\s*<td>5</td>\s*<td>4</td>", row)
    assert "Qigong" in body(client.get("/staff/reports/below-minimum?days=60"))
    assert "Aquarell" not in body(client.get("/staff/reports/below-minimum?days=2"))
    assert "Aquarell" in body(client.get("/staff/reports/below-minimum"))  # default: 14 days


@pytest.mark.parametrize("days", ["abc", "0", "1000"])
def test_below_minimum_refuses_bad_days(client: Any, staff: Any, days: str) -> None:
    """A look-ahead that is not 1-365 days: 422 with the message at the field."""
    resp = client.get("/staff/reports/below-minimum", query_string={"days": days})
    assert resp.status_code == 422
    assert field_error(resp, "days")
