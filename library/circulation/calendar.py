"""Lending's dates in the personal calendar feed (the "library" source of ``vhs.calendar``).

Two kinds of all-day events on the day in ``VHS_TIMEZONE``, the exact time in the title or the
text:

- a current loan's end, "Ausleihe endet: <Titel>" (e-media return themselves, so it is not a
  "Rückgabe"), UID ``loan-<id>@<host>``, SEQUENCE the loan's renewals (a renewal moves it);
- a ready hold's pick-up deadline, "Vormerkung abholen bis <Uhrzeit>: <Titel>", UID
  ``hold-<id>@<host>``.

Only the feed owner's own loans and holds are read. An ended loan (returned, expired, revoked)
or an ended hold leaves the feed; so does an overdue loan not closed yet. Loans and holds are
tracked under the feed's data version, so a borrow, a return or a hold becoming ready reaches
the next poll of a cached feed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import format_time
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from library.models import Hold, HoldState, Loan
from media.models import MediaItem
from vhs.accounts.models import User
from vhs.cache import track
from vhs.calendar import FEED_VERSION, CalendarEvent, register_source
from vhs.calendar.services import public_url, uid_host
from vhs.db import db, utcnow
from vhs.i18n import fmt_datetime, local

ONE_DAY = timedelta(days=1)


def _time(dt: datetime) -> str:
    return format_time(local(dt), "short", rebase=False)


def lending_events(user: User, now: datetime | None = None) -> list[CalendarEvent]:
    """The end of each current loan and the pick-up deadline of each ready hold of ``user``."""
    now = now or utcnow()
    host = uid_host()
    account = public_url("/library/account")
    events: list[CalendarEvent] = []
    loans = db.session.execute(
        sa.select(Loan)
        .where(Loan.user_id == user.id, Loan.ended_at.is_(None), Loan.due_at > now)
        .options(selectinload(Loan.item))
        .order_by(Loan.due_at, Loan.id)
    ).scalars()
    for loan in loans:
        day = local(loan.due_at).date()
        title = loan.item.title
        events.append(
            CalendarEvent(
                uid=f"loan-{loan.id}@{host}",
                start=day,
                end=day + ONE_DAY,
                summary=_("Loan ends: %(title)s", title=title),
                description=_(
                    "Your loan of “%(title)s” ends on %(when)s; the medium is then returned "
                    "automatically.",
                    title=title,
                    when=fmt_datetime(loan.due_at, "short"),
                ),
                url=account,
                last_modified=loan.started_at,
                sequence=loan.renewals,
            )
        )
    holds = db.session.execute(
        sa.select(Hold)
        .where(Hold.user_id == user.id, Hold.state == HoldState.READY, Hold.ready_until > now)
        .options(selectinload(Hold.item))
        .order_by(Hold.ready_until, Hold.id)
    ).scalars()
    for hold in holds:
        assert hold.ready_until is not None and hold.ready_at is not None  # a ready hold
        day = local(hold.ready_until).date()
        title = hold.item.title
        events.append(
            CalendarEvent(
                uid=f"hold-{hold.id}@{host}",
                start=day,
                end=day + ONE_DAY,
                summary=_(
                    "Borrow your reservation by %(time)s: %(title)s",
                    time=_time(hold.ready_until),
                    title=title,
                ),
                description=_(
                    "A copy of “%(title)s” is kept for you until %(when)s; after that it goes "
                    "to the next person waiting.",
                    title=title,
                    when=fmt_datetime(hold.ready_until, "short"),
                ),
                url=account,
                last_modified=hold.ready_at,
            )
        )
    return events


register_source("library", lending_events)
# What the events are made of: a loan or hold changing reaches the next poll of a feed.
track(FEED_VERSION, Loan, Hold, (MediaItem, ("title",)))
