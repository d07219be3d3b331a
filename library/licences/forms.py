"""Staff forms for licences; limits read from ``library.rules``.

Field names follow the service's data keys, so its ``Invalid`` errors land next to the right
field (``expires_at`` is typed as the last day the licence lends).
"""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import InputRequired, Length, Optional

from library import rules
from library.licences.services import FLAGS
from library.models import Licence
from vhs.fields import DateField, IntegerField
from vhs.i18n import local_datetime


class LicenceTermsForm(FlaskForm):
    """What can be changed of a licence: copies at once, longest loan, protection, note."""

    concurrency = IntegerField(
        _l("Copies at once"),
        [InputRequired(_l("Enter how many copies may be lent at once."))],
        min=rules.CONCURRENCY.lo,
        max=rules.CONCURRENCY.hi,
    )
    max_loan_days = IntegerField(
        _l("Longest loan (days)"),
        [InputRequired(_l("Enter the longest loan in days."))],
        min=rules.MAX_LOAN_DAYS.lo,
        max=rules.MAX_LOAN_DAYS.hi,
        default=rules.MAX_LOAN_DAYS_DEFAULT,
    )
    download_allowed = BooleanField(_l("Download allowed"), default=True)
    streaming_allowed = BooleanField(_l("Streaming allowed"), default=True)
    print_allowed = BooleanField(_l("Printing allowed"))
    copy_allowed = BooleanField(_l("Copying text allowed"))
    note = StringField(_l("Note (optional)"), [Optional(), Length(max=rules.NOTE_MAX)])

    def to_data(self) -> dict[str, Any]:
        """The service's data."""
        return {
            "concurrency": self.concurrency.data,
            "max_loan_days": self.max_loan_days.data,
            "download_allowed": bool(self.download_allowed.data),
            "streaming_allowed": bool(self.streaming_allowed.data),
            "print_allowed": bool(self.print_allowed.data),
            "copy_allowed": bool(self.copy_allowed.data),
            "note": self.note.data or "",
        }

    @classmethod
    def of(cls, licence: Licence) -> LicenceTermsForm:
        """The form filled with a licence's terms."""
        form = cls(formdata=None)
        for name in ("concurrency", "max_loan_days", "note", *FLAGS):
            getattr(form, name).data = getattr(licence, name)
        return form


class LicenceForm(LicenceTermsForm):
    """A new licence: the terms above, and what was bought (checkouts, expiry)."""

    checkouts_total = IntegerField(
        _l("Checkouts bought (optional)"),
        [Optional()],
        min=rules.CHECKOUTS.lo,
        max=rules.CHECKOUTS.hi,
    )
    expires_at = DateField(_l("Lends until (optional)"), [Optional()])

    def to_data(self) -> dict[str, Any]:
        """The service's data; the last day becomes the end of that day, local time."""
        data = super().to_data()
        data["checkouts_total"] = self.checkouts_total.data
        day = self.expires_at.data
        data["expires_at"] = (
            local_datetime(day + timedelta(days=1), time(0)) if day is not None else None
        )
        return data
