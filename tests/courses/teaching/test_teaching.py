"""Instructors' pages: "Meine Kurse" (teaching), participants, CSV export, message to all."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from courses.models import Course, EnrolmentStatus, ReductionReason
from tests.vhs.conftest import shows, tr
from vhs.audit import AuditEntry
from vhs.db import db
from vhs.formats import spreadsheet_safe


@pytest.fixture
def teacher(make_user):
    """The instructor of the course under test."""
    return make_user("instructor", name="Karla Kursleiterin", email="karla@example.org")


@pytest.fixture
def taught(make_course, make_enrolment, make_user, teacher):
    """A course of ``teacher`` with people in every active status, and one who cancelled."""
    course = make_course(
        capacity=3,
        fee_cents=7900,
        reduced_fee_cents=3950,
        instructors=[teacher],
        code="271-105",
        title="Englisch für Anfänger",
    )
    people = {
        "confirmed": make_user(name="Jürgen Größ", email="juergen@example.org"),
        "pending": make_user(name="Ömer Çelik", email="oemer@example.org"),
        "evil": make_user(name='=HYPERLINK("http://evil")', email="evil@example.org"),
        "waiting": make_user(name="Wilma Warte", email="wilma@example.org"),
        "cancelled": make_user(name="Clara Storniert", email="clara@example.org"),
    }
    booked = datetime(2027, 1, 15, 17, 5, tzinfo=UTC)  # 18:05 in Berlin (winter time)
    make_enrolment(course, people["confirmed"], status="confirmed", created_at=booked)
    make_enrolment(
        course,
        people["pending"],
        status="pending_payment",
        reduction=ReductionReason.STUDENT,
        created_at=booked,
    )
    make_enrolment(course, people["evil"], status="confirmed", created_at=booked)
    make_enrolment(course, people["waiting"], status="waitlisted", created_at=booked)
    make_enrolment(course, people["cancelled"], status="cancelled", created_at=booked)
    return course, people


def ntr(app, singular, plural, num, locale="de"):
    """A plural message as the app shows it in ``locale``."""
    from flask_babel import force_locale, ngettext

    with app.test_request_context(), force_locale(locale):
        return ngettext(singular, plural, num)


SENT = (
    "Your message was sent to %(num)d participant.",
    "Your message was sent to %(num)d participants.",
)


def _csv(resp):
    raw = resp.get_data()
    assert raw.startswith(b"\xef\xbb\xbf"), "no UTF-8 byte order mark: Excel would misread umlauts"
    text = raw.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text), delimiter=";"))


# --- "Meine Kurse" for instructors ------------------------------------------------------------


def test_index_lists_taught_courses_with_seats_waitlist_and_next_session(
    client, login, app, teacher, taught, make_course, load
):
    course, _people = taught
    make_course(code="999-001", title="Fremder Kurs")  # taught by nobody: not listed
    login(teacher)
    resp = client.get("/teaching")
    assert resp.status_code == 200
    assert shows(resp, "Englisch für Anfänger") and shows(resp, "271-105")
    assert not shows(resp, "Fremder Kurs")
    assert shows(resp, tr(app, "%(taken)d of %(capacity)d", taken=3, capacity=3))
    assert f'href="/teaching/courses/{course.id}"' in resp.get_data(as_text=True)
    first = load(Course, course.id).sessions[0].starts_at
    with app.test_request_context():
        from flask_babel import force_locale

        from vhs.i18n import fmt_datetime

        with force_locale("de"):
            assert shows(resp, fmt_datetime(first, "short"))
    # The waiting-list count sits in its own cell.
    assert "<td>1</td>" in resp.get_data(as_text=True)


def test_index_needs_the_same_statements_for_two_or_six_courses(
    client, login, count_sql, make_user, make_course
):
    teacher = make_user("instructor")
    login(teacher)
    counts = []
    for _round in range(2):
        for _n in range(2 if not counts else 4):
            make_course(instructors=[teacher])
        with count_sql() as statements:
            assert client.get("/teaching").status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 6, counts


def test_index_for_staff_shows_only_courses_they_teach(
    client, login, make_user, make_course, teacher
):
    staff = make_user("staff")
    make_course(instructors=[teacher], title="Nicht von Staff")
    make_course(instructors=[staff], title="Staff unterrichtet selbst")
    login(staff)
    resp = client.get("/teaching")
    assert resp.status_code == 200
    assert shows(resp, "Staff unterrichtet selbst")
    assert not shows(resp, "Nicht von Staff")


def test_index_without_courses_says_so(client, login, make_user, app):
    login(make_user("instructor"))
    resp = client.get("/teaching")
    assert resp.status_code == 200
    assert shows(resp, tr(app, "You do not teach any course at the moment."))


def test_index_refuses_residents_and_sends_visitors_to_log_in(client, login, make_user):
    anonymous = client.get("/teaching")
    assert anonymous.status_code == 302
    assert "/account/login" in anonymous.headers["Location"]
    login(make_user("resident"))
    assert client.get("/teaching").status_code == 403


def test_navigation_shows_teaching_to_instructors_and_staff_only(client, login, make_user, app):
    label = tr(app, "Teaching")
    assert label == "Unterricht"
    login(make_user("resident"))
    assert 'href="/teaching"' not in client.get("/privacy").get_data(as_text=True)
    login(make_user("instructor"))
    page = client.get("/privacy").get_data(as_text=True)
    assert f'<a href="/teaching">{label}</a>' in page
    login(make_user("staff"))
    assert 'href="/teaching"' in client.get("/privacy").get_data(as_text=True)


def test_my_courses_links_taught_courses_to_the_participant_page(client, login, teacher, taught):
    course, _people = taught
    login(teacher)
    page = client.get("/me/courses").get_data(as_text=True)
    assert f'href="/teaching/courses/{course.id}"' in page


# --- participants page ------------------------------------------------------------------------


def test_course_page_lists_participants_with_status_and_position(
    client, login, app, teacher, taught
):
    course, people = taught
    login(teacher)
    resp = client.get(f"/teaching/courses/{course.id}")
    assert resp.status_code == 200
    for key in ("confirmed", "pending", "evil", "waiting"):
        assert shows(resp, people[key].name), key
        assert shows(resp, people[key].email), key
    assert not shows(resp, "Clara Storniert"), "cancelled bookings are not participants"
    assert shows(resp, tr(app, "Confirmed"))
    assert shows(resp, tr(app, "Awaiting payment"))
    assert shows(resp, tr(app, "Waiting list") + " – " + tr(app, "position %(n)d", n=1))
    assert shows(resp, tr(app, "Pupils and students"))
    assert shows(
        resp,
        tr(
            app,
            "Confirmed: %(confirmed)d · awaiting payment: %(pending)d · waiting list: %(waiting)d",
            confirmed=2,
            pending=1,
            waiting=1,
        ),
    )
    assert f'action="/teaching/courses/{course.id}/message"' in resp.get_data(as_text=True)


def test_course_page_in_english_for_english_instructor(client, login, make_user, make_course):
    english = make_user("instructor", locale="en")
    course = make_course(instructors=[english])
    login(english)
    resp = client.get(f"/teaching/courses/{course.id}")
    assert resp.status_code == 200
    assert shows(resp, "Write to the participants")
    assert shows(resp, "Nobody has booked this course yet.")


def test_staff_see_participants_of_any_course(client, login, make_user, taught):
    course, people = taught
    login(make_user("admin"))
    assert shows(client.get(f"/teaching/courses/{course.id}"), people["confirmed"].email)
    login(make_user("staff"))
    assert shows(client.get(f"/teaching/courses/{course.id}"), people["confirmed"].email)


@pytest.mark.parametrize("suffix", ["", "/participants.csv"])
def test_another_instructor_and_residents_are_refused(
    client, login, make_user, taught, make_enrolment, suffix
):
    course, people = taught
    url = f"/teaching/courses/{course.id}{suffix}"
    login(make_user("instructor", name="Otto Anderer"))
    resp = client.get(url)
    assert resp.status_code == 403
    assert people["confirmed"].email not in resp.get_data(as_text=True)
    # A participant of the course is not thereby allowed to see the others.
    login(make_user("resident"))
    assert client.get(url).status_code == 403
    login(people["confirmed"])
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("suffix", ["", "/participants.csv"])
def test_anonymous_visitors_are_sent_to_log_in(client, taught, suffix):
    course, _people = taught
    resp = client.get(f"/teaching/courses/{course.id}{suffix}")
    assert resp.status_code == 302
    assert "/account/login" in resp.headers["Location"]


def test_draft_of_someone_else_is_not_found_but_own_draft_is_shown(
    client, login, make_user, make_course, teacher
):
    draft = make_course(status="draft", instructors=[teacher], title="Noch geheim")
    login(make_user("instructor"))
    assert client.get(f"/teaching/courses/{draft.id}").status_code == 404
    login(teacher)
    assert shows(client.get(f"/teaching/courses/{draft.id}"), "Noch geheim")


def test_unknown_course_is_not_found(client, login, teacher):
    login(teacher)
    assert client.get("/teaching/courses/987654").status_code == 404
    assert client.get("/teaching/courses/987654/participants.csv").status_code == 404


# --- CSV export ----------------------------------------------------------------------------


def test_csv_is_excel_ready_german_with_one_row_per_participant(
    client, login, app, teacher, taught
):
    course, _people = taught
    login(teacher)
    resp = client.get(f"/teaching/courses/{course.id}/participants.csv")
    assert resp.status_code == 200
    assert resp.mimetype == "text/csv"
    assert resp.mimetype_params.get("charset") == "utf-8"
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert disposition == 'attachment; filename="teilnehmende-271-105.csv"'
    assert "no-store" in resp.headers["Cache-Control"]
    assert b";" in resp.get_data().splitlines()[0]
    rows = _csv(resp)
    assert rows[0] == [
        "Name",
        "E-Mail-Adresse",
        "Status",
        tr(app, "Waiting-list position"),
        tr(app, "Booked at"),
        tr(app, "Reduction"),
    ]
    assert rows[0][3] != "Waiting-list position", "the header is not translated"
    by_email = {r[1]: r for r in rows[1:]}
    assert set(by_email) == {
        "juergen@example.org",
        "oemer@example.org",
        "evil@example.org",
        "wilma@example.org",
    }
    assert by_email["juergen@example.org"] == [
        "Jürgen Größ",
        "juergen@example.org",
        "Bestätigt",
        "",
        "15.01.2027 18:05",
        "",
    ]
    pending = by_email["oemer@example.org"]
    assert pending[0] == "Ömer Çelik"
    assert pending[2] == tr(app, "Awaiting payment")
    assert pending[5] == tr(app, "Pupils and students")
    waiting = by_email["wilma@example.org"]
    assert waiting[2] == "Warteliste" and waiting[3] == "1"


def test_csv_neutralises_spreadsheet_formulas(client, login, teacher, taught):
    course, _people = taught
    login(teacher)
    rows = _csv(client.get(f"/teaching/courses/{course.id}/participants.csv"))
    names = [r[0] for r in rows[1:]]
    assert '\'=HYPERLINK("http://evil")' in names
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+49 2371 123", "'+49 2371 123"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("Größ", "Größ"),
        ("a=b", "a=b"),
        (None, ""),
        (3, "3"),
    ],
)
def test_spreadsheet_safe(value, expected):
    assert spreadsheet_safe(value) == expected


def test_csv_follows_the_page_language(client, login, make_user, make_course, make_enrolment):
    english = make_user("instructor", locale="en")
    course = make_course(instructors=[english], code="271-106")
    make_enrolment(course, make_user(name="Zoë Ündine"))
    login(english)
    resp = client.get(f"/teaching/courses/{course.id}/participants.csv")
    assert 'filename="participants-271-106.csv"' in resp.headers["Content-Disposition"]
    rows = _csv(resp)
    assert rows[0] == [
        "Name",
        "E-mail address",
        "Status",
        "Waiting-list position",
        "Booked at",
        "Reduction",
    ]
    assert rows[1][0] == "Zoë Ündine" and rows[1][2] == "Confirmed"


def test_csv_of_an_empty_course_has_only_the_header(client, login, make_course, teacher):
    course = make_course(instructors=[teacher], code="27.1/105")
    login(teacher)
    resp = client.get(f"/teaching/courses/{course.id}/participants.csv")
    assert len(_csv(resp)) == 1
    # Characters that do not belong in a header's file name are replaced.
    assert 'filename="teilnehmende-27.1_105.csv"' in resp.headers["Content-Disposition"]


# --- message to all participants --------------------------------------------------------------


def test_message_reaches_every_seat_holder_but_not_the_waiting_list(
    client, login, app, outbox, teacher, taught
):
    course, people = taught
    login(teacher)
    before = {m.id for m in outbox()}
    resp = client.submit(
        f"/teaching/courses/{course.id}/message",
        {"subject": "Raumänderung", "body": "Wir treffen uns in Raum 2.04."},
        follow_redirects=True,
    )
    assert resp.status_code == 200
    assert shows(resp, ntr(app, *SENT, 3))
    mails = [m for m in outbox() if m.id not in before]
    assert {m.to_address for m in mails} == {
        people["confirmed"].email,
        people["pending"].email,
        people["evil"].email,
    }
    assert all(m.template == "course_message" for m in mails)
    assert all(m.subject == "Raumänderung (271-105)" for m in mails)
    assert all("Wir treffen uns in Raum 2.04." in m.body_text for m in mails)
    assert all("Karla Kursleiterin" in m.body_text for m in mails)
    with app.app_context():
        entry = db.session.execute(
            sa.select(AuditEntry).where(AuditEntry.action == "course.messaged")
        ).scalar_one()
        assert entry.actor_id == teacher.id
        assert entry.details == {"recipients": 3}


def test_message_is_written_in_each_recipients_language(
    client, login, outbox, make_user, make_course, make_enrolment, teacher
):
    course = make_course(instructors=[teacher], code="271-107")
    english = make_user(locale="en", name="Emma English", email="emma@example.org")
    make_enrolment(course, english)
    login(teacher)
    resp = client.submit(
        f"/teaching/courses/{course.id}/message", {"subject": "Hinweis", "body": "Bis bald"}
    )
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/teaching/courses/{course.id}")
    (mail,) = outbox("emma@example.org")[-1:]
    assert mail.template == "course_message" and mail.locale == "en"
    assert mail.body_text.startswith("Hello Emma English,")


def test_staff_may_message_any_course(client, login, outbox, make_user, taught):
    course, people = taught
    login(make_user("staff"))
    resp = client.submit(
        f"/teaching/courses/{course.id}/message", {"subject": "Info", "body": "Text"}
    )
    assert resp.status_code == 302
    assert outbox(people["confirmed"].email)[-1].template == "course_message"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"subject": "", "body": "Text"}, "subject"),
        ({"subject": "   ", "body": "Text"}, "subject"),
        ({"subject": "Betreff", "body": ""}, "body"),
        ({"subject": "x" * 201, "body": "Text"}, "subject"),
    ],
)
def test_message_with_missing_fields_is_refused_with_422(
    client, login, outbox, teacher, taught, data, field
):
    course, _people = taught
    login(teacher)
    before = len(outbox())
    resp = client.submit(f"/teaching/courses/{course.id}/message", data)
    assert resp.status_code == 422
    assert f'id="{field}-error"' in resp.get_data(as_text=True)
    assert 'aria-invalid="true"' in resp.get_data(as_text=True)
    assert len(outbox()) == before


def test_message_refusals_by_role(client, login, outbox, make_user, taught, make_course):
    course, people = taught
    data = {"subject": "Spam", "body": "Spam"}
    url = f"/teaching/courses/{course.id}/message"
    before = len(outbox())
    anonymous = client.submit(url, data)
    assert anonymous.status_code == 401
    login(make_user("instructor"))
    assert client.submit(url, data).status_code == 403
    login(people["confirmed"])
    assert client.submit(url, data).status_code == 403
    assert client.submit("/teaching/courses/987654/message", data).status_code == 404
    assert len(outbox()) == before


def test_message_without_csrf_token_is_refused(client, login, outbox, teacher, taught):
    course, _people = taught
    login(teacher)
    before = len(outbox())
    resp = client.post(f"/teaching/courses/{course.id}/message", data={"subject": "S", "body": "B"})
    assert resp.status_code == 400
    assert len(outbox()) == before


def test_message_to_a_course_without_seat_holders_sends_nothing(
    client, login, app, outbox, make_course, make_enrolment, teacher
):
    course = make_course(instructors=[teacher], capacity=1)
    make_enrolment(course, status=EnrolmentStatus.CANCELLED)
    login(teacher)
    before = len(outbox())
    resp = client.submit(
        f"/teaching/courses/{course.id}/message",
        {"subject": "Hallo", "body": "Niemand da"},
        follow_redirects=True,
    )
    assert resp.status_code == 200
    assert shows(resp, ntr(app, *SENT, 0))
    assert len(outbox()) == before
