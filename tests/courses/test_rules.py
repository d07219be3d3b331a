"""Each planning limit lives once (``courses.rules``): the staff form (WTForms), the API schema
(marshmallow) and the service accept and refuse the same boundary values (issue 9, item 4).

Every case drives one value, just inside or just outside a limit, through all three and
asserts the same verdict; the rest of the input is valid, so a verdict is about that value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import SelectChoice

from courses import rules
from courses.models import Category, Course, CourseStatus, Session, Term
from courses.planning import forms as planning_forms
from courses.planning import schemas as planning_schemas
from courses.planning import services as planning_services
from courses.planning import sessions as session_services
from courses.rules import Bounds
from vhs.accounts.models import Role, User
from vhs.db import db
from vhs.errors import Invalid
from vhs.formats import format_euros

BERLIN = ZoneInfo("Europe/Berlin")  # the test apps' VHS_TIMEZONE


@dataclass(frozen=True)
class Case:
    """One value for one field: as the form is sent it, as the API and the service take it."""

    field: str
    form: Any
    data: Any
    accepted: bool
    context: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        verdict = "ok" if self.accepted else "refused"
        shown = str(self.form)
        return f"{self.field}={shown[:24]}{'…' if len(shown) > 24 else ''}-{verdict}"


def edges(name: str, bounds: Bounds, form: Callable[[int], Any] = str, **context: Any) -> list:
    """Just outside, on, and just inside both ends of a range."""
    return [
        Case(name, form(v), v, v in bounds, context)
        for v in (bounds.lo - 1, bounds.lo, bounds.lo + 1, bounds.hi - 1, bounds.hi, bounds.hi + 1)
    ]


def lengths(name: str, limit: int, **context: Any) -> list[Case]:
    """A text of exactly the limit, and one character more."""
    return [
        Case(name, "x" * limit, "x" * limit, True, context),
        Case(name, "x" * (limit + 1), "x" * (limit + 1), False, context),
    ]


def euros(cents: int) -> str:
    """Cents as typed into the form (a minus sign for the negative edge)."""
    return format_euros(cents) if cents >= 0 else "-" + format_euros(-cents)


def local_form(day: date, at: time) -> str:
    """A date and time as the browser's datetime-local input sends it."""
    return f"{day.isoformat()}T{at.strftime('%H:%M')}"


def local_at(day: date, at: time) -> datetime:
    """The same wall-clock time as an aware datetime (API and service)."""
    return datetime.combine(day, at, tzinfo=BERLIN)


def day_edges(name: str, at: time | None = None) -> list[Case]:
    """The first and last day of the planning range, and the days just outside."""
    days = [
        (rules.EARLIEST_DAY - timedelta(days=1), False),
        (rules.EARLIEST_DAY, True),
        (rules.LATEST_DAY, True),
        (rules.LATEST_DAY + timedelta(days=1), False),
    ]
    if at is None:
        return [Case(name, d.isoformat(), d, ok) for d, ok in days]
    return [Case(name, local_form(d, at), local_at(d, at), ok) for d, ok in days]


# --- the three faces -------------------------------------------------------------------------


@dataclass
class World:
    """Rows the services need: a term, a category, a draft course with a session, an actor."""

    actor: User
    term: Term
    category: Category
    course: Course
    session: Session


@pytest.fixture
def world(app: Any, make_user: Any) -> Iterator[World]:
    """The rows, inside an app context held for the whole test."""
    staff = make_user(Role.STAFF)
    with app.test_request_context():
        term = Term(
            name="Frühjahr 2027",
            starts_on=date(2027, 2, 1),
            ends_on=date(2027, 7, 1),
            enrolment_opens_at=local_at(date(2027, 1, 10), time(8, 0)),
        )
        category = Category(slug="rules-sprachen", name_de="Sprachen", name_en="Languages")
        db.session.add_all([term, category])
        db.session.flush()
        course = Course(
            term_id=term.id,
            category_id=category.id,
            code="R-1",
            title="Regeln",
            status=CourseStatus.DRAFT,
        )
        db.session.add(course)
        db.session.flush()
        session = Session(
            course_id=course.id,
            starts_at=local_at(date(2027, 3, 2), time(18, 0)),
            ends_at=local_at(date(2027, 3, 2), time(19, 30)),
        )
        db.session.add(session)
        db.session.flush()
        yield World(db.session.get(User, staff.id), term, category, course, session)


