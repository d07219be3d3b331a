"""Demo data of the courses domain: a realistic spring term of a German VHS.

``--scale 1`` gives about 60 courses; ``--scale 100`` gives 5,000 courses, 50,000 sessions and
about 100,000 enrolments (the benchmark data set). Rows are inserted in bulk, with the
counters the services would keep computed alongside.
"""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from courses import rules
from courses.enrolment.payments import PURPOSE
from courses.models import (
    Category,
    Course,
    CourseFormat,
    CourseStatus,
    Enrolment,
    EnrolmentStatus,
    Session,
    SessionStatus,
    Term,
    TermStatus,
    course_instructors,
)
from vhs.accounts.models import User
from vhs.db import db, utcnow
from vhs.demo import register_seeder
from vhs.i18n import local_zone
from vhs.payments.invoices import issue_invoice
from vhs.payments.models import Payment, PaymentStatus, Provider

CATEGORIES = {
    ("sprachen", "Sprachen", "Languages"): [
        ("englisch", "Englisch", "English"),
        ("spanisch", "Spanisch", "Spanish"),
        ("deutsch", "Deutsch als Fremdsprache", "German as a foreign language"),
        ("tuerkisch", "Türkisch", "Turkish"),
    ],
    ("gesundheit", "Gesundheit", "Health"): [
        ("bewegung", "Bewegung & Yoga", "Exercise & yoga"),
        ("ernaehrung", "Ernährung", "Nutrition"),
    ],
    ("beruf-it", "Beruf & IT", "Work & IT"): [
        ("edv", "EDV & Office", "Computers & Office"),
        ("bewerbung", "Beruf & Karriere", "Work & career"),
    ],
    ("kultur", "Kultur & Gestalten", "Culture & creativity"): [
        ("malen", "Malen & Zeichnen", "Painting & drawing"),
        ("handwerk", "Töpfern & Handwerk", "Pottery & crafts"),
    ],
    ("gesellschaft", "Gesellschaft", "Society"): [
        ("politik", "Politik & Geschichte", "Politics & history"),
        ("umwelt", "Umwelt & Nachhaltigkeit", "Environment & sustainability"),
    ],
}

TITLES: dict[str, list[tuple[str, str, str, str | None]]] = {
    # slug: (title, subtitle, language, level)
    "englisch": [
        ("Englisch für Anfänger", "Erste Schritte ohne Vorkenntnisse", "en", "A1"),
        ("Englisch A2 – Auffrischung", "Grammatik und Wortschatz im Alltag", "en", "A2"),
        ("English Conversation", "Sprechen, sprechen, sprechen", "en", "B1"),
        ("Business English", "E-Mails, Telefonate, Meetings", "en", "B2"),
        ("Englisch für die Reise", "Sicher unterwegs in Großbritannien und den USA", "en", "A2"),
    ],
    "spanisch": [
        ("Spanisch für Anfänger", "¡Hola! Der Einstieg", "es", "A1"),
        ("Spanisch A2", "Für Fortgeschrittene mit Grundkenntnissen", "es", "A2"),
    ],
    "deutsch": [
        ("Deutsch im Alltag", "Integrationskurs-Vorbereitung", "de", "A2"),
        ("Deutsch B1 – Prüfungsvorbereitung", "Zertifikat Deutsch", "de", "B1"),
    ],
    "tuerkisch": [("Türkisch für Anfänger", "Merhaba! Grundlagen", "tr", "A1")],
    "bewegung": [
        ("Yoga am Abend", "Entspannt in den Feierabend", "de", None),
        ("Pilates", "Kräftigung der Körpermitte", "de", None),
        ("Rückenfit", "Gesund und stark im Rücken", "de", None),
        ("Qigong", "Bewegung und Ruhe", "de", None),
    ],
    "ernaehrung": [
        ("Vegetarisch kochen", "Saisonal und regional", "de", None),
        ("Brot backen wie früher", "Sauerteig und Vollkorn", "de", None),
    ],
    "edv": [
        ("Excel für Einsteiger", "Tabellen, Formeln, Diagramme", "de", None),
        ("Smartphone-Kurs für Senioren", "Android sicher bedienen", "de", None),
        ("Python programmieren lernen", "Der Einstieg in die Programmierung", "de", None),
        ("Datenschutz im Alltag", "Sicher im Netz – DSGVO verständlich", "de", None),
    ],
    "bewerbung": [
        ("Bewerbungstraining", "Anschreiben, Lebenslauf, Vorstellungsgespräch", "de", None),
        ("Zeitmanagement", "Mehr Zeit für das Wesentliche", "de", None),
    ],
    "malen": [
        ("Aquarellmalerei", "Landschaften im Sauerland", "de", None),
        ("Zeichnen lernen", "Perspektive, Licht und Schatten", "de", None),
    ],
    "handwerk": [
        ("Töpfern an der Drehscheibe", "Schalen, Becher, Vasen", "de", None),
        ("Nähen für Anfänger", "Von der Idee zum Kleidungsstück", "de", None),
    ],
    "politik": [
        ("Kommunalpolitik verstehen", "Wie der Rat in Iserlohn entscheidet", "de", None),
        ("Stadtgeschichte Iserlohn", "Von der Drahtrolle zur Hochschulstadt", "de", None),
    ],
    "umwelt": [
        ("Balkongarten", "Gemüse auf kleinem Raum", "de", None),
        ("Energie sparen zu Hause", "Heizen, Strom, Förderung", "de", None),
    ],
}

