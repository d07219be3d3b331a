"""Patron forms: the loan period to borrow for (the choices come from ``library.rules``)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField
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
