"""The limits of course planning, each in one place: the services enforce them, and the staff
forms (WTForms) and the API schemas (marshmallow) read them from here, so the web page, the
API and the service accept and refuse the same values (``tests/courses/test_rules.py``).

Plain values only: this module sits at the bottom of ``courses`` and imports nothing of it.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from vhs.rules import Bounds

# --- courses ---------------------------------------------------------------------------------

# A course number such as 271-105 or 2027.1/B: 2 to 20 characters, starting with a letter or
# digit. The column is String(CODE_MAX).
CODE_MAX = 20
CODE_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z./-]{1,19}$"
CODE_RE = re.compile(CODE_PATTERN)

# Free-text lengths, the same as the columns (``courses.models`` reads them from here).
TITLE_MAX = 200
SUBTITLE_MAX = 300
DESCRIPTION_MAX = 20_000  # Markdown; the column is TEXT, the limit keeps pages readable
VENUE_MAX = 200
ROOM_MAX = 100
NOTE_MAX = 2_000  # a session's note
REASON_MAX = 2_000  # why a course or session is cancelled (sent to the participants)

# Places: at least one; ten thousand is far beyond any room or Jitsi conference.
CAPACITY = Bounds(1, 10_000)
CAPACITY_DEFAULT = 12
# The minimum that must book for the course to take place; never above the capacity.
MIN_PARTICIPANTS = Bounds(0, CAPACITY.hi)
MIN_PARTICIPANTS_DEFAULT = 6

# Fees in cents. €10,000 is well above any VHS course fee (a year-long integration course is
# paid by the state); a larger number is a typo. The reduced fee lies between 0 and the fee.
FEE_CENTS = Bounds(0, 10_000_00)

# Teaching units (Unterrichtseinheiten of 45 minutes). The longest courses a VHS runs, integration
# courses with literacy training, have 1,000 units plus exam preparation.
TEACHING_UNITS = Bounds(0, 2_000)
UNIT_MINUTES = 45
# Units are kept in tenths (integers): a session of 60 minutes is 1.3 units, of 90 minutes 2.0.
TEACHING_UNITS_TENTHS = Bounds(0, TEACHING_UNITS.hi * 10)


def units_tenths(minutes: int) -> int:
    """A meeting's teaching units in tenths: minutes / 45, rounded half up to one decimal."""
    return (max(minutes, 0) * 20 + UNIT_MINUTES) // (2 * UNIT_MINUTES)


def units_value(tenths: int) -> int | float:
    """Tenths as the number people read and JSON carries: 20 or 13.3."""
    return tenths // 10 if tenths % 10 == 0 else tenths / 10


# Free cancellation until this many days before the first session.
CANCELLATION_DAYS = Bounds(0, 365)
CANCELLATION_DAYS_DEFAULT = 7

# --- dates -----------------------------------------------------------------------------------

# Every calendar day a planner types (term dates, booking times, sessions, series, exports)
# lies in this range: wide enough for archives and long plans, and far from the years (0001,
# 9999) where date arithmetic and time-zone conversion overflow.
EARLIEST_DAY = date(1990, 1, 1)
LATEST_DAY = date(2199, 12, 31)
DAY_PATTERN = r"^(199[0-9]|2[01][0-9]{2})-[0-9]{2}-[0-9]{2}$"  # the same range, for OpenAPI


def day_in_range(day: date | datetime | None) -> bool:
    """Whether a day (or the day of a time, as given) lies between EARLIEST_DAY and LATEST_DAY."""
    if day is None:
        return False
    if isinstance(day, datetime):
        day = day.date()
    return EARLIEST_DAY <= day <= LATEST_DAY


# --- sessions and the series generator -------------------------------------------------------

SESSION_MAX_LENGTH = timedelta(hours=12)
WEEKDAY = Bounds(1, 7)  # ISO: 1 = Monday
SERIES_COUNT = Bounds(1, 200)  # sessions one generator run creates
SERIES_INTERVAL_WEEKS = Bounds(1, 8)  # weekly up to every eighth week
SKIP_DATES_MAX = 200  # dates a series may skip (holidays)


# --- terms, categories, reports --------------------------------------------------------------

TERM_NAME_MAX = 80
SLUG_MAX = 80
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"  # lower-case words joined by hyphens (URLs)
CATEGORY_NAME_MAX = 120
CATEGORY_POSITION = Bounds(0, 10_000)
BELOW_MINIMUM_DAYS = Bounds(1, 365)  # look-ahead of the below-minimum report
