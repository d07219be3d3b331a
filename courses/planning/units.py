"""Teaching units (Unterrichtseinheiten): derived from the held sessions, with a staff override.

The derived figure is kept on the course row by ``sessions.refresh_schedule`` whenever a
session is added, moved or cancelled: each session not cancelled counts ``minutes / 45``,
rounded half up to one decimal (``courses.rules.units_tenths``). Staff may set an override
(an integration course counted by the BAMF's rules, a course with self-study units); it is
recorded with who, when and why, audited, and shown beside the derived figure. Everything
that shows or counts units (catalogue, certificates, reports) uses the effective figure:
the override where there is one, the derived figure otherwise.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l

from courses import rules
from courses.access import lock_course, require_manager
from courses.models import Course
from vhs.accounts.models import User
from vhs.audit import audit
from vhs.db import utcnow
from vhs.errors import Invalid

UNITS_RANGE = _l(
    "Enter between %(lo)d and %(hi)d teaching units, with at most one decimal.",
    lo=rules.TEACHING_UNITS.lo,
    hi=rules.TEACHING_UNITS.hi,
)


def parse_units(value: Any) -> int:
    """A number of units (``13.5``, ``"13,5"``, ``20``) as tenths; ``Invalid`` otherwise."""
    if isinstance(value, bool) or value is None:
        raise Invalid(errors={"teaching_units": [UNITS_RANGE]})
    text = str(value).strip().replace(",", ".")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise Invalid(errors={"teaching_units": [UNITS_RANGE]}) from None
    if not number.is_finite():
        raise Invalid(errors={"teaching_units": [UNITS_RANGE]})
    tenths = number * 10
    if tenths != tenths.to_integral_value() or int(tenths) not in rules.TEACHING_UNITS_TENTHS:
        raise Invalid(errors={"teaching_units": [UNITS_RANGE]})
    return int(tenths)


def set_units_override(actor: User, course: Course, units: Any, reason: str) -> Course:
    """Replace the derived teaching units by ``units`` (with a reason), or clear it (None)."""
    require_manager(actor)
    reason = (reason or "").strip()
    errors: dict[str, list[Any]] = {}
    tenths: int | None = None
    if units is not None and units != "":
        try:
            tenths = parse_units(units)
        except Invalid as exc:
            errors.update(exc.errors)
        if not reason:
            errors["reason"] = [_l("Say why the derived figure does not apply.")]
    if len(reason) > rules.REASON_MAX:
        errors["reason"] = [_l("Use at most %(n)d characters.", n=rules.REASON_MAX)]
    if errors:
        raise Invalid(errors=errors)
    course = lock_course(course.id)
    before = course.units_override_tenths
    if tenths is None:
        course.units_override_tenths = None
        course.units_override_reason = ""
        course.units_override_by_id = None
        course.units_override_by_name = ""
        course.units_override_at = None
    else:
        course.units_override_tenths = tenths
        course.units_override_reason = reason
        course.units_override_by_id = actor.id
        course.units_override_by_name = actor.name
        course.units_override_at = utcnow()
    audit(
        actor,
        "course.units_overridden" if tenths is not None else "course.units_override_cleared",
        course,
        code=course.code,
        derived=rules.units_value(course.units_derived_tenths),
        before=None if before is None else rules.units_value(before),
        after=None if tenths is None else rules.units_value(tenths),
        reason=reason,
    )
    return course