VENUES = ["VHS-Haus am Stadtbahnhof", "Bildungszentrum Iserlohn", "Gesamtschule Seilersee"]
ROOMS = ["1.01", "1.04", "2.12", "Küche", "Werkraum", "Gymnastikhalle", "EDV 2"]
SLOTS = [
    (time(9, 0), 90),
    (time(10, 30), 90),
    (time(14, 0), 90),
    (time(17, 0), 90),
    (time(18, 0), 90),
    (time(18, 30), 120),
    (time(19, 30), 90),
]


def _categories() -> dict[str, int]:
    existing = {c.slug: c.id for c in db.session.execute(sa.select(Category)).scalars()}
    for position, ((slug, de, en), children) in enumerate(CATEGORIES.items()):
        if slug not in existing:
            parent = Category(slug=slug, name_de=de, name_en=en, position=position)
            db.session.add(parent)
            db.session.flush()
            existing[slug] = parent.id
        position += 1
        for child_pos, (cslug, cde, cen) in enumerate(children):
            if cslug not in existing:
                child = Category(
                    slug=cslug,
                    name_de=cde,
                    name_en=cen,
                    position=child_pos,
                    parent_id=existing[slug],
                )
                db.session.add(child)
                db.session.flush()
                existing[cslug] = child.id
    return existing


def _term() -> Term:
    term = db.session.execute(
        sa.select(Term).where(Term.name == "Frühjahr 2027")
    ).scalar_one_or_none()
    if term is None:
        term = Term(
            name="Frühjahr 2027",
            starts_on=date(2027, 2, 1),
            ends_on=date(2027, 7, 10),
            enrolment_opens_at=datetime(2026, 11, 2, 8, 0, tzinfo=local_zone()),
            status=TermStatus.PUBLISHED,
        )
        db.session.add(term)
        db.session.flush()
    return term


