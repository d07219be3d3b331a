"""OpenAPI links of the course API: where an id in one answer leads (documentation only).

Clients read them as "what can I do next with this booking"; the stateful fuzzer
(tests/test_api_schemathesis.py) follows them to chain create, read, change and delete.
Each function takes the JSON pointer of the id in the response and the names of the links.
"""

from __future__ import annotations

from typing import Any

from vhs.extensions import link

Links = dict[str, dict[str, Any]]

COURSE = "/api/v1/courses/{course_id}"
STAFF_COURSE = "/api/v1/staff/courses/{course_id}"
ENROLMENT = "/api/v1/enrolments/{enrolment_id}"
SESSION = "/api/v1/staff/sessions/{session_id}"


def _pick(every: Links, names: tuple[str, ...]) -> Links:
    return {name: every[name] for name in names}


def course_links(pointer: str, *names: str) -> Links:
    """Links from a course's id (at ``pointer`` in the response body)."""
    course_id = f"$response.body#{pointer}"
    every = {
        "GetCourse": link("GET", COURSE, "The course", course_id=course_id),
        "Enrol": link("POST", f"{COURSE}/enrolments", "Book it", course_id=course_id),
        "Participants": link("GET", f"{COURSE}/enrolments", "Who booked", course_id=course_id),
        "Message": link(
            "POST", f"{COURSE}/messages", "Write to the participants", course_id=course_id
        ),
        "Attendance": link(
            "GET", f"{COURSE}/attendance", "The attendance report", course_id=course_id
        ),
        "GetStaffCourse": link("GET", STAFF_COURSE, "The course (staff)", course_id=course_id),
        "PatchCourse": link("PATCH", STAFF_COURSE, "Change it", course_id=course_id),
        "Publish": link("POST", f"{STAFF_COURSE}/publish", "Publish it", course_id=course_id),
        "Cancel": link("POST", f"{STAFF_COURSE}/cancel", "Cancel it", course_id=course_id),
        "Copy": link("POST", f"{STAFF_COURSE}/copy", "Copy it", course_id=course_id),
        "AddSession": link(
            "POST", f"{STAFF_COURSE}/sessions", "Add a session", course_id=course_id
        ),
        "GenerateSessions": link(
            "POST", f"{STAFF_COURSE}/sessions/generate", "Add weekly sessions", course_id=course_id
        ),
    }
    return _pick(every, names)


def enrolment_links(pointer: str, *names: str) -> Links:
    """Links from a booking's id (at ``pointer`` in the response body)."""
    enrolment_id = f"$response.body#{pointer}"
    every = {
        "GetEnrolment": link("GET", ENROLMENT, "The booking", enrolment_id=enrolment_id),
        "CancelEnrolment": link("DELETE", ENROLMENT, "Cancel it", enrolment_id=enrolment_id),
        "Pay": link("POST", f"{ENROLMENT}/payment", "Pay for it", enrolment_id=enrolment_id),
        "Move": link(
            "POST", f"{ENROLMENT}/move", "Move it to another course", enrolment_id=enrolment_id
        ),
    }
    return _pick(every, names)


def session_links(pointer: str, *names: str) -> Links:
    """Links from a session's id (at ``pointer`` in the response body)."""
    session_id = f"$response.body#{pointer}"
    every = {
        "PatchSession": link("PATCH", SESSION, "Change it", session_id=session_id),
        "CancelSession": link("POST", f"{SESSION}/cancel", "Cancel it", session_id=session_id),
        "Join": link(
            "GET", "/api/v1/sessions/{session_id}/join", "Join its webinar", session_id=session_id
        ),
    }
    return _pick(every, names)


def new_course_in(field: str, pointer: str) -> Links:
    """A link that plans a course in the term or category whose id is at ``pointer``."""
    return {
        "PlanCourse": link(
            "POST",
            "/api/v1/staff/courses",
            f"Plan a course with this {field.removesuffix('_id')}",
            body={field: f"$response.body#{pointer}"},
        )
    }
