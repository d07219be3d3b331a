"""Background jobs of loans: end overdue loans, remind patrons before the due date."""

from __future__ import annotations

from library.licences.services import lock_item
from library.loans.history import forget_unwanted_history
from library.loans.services import close_overdue_loans, items_with_overdue_loans, send_due_reminders
from vhs.db import utcnow
from vhs.jobs import job


@job("library_expire_loans", every_seconds=60)
def expire_loans() -> int:
    """End every loan past its due time, item by item; freed copies go to waiting holds."""
    now = utcnow()
    return sum(close_overdue_loans(lock_item(i), now) for i in items_with_overdue_loans(now))


@job("library_loan_reminders", every_seconds=15 * 60)
def loan_reminders() -> int:
    """Mail "your loan ends in 2 days" once per due date."""
    return send_due_reminders()


@job("library_forget_history", every_seconds=24 * 60 * 60)
def forget_history() -> int:
    """Ended loans forget patrons who no longer keep a "read before" list (opt-in withdrawn
    by the library, card gone)."""
    return forget_unwanted_history()