@contextmanager
def undone() -> Iterator[None]:
    """Run a service call in a savepoint that is rolled back: every case starts afresh."""
    nested = db.session.begin_nested()
    try:
        yield
    finally:
        if nested.is_active:
            nested.rollback()


def form_accepts(form_class: type, data: dict[str, Any], name: str, setup: Any = None) -> bool:
    """Whether the WTForms form finds no fault with the field ``name``."""
    formdata = MultiDict()
    for key, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            formdata.add(key, str(item))
    form = form_class(formdata=formdata, meta={"csrf": False})
    if setup is not None:
        setup(form)
    form.validate()
    return name not in form.errors


def schema_accepts(schema: Any, data: dict[str, Any], name: str) -> bool:
    """Whether the marshmallow schema finds no fault with the field ``name``."""
    return name not in schema.validate(data)


def service_accepts(call: Callable[[], Any], name: str) -> bool:
    """Whether the service takes the input; a refusal must name the field."""
    with undone():
        try:
            call()
        except Invalid as exc:
            assert name in exc.errors, exc.errors
            return False
    return True


def verdicts(form: bool, schema: bool, service: bool) -> dict[str, bool]:
    """The three verdicts by face, for a readable assertion."""
    return {"form": form, "schema": schema, "service": service}


# --- courses ---------------------------------------------------------------------------------

COURSE_CASES = [
    *edges("capacity", rules.CAPACITY, min_participants=0),
    *edges("min_participants", rules.MIN_PARTICIPANTS, capacity=rules.CAPACITY.hi),
    *edges("fee_cents", rules.FEE_CENTS, euros),
    *edges("reduced_fee_cents", rules.FEE_CENTS, euros, fee_cents=rules.FEE_CENTS.hi),
    *edges("cancellation_days", rules.CANCELLATION_DAYS),
    *lengths("title", rules.TITLE_MAX),
    *lengths("subtitle", rules.SUBTITLE_MAX),
    *lengths("description", rules.DESCRIPTION_MAX),
    *lengths("venue", rules.VENUE_MAX),
    *lengths("room", rules.ROOM_MAX),
    *[
        Case("code", code, code, ok)
        for code, ok in [
            ("27", True),
            ("2", False),
            ("A" * rules.CODE_MAX, True),
            ("A" * (rules.CODE_MAX + 1), False),
            ("271-105", True),
            ("2027.1/B", True),
            ("271 105", False),
            ("-271", False),
            ("271_105", False),
        ]
    ],
    *day_edges("enrolment_closes_at", time(12, 0)),
]


def course_form_data(world: World, **change: Any) -> dict[str, Any]:
    """A valid course as the staff page sends it."""
    return {
        "term_id": world.term.id,
        "category_id": world.category.id,
        "code": "271-105",
        "title": "Englisch A1",
        "language": "en",
        "format": "in_person",
        "fee_cents": "79,50",
        "capacity": "12",
        "min_participants": "6",
        "cancellation_days": "7",
        **{
            k: euros(v) if isinstance(v, int) and k.endswith("_cents") else v
            for k, v in change.items()
        },
    }


def course_data(world: World, **change: Any) -> dict[str, Any]:
    """A valid course as the API and the service take it."""
    return {
        "term_id": world.term.id,
        "category_id": world.category.id,
        "code": "271-105",
        "title": "Englisch A1",
        "fee_cents": 7950,
        "capacity": 12,
        "min_participants": 6,
        **change,
    }


def course_choices(form: Any) -> None:
    """The choices the staff page fills in from the database."""
    form.term_id.choices = [SelectChoice(form.term_id.data, "term")]
    form.category_id.choices = [SelectChoice(form.category_id.data, "category")]
    form.language.choices = [SelectChoice("en", "English")]
    form.format.choices = [SelectChoice("in_person", "in person")]


@pytest.mark.parametrize("case", COURSE_CASES, ids=str)
def test_course_limits_agree(world: World, case: Case) -> None:
    form = form_accepts(
        planning_forms.CourseForm,
        course_form_data(world, **case.context, **{case.field: case.form}),
        case.field,
        course_choices,
    )
    data = course_data(world, **case.context, **{case.field: case.data})
    schema = schema_accepts(planning_schemas.CourseInSchema(), data, case.field)
    service = service_accepts(lambda: planning_services.save_course(world.actor, data), case.field)
    expected = verdicts(case.accepted, case.accepted, case.accepted)
    assert verdicts(form, schema, service) == expected


