"""Sessions and the series generator at the edges of the calendar (issue 10, item 5).

A first date in year 9999 overflowed (500); a start time in the hour the clocks skip made an
end before its start, which the database refused (shown as a 409 about a concurrent change).
Both are refusals with a message now, through the API and the staff pages alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from courses.models import Session
from tests.courses.factories_staff import query_fixture, staff_fixture  # noqa: F401 (fixtures)
from vhs.accounts.models import Role

GAP_DAY = "2027-03-28"  # clocks go from 02:00 to 03:00 in Europe/Berlin


@pytest.fixture
def staff_headers(make_user: Any, api_token: Any) -> dict[str, str]:
    """An API token of a member of staff who reads English (the msgids)."""
    return api_token(make_user(Role.STAFF, locale="en"))


def plan_body(**change: Any) -> dict[str, Any]:
    """A valid series for the API: Sundays 02:30-03:30, three times from 2027-03-21."""
    return {
        "first_date": "2027-03-21",
        "weekday": 7,
        "start": "02:30",
        "end": "03:30",
        "count": 3,
        **change,
    }


def plan_form(**change: str) -> dict[str, str]:
    """The same series as the staff page's generator form sends it."""
    return {
        "gen-weekday": "7",
        "gen-start": "02:30",
        "gen-end": "03:30",
        "gen-count": "3",
        "gen-first_date": "2027-03-21",
        "gen-interval_weeks": "1",
        "gen-skip_dates": "",
        **change,
    }


def sessions_of(query: Any, course_id: int) -> list[Session]:
    """The sessions of a course, in time order."""
    return query(
        sa.select(Session).where(Session.course_id == course_id).order_by(Session.starts_at)
    )


def error_text(resp: Any) -> str:
    """The whole response as text (for messages on pages and in problem documents)."""
    return resp.get_data(as_text=True)


# --- the API ---------------------------------------------------------------------------------


@pytest.mark.parametrize("first_date", ["9999-12-27", "9999-01-01", "0001-01-01", "2200-01-01"])
def test_api_generator_refuses_a_first_date_outside_the_planning_range(
    client: Any, staff_headers: dict[str, str], make_course: Any, query: Any, first_date: str
) -> None:
    course = make_course(status="draft", sessions=0)
    resp = client.post(
        f"/api/v1/staff/courses/{course.id}/sessions/generate",
        json=plan_body(first_date=first_date, start="18:00", end="19:00"),
        headers=staff_headers,
    )
    assert resp.status_code == 422, resp.json
    assert "first_date" in resp.json["errors"]
    assert "1990-01-01 and 2199-12-31" in str(resp.json["errors"]["first_date"])
    assert sessions_of(query, course.id) == []


def test_api_generator_refuses_a_series_that_would_run_past_the_range(
    client: Any, staff_headers: dict[str, str], make_course: Any, query: Any
) -> None:
    course = make_course(status="draft", sessions=0)
    resp = client.post(
        f"/api/v1/staff/courses/{course.id}/sessions/generate",
        json=plan_body(first_date="2199-12-01", start="18:00", end="19:00", count=10),
        headers=staff_headers,
    )
    assert resp.status_code == 422, resp.json
    assert "2199" in str(resp.json["errors"]["count"])
    assert sessions_of(query, course.id) == []


def test_api_generator_refuses_a_start_in_the_skipped_hour(
    client: Any, staff_headers: dict[str, str], make_course: Any, query: Any
) -> None:
    course = make_course(status="draft", sessions=0)
    resp = client.post(
        f"/api/v1/staff/courses/{course.id}/sessions/generate",
        json=plan_body(),
        headers=staff_headers,
    )
    assert resp.status_code == 422, resp.json
    assert resp.json["code"] == "invalid"
    (message,) = resp.json["errors"]["start"]
    assert "02:30 does not exist" in message and "clocks go forward" in message
    assert "28.03.2027" in message or "Mar 28, 2027" in message
    assert sessions_of(query, course.id) == []
    # The same series from 03:00 exists every Sunday (summer time starts at 03:00).
    ok = client.post(
        f"/api/v1/staff/courses/{course.id}/sessions/generate",
        json=plan_body(start="03:00", end="04:00"),
        headers=staff_headers,
    )
    assert ok.status_code == 201, ok.json
    assert [s["starts_at"][11:16] for s in ok.json] == ["03:00"] * 3


