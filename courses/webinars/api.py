"""Webinar API: join details, the attendance report."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from courses import access
from courses.blueprints import webinars_api as bp
from courses.links import session_links
from courses.webinars import attendance as attendance_services
from courses.webinars import join as webinar_join
from courses.webinars import live as webinar_live
from courses.webinars.schemas import (
    AttendanceReportSchema,
    JoinConflictSchema,
    JoinSchema,
    LiveRoomSchema,
    MarksInSchema,
    SessionSheetSchema,
)
from vhs.auth import require_user, staff_required, user_required
from vhs.extensions import link, links, problems

NO_STORE = {"Cache-Control": "private, no-store"}


def _alt(*codes: int) -> Any:
    names = {401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND", 409: "CONFLICT"}

    def decorator(func: Any) -> Any:
        for code in codes:
            func = bp.alt_response(code, response=names[code])(func)
        return func

    return decorator


@bp.route("/sessions/<int:session_id>/join")
class SessionJoin(MethodView):
    @user_required
    @bp.response(200, JoinSchema)
    @bp.alt_response(409, schema=JoinConflictSchema, content_type="application/problem+json")
    @_alt(401, 403, 404)
    def get(self, session_id: int) -> Any:
        """Room, URL and a fresh token for the session's webinar.

        Confirmed participants, the course's instructors (moderators) and staff (moderators),
        from `VHS_JITSI_OPEN_MINUTES` before the start until the end. 403 for anyone else
        (the `code` says why: `not_enrolled`, `waitlisted`, `pending_payment`...); 409 outside
        the window, with `opens_at` and `closes_at`.
        """
        user = require_user()
        session = webinar_join.get_webinar_session(session_id, user)
        decision = webinar_join.require_join(user, session)
        details = webinar_join.join_details(user, decision)
        body = {
            "session_id": session.id,
            "domain": details.domain,
            "room": details.room,
            "url": details.url,
            "jwt": details.jwt,
            "opens_at": details.opens_at,
            "closes_at": details.closes_at,
            "moderator": details.moderator,
        }
        return body, 200, NO_STORE


def live_room_as_dict(live: webinar_live.LiveRoom) -> dict[str, Any]:
    """The room now in the API's shape (what the instructor's page polls)."""
    return {
        "session_id": live.session.id,
        "status": live.status,
        "participants": live.participants,
        "message": str(live.message),
        "in_room": [{"user_id": u.id, "name": u.name} for u in live.present],
        "checked_at": live.checked_at,
        "estimates": [
            {"measured_at": e.measured_at, "participants": e.participants, "estimated": True}
            for e in live.estimates
        ],
    }


@bp.route("/sessions/<int:session_id>/room")
class SessionRoom(MethodView):
    @user_required
    @bp.response(200, LiveRoomSchema)
    @_alt(401, 403, 404)
    def get(self, session_id: int) -> Any:
        """Who is in the session's room now (instructors of the course and staff).

        `participants` is Prosody's head count (`mod_muc_size`), asked while the room is open;
        when Prosody does not answer in time the answer is still 200, with `status`
        `unavailable`. `in_room` lists the people the event module reports in the room;
        `estimates` are the polling job's head counts, which never count as attendance.
        """
        user = require_user()
        session = webinar_join.get_webinar_session(session_id, user)
        return live_room_as_dict(webinar_live.live_room(user, session)), 200, NO_STORE


def report_as_dict(report: attendance_services.Report) -> dict[str, Any]:
    """The attendance report in the API's shape."""
    return {
        "course_id": report.course.id,
        "min_attendance_percent": report.min_percent,
        "sessions": [
            {"id": s.id, "starts_at": s.starts_at, "ends_at": s.ends_at, "online": s.online}
            for s in report.sessions
        ],
        "participants": [
            {
                "user_id": row.user.id,
                "name": row.user.name,
                "email": row.user.email,
                "present": row.present,
                "total": row.total,
                "percent": row.percent,
                "eligible": row.eligible,
                "certificate_code": row.certificate.code if row.certificate else None,
                "sessions": [
                    {
                        "session_id": cell.session.id,
                        "held": cell.held,
                        "present": cell.present,
                        "seconds_present": cell.attendance.seconds_present
                        if cell.attendance
                        else 0,
                        "first_join_at": cell.attendance.first_join_at if cell.attendance else None,
                        "last_leave_at": cell.attendance.last_leave_at if cell.attendance else None,
                        "manual_present": cell.attendance.manual_present
                        if cell.attendance
                        else None,
                    }
                    for cell in row.cells
                ],
            }
            for row in report.rows
        ],
    }


