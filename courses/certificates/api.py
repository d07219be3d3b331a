"""Certificate API: public verification."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import current_app
from flask.views import MethodView

from courses.blueprints import webinars_api as bp
from courses.certificates import services as certificate_services
from courses.webinars.models import Certificate
from courses.webinars.schemas import (
    CertificateCheckSchema,
)


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