def test_api_generator_refuses_an_end_in_the_skipped_hour_and_too_long_sessions(
    client: Any, staff_headers: dict[str, str], make_course: Any, query: Any
) -> None:
    course = make_course(status="draft", sessions=0)
    url = f"/api/v1/staff/courses/{course.id}/sessions/generate"
    resp = client.post(url, json=plan_body(start="01:00", end="02:15"), headers=staff_headers)
    assert resp.status_code == 422 and "02:15 does not exist" in resp.json["errors"]["end"][0]
    resp = client.post(url, json=plan_body(start="06:00", end="18:30"), headers=staff_headers)
    assert resp.status_code == 422 and "12 hours" in resp.json["errors"]["end"][0]
    assert sessions_of(query, course.id) == []


def test_api_session_times_are_instants_and_out_of_range_years_are_refused(
    client: Any, staff_headers: dict[str, str], make_course: Any, query: Any
) -> None:
    """The API takes times with their offset: an instant, never in a gap; years are bounded."""
    course = make_course(status="draft", sessions=0)
    url = f"/api/v1/staff/courses/{course.id}/sessions"
    # 02:30 at +01:00 is a real instant (03:30 summer time): accepted, shown in local time.
    resp = client.post(
        url,
        json={"starts_at": f"{GAP_DAY}T02:30:00+01:00", "ends_at": f"{GAP_DAY}T04:30:00+02:00"},
        headers=staff_headers,
    )
    assert resp.status_code == 201, resp.json
    assert resp.json["starts_at"] == f"{GAP_DAY}T03:30:00+02:00"
    # A naive clock reading that went 02:30 -> 03:00 would end before it starts: a 422.
    resp = client.post(
        url,
        json={"starts_at": f"{GAP_DAY}T02:30:00+01:00", "ends_at": f"{GAP_DAY}T03:00:00+02:00"},
        headers=staff_headers,
    )
    assert resp.status_code == 422 and "ends_at" in resp.json["errors"]
    session_id = sessions_of(query, course.id)[0].id
    resp = client.patch(
        f"/api/v1/staff/sessions/{session_id}",
        json={"ends_at": f"{GAP_DAY}T03:00:00+02:00"},
        headers=staff_headers,
    )
    assert resp.status_code == 422 and "ends_at" in resp.json["errors"]
    for when in ("9999-12-31T23:00:00-05:00", "0001-01-01T00:30:00+01:00"):
        resp = client.post(url, json={"starts_at": when, "ends_at": when}, headers=staff_headers)
        assert resp.status_code == 422, (when, resp.json)
        assert "starts_at" in resp.json["errors"]
    (session,) = sessions_of(query, course.id)
    assert session.starts_at == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)


# --- the staff pages ---------------------------------------------------------------------------


def test_page_generator_refuses_the_skipped_hour_and_far_years(
    client: Any, staff: Any, make_course: Any, query: Any
) -> None:
    course = make_course(status="draft", sessions=0)
    url = f"/staff/courses/{course.id}/sessions/generate"
    resp = client.submit(url, plan_form())
    assert resp.status_code == 422
    assert "02:30 does not exist" in error_text(resp)
    resp = client.submit(url, plan_form(**{"gen-end": "02:15", "gen-start": "01:00"}))
    assert resp.status_code == 422 and "02:15 does not exist" in error_text(resp)
    for first in ("31.12.9999", "9999-12-27", "01.01.0001"):
        resp = client.submit(url, plan_form(**{"gen-first_date": first, "gen-start": "18:00"}))
        assert resp.status_code == 422, first
        assert "Choose a date between 1990 and 2199." in error_text(resp)
    assert sessions_of(query, course.id) == []


def test_page_add_and_edit_session_refuse_the_skipped_hour_and_far_years(
    client: Any, staff: Any, make_course: Any, query: Any
) -> None:
    course = make_course(status="draft", sessions=1)
    (session,) = course.sessions
    add = f"/staff/courses/{course.id}/sessions"
    edit = f"/staff/sessions/{session.id}/edit"
    for url, prefix in ((add, "one-"), (edit, "")):
        gap = {f"{prefix}day": GAP_DAY, f"{prefix}start": "02:30", f"{prefix}end": "04:00"}
        resp = client.submit(url, gap)
        assert resp.status_code == 422, url
        assert "clocks go forward" in error_text(resp)
        far = {f"{prefix}day": "9999-12-31", f"{prefix}start": "10:00", f"{prefix}end": "11:00"}
        resp = client.submit(url, far)
        assert resp.status_code == 422, url
        assert "Choose a date between 1990 and 2199." in error_text(resp)
    assert [s.id for s in sessions_of(query, course.id)] == [session.id]
    assert sessions_of(query, course.id)[0].starts_at == session.starts_at