def test_minimum_above_capacity_is_refused_everywhere_but_by_the_service(world: World) -> None:
    """Form and schema check one field at a time; the service compares the two (and shows it)."""
    data = course_data(world, capacity=5, min_participants=6)
    assert not service_accepts(
        lambda: planning_services.save_course(world.actor, data), "min_participants"
    )
    assert not service_accepts(
        lambda: planning_services.save_course(world.actor, {**data, "reduced_fee_cents": 7951}),
        "reduced_fee_cents",
    )


# --- the session series generator ------------------------------------------------------------

SERIES_CASES = [
    *edges("count", rules.SERIES_COUNT),
    *edges("interval_weeks", rules.SERIES_INTERVAL_WEEKS),
    *edges("weekday", rules.WEEKDAY),
    *day_edges("first_date"),
    *[
        Case("skip_dates", [d.isoformat() for d in days], days, ok)
        for days, ok in [
            ([date(2100, 1, 1) + timedelta(days=n) for n in range(rules.SKIP_DATES_MAX)], True),
            (
                [date(2100, 1, 1) + timedelta(days=n) for n in range(rules.SKIP_DATES_MAX + 1)],
                False,
            ),
        ]
    ],
]


def series(**change: Any) -> dict[str, Any]:
    """A valid plan, with ``change``: weekly on Tuesday 18:00-19:30, twice."""
    return {
        "weekday": 2,
        "start": time(18, 0),
        "end": time(19, 30),
        "count": 2,
        "first_date": date(2027, 2, 2),
        "interval_weeks": 1,
        "skip_dates": [],
        **change,
    }


@pytest.mark.parametrize("case", SERIES_CASES, ids=str)
def test_series_limits_agree(world: World, case: Case) -> None:
    if case.field == "first_date" and case.accepted:
        # the last day of the range leaves room for one session only
        plan = series(first_date=case.data, count=1, weekday=case.data.isoweekday())
    else:
        plan = series(**{case.field: case.data})
    form_data = {
        "weekday": plan["weekday"],
        "start": plan["start"].strftime("%H:%M"),
        "end": plan["end"].strftime("%H:%M"),
        "count": plan["count"],
        "first_date": plan["first_date"].isoformat(),
        "interval_weeks": plan["interval_weeks"],
        "skip_dates": ", ".join(d.isoformat() for d in plan["skip_dates"]),
        case.field: case.form if not isinstance(case.form, list) else ", ".join(case.form),
    }

    def weekdays(form: Any) -> None:
        form.weekday.choices = [SelectChoice(n, str(n)) for n in range(1, 8)]

    form = form_accepts(planning_forms.GenerateForm, form_data, case.field, weekdays)
    api = {
        **{k: v.isoformat() if isinstance(v, date | time) else v for k, v in plan.items()},
        "skip_dates": [d.isoformat() for d in plan["skip_dates"]],
    }
    schema = schema_accepts(planning_schemas.GenerateSessionsSchema(), api, case.field)
    service = service_accepts(
        lambda: session_services.generate_sessions(
            world.actor,
            world.course,
            session_services.SessionPlan(
                **{**plan, "skip_dates": frozenset(plan["skip_dates"])},
            ),
        ),
        case.field,
    )
    expected = verdicts(case.accepted, case.accepted, case.accepted)
    assert verdicts(form, schema, service) == expected


# --- sessions ----------------------------------------------------------------------------------

SESSION_CASES = [*lengths("room", rules.ROOM_MAX), *lengths("note", rules.NOTE_MAX)]


@pytest.mark.parametrize("case", SESSION_CASES, ids=str)
def test_session_limits_agree(world: World, case: Case) -> None:
    form_data = {"day": "2027-03-02", "start": "18:00", "end": "19:30", case.field: case.form}
    form = form_accepts(planning_forms.SessionForm, form_data, case.field)
    times = {
        "starts_at": local_at(date(2027, 3, 2), time(18, 0)),
        "ends_at": local_at(date(2027, 3, 2), time(19, 30)),
    }
    api = {**{k: v.isoformat() for k, v in times.items()}, case.field: case.data}
    schema = schema_accepts(planning_schemas.SessionInSchema(), api, case.field)
    add = service_accepts(
        lambda: session_services.add_session(
            world.actor, world.course, {**times, case.field: case.data}
        ),
        case.field,
    )
    update = service_accepts(
        lambda: session_services.update_session(
            world.actor, world.session, {case.field: case.data}
        ),
        case.field,
    )
    expected = {**verdicts(case.accepted, case.accepted, case.accepted), "update": case.accepted}
    assert {**verdicts(form, schema, add), "update": update} == expected