def seed_courses(scale: int, rng: random.Random, context: dict[str, Any]) -> None:
    """Categories, the spring term, courses with weekly sessions and bookings."""
    cats = _categories()
    term = _term()
    instructor_ids: list[int] = context.get("instructor_ids") or []
    resident_ids: list[int] = context.get("resident_ids") or []
    demo_instructor = db.session.execute(
        sa.select(User.id).where(User.email == "dozentin@vhs.example")
    ).scalar_one_or_none()
    n_courses = 60 * scale if scale < 100 else 50 * scale
    start_index = (
        db.session.scalar(sa.select(sa.func.count(Course.id)).where(Course.term_id == term.id)) or 0
    )
    now = utcnow()
    slugs = list(TITLES)
    course_rows, session_rows, link_rows, enrol_rows = [], [], [], []
    next_course_id = (db.session.scalar(sa.select(sa.func.max(Course.id))) or 0) + 1
    sessions_per_course = 10
    for i in range(start_index, start_index + n_courses):
        slug = slugs[i % len(slugs)]
        title, subtitle, language, level = TITLES[slug][(i // len(slugs)) % len(TITLES[slug])]
        fmt = rng.choices(list(CourseFormat), weights=[3, 2, 6])[0]
        slot_start, minutes = rng.choice(SLOTS)
        weekday = rng.randint(1, 5)
        first_day = date(2027, 2, 1) + timedelta(days=(weekday - 1) + 7 * rng.randint(0, 6))
        capacity = rng.choice([8, 10, 12, 14, 16, 20])
        fee = rng.choice([0, 4900, 6500, 7900, 8900, 12000, 15900]) if slug != "politik" else 0
        course_id = next_course_id
        next_course_id += 1
        instructors = []
        if instructor_ids:
            instructors.append(instructor_ids[i % len(instructor_ids)])
        if demo_instructor and i % 15 == 0:
            instructors.append(demo_instructor)
        instructors = list(dict.fromkeys(instructors))
        names = (
            " ".join(
                n
                for n in db.session.execute(
                    sa.select(User.name).where(User.id.in_(instructors))
                ).scalars()
            )
            if scale < 10
            else ""
        )
        code = f"27{i // 1000 + 1}-{i % 1000 + 100:03d}"
        description = (
            f"**{title}** – {subtitle}.\n\nIn diesem Kurs lernen Sie in kleiner Gruppe und "
            "mit viel Praxis. Bitte bringen Sie Neugier und, falls vorhanden, Schreibzeug mit.\n\n"
            "- Kursunterlagen sind im Preis enthalten\n- Ermäßigung auf Anfrage"
        )
        starts = []
        for n in range(sessions_per_course):
            day = first_day + timedelta(weeks=n)
            st = datetime.combine(day, slot_start, tzinfo=local_zone())
            starts.append(st)
            session_rows.append(
                {
                    "uuid": str(uuid.UUID(int=rng.getrandbits(128))),
                    "course_id": course_id,
                    "starts_at": st,
                    "ends_at": st + timedelta(minutes=minutes),
                    "online": fmt is CourseFormat.ONLINE
                    or (fmt is CourseFormat.HYBRID and n % 2 == 1),
                    "room": "" if fmt is CourseFormat.ONLINE else rng.choice(ROOMS),
                    "status": SessionStatus.SCHEDULED,
                    "sequence": 0,
                    "note": "",
                    "created_at": now,
                    "updated_at": now,
                }
            )
        booked = rng.randint(0, capacity + 4) if resident_ids else 0
        history = 0
        if scale >= 10 and resident_ids:
            # The benchmark data set: fuller courses and a booking history (cancelled and
            # expired bookings), about 20 enrolments per course, ~100,000 at --scale 100.
            booked = rng.randint(capacity // 3, capacity + 6)
            history = rng.randint(4, 12)
        wanted = min(booked + history, len(resident_ids))
        people = rng.sample(resident_ids, wanted) if wanted else []
        past = people[booked:]
        people = people[:booked]
        seats = 0
        waiting = 0
        for person in past:
            expired = fee > 0 and rng.random() < 0.3
            enrol_rows.append(
                {
                    "course_id": course_id,
                    "user_id": person,
                    "status": EnrolmentStatus.EXPIRED if expired else EnrolmentStatus.CANCELLED,
                    "waitlist_position": None,
                    "price_cents": fee,
                    "currency": "EUR",
                    "created_at": now - timedelta(days=rng.randint(8, 60)),
                    "updated_at": now,
                    "confirmed_at": None,
                    "hold_expires_at": now - timedelta(days=1) if expired else None,
                    "cancelled_at": None if expired else now - timedelta(days=rng.randint(1, 7)),
                }
            )
        for person in people:
            if seats < capacity:
                seats += 1
                status = (
                    EnrolmentStatus.CONFIRMED
                    if fee == 0 or rng.random() < 0.8
                    else (EnrolmentStatus.PENDING_PAYMENT)
                )
                position = None
            else:
                waiting += 1
                status = EnrolmentStatus.WAITLISTED
                position = waiting
            enrol_rows.append(
                {
                    "course_id": course_id,
                    "user_id": person,
                    "status": status,
                    "waitlist_position": position,
                    "price_cents": fee,
                    "currency": "EUR",
                    "created_at": now,
                    "updated_at": now,
                    "confirmed_at": now if status is EnrolmentStatus.CONFIRMED else None,
                    "hold_expires_at": now + timedelta(days=7)
                    if status is EnrolmentStatus.PENDING_PAYMENT
                    else None,
                    "cancelled_at": None,
                }
            )
        course_rows.append(
            {
                "id": course_id,
                "term_id": term.id,
                "category_id": cats[slug],
                "code": code,
                "title": title,
                "subtitle": subtitle,
                "description": description,
                "language": language,
                "level": level,
                "format": fmt,
                "venue": "" if fmt is CourseFormat.ONLINE else rng.choice(VENUES),
                "room": "" if fmt is CourseFormat.ONLINE else rng.choice(ROOMS),
                "fee_cents": fee,
                "reduced_fee_cents": int(fee * 0.7) // 100 * 100 if fee else None,
                "currency": "EUR",
                "capacity": capacity,
                "min_participants": min(6, capacity),
                "enrolment_closes_at": None,
                "cancellation_days": 7,
                "units_derived_tenths": sessions_per_course * rules.units_tenths(minutes),
                "status": CourseStatus.PUBLISHED if rng.random() < 0.95 else CourseStatus.DRAFT,
                "seats_taken": seats,
                "waitlist_count": waiting,
                "first_session_at": starts[0],
                "last_session_at": starts[-1],
                "weekday": weekday,
                "start_minute": slot_start.hour * 60 + slot_start.minute,
                "session_count": sessions_per_course,
                "search_document": "\n".join([code, title, subtitle, description, names]),
                "created_at": now,
                "updated_at": now,
                "cancelled_reason": "",
            }
        )
        link_rows.extend({"course_id": course_id, "user_id": u} for u in instructors)
    for rows, target in ((course_rows, Course), (session_rows, Session), (enrol_rows, Enrolment)):
        for start in range(0, len(rows), 2000):
            db.session.execute(sa.insert(target), rows[start : start + 2000])
    for start in range(0, len(link_rows), 5000):
        db.session.execute(sa.insert(course_instructors), link_rows[start : start + 5000])
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence('courses', 'id'), (SELECT max(id) FROM courses))"
            )
        )
    if scale >= 10:
        _fill_instructor_names()
    db.session.flush()