@bp.route("/courses/<int:course_id>/attendance")
class CourseAttendance(MethodView):
    @user_required
    @bp.response(200, AttendanceReportSchema)
    @links(
        bp,
        200,
        **session_links("/sessions/0/id", "Join"),
        VerifyCertificate=link(
            "GET",
            "/api/v1/certificates/verify/{code}",
            "Verify the first participant's certificate",
            code="$response.body#/participants/0/certificate_code",
        ),
    )
    @_alt(401, 403, 404)
    def get(self, course_id: int) -> Any:
        """Participants x sessions: Jitsi time, instructors' marks, certificate eligibility.

        For the course's instructors and staff; sessions that were cancelled do not count.
        """
        actor = require_user()
        course = access.get_course(course_id, actor)
        return report_as_dict(attendance_services.attendance_report(actor, course)), 200, NO_STORE


def sheet_as_dict(sheet: attendance_services.SessionSheet, changed: int | None = None) -> Any:
    """One session's attendance sheet in the API's shape."""
    body: dict[str, Any] = {
        "session_id": sheet.session.id,
        "can_mark": sheet.can_mark,
        "mark_refusal": str(sheet.mark_refusal) if sheet.mark_refusal else None,
        "entries": [
            {
                "user_id": user.id,
                "name": user.name,
                "present": present,
                "seconds_present": row.seconds_present if row else 0,
                "manual_present": row.manual_present if row else None,
            }
            for user, row, present in sheet.entries
        ],
    }
    if changed is not None:
        body["changed"] = changed
    return body


@bp.route("/sessions/<int:session_id>/attendance")
class SessionAttendance(MethodView):
    @user_required
    @bp.response(200, SessionSheetSchema)
    @problems(bp, 401, 403, 404)
    def get(self, session_id: int) -> Any:
        """Who was at one session: Jitsi time and the instructor's marks (instructors, staff)."""
        actor = require_user()
        session = webinar_join.get_session(session_id, actor)
        return sheet_as_dict(attendance_services.session_attendance(actor, session)), 200, NO_STORE

    @user_required
    @bp.arguments(MarksInSchema)
    @bp.response(200, SessionSheetSchema)
    @problems(bp, 401, 403, 404, 409, 422)
    def patch(self, data: dict[str, Any], session_id: int) -> Any:
        """Mark confirmed participants present (true), absent (false) or unmarked (null).

        The course's instructors and staff, once the session has started (409 `not_started`,
        `session_cancelled`); 403 `not_instructor` for anyone else.
        """
        actor = require_user()
        session = webinar_join.get_session(session_id, actor)
        marks = {mark["user_id"]: mark["present"] for mark in data["marks"]}
        changed = attendance_services.mark_attendance(actor, session, marks)
        sheet = attendance_services.session_attendance(actor, session)
        return sheet_as_dict(sheet, changed), 200, NO_STORE


@bp.route("/staff/sessions/<int:session_id>/room/replace", methods=["POST"])
@staff_required
@bp.response(204)
@problems(bp, 401, 403, 404, 409)
def replace_room(session_id: int) -> None:
    """Give an online session a new Jitsi room; the old link leads nowhere (staff, audited).

    Everyone keeps joining through `GET /api/v1/sessions/{session_id}/join`; 409 `not_online`.
    """
    actor = require_user()
    webinar_join.replace_room(actor, webinar_join.get_session(session_id, actor))