@pytest.mark.parametrize(
    ("minutes", "accepted"), [(12 * 60, True), (12 * 60 + 1, False)], ids=["12h", "12h01"]
)
def test_session_length_is_the_services_rule_on_page_and_api(
    client: Any,
    app: Any,
    make_user: Any,
    api_token: Any,
    login: Any,
    make_course: Any,
    minutes: int,
    accepted: bool,
) -> None:
    """The one limit only the service knows: the page and the API both show its verdict."""
    course = make_course(status="draft", sessions=0)
    starts = local_at(date(2027, 3, 2), time(6, 0))
    ends = starts + timedelta(minutes=minutes)
    staff = make_user(Role.STAFF, locale="en")
    resp = client.post(
        f"/api/v1/staff/courses/{course.id}/sessions",
        json={"starts_at": starts.isoformat(), "ends_at": ends.isoformat()},
        headers=api_token(staff),
    )
    assert resp.status_code == (201 if accepted else 422)
    login(staff)
    page = client.submit(
        f"/staff/courses/{course.id}/sessions",
        {"one-day": "2027-03-02", "one-start": "06:00", "one-end": ends.strftime("%H:%M")},
    )
    assert page.status_code == (302 if accepted else 422)
    if not accepted:
        assert "at most 12 hours" in page.get_data(as_text=True)


# --- terms, categories, reasons, reports -----------------------------------------------------

TERM_CASES = [
    *lengths("name", rules.TERM_NAME_MAX),
    *day_edges("enrolment_opens_at", time(8, 0)),
    *[Case("starts_on", c.form, c.data, c.accepted) for c in day_edges("starts_on")],
]


@pytest.mark.parametrize("case", TERM_CASES, ids=str)
def test_term_limits_agree(world: World, case: Case) -> None:
    form_data = {
        "name": "Herbst 2027",
        "starts_on": "1990-01-01",
        "ends_on": "2199-12-31",
        "enrolment_opens_at": "2027-06-01T08:00",
        "status": "draft",
        case.field: case.form,
    }
    form = form_accepts(planning_forms.TermForm, form_data, case.field)
    data = {
        "name": "Herbst 2027",
        "starts_on": date(1990, 1, 1),
        "ends_on": date(2199, 12, 31),
        "enrolment_opens_at": local_at(date(2027, 6, 1), time(8, 0)),
        case.field: case.data,
    }
    api = {k: v.isoformat() if isinstance(v, date) else v for k, v in data.items()}
    schema = schema_accepts(planning_schemas.TermInSchema(), api, case.field)
    service = service_accepts(lambda: planning_services.save_term(world.actor, data), case.field)
    expected = verdicts(case.accepted, case.accepted, case.accepted)
    assert verdicts(form, schema, service) == expected


CATEGORY_CASES = [
    *lengths("name_de", rules.CATEGORY_NAME_MAX),
    *lengths("name_en", rules.CATEGORY_NAME_MAX),
    *edges("position", rules.CATEGORY_POSITION),
    *[
        Case("slug", slug, slug, ok)
        for slug, ok in [
            ("a" * rules.SLUG_MAX, True),
            ("a" * (rules.SLUG_MAX + 1), False),
            ("deutsch-als-fremdsprache", True),
            ("deutsch--b1", False),
            ("deutsch-", False),
            ("-deutsch", False),
            ("deutsch_b1", False),
        ]
    ],
]


@pytest.mark.parametrize("case", CATEGORY_CASES, ids=str)
def test_category_limits_agree(world: World, case: Case) -> None:
    form_data = {"parent_id": "", "slug": "kochen", "name_de": "Kochen", "name_en": "Cooking"}
    form_data = {**form_data, "position": "0", case.field: case.form}

    def no_parent(form: Any) -> None:
        form.parent_id.choices = [SelectChoice("", "-")]

    form = form_accepts(planning_forms.CategoryForm, form_data, case.field, no_parent)
    data = {"slug": "kochen", "name_de": "Kochen", "name_en": "Cooking", "position": 0}
    data = {**data, case.field: case.data}
    schema = schema_accepts(planning_schemas.CategoryInSchema(), data, case.field)
    service = service_accepts(
        lambda: planning_services.save_category(world.actor, data), case.field
    )
    expected = verdicts(case.accepted, case.accepted, case.accepted)
    assert verdicts(form, schema, service) == expected


