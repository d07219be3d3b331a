"""Fee statements in the personal data export and erasure."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from courses import rules
from courses.office.statements import statements_of
from vhs import gdpr
from vhs.accounts.models import User


def export_statements(user: User) -> dict[str, Any]:
    """The fee statements issued to a person, as issued."""
    return {
        "statements": [
            {
                "number": s.number,
                "term": s.term_name,
                "issued_at": s.issued_at.isoformat(),
                "teaching_units": rules.units_value(s.units_tenths),
                "total_cents": s.total_cents,
                "currency": s.currency,
                "lines": [
                    {
                        "course_code": line.course_code,
                        "starts_at": line.starts_at.isoformat() if line.starts_at else None,
                        "teaching_units": rules.units_value(line.units_tenths),
                        "rate_kind": line.rate_kind.value,
                        "rate_cents": line.rate_cents,
                        "amount_cents": line.amount_cents,
                    }
                    for line in s.lines
                ],
            }
            for s in statements_of(user)
        ]
    }


def erase_statements(user: User) -> None:
    """Issued statements are accounting records: they stay, unchanged (nothing to erase)."""


gdpr.register_exporter("fee_statements", export_statements)
gdpr.register_eraser(
    "fee_statements",
    erase_statements,
    gdpr.Retention(
        what=_l("The fee statements issued to you as an instructor."),
        why=_l(
            "Fee statements are accounting records the VHS must keep unchanged for the "
            "statutory retention period."
        ),
    ),
)
