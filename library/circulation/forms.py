"""Patron forms: the loan period to borrow for (the choices come from ``library.rules``); the
opt-in to a reading history."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField
from wtforms.validators import Optional

from library import rules


class BorrowForm(FlaskForm):
    """Borrow for one of the offered periods (empty: the medium's default period)."""

    days = SelectField(
        _l("Loan period"),
        [Optional()],
        choices=[SelectChoice("", ""), *(SelectChoice(str(d), str(d)) for d in rules.LOAN_PERIODS)],
        validate_choice=True,
    )

    def chosen_days(self) -> int | None:
        """The period chosen, or None for the default."""
        return int(self.days.data) if self.days.data else None


class HistoryForm(FlaskForm):
    """Keep my ended loans as a "read before" list (unticked: forget them)."""

    keep = BooleanField(_l("Keep a list of the media I have borrowed"))