@pytest.mark.parametrize("case", lengths("reason", rules.REASON_MAX), ids=str)
def test_cancellation_reason_limit_agrees(world: World, case: Case) -> None:
    form = form_accepts(planning_forms.ReasonForm, {"reason": case.form}, "reason")
    schema = schema_accepts(planning_schemas.ReasonSchema(), {"reason": case.data}, "reason")
    course = service_accepts(
        lambda: planning_services.cancel_course(world.actor, world.course, case.data), "reason"
    )
    session = service_accepts(
        lambda: session_services.cancel_session(world.actor, world.session, case.data), "reason"
    )
    expected = {**verdicts(case.accepted, case.accepted, case.accepted), "session": case.accepted}
    assert {**verdicts(form, schema, course), "session": session} == expected


@pytest.mark.parametrize("case", edges("days", rules.BELOW_MINIMUM_DAYS), ids=str)
def test_below_minimum_look_ahead_agrees(world: World, case: Case) -> None:
    form = form_accepts(planning_forms.BelowMinimumForm, {"days": case.form}, "days")
    schema = schema_accepts(planning_schemas.BelowMinimumArgsSchema(), {"days": case.data}, "days")
    service = service_accepts(lambda: planning_services.below_minimum(case.data), "days")
    expected = verdicts(case.accepted, case.accepted, case.accepted)
    assert verdicts(form, schema, service) == expected


# --- the OpenAPI document says what the API accepts ------------------------------------------


def test_openapi_declares_the_day_range_and_the_limits(client: Any) -> None:
    spec = client.get("/api/v1/openapi.json").json
    export = spec["paths"]["/api/v1/exports/sessions.ics"]["get"]["parameters"]
    for name in ("date_from", "date_to"):
        (param,) = [p for p in export if p["name"] == name]
        schema = param["schema"]
        assert schema["pattern"] == rules.DAY_PATTERN
        assert "1990-01-01 and 2199-12-31" in param.get("description", schema.get("description"))
    course = spec["components"]["schemas"]["CourseIn"]["properties"]
    assert (course["capacity"]["minimum"], course["capacity"]["maximum"]) == (
        rules.CAPACITY.lo,
        rules.CAPACITY.hi,
    )
    assert course["fee_cents"]["maximum"] == rules.FEE_CENTS.hi
    units = spec["components"]["schemas"]["UnitsOverride"]["properties"]["teaching_units"]
    assert (units["minimum"], units["maximum"]) == (
        rules.TEACHING_UNITS.lo,
        rules.TEACHING_UNITS.hi,
    )
    assert course["code"]["pattern"] == rules.CODE_PATTERN
    assert course["enrolment_closes_at"]["pattern"].startswith("^(199[0-9]|2[01][0-9]{2})-")
    generate = spec["components"]["schemas"]["GenerateSessions"]["properties"]
    assert generate["first_date"]["pattern"] == rules.DAY_PATTERN
    assert generate["interval_weeks"]["maximum"] == rules.SERIES_INTERVAL_WEEKS.hi
    assert generate["skip_dates"]["maxItems"] == rules.SKIP_DATES_MAX


def test_day_pattern_matches_exactly_the_day_range() -> None:
    """The pattern OpenAPI clients see and the range the code checks are the same days."""
    for day in (rules.EARLIEST_DAY, rules.LATEST_DAY, date(2027, 3, 28)):
        assert re.match(rules.DAY_PATTERN, day.isoformat()) and rules.day_in_range(day)
    for day in (rules.EARLIEST_DAY - timedelta(days=1), rules.LATEST_DAY + timedelta(days=1)):
        assert not re.match(rules.DAY_PATTERN, day.isoformat()) and not rules.day_in_range(day)
    for text in ("0001-01-01", "9999-12-31", "1989-12-31", "2200-01-01"):
        assert not re.match(rules.DAY_PATTERN, text)
