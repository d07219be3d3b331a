"""Resident pages: catalogue (filters, search, pages), course page, booking, cancelling, mails."""

from __future__ import annotations

import re
from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from courses.models import Course, CourseFormat, Enrolment, EnrolmentStatus
from tests.conftest import database_url, is_postgres_url
from tests.courses import factories
from tests.vhs.conftest import shows, tr
from vhs.db import db, utcnow

BERLIN = ZoneInfo("Europe/Berlin")  # the test apps' VHS_TIMEZONE

ON_POSTGRES = is_postgres_url(database_url())


def ntr(app, singular, plural, num, locale="de", **variables):
    """A plural message as the app shows it in ``locale``."""
    from flask_babel import force_locale, ngettext

    with app.test_request_context(), force_locale(locale):
        return ngettext(singular, plural, num, **variables)


def text_of(resp):
    """The page as text with non-breaking spaces made plain (German money: "79,00 €")."""
    return resp.get_data(as_text=True).replace("\xa0", " ").replace("&nbsp;", " ")


def flashed(resp):
    """The flash messages on a page."""
    return re.findall(r'<p class="flash flash-\w+">(.*?)</p>', resp.get_data(as_text=True), re.S)


def enrolment_of(app, user_id, course_id):
    """The latest enrolment of a person in a course (detached)."""
    with app.app_context():
        e = db.session.execute(
            sa.select(Enrolment)
            .where(Enrolment.user_id == user_id, Enrolment.course_id == course_id)
            .order_by(Enrolment.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        if e is not None:
            db.session.expunge(e)
        return e


# --- the catalogue --------------------------------------------------------------------------


@pytest.fixture
def catalogue(app, make_user):
    """Three published courses that differ in every filter, plus a draft and a cancelled one.

    ======  ==========  ==========  =========  =====  ======  ====  =====  ======  ========
    course  term        category    format     time   starts  lang  level  fee     places
    ======  ==========  ==========  =========  =====  ======  ====  =====  ======  ========
    A       spring      Englisch    in_person  09:00  +32 d   en    A1     49,00   free
    B       spring      Gesundheit  online     14:00  +30 d   de    –      79,00   full
    C       autumn      Sprachen    hybrid     19:00  +31 d   es    B2     free    free
    ======  ==========  ==========  =========  =====  ======  ====  =====  ======  ========

    Englisch is a child of Sprachen; C is taught by Hanna Hauptmann.
    """
    hanna = make_user("instructor", name="Hanna Hauptmann")
    with app.app_context():
        spring = factories.new_term(name="Frühjahr 2027")
        autumn = factories.new_term(name="Herbst 2027")
        languages = factories.new_category(name_de="Sprachen", name_en="Languages")
        english = factories.new_category(name_de="Englisch", name_en="English", parent=languages)
        health = factories.new_category(name_de="Gesundheit", name_en="Health")
        a = factories.new_course(
            title="Englisch am Morgen",
            code="271-101",
            term=spring,
            category=english,
            format=CourseFormat.IN_PERSON,
            start_time=time(9, 0),
            starts_in_days=32,
            language="en",
            level="A1",
            fee_cents=4900,
            capacity=10,
        )
        b = factories.new_course(
            title="Yoga am Nachmittag",
            code="301-201",
            term=spring,
            category=health,
            format=CourseFormat.ONLINE,
            start_time=time(14, 0),
            starts_in_days=30,
            language="de",
            fee_cents=7900,
            capacity=1,
        )
        factories.new_enrolment(b, status="confirmed")
        c = factories.new_course(
            title="Spanisch am Abend",
            code="281-301",
            term=autumn,
            category=languages,
            format=CourseFormat.HYBRID,
            start_time=time(19, 0),
            starts_in_days=31,
            language="es",
            level="B2",
            fee_cents=0,
            capacity=10,
            instructors=[hanna],
        )
        factories.new_course(title="Geheimer Entwurf", status="draft", term=spring)
        factories.new_course(title="Abgesagter Lehrgang", status="cancelled", term=spring)
        data = {
            "A": a.id,
            "B": b.id,
            "C": c.id,
            "spring": spring.id,
            "autumn": autumn.id,
            "languages": languages.id,
            "english": english.id,
            "health": health.id,
            "hanna": hanna.id,
            "weekday_A": a.weekday,
            "weekday_B": b.weekday,
        }
        db.session.commit()
    return data


TITLES = {"A": "Englisch am Morgen", "B": "Yoga am Nachmittag", "C": "Spanisch am Abend"}


def found(resp):
    """Which of the catalogue fixture's courses a result page lists."""
    return {key for key, title in TITLES.items() if shows(resp, title)}


FILTERS = [
    ({}, "ABC"),
    ({"term": "spring"}, "AB"),
    ({"term": "autumn"}, "C"),
    ({"category": "languages"}, "AC"),  # children included
    ({"category": "english"}, "A"),
    ({"category": "health"}, "B"),
    ({"format": "online"}, "B"),
    ({"format": "in_person"}, "A"),
    ({"format": "hybrid"}, "C"),
    ({"weekday": "weekday_A"}, "A"),
    ({"weekday": "weekday_B"}, "B"),
    ({"time_of_day": "morning"}, "A"),
    ({"time_of_day": "afternoon"}, "B"),
    ({"time_of_day": "evening"}, "C"),
    ({"language": "en"}, "A"),
    ({"language": "es"}, "C"),
    ({"level": "A1"}, "A"),
    ({"level": "B2"}, "C"),
    ({"free_only": "1"}, "AC"),
    ({"max_price": "50,00"}, "AC"),
    ({"max_price": "49,00"}, "AC"),
    ({"max_price": "48,99"}, "C"),
    ({"max_price": "79"}, "ABC"),
    ({"max_price": "0"}, "C"),
    ({"instructor": "hanna"}, "C"),
    ({"q": "Yoga"}, "B"),
    ({"term": "spring", "free_only": "1"}, "A"),
    ({"category": "languages", "max_price": "10"}, "C"),
]


@pytest.mark.parametrize(("args", "expected"), FILTERS, ids=[str(a) for a, _e in FILTERS])
def test_catalogue_filters(client, app, catalogue, args, expected):
    query = {k: str(catalogue.get(v, v)) for k, v in args.items()}
    resp = client.get("/courses", query_string=query)
    assert resp.status_code == 200
    assert found(resp) == set(expected)
    assert shows(
        resp,
        ntr(app, "%(num)d course found", "%(num)d courses found", len(expected)),
    )
    assert not shows(resp, "Geheimer Entwurf") and not shows(resp, "Abgesagter Lehrgang")


def test_catalogue_keeps_the_chosen_filters_in_the_form(client, catalogue):
    resp = client.get(
        "/courses",
        query_string={"term": catalogue["spring"], "format": "online", "max_price": "50,00"},
    )
    page = resp.get_data(as_text=True)
    assert f'<option value="{catalogue["spring"]}" selected>' in page
    assert '<option value="online" selected>' in page
    assert 'value="50,00"' in page


def _order(resp):
    page = resp.get_data(as_text=True)
    return sorted("ABC", key=lambda k: page.find(TITLES[k]))


@pytest.mark.parametrize(
    ("sort", "expected"),
    [(None, "BCA"), ("start", "BCA"), ("title", "ACB"), ("price", "CAB"), ("bogus", "BCA")],
)
def test_catalogue_sorts(client, catalogue, sort, expected):
    resp = client.get("/courses", query_string={"sort": sort} if sort else {})
    assert resp.status_code == 200
    assert "".join(_order(resp)) == expected


def test_catalogue_pages(client, app, make_term, make_category):
    term = make_term(name="Großes Semester")
    category = make_category()
    with app.app_context():
        for n in range(21):
            factories.new_course(
                title=f"Kochkurs Nummer {n:02d}",
                term=term,
                category=category,
                starts_in_days=10 + n,
            )
        db.session.commit()
    first = client.get("/courses")
    assert shows(first, "Kochkurs Nummer 00") and not shows(first, "Kochkurs Nummer 20")
    assert shows(first, tr(app, "Page %(n)d of %(m)d", n=1, m=2))
    assert 'rel="next"' in first.get_data(as_text=True)
    second = client.get("/courses", query_string={"page": 2})
    assert shows(second, "Kochkurs Nummer 20") and not shows(second, "Kochkurs Nummer 00")
    assert shows(second, tr(app, "Page %(n)d of %(m)d", n=2, m=2))
    assert 'rel="prev"' in second.get_data(as_text=True)
    # The next-page link keeps the filters.
    filtered = client.get("/courses", query_string={"term": term.id, "sort": "title"})
    assert f"term={term.id}" in filtered.get_data(as_text=True).split('rel="next"')[0][-200:]
    beyond = client.get("/courses", query_string={"page": 99})
    assert beyond.status_code == 200
    assert shows(
        beyond, tr(app, "No course matches your search. Try fewer filters or another word.")
    )


GARBAGE = [
    {"term": "abc"},
    {"term": "-1"},
    {"term": "99999999999999999999"},
    {"term": "1.5"},
    {"category": "x"},
    {"category": "99999999"},
    {"category": "99999999999999999999"},
    {"format": "zeppelin"},
    {"weekday": "0"},
    {"weekday": "8"},
    {"weekday": "Montag"},
    {"time_of_day": "night"},
    {"language": "<script>alert(1)</script>"},
    {"level": "Z9"},
    {"free_only": "ja"},
    {"max_price": "abc"},
    {"max_price": "-5"},
    {"max_price": "1e400"},
    {"max_price": "nan"},
    {"max_price": "inf"},
    {"max_price": "50,00,00"},
    {"max_price": "9" * 400},
    {"instructor": "jemand"},
    {"sort": "price; DROP TABLE courses"},
    {"page": "0"},
    {"page": "-1"},
    {"page": "abc"},
    {"page": "99999999999999999999"},
    {"q": '"'},
    {"q": "'"},
    {"q": "*"},
    {"q": "NEAR(a b)"},
    {"q": "AND OR NOT"},
    {"q": "-"},
    {"q": "a:b"},
    {"q": "^x"},
    {"q": "(((("},
    {"q": "%_%"},
    {"q": "ä" * 5000},
]
RAW_GARBAGE = ["q=%ff%fe", "max_price=%e2%82%ac", "page=%ff", "q=%", "format=%c3"]


@pytest.mark.parametrize("args", GARBAGE, ids=[repr(a)[:40] for a in GARBAGE])
def test_catalogue_never_fails_on_garbage(client, catalogue, args):
    resp = client.get("/courses", query_string=args)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]


@pytest.mark.parametrize("raw", RAW_GARBAGE)
def test_catalogue_never_fails_on_broken_encoding(client, catalogue, raw):
    assert client.get(f"/courses?{raw}").status_code == 200


@pytest.mark.parametrize("raw", ["q=Kurs%00", "q=%00", "term=%00"])
def test_catalogue_refuses_a_nul_with_a_page(client, catalogue, raw):
    """NUL is refused for every route at the edge (vhs/edge.py): a 400 page, never a 500."""
    resp = client.get(f"/courses?{raw}")
    assert resp.status_code == 400 and resp.mimetype == "text/html"


def test_catalogue_ignores_repeated_parameters(client, catalogue):
    resp = client.get(f"/courses?term={catalogue['autumn']}&term=abc&format=online&format=x")
    assert resp.status_code == 200


# --- search ----------------------------------------------------------------------------------


@pytest.fixture
def searchable(app, make_user):
    """Courses with words the German search must find in other forms."""
    teacher = make_user("instructor", name="Bartholomäus Quenzel")
    with app.app_context():
        term = factories.new_term()
        category = factories.new_category()
        ids = {
            "kurse": factories.new_course(
                title="Kurse für Senioren", code="111-001", term=term, category=category
            ).id,
            "kurs": factories.new_course(
                title="Ein Kurs zum Töpfern", code="222-002", term=term, category=category
            ).id,
            "englischkurs": factories.new_course(
                title="Englischkurs kompakt",
                code="333-003",
                term=term,
                category=category,
                instructors=[teacher],
            ).id,
            "other": factories.new_course(
                title="Yoga für alle",
                code="444-004",
                subtitle="Entspannung",
                description="Atmen und **dehnen**",
                term=term,
                category=category,
            ).id,
        }
        db.session.commit()
    return ids


def _search(client, q):
    resp = client.get("/courses", query_string={"q": q})
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    return {int(m) for m in re.findall(r'href="/courses/(\d+)"', page)}


def test_search_finds_by_code_title_and_instructor(client, searchable):
    s = searchable
    assert _search(client, "333-003") == {s["englischkurs"]}
    assert _search(client, "444") == {s["other"]}
    assert _search(client, "Töpfern") == {s["kurs"]}
    assert _search(client, "Senioren") == {s["kurse"]}
    assert _search(client, "Quenzel") == {s["englischkurs"]}
    assert _search(client, "Bartholomäus") == {s["englischkurs"]}
    assert _search(client, "Entspannung") == {s["other"]}  # subtitle
    assert _search(client, "dehnen") == {s["other"]}  # description
    assert _search(client, "Zauberei") == set()


def test_search_finds_compounds_by_their_own_form(client, searchable):
    """A compound is found as written, in any case; its parts are separate words."""
    assert _search(client, "englischkurs") == {searchable["englischkurs"]}
    assert _search(client, "ENGLISCHKURS kompakt") == {searchable["englischkurs"]}


def test_search_kurs_finds_kurse_and_kurse_finds_kurs(client, searchable):
    """ "Kurs" finds "Kurse", "kurse" finds "Kurs" (issue 3), "Englischkurse" "Englischkurs".

    Both databases strip common German endings and search with prefix terms.
    """
    both = {searchable["kurse"], searchable["kurs"]}
    assert _search(client, "Kurs") >= both
    assert _search(client, "kurse") >= both
    assert _search(client, "KURSE") >= both
    assert _search(client, "Englischkurse") == {searchable["englischkurs"]}


# --- the course page ------------------------------------------------------------------------


def test_course_page_shows_seats_price_sessions_in_berlin_time(
    client, app, make_course, make_enrolment, make_user, load
):
    teacher = make_user("instructor", name="Ingrid Immerda")
    course = make_course(
        capacity=5,
        fee_cents=7900,
        reduced_fee_cents=3950,
        instructors=[teacher],
        start_time=time(18, 0),
        duration_minutes=90,
    )
    make_enrolment(course, status="confirmed")
    make_enrolment(course, status="pending_payment")
    resp = client.get(f"/courses/{course.id}")
    assert resp.status_code == 200
    text = text_of(resp)
    assert "79,00 €" in text and "39,50 €" in text
    assert ntr(app, "%(num)d place left", "%(num)d places left", 3) in text
    assert tr(app, "of %(n)d", n=5) in text
    assert "Ingrid Immerda" in text
    sessions = load(Course, course.id).sessions
    assert len(sessions) == 3
    assert text.count("18:00–19:30") == 3
    # Stored in UTC, shown in Berlin time.
    utc_start = sessions[0].starts_at.strftime("%H:%M")
    assert utc_start != "18:00" and f"{utc_start}–" not in text
    assert sessions[0].starts_at.astimezone(BERLIN).strftime("%d.%m.%Y") in text


def test_course_page_in_english(client, make_course):
    course = make_course(fee_cents=7900)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    text = text_of(client.get(f"/courses/{course.id}"))
    assert "€79.00" in text
    assert "20 places left" in text


def test_full_course_shows_waiting_list(client, app, login, make_course, make_enrolment, make_user):
    course = make_course(capacity=1)
    make_enrolment(course, status="confirmed")
    login(make_user())
    resp = client.get(f"/courses/{course.id}")
    assert shows(resp, "Warteliste") and shows(resp, tr(app, "Waiting list"))
    assert shows(resp, tr(app, "Join the waiting list"))
    assert not shows(resp, tr(app, "Book now"))


def test_free_course_page(client, app, login, make_course, make_user):
    course = make_course(fee_cents=0)
    login(make_user())
    resp = client.get(f"/courses/{course.id}")
    assert shows(resp, tr(app, "free of charge"))
    assert shows(resp, tr(app, "Book now"))
    assert f'action="/courses/{course.id}/enrol"' in resp.get_data(as_text=True)


def test_anonymous_visitors_are_asked_to_log_in_to_book(client, app, make_course):
    course = make_course()
    resp = client.get(f"/courses/{course.id}")
    assert resp.status_code == 200
    assert shows(resp, tr(app, "Log in to book"))
    assert "/account/login?next=" in resp.get_data(as_text=True)


def test_drafts_are_hidden_from_the_public(client, login, make_course, make_user):
    draft = make_course(status="draft")
    assert client.get(f"/courses/{draft.id}").status_code == 404
    login(make_user())
    assert client.get(f"/courses/{draft.id}").status_code == 404
    assert client.submit(f"/courses/{draft.id}/enrol").status_code == 404
    login(make_user("staff"))
    assert client.get(f"/courses/{draft.id}").status_code == 200
    assert client.get("/courses/987654").status_code == 404


# --- booking through the form ---------------------------------------------------------------


def test_booking_a_free_course_confirms_at_once(client, app, login, make_course, make_user, outbox):
    course = make_course(fee_cents=0, title="Kostenloser Vortrag")
    user = make_user(email="frei@example.org")
    login(user)
    resp = client.submit(f"/courses/{course.id}/enrol")
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/me/courses")
    page = client.get(resp.headers["Location"])
    assert tr(app, "You are booked. We have sent you a confirmation.") in flashed(page)
    enrolment = enrolment_of(app, user.id, course.id)
    assert enrolment.status is EnrolmentStatus.CONFIRMED and enrolment.price_cents == 0
    (mail,) = outbox("frei@example.org")
    assert mail.template == "enrolment_confirmed"
    assert mail.subject == tr(app, "Booking confirmed: %(title)s", title="Kostenloser Vortrag")


def test_booking_a_paid_course_holds_the_seat(client, app, login, make_course, make_user, load):
    course = make_course(fee_cents=7900, reduced_fee_cents=3950)
    user = make_user()
    login(user)
    form = client.get(f"/courses/{course.id}").get_data(as_text=True)
    assert 'name="reduction_reason"' in form
    resp = client.submit(f"/courses/{course.id}/enrol", {"reduction_reason": "student"})
    assert resp.status_code == 302
    # The payments page (when present) or "Meine Kurse" shows the flash.
    page = client.get(resp.headers["Location"], follow_redirects=True)
    assert tr(app, "Your seat is reserved. Please pay the fee to confirm it.") in flashed(page)
    enrolment = enrolment_of(app, user.id, course.id)
    assert enrolment.status is EnrolmentStatus.PENDING_PAYMENT
    assert enrolment.price_cents == 3950 and enrolment.reduction_reason.value == "student"
    assert enrolment.hold_expires_at > utcnow()
    assert load(Course, course.id).seats_taken == 1


def test_booking_a_full_course_puts_people_on_the_waiting_list(
    client, app, login, make_course, make_enrolment, make_user, load
):
    course = make_course(capacity=1)
    make_enrolment(course, status="confirmed")
    make_enrolment(course, status="waitlisted")
    user = make_user()
    login(user)
    resp = client.submit(f"/courses/{course.id}/enrol", follow_redirects=True)
    assert resp.status_code == 200
    expected = tr(
        app,
        "The course is full. You are number %(n)d on the waiting list; we will write "
        "to you when a seat becomes free.",
        n=2,
    )
    assert expected in flashed(resp)
    enrolment = enrolment_of(app, user.id, course.id)
    assert enrolment.status is EnrolmentStatus.WAITLISTED and enrolment.waitlist_position == 2
    assert load(Course, course.id).waitlist_count == 2


def test_invalid_reduction_reason_is_refused(client, login, make_course, make_user):
    course = make_course(fee_cents=7900, reduced_fee_cents=3950)
    login(make_user())
    resp = client.submit(f"/courses/{course.id}/enrol", {"reduction_reason": "millionaire"})
    assert resp.status_code == 422


def _refusal_case(name, app, make_course, make_user, make_enrolment):
    """A course and a user for which booking is refused, and the message the page shows."""
    if name == "not_verified":
        return (
            make_course(),
            make_user(verified=False),
            "Please confirm your e-mail address before booking.",
        )
    if name == "own_course":
        teacher = make_user("instructor")
        return make_course(instructors=[teacher]), teacher, "You teach this course."
    if name == "closed":
        course = make_course(enrolment_closes_at=utcnow() - timedelta(hours=1))
        return course, make_user(), "Booking for this course has closed."
    if name == "cancelled":
        return make_course(status="cancelled"), make_user(), "This course has been cancelled."
    if name == "not_open":
        with app.app_context():
            term = factories.new_term(enrolment_opens_at=utcnow() + timedelta(days=3))
            db.session.commit()
            term_id = term.id
        return make_course(term=term_id), make_user(), "Booking for this term has not started yet."
    if name == "already_enrolled":
        course, user = make_course(), make_user()
        make_enrolment(course, user)
        return course, user, "You are already booked on this course."
    raise AssertionError(name)


@pytest.mark.parametrize(
    "name", ["not_verified", "own_course", "closed", "cancelled", "not_open", "already_enrolled"]
)
def test_refusals_are_shown_on_the_page_and_enforced(
    client, app, login, make_course, make_user, make_enrolment, outbox, name
):
    course, user, message = _refusal_case(name, app, make_course, make_user, make_enrolment)
    login(user)
    page = client.get(f"/courses/{course.id}")
    assert page.status_code == 200
    if name != "already_enrolled":
        assert shows(page, tr(app, message))
        assert f'action="/courses/{course.id}/enrol"' not in page.get_data(as_text=True)
    mails_before = len(outbox())
    resp = client.submit(f"/courses/{course.id}/enrol")
    assert resp.status_code == 409
    assert shows(resp, tr(app, message))
    assert len(outbox()) == mails_before
    with app.app_context():
        active = db.session.scalar(
            sa.select(sa.func.count(Enrolment.id)).where(
                Enrolment.course_id == course.id,
                Enrolment.user_id == user.id,
                Enrolment.status != EnrolmentStatus.CANCELLED,
            )
        )
    assert active == (1 if name == "already_enrolled" else 0)


def test_booking_needs_a_login_and_a_csrf_token(client, login, make_course, make_user):
    course = make_course()
    assert client.submit(f"/courses/{course.id}/enrol").status_code == 401
    login(make_user())
    assert client.post(f"/courses/{course.id}/enrol").status_code == 400


# --- "Meine Kurse" and cancelling -------------------------------------------------------------


def test_my_courses_shows_status_position_and_next_session(
    client, app, login, make_course, make_enrolment, make_user, load
):
    user = make_user()
    confirmed = make_course(title="Bestätigter Kurs", starts_in_days=5)
    full = make_course(title="Voller Kurs", capacity=1)
    paid = make_course(title="Bezahlkurs", fee_cents=7900)
    make_enrolment(confirmed, user)
    make_enrolment(full, status="confirmed")
    make_enrolment(full, status="waitlisted")
    make_enrolment(full, user)
    make_enrolment(paid, user)
    login(user)
    resp = client.get("/me/courses")
    assert resp.status_code == 200
    text = text_of(resp)
    for title in ("Bestätigter Kurs", "Voller Kurs", "Bezahlkurs"):
        assert title in text
    assert tr(app, "Confirmed") in text
    assert tr(app, "Awaiting payment") in text
    assert tr(app, "Waiting list") in text
    assert tr(app, "position %(n)d", n=2) in text
    first = load(Course, confirmed.id).sessions[0].starts_at
    with app.test_request_context():
        from flask_babel import force_locale

        from vhs.i18n import fmt_datetime

        with force_locale("de"):
            assert fmt_datetime(first, "short") in text


def test_my_courses_needs_a_login(client):
    resp = client.get("/me/courses")
    assert resp.status_code == 302 and "/account/login" in resp.headers["Location"]


def test_cancel_before_the_deadline(
    client, app, login, make_course, make_enrolment, make_user, outbox, load
):
    course = make_course(starts_in_days=30, cancellation_days=7)
    user = make_user(email="storno@example.org")
    enrolment = make_enrolment(course, user)
    login(user)
    page = client.get("/me/courses").get_data(as_text=True)
    assert f'action="/enrolments/{enrolment.id}/cancel"' in page
    resp = client.submit(f"/enrolments/{enrolment.id}/cancel")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/me/courses")
    assert tr(app, "Your booking has been cancelled.") in flashed(client.get("/me/courses"))
    assert load(Enrolment, enrolment.id).status is EnrolmentStatus.CANCELLED
    assert load(Course, course.id).seats_taken == 0
    assert outbox("storno@example.org")[-1].template == "enrolment_cancelled"
    # A second cancel is a conflict, not a silent no-op.
    again = client.submit(f"/enrolments/{enrolment.id}/cancel")
    assert again.status_code == 409
    assert shows(again, tr(app, "This booking is no longer active."))


def test_cancel_after_the_deadline_is_refused_with_a_clear_message(
    client, app, login, make_course, make_enrolment, make_user, load
):
    course = make_course(starts_in_days=3, cancellation_days=7)
    user = make_user()
    enrolment = make_enrolment(course, user)
    login(user)
    page = client.get("/me/courses").get_data(as_text=True)
    assert f'action="/enrolments/{enrolment.id}/cancel"' not in page
    resp = client.submit(f"/enrolments/{enrolment.id}/cancel")
    assert resp.status_code == 409
    message = tr(
        app,
        "The free cancellation period ended on %(date)s. Please contact the VHS office.",
        date="DATE",
    )
    before, after = message.split("DATE")
    body = resp.get_data(as_text=True)
    assert str(before.strip()) in body.replace("&#39;", "'")
    assert after.strip() in body
    assert "cancellation_deadline_passed" in body
    assert load(Enrolment, enrolment.id).status is EnrolmentStatus.CONFIRMED


def test_waiting_list_place_can_be_given_up_after_the_deadline(
    client, login, make_course, make_enrolment, make_user, load
):
    course = make_course(starts_in_days=3, cancellation_days=7, capacity=1)
    make_enrolment(course, status="confirmed")
    user = make_user()
    enrolment = make_enrolment(course, user, status="waitlisted")
    login(user)
    assert client.submit(f"/enrolments/{enrolment.id}/cancel").status_code == 302
    assert load(Enrolment, enrolment.id).status is EnrolmentStatus.CANCELLED
    assert load(Course, course.id).waitlist_count == 0


def test_nobody_can_cancel_someone_elses_booking(
    client, login, make_course, make_enrolment, make_user, load
):
    course = make_course()
    owner = make_user()
    enrolment = make_enrolment(course, owner)
    login(make_user())
    resp = client.submit(f"/enrolments/{enrolment.id}/cancel")
    assert resp.status_code == 404
    login(make_user("instructor"))
    assert client.submit(f"/enrolments/{enrolment.id}/cancel").status_code == 404
    assert client.submit("/enrolments/987654/cancel").status_code == 404
    assert load(Enrolment, enrolment.id).status is EnrolmentStatus.CONFIRMED


def test_cancel_needs_a_login(client, make_course, make_enrolment):
    enrolment = make_enrolment(make_course())
    assert client.submit(f"/enrolments/{enrolment.id}/cancel").status_code == 401


# --- mails in the recipient's language --------------------------------------------------------


def test_mails_are_written_in_the_recipients_language(
    client, app, login, make_course, make_user, outbox, load
):
    course = make_course(capacity=1, title="Töpfern für Einsteiger")
    german = make_user(email="de@example.org", locale="de")
    english = make_user(email="en@example.org", locale="en")
    title = "Töpfern für Einsteiger"

    login(german)
    client.submit(f"/courses/{course.id}/enrol")
    (confirmed,) = outbox("de@example.org")
    assert confirmed.locale == "de"
    assert confirmed.subject == tr(app, "Booking confirmed: %(title)s", title=title)
    assert confirmed.subject != f"Booking confirmed: {title}"

    login(english)
    client.submit(f"/courses/{course.id}/enrol")
    (waiting,) = outbox("en@example.org")
    assert waiting.template == "enrolment_waitlisted" and waiting.locale == "en"
    assert waiting.subject == f"Waiting list: {title}"

    login(german)
    german_enrolment = enrolment_of(app, german.id, course.id)
    assert client.submit(f"/enrolments/{german_enrolment.id}/cancel").status_code == 302
    promoted = outbox("en@example.org")[-1]
    assert promoted.template == "enrolment_promoted" and promoted.locale == "en"
    assert promoted.subject == f"A seat is free for you: {title}"
    assert enrolment_of(app, english.id, course.id).status is EnrolmentStatus.CONFIRMED
    assert load(Course, course.id).seats_taken == 1


def test_english_confirmation_subject(client, login, make_course, make_user, outbox):
    course = make_course(title="Yoga")
    user = make_user(email="eng@example.org", locale="en")
    login(user)
    client.submit(f"/courses/{course.id}/enrol")
    (mail,) = outbox("eng@example.org")
    assert mail.subject == "Booking confirmed: Yoga" and mail.locale == "en"
    assert "Hello" in mail.body_text


# --- SQL statements per list page ---------------------------------------------------------


@pytest.fixture
def many_courses(app, make_user):
    """55 published courses with two instructors and ten sessions each, in two categories."""
    teachers = [make_user("instructor", name=f"Lehrkraft {n}") for n in range(4)]
    with app.app_context():
        term = factories.new_term()
        parent = factories.new_category()
        child = factories.new_category(parent=parent)
        for n in range(55):
            factories.new_course(
                title=f"Massenkurs {n:02d}",
                term=term,
                category=child if n % 2 else parent,
                sessions=10,
                instructors=[teachers[n % 4], teachers[(n + 1) % 4]],
                starts_in_days=5 + n,
            )
        db.session.commit()
        return {"term": term.id, "category": parent.id}


def test_catalogue_page_needs_at_most_six_statements_whatever_it_shows(
    client, count_sql, many_courses
):
    """Anonymous visitor: no session user is loaded, so nothing needs to be left out."""
    variants = [
        {},  # 20 of 55
        {"page": 3},  # 15 of 55
        {"q": "Massenkurs", "sort": "title"},
        {"category": many_courses["category"], "term": many_courses["term"]},
        {"weekday": 3, "time_of_day": "evening", "free_only": "1", "max_price": "50,00"},
    ]
    counts = {}
    for args in variants:
        with count_sql() as statements:
            resp = client.get("/courses", query_string=args)
        assert resp.status_code == 200
        assert len(statements) <= 6, "\n\n".join(statements)
        counts[str(args)] = len(statements)
    # The number of courses on the page never changes the number of statements.
    with count_sql() as full_page:
        client.get("/courses")
    with count_sql() as short_page:
        client.get("/courses", query_string={"page": 3})
    assert len(full_page) == len(short_page), counts


def test_catalogue_page_for_a_signed_in_visitor(client, count_sql, login, make_user, many_courses):
    """Signed in, the session's user is loaded once more; the page still stays within six."""
    login(make_user())
    for args in ({}, {"category": many_courses["category"]}):
        with count_sql() as statements:
            assert client.get("/courses", query_string=args).status_code == 200
        assert len(statements) <= 6, "\n\n".join(statements)


@pytest.mark.parametrize("q", ["", "Massenkurs"])
def test_api_list_needs_at_most_six_statements_whatever_the_page_size(
    client, count_sql, many_courses, q
):
    counts = []
    for per_page in (5, 50):
        with count_sql() as statements:
            resp = client.get("/api/v1/courses", query_string={"per_page": per_page, "q": q})
        assert resp.status_code == 200
        assert len(resp.get_json()["items"]) == per_page
        assert resp.get_json()["total"] == 55
        assert len(statements) <= 6, "\n\n".join(statements)
        counts.append(len(statements))
    assert counts[0] == counts[1]
