"""Certificates of attendance (Teilnahmebescheinigungen): status, issue, revoke, verify."""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from courses import access
from courses.enrolment import services as enrolment_services
from courses.models import (
    Course,
    CourseStatus,
    EnrolmentStatus,
)
from courses.webinars import jitsi as jitsi
from courses.webinars.attendance import (
    Report,
    build_report,
    confirmed_participants,
    counted_sessions,
    valid_certificates,
)
from courses.webinars.models import Certificate
from vhs.accounts.models import User
from vhs.audit import audit
from vhs.db import db, utcnow
from vhs.errors import Conflict, Forbidden, Invalid, NotFound
from vhs.i18n import local_zone

# --- certificates ------------------------------------------------------------------------------

CODE_BYTES = 20  # 160 bits, shown as 8 groups of 4 base32 characters


def new_certificate_code() -> str:
    """An unguessable code that reads well on paper: ``K7QD-2XMA-...``."""
    raw = base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode("ascii").rstrip("=")
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def normalise_code(text: str) -> str:
    """Accept a code as typed (lower case, spaces, missing hyphens)."""
    raw = re.sub(r"[^A-Za-z2-7]", "", text or "").upper()[: CODE_BYTES * 2]
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def _local_day(dt: datetime) -> date:
    return dt.astimezone(local_zone()).date()


def _details(course: Course, user: User, present: int, total: int) -> dict[str, Any]:
    """What the certificate says, frozen when it is issued."""
    sessions = counted_sessions(course) or list(course.sessions)
    return {
        "name": user.name,
        "course_code": course.code,
        "course_title": course.title,
        "first_day": _local_day(sessions[0].starts_at).isoformat() if sessions else None,
        "last_day": _local_day(sessions[-1].starts_at).isoformat() if sessions else None,
        "teaching_units": course.teaching_units,
        "instructors": [i.name for i in course.instructors],
        "sessions_attended": present,
        "sessions_total": total,
    }


@dataclass
class CertificateStatus:
    """What a participant sees about their certificate."""

    certificate: Certificate | None
    available: bool
    code: str | None = None  # why not
    reason: Any = None
    present: int = 0
    total: int = 0
    min_percent: int = 80


def certificate_status(user: User, course: Course) -> CertificateStatus:
    """Whether ``user`` can download a certificate for ``course`` (and why not)."""
    report = build_report(course, [user])
    row = report.rows[0]
    base = {"present": row.present, "total": row.total, "min_percent": report.min_percent}
    enrolment = enrolment_services.active_enrolment(course.id, user.id)
    if enrolment is None or enrolment.status is not EnrolmentStatus.CONFIRMED:
        return CertificateStatus(
            None,
            False,
            "not_participant",
            _l("Certificates are issued to confirmed participants of the course."),
            **base,
        )
    if course.status is not CourseStatus.COMPLETED:
        return CertificateStatus(
            None,
            False,
            "course_not_completed",
            _l("Certificates are available once the course has been completed."),
            **base,
        )
    if row.certificate is not None:
        return CertificateStatus(row.certificate, True, **base)
    revoked = db.session.execute(
        sa.select(Certificate.id).where(
            Certificate.course_id == course.id,
            Certificate.user_id == user.id,
            Certificate.revoked_at.is_not(None),
        )
    ).first()
    if revoked:
        return CertificateStatus(
            None,
            False,
            "certificate_revoked",
            _l("Your certificate for this course was withdrawn. Please contact the VHS office."),
            **base,
        )
    if not row.eligible:
        return CertificateStatus(
            None,
            False,
            "not_eligible",
            _l(
                "You attended %(present)d of %(total)d sessions; a certificate needs at least "
                "%(min)d %% of them.",
                present=row.present,
                total=row.total,
                min=report.min_percent,
            ),
            **base,
        )
    return CertificateStatus(None, True, **base)


def _create_certificate(
    course: Course, user: User, issued_by: User | None, present: int, total: int
) -> Certificate:
    certificate = Certificate(
        course_id=course.id,
        user_id=user.id,
        code=new_certificate_code(),
        issued_at=utcnow(),
        issued_by_id=issued_by.id if issued_by else None,
        details=_details(course, user, present, total),
    )
    try:
        with db.session.begin_nested():
            db.session.add(certificate)
    except sa.exc.IntegrityError:  # issued at the same moment by a parallel request
        existing = valid_certificates(course).get(user.id)
        if existing is None:
            raise
        return existing
    return certificate


def certificate_for(user: User, course: Course) -> Certificate:
    """The participant's own certificate: issued on first download once eligible."""
    status = certificate_status(user, course)
    if status.certificate is not None:
        return status.certificate
    if not status.available:
        if status.code == "course_not_completed":
            raise Conflict(status.reason, code=status.code)
        raise Forbidden(status.reason, code=status.code)
    return _create_certificate(course, user, None, status.present, status.total)


def issue_certificate(actor: User, course: Course, user: User) -> Certificate:
    """Staff issue a certificate by hand, whatever the recorded attendance (audited)."""
    access.require_manager(actor)
    if course.status is not CourseStatus.COMPLETED:
        raise Conflict(
            _l("Certificates are available once the course has been completed."),
            code="course_not_completed",
        )
    enrolment = enrolment_services.active_enrolment(course.id, user.id)
    if enrolment is None or enrolment.status is not EnrolmentStatus.CONFIRMED:
        raise Invalid(
            errors={"user_id": [_l("Certificates are issued to confirmed participants.")]}
        )
    if valid_certificates(course).get(user.id) is not None:
        raise Conflict(
            _l("This participant already has a valid certificate."), code="already_issued"
        )
    row = build_report(course, [user]).rows[0]
    certificate = _create_certificate(course, user, actor, row.present, row.total)
    db.session.flush()
    audit(actor, "certificate.issued", certificate, course=course.code, user=user.id)
    return certificate


def revoke_certificate(actor: User, certificate: Certificate, reason: str = "") -> Certificate:
    """Withdraw a certificate (staff, audited); verification then says so."""
    access.require_manager(actor)
    if certificate.revoked:
        raise Conflict(_l("This certificate has already been revoked."), code="already_revoked")
    certificate.revoked_at = utcnow()
    certificate.revoked_by_id = actor.id
    certificate.revoke_reason = reason.strip()[:1000]
    audit(actor, "certificate.revoked", certificate, course=certificate.course.code, reason=reason)
    return certificate


def get_certificate(certificate_id: int) -> Certificate:
    """A certificate by id, or 404."""
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None:
        raise NotFound(_l("This certificate does not exist."), code="certificate_not_found")
    return certificate


def find_certificate(code: str) -> Certificate:
    """The certificate with this verification code, or 404."""
    normalised = normalise_code(code)
    certificate = (
        db.session.execute(
            sa.select(Certificate).where(Certificate.code == normalised)
        ).scalar_one_or_none()
        if len(normalised) >= 8
        else None
    )
    if certificate is None:
        raise NotFound(
            _l("There is no certificate with this code. Please check the code."),
            code="certificate_not_found",
        )
    return certificate


def course_certificates(actor: User, course: Course) -> tuple[Report, list[Certificate]]:
    """Staff overview: everyone's attendance and every certificate ever issued."""
    access.require_manager(actor)
    report = build_report(course, [e.user for e in confirmed_participants(course)])
    issued = list(
        db.session.execute(
            sa.select(Certificate)
            .where(Certificate.course_id == course.id)
            .options(selectinload(Certificate.user))
            .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
        ).scalars()
    )
    return report, issued
