"""Issue 6: calendar exports. The staff export of 10,000 sessions as .ics and as CSV (in
process: time and peak memory growth of building the whole streamed body), and a personal
feed of a resident booked on 20 courses (over HTTP, like a calendar client polling it)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bench.measure import measure
from bench.scenarios import Context, Outcome, Target, scenario
from courses.calendar import exports as calendar_exports

BERLIN = ZoneInfo("Europe/Berlin")  # the test apps' VHS_TIMEZONE

EXPORT_SESSIONS = 10_000
FEED_COURSES = 20
FEED_USER = "bench-calendar@example.org"
MEMORY = Target("peak_mb", "<", 50, source="issue 6")


def _export_window(ctx: Context) -> tuple[date, date, int]:
    """Berlin dates from the first session to the day of the 10,000th (about 10,000 sessions)."""
    if "export_window" not in ctx.facts:
        import sqlalchemy as sa

        from courses.calendar.exports import SessionFilter, session_batches
        from courses.models import Session
        from vhs.db import db

        app = ctx.app()
        with app.app_context():
            starts = sa.select(Session.starts_at).order_by(Session.starts_at)
            first = db.session.scalar(starts.limit(1))
            last = db.session.scalar(starts.offset(EXPORT_SESSIONS - 1).limit(1))
            if first is None or last is None:
                raise RuntimeError(
                    f"the benchmark database has fewer than {EXPORT_SESSIONS} sessions"
                )
            window = (first.astimezone(BERLIN).date(), last.astimezone(BERLIN).date())
            filters = SessionFilter(date_from=window[0], date_to=window[1])
            count = sum(len(rows) for rows in session_batches(filters))
            db.session.remove()
        ctx.facts["export_window"] = (*window, count)
    return ctx.facts["export_window"]


def _drain(chunks: Any) -> int:
    """Consume a streamed body as a WSGI server would, keeping nothing but its size."""
    return sum(len(chunk) for chunk in chunks)


def _export(ctx: Context, kind: str) -> Outcome:
    pass
    from vhs.db import db

    start, end, count = _export_window(ctx)
    build = calendar_exports.iter_export_ics if kind == "ics" else calendar_exports.iter_export_csv
    app = ctx.app()
    with app.app_context():
        filters = calendar_exports.SessionFilter(date_from=start, date_to=end)
        m = measure(lambda: _drain(build(filters)))
        db.session.remove()
    return Outcome(
        path=f"/staff/exports/sessions.{kind}?date_from={start}&date_to={end}",
        metrics={
            "seconds": m.seconds,
            "peak_mb": m.peak_mb,
            "sessions": count,
            "body_mb": round(m.result / 1024 / 1024, 2),
            "us_per_session": round(m.seconds / max(count, 1) * 1e6, 1),
        },
        notes=[f"{count:,} sessions from {start} to {end}, streamed in batches of 1,000"],
    )


@scenario(
    "export_ics",
    title="Staff export, 10,000 sessions as .ics",
    server=False,
    targets=[Target("seconds", "<=", 1.0, source="issue 6"), MEMORY],
    order=60,
)
def export_ics(ctx: Context) -> Outcome:
    """The room-planning export: every session as a VEVENT, streamed."""
    return _export(ctx, "ics")


@scenario(
    "export_csv",
    title="Staff export, 10,000 sessions as CSV",
    server=False,
    targets=[Target("seconds", "<=", 0.3, source="issue 6"), MEMORY],
    order=61,
)
def export_csv(ctx: Context) -> Outcome:
    """The printed-programme export: one CSV row per session, streamed."""
    return _export(ctx, "csv")


def _feed_path(ctx: Context) -> str:
    """A resident confirmed on 20 published courses, and their feed URL (made once)."""
    if "feed_path" in ctx.facts:
        return ctx.facts["feed_path"]
    import secrets

    import sqlalchemy as sa

    from courses.models import Course, CourseStatus, Enrolment, EnrolmentStatus
    from vhs.accounts.models import Role, User
    from vhs.calendar import services
    from vhs.db import db, utcnow

    app = ctx.app()
    with app.app_context():
        user = db.session.execute(sa.select(User).where(User.email == FEED_USER)).scalar()
        if user is None:
            user = User(
                email=FEED_USER,
                name="Bettina Benchmark",
                role=Role.RESIDENT,
                locale="de",
                email_verified_at=utcnow(),
                session_token=secrets.token_hex(16),
            )
            db.session.add(user)
            db.session.flush()
        booked = set(
            db.session.execute(
                sa.select(Enrolment.course_id).where(
                    Enrolment.user_id == user.id, Enrolment.status == EnrolmentStatus.CONFIRMED
                )
            ).scalars()
        )
        candidates = db.session.execute(
            sa.select(Course.id)
            .where(
                Course.status == CourseStatus.PUBLISHED,
                Course.last_session_at >= utcnow() - timedelta(days=300),
            )
            .order_by(Course.id)
            .limit(FEED_COURSES * 3)
        ).scalars()
        for course_id in candidates:
            if len(booked) >= FEED_COURSES:
                break
            if course_id in booked:
                continue
            db.session.add(
                Enrolment(
                    course_id=course_id,
                    user_id=user.id,
                    status=EnrolmentStatus.CONFIRMED,
                    confirmed_at=utcnow(),
                )
            )
            booked.add(course_id)
        if len(booked) < FEED_COURSES:
            raise RuntimeError(f"only {len(booked)} published courses to book the feed user on")
        token = services.token_of(services.ensure_token(user))
        db.session.commit()
        events = len(services.personal_events(user))
        db.session.remove()
    ctx.facts["feed_path"] = f"/calendar/{token}.ics"
    ctx.facts["feed_events"] = events
    return ctx.facts["feed_path"]


@scenario(
    "calendar_feed",
    title="Personal calendar feed (20 courses)",
    targets=[Target("p50_ms", "<=", 30, source="issue 6")],
    order=62,
)
def calendar_feed(ctx: Context) -> Outcome:
    """A subscribed client fetching the whole feed (no If-None-Match: the worst case)."""
    path = _feed_path(ctx)
    outcome = ctx.http(path)
    outcome.notes.append(
        f"{FEED_COURSES} courses, {ctx.facts['feed_events']} sessions; the rate limit of 60 "
        "requests per minute per token is lifted for the run"
    )
    return outcome
