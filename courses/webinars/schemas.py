"""Marshmallow schemas of the webinar API: join details, attendance, certificate checks."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from courses.schemas import MAX_ID, Int, StrictSchema
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


# --- marking attendance, certificates by hand (staff and instructors) --------------------------


class MarkSchema(StrictSchema):
    user_id = Int(strict=True, required=True, validate=validate.Range(min=1, max=MAX_ID))
    present = fields.Boolean(
        required=True,
        allow_none=True,
        metadata={"description": "true present, false absent, null clears the mark"},
    )


class MarksInSchema(StrictSchema):
    """The instructor's marks for one session; participants not listed keep theirs."""

    marks = fields.List(
        fields.Nested(MarkSchema), required=True, validate=validate.Length(min=1, max=1000)
    )


class SheetEntrySchema(Schema):
    user_id = fields.Integer(required=True)
    name = fields.String(required=True)
    present = fields.Boolean(required=True)
    seconds_present = fields.Integer(required=True)
    manual_present = fields.Boolean(required=True, allow_none=True)


class SessionSheetSchema(Schema):
    """One session's attendance: each confirmed participant, Jitsi time and the mark."""

    session_id = fields.Integer(required=True)
    can_mark = fields.Boolean(required=True)
    mark_refusal = fields.String(required=True, allow_none=True)
    changed = fields.Integer(metadata={"description": "marks changed by this request"})
    entries = fields.List(fields.Nested(SheetEntrySchema), required=True)


class CertificateIssueSchema(StrictSchema):
    user_id = Int(strict=True, required=True, validate=validate.Range(min=1, max=MAX_ID))


class CertificateRevokeSchema(StrictSchema):
    reason = fields.String(
        required=True,
        validate=[
            validate.Length(min=1, max=300),
            validate.Regexp(r"[\s\S]*\S", error="Please give a reason."),
        ],
    )


class CertificateOutSchema(Schema):
    """A certificate as staff see it: who, when, and whether it was revoked."""

    id = fields.Integer(required=True)
    code = fields.String(required=True)
    course_id = fields.Integer(required=True)
    user_id = fields.Integer(required=True)
    participant_name = fields.String(required=True)
    valid = fields.Boolean(required=True)
    issued_at = fields.DateTime(required=True)
    issued_by_staff = fields.Boolean(required=True)
    revoked_at = fields.DateTime(required=True, allow_none=True)
    revoke_reason = fields.String(required=True)


class RoomPersonSchema(Schema):
    """Someone an event module reports in the room now."""

    user_id = fields.Integer(required=True)
    name = fields.String(required=True)


class RoomHeadcountSchema(Schema):
    """One estimated head count (``mod_muc_size``): how many, never who."""

    measured_at = fields.DateTime(required=True)
    participants = fields.Integer(required=True)
    estimated = fields.Boolean(required=True, metadata={"description": "always true"})


class LiveRoomSchema(Schema):
    """A session's room now: Prosody's head count and who the event module says is in it."""

    session_id = fields.Integer(required=True)
    status = fields.String(
        required=True,
        metadata={
            "description": "`ok`, `no_room` (nobody in it), `forbidden` and `unavailable` "
            "(Prosody refused or did not answer), `not_configured`, `not_running`"
        },
    )
    participants = fields.Integer(required=True, allow_none=True)
    message = fields.String(required=True, metadata={"description": "one sentence to show"})
    in_room = fields.List(fields.Nested(RoomPersonSchema), required=True)
    checked_at = fields.DateTime(required=True)
    estimates = fields.List(fields.Nested(RoomHeadcountSchema), required=True)
