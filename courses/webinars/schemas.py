"""Marshmallow schemas of the webinar API: join details, attendance, certificate checks."""

from __future__ import annotations

from marshmallow import Schema, fields

from vhs.extensions import ProblemSchema


class JoinSchema(Schema):
    """How to enter a session's room now (the token is minted for this answer only)."""

    session_id = fields.Integer(required=True)
    domain = fields.String(required=True, metadata={"description": "Jitsi host"})
    room = fields.String(
        required=True,
        metadata={"description": "roomName for the IFrame API (`<AppID>/<room>` on JaaS)"},
    )
    url = fields.String(required=True, metadata={"description": "meeting URL, with ?jwt="})
    jwt = fields.String(required=True, allow_none=True)
    opens_at = fields.DateTime(required=True)
    closes_at = fields.DateTime(required=True)
    moderator = fields.Boolean(required=True)


class JoinConflictSchema(ProblemSchema):
    """409 outside the window: the problem document says when the room opens and closes."""

    opens_at = fields.DateTime()
    closes_at = fields.DateTime()


class AttendanceSessionSchema(Schema):
    id = fields.Integer(required=True)
    starts_at = fields.DateTime(required=True)
    ends_at = fields.DateTime(required=True)
    online = fields.Boolean(required=True)


class AttendanceCellSchema(Schema):
    session_id = fields.Integer(required=True)
    held = fields.Boolean(required=True)
    present = fields.Boolean(required=True)
    seconds_present = fields.Integer(required=True)
    first_join_at = fields.DateTime(required=True, allow_none=True)
    last_leave_at = fields.DateTime(required=True, allow_none=True)
    manual_present = fields.Boolean(required=True, allow_none=True)


class AttendanceParticipantSchema(Schema):
    user_id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True, allow_none=True)
    present = fields.Integer(required=True)
    total = fields.Integer(required=True)
    percent = fields.Integer(required=True)
    eligible = fields.Boolean(required=True)
    certificate_code = fields.String(required=True, allow_none=True)
    sessions = fields.List(fields.Nested(AttendanceCellSchema), required=True)


class AttendanceReportSchema(Schema):
    """Participants x sessions of one course."""

    course_id = fields.Integer(required=True)
    min_attendance_percent = fields.Integer(required=True)
    sessions = fields.List(fields.Nested(AttendanceSessionSchema), required=True)
    participants = fields.List(fields.Nested(AttendanceParticipantSchema), required=True)


class CertificateCheckSchema(Schema):
    """What a certificate says, and whether it is still valid."""

    code = fields.String(required=True)
    valid = fields.Boolean(required=True)
    revoked_at = fields.DateTime(required=True, allow_none=True)
    issued_at = fields.DateTime(required=True)
    issuer = fields.String(required=True)
    participant_name = fields.String(required=True)
    course_code = fields.String(required=True)
    course_title = fields.String(required=True)
    first_day = fields.Date(required=True, allow_none=True)
    last_day = fields.Date(required=True, allow_none=True)
    teaching_units = fields.Float(required=True)
    instructors = fields.List(fields.String(), required=True)
