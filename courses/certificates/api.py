"""Certificate API: public verification, the holder's PDF, staff issue and revoke."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response, current_app
from flask.views import MethodView
from flask_babel import lazy_gettext as _l

from courses import access
from courses.blueprints import webinars_api as bp
from courses.certificates import services as certificate_services
from courses.certificates.pdf import certificate_response
from courses.webinars.models import Certificate
from courses.webinars.schemas import (
    CertificateCheckSchema,
    CertificateIssueSchema,
    CertificateOutSchema,
    CertificateRevokeSchema,
)
from vhs.accounts.models import User
from vhs.auth import require_user, staff_required, user_required
from vhs.db import db
from vhs.errors import Invalid
from vhs.extensions import problems

PDF = {"type": "string", "format": "binary"}
NOT_A_PARTICIPANT = _l("Certificates are issued to confirmed participants.")


def _alt(*codes: int) -> Any:
    names = {401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND", 409: "CONFLICT"}

    def decorator(func: Any) -> Any:
        for code in codes:
            func = bp.alt_response(code, response=names[code])(func)
        return func

    return decorator


def certificate_as_dict(certificate: Certificate) -> dict[str, Any]:
    """What the public may learn about a certificate: exactly what it says."""
    d = certificate.details

    def day(value: Any) -> date | None:
        return date.fromisoformat(value) if value else None

    return {
        "code": certificate.code,
        "valid": not certificate.revoked,
        "revoked_at": certificate.revoked_at,
        "issued_at": certificate.issued_at,
        "issuer": current_app.config["VHS"].org_name,
        "participant_name": d.get("name", ""),
        "course_code": d.get("course_code", ""),
        "course_title": d.get("course_title", ""),
        "first_day": day(d.get("first_day")),
        "last_day": day(d.get("last_day")),
        "teaching_units": d.get("teaching_units") or 0,
        "instructors": list(d.get("instructors") or []),
    }


@bp.route("/certificates/verify/<code>")
class CertificateVerify(MethodView):
    @bp.response(200, CertificateCheckSchema)
    @_alt(404)
    def get(self, code: str) -> Any:
        """Public: confirm a Teilnahmebescheinigung by its code (`valid` false when revoked)."""
        return certificate_as_dict(certificate_services.find_certificate(code))


def certificate_out(certificate: Certificate) -> dict[str, Any]:
    """A certificate as staff see it."""
    return {
        "id": certificate.id,
        "code": certificate.code,
        "course_id": certificate.course_id,
        "user_id": certificate.user_id,
        "participant_name": certificate.details.get("name", ""),
        "valid": not certificate.revoked,
        "issued_at": certificate.issued_at,
        "issued_by_staff": certificate.issued_by_id is not None,
        "revoked_at": certificate.revoked_at,
        "revoke_reason": certificate.revoke_reason,
    }


@bp.route("/courses/<int:course_id>/certificate.pdf")
@user_required
@bp.response(200, PDF, content_type="application/pdf", description="The certificate as PDF")
@problems(bp, 401, 403, 404, 409)
def own_certificate(course_id: int) -> Response:
    """The caller's own Teilnahmebescheinigung, issued on first download once eligible.

    403 with the reason's `code` (`not_participant`, `attendance_too_low`...), 409
    `course_not_completed`.
    """
    user = require_user()
    course = access.get_course(course_id, user)
    return certificate_response(certificate_services.certificate_for(user, course), user)


@bp.route("/staff/courses/<int:course_id>/certificates")
class StaffCertificates(MethodView):
    @staff_required
    @bp.response(200, CertificateOutSchema(many=True))
    @problems(bp, 401, 403, 404)
    def get(self, course_id: int) -> list[dict[str, Any]]:
        """Every certificate of the course ever issued, newest first, revoked ones included."""
        user = require_user()
        _report, issued = certificate_services.course_certificates(
            user, access.get_course(course_id, user)
        )
        return [certificate_out(c) for c in issued]

    @staff_required
    @bp.arguments(CertificateIssueSchema)
    @bp.response(201, CertificateOutSchema)
    @problems(bp, 401, 403, 404, 409, 422)
    def post(self, data: dict[str, Any], course_id: int) -> dict[str, Any]:
        """Issue a certificate to a confirmed participant by hand, whatever the attendance.

        409 `course_not_completed`, `already_issued`; 422 for someone who is not a confirmed
        participant.
        """
        user = require_user()
        course = access.get_course(course_id, user)
        person = db.session.get(User, data["user_id"])
        if person is None:
            raise Invalid(errors={"user_id": [NOT_A_PARTICIPANT]})
        return certificate_out(certificate_services.issue_certificate(user, course, person))


@bp.route("/staff/certificates/<int:certificate_id>/revoke", methods=["POST"])
@staff_required
@bp.arguments(CertificateRevokeSchema)
@bp.response(200, CertificateOutSchema)
@problems(bp, 401, 403, 404, 409, 422)
def revoke(data: dict[str, Any], certificate_id: int) -> dict[str, Any]:
    """Withdraw a certificate, saying why (audited); verification then says it is revoked.

    409 `already_revoked`.
    """
    user = require_user()
    found = certificate_services.get_certificate(certificate_id)
    return certificate_out(certificate_services.revoke_certificate(user, found, data["reason"]))


@bp.route("/staff/certificates/<int:certificate_id>/certificate.pdf")
@staff_required
@bp.response(200, PDF, content_type="application/pdf", description="The certificate as PDF")
@problems(bp, 401, 403, 404)
def staff_certificate_pdf(certificate_id: int) -> Response:
    """A certificate as its holder got it (e.g. to print it for them)."""
    found = certificate_services.get_certificate(certificate_id)
    return certificate_response(found, found.user)
