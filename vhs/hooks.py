"""Work that must wait until the request's transaction is committed.

Side effects that leave the process (Stripe refunds, expiring a checkout, mail delivery) are
registered with ``on_commit`` during the request and run by ``run_after_commit`` once
``VhsFlask.dispatch_request`` has committed. Outside a request, callers commit and run them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import g, has_app_context

log = logging.getLogger(__name__)


def on_commit(func: Callable[[], object]) -> None:
    """Run ``func`` after the current unit of work commits (at once if there is no request)."""
    if not has_app_context():
        func()
        return
    pending = g.setdefault("vhs_after_commit", [])
    if func not in pending:
        pending.append(func)


def discard_pending() -> None:
    """Forget registered work (the transaction rolled back)."""
    if has_app_context():
        g.pop("vhs_after_commit", None)


def run_after_commit() -> None:
    """Run what the committed unit of work registered; one failure does not stop the rest."""
    from vhs.mail.hooks import after_commit as deliver_mail

    pending = g.pop("vhs_after_commit", []) if has_app_context() else []
    for func in pending:
        try:
            func()
        except Exception:  # logged; jobs retry what is still open
            log.exception("after-commit work failed: %r", func)
    deliver_mail()