def _fill_instructor_names() -> None:
    """At scale, add instructor names to the search text in one statement per database."""
    names = (
        sa.select(sa.func.coalesce(sa.func.group_concat(User.name, " "), ""))
        if db.engine.dialect.name == "sqlite"
        else sa.select(sa.func.coalesce(sa.func.string_agg(User.name, " "), ""))
    )
    names = (
        names.select_from(course_instructors.join(User, User.id == course_instructors.c.user_id))
        .where(course_instructors.c.course_id == Course.id)
        .scalar_subquery()
    )
    db.session.execute(
        sa.update(Course).values(search_document=Course.search_document + "\n" + names)
    )


def seed_payments(scale: int, rng: random.Random, context: dict[str, Any]) -> None:
    """The payments and invoices the demo's paid bookings would have (manual: bank transfer).

    Confirmed paid bookings were paid and marked by the office; bookings awaiting payment have
    their invoice with the transfer reference. Invoices are numbered by the real service (no
    gaps). The benchmark data set (``--scale`` 10 and more) books without payments to stay fast.
    """
    if scale >= 10:
        return
    office = db.session.execute(
        sa.select(User).where(User.email == "verwaltung@vhs.example")
    ).scalar_one_or_none()
    bookings = db.session.execute(
        sa.select(Enrolment)
        .where(
            Enrolment.price_cents > 0,
            Enrolment.status.in_([EnrolmentStatus.CONFIRMED, EnrolmentStatus.PENDING_PAYMENT]),
        )
        .order_by(Enrolment.id)
    ).scalars()
    for enrolment in bookings:
        course = enrolment.course
        paid = enrolment.status is EnrolmentStatus.CONFIRMED
        booked_at = enrolment.created_at - timedelta(days=rng.randint(3, 20))
        payment = Payment(
            purpose_type=PURPOSE,
            purpose_id=enrolment.id,
            user_id=enrolment.user_id,
            description=f"{course.code} {course.title}",
            amount_cents=enrolment.price_cents,
            currency=enrolment.currency,
            provider=Provider.MANUAL,
            status=PaymentStatus.SUCCEEDED if paid else PaymentStatus.PENDING,
            created_at=booked_at,
            succeeded_at=booked_at + timedelta(days=2) if paid else None,
            marked_paid_by_id=office.id if paid and office else None,
        )
        db.session.add(payment)
        db.session.flush()
        issue_invoice(payment, booked_at)


register_seeder(50, seed_courses)
register_seeder(60, seed_payments)
