"""POST /webhooks/jitsi: verified (JaaS signature or shared secret), exactly-once, order-proof.

Events are built as 8x8 documents the JaaS envelope and signed as 8x8 documents
``X-Jaas-Signature`` (t=..., v1=base64 HMAC-SHA256 of "t.body"), independently of the app.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from courses.models import Session
from courses.webinars import events as webinar_events
from courses.webinars import join as webinar_join
from courses.webinars.models import Attendance, JitsiEvent, JitsiEventKind, WebhookDelivery
from tests.courses import factories
from tests.courses.webinars.helpers import (
    first_session,
    jaas_header,
    jitsi_event,
    online_course,
    post_signed,
)
from vhs.accounts.models import Role
from vhs.db import db
from vhs.payments.models import WebhookEvent

SECRET = "jaas-endpoint-secret-0123456789abcdef"
SHARED = "prosody-event-module-secret-0123456789"
JOINED, LEFT = "PARTICIPANT_JOINED", "PARTICIPANT_LEFT"


@pytest.fixture
def secrets_on(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Any:
    settings = app.config["VHS"]
    monkeypatch.setattr(settings, "jaas_webhook_secret", SECRET)
    monkeypatch.setattr(settings, "jitsi_webhook_secret", SHARED)
    return settings


@pytest.fixture
def room(app: Flask, make_user: Any) -> dict[str, Any]:
    """A session that ran from 10 to 100 minutes ago, with its room and one participant."""
    teacher = make_user(Role.INSTRUCTOR)
    person = make_user(email="teilnehmerin@example.org")
    with app.app_context():
        course = online_course(
            starts_in=timedelta(minutes=-100), duration=timedelta(minutes=90), instructors=[teacher]
        )
        factories.new_enrolment(course, person.id, status="confirmed")
        session = first_session(course)
        name = webinar_join.room_for(session)
        db.session.commit()
        return {
            "room": name,
            "session_id": session.id,
            "start": session.starts_at,
            "user_id": person.id,
            "teacher_id": teacher.id,
            "course_id": course.id,
        }


def attendance(app: Flask, session_id: int, user_id: int) -> Attendance | None:
    with app.app_context():
        row = db.session.execute(
            sa.select(Attendance).where(
                Attendance.session_id == session_id, Attendance.user_id == user_id
            )
        ).scalar_one_or_none()
        if row is not None:
            db.session.expunge(row)
        return row


def send(client: Any, *events: dict[str, Any]) -> list[Any]:
    responses = [post_signed(client, e, SECRET) for e in events]
    for r in responses:
        assert r.status_code == 200, r.get_data(as_text=True)
    return responses


def at(room: dict[str, Any], minutes: float) -> datetime:
    return room["start"] + timedelta(minutes=minutes)


# --- verification -----------------------------------------------------------------------------


def test_without_any_secret_configured_nothing_is_accepted(
    app: Flask, client: Any, room: dict[str, Any]
) -> None:
    event = jitsi_event(JOINED, room["room"], at(room, 1), user_id=room["user_id"])
    assert post_signed(client, event, "").status_code == 401
    assert post_signed(client, event, SECRET).status_code == 401
    body = json.dumps(event).encode()
    assert client.post("/webhooks/jitsi", data=body).status_code == 401
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(JitsiEvent.id))) == 0


def test_a_valid_jaas_signature_is_accepted(
    app: Flask, client: Any, room: dict[str, Any], secrets_on: Any
) -> None:
    resp = post_signed(
        client, jitsi_event(JOINED, room["room"], at(room, 1), user_id=room["user_id"]), SECRET
    )
    assert resp.status_code == 200
    assert resp.get_data(as_text=True).startswith("recorded")


@pytest.mark.parametrize(
    "header",
    [
        None,  # missing
        "t={t},v1=" + "A" * 44,  # forged
        "forged",
        "t=,v1=",
        "t=abc,v1=xyz",
        "t={t}",
        "t={t},v0={good}",  # only v1 counts (no downgrade)
    ],
)
def test_missing_or_forged_signatures_are_refused(
    app: Flask, client: Any, room: dict[str, Any], secrets_on: Any, header: str | None
) -> None:
    body = json.dumps(
        jitsi_event(JOINED, room["room"], at(room, 1), user_id=room["user_id"])
    ).encode()
    t = int(time.time())
    good = jaas_header(SECRET, body, t).split("v1=")[1]
    headers = {} if header is None else {"X-Jaas-Signature": header.format(t=t, good=good)}
    resp = client.post("/webhooks/jitsi", data=body, headers=headers)
    assert resp.status_code == 401
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(WebhookDelivery.id))) == 0


def test_wrong_secret_and_tampered_body_are_refused(
    app: Flask, client: Any, room: dict[str, Any], secrets_on: Any
) -> None:
    event = jitsi_event(JOINED, room["room"], at(room, 1), user_id=room["user_id"])
    assert post_signed(client, event, "another-secret-0123456789abcdef").status_code == 401
    body = json.dumps(event).encode()
    header = jaas_header(SECRET, body)
    tampered = body.replace(str(room["user_id"]).encode(), b"1", 1)
    resp = client.post("/webhooks/jitsi", data=tampered, headers={"X-Jaas-Signature": header})
    assert resp.status_code == 401


def test_stale_signatures_are_refused_after_300_seconds(
    app: Flask, client: Any, room: dict[str, Any], secrets_on: Any
) -> None:
    now = int(time.time())
    event = lambda: jitsi_event(JOINED, room["room"], at(room, 1), user_id=room["user_id"])  # noqa: E731
    assert post_signed(client, event(), SECRET, t=now - 310).status_code == 401
    assert post_signed(client, event(), SECRET, t=now + 310).status_code == 401
    assert post_signed(client, event(), SECRET, t=now - 250).status_code == 200


def test_the_shared_secret_of_a_self_hosted_event_module(
    app: Flask, client: Any, room: dict[str, Any], secrets_on: Any
) -> None:
    body = json.dumps(
        jitsi_event(JOINED, room["room"], at(room, 1), user_id=room["user_id"])
    ).encode()
    bad = client.post("/webhooks/jitsi", data=body, headers={"X-Jitsi-Webhook-Secret": "guess"})
    assert bad.status_code == 401
    good = client.post("/webhooks/jitsi", data=body, headers={"X-Jitsi-Webhook-Secret": SHARED})
    assert good.status_code == 200


def test_a_secret_only_counts_for_its_own_scheme(
    app: Flask, client: Any, room: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.config["VHS"], "jitsi_webhook_secret", SHARED)
    event = jitsi_event(JOINED, room["room"], at(room, 1), user_id=room["user_id"])
    # JaaS is not configured: a JaaS signature made with the shared secret proves nothing.
    assert post_signed(client, event, SHARED).status_code == 401
    assert post_signed(client, event, "").status_code == 401


def test_garbage_is_never_a_server_error(
    app: Flask, client: Any, room: dict[str, Any], secrets_on: Any
) -> None:
    def raw(body: bytes) -> int:
        return client.post(
            "/webhooks/jitsi", data=body, headers={"X-Jaas-Signature": jaas_header(SECRET, body)}
        ).status_code

    assert raw(b"not json") == 400
    assert raw(b"\xff\xfe") == 400
    assert raw(b"[1, 2]") == 400
    assert raw(b"{}") == 400
    assert raw(json.dumps({"idempotencyKey": "x" * 300}).encode()) == 400
    weird = [
        {"idempotencyKey": "k1", "eventType": ["list"], "fqn": 5, "data": "x"},
        {"idempotencyKey": "k2", "eventType": JOINED, "fqn": f"a/{room['room']}", "data": [1]},
        {
            "idempotencyKey": "k3",
            "eventType": JOINED,
            "fqn": f"a/{room['room']}",
            "timestamp": "soon",
            "data": {"id": "99999999999999999999", "email": "\x00@x", "participantId": "\x00"},
        },
        {
            "idempotencyKey": "k4",
            "eventType": LEFT,
            "fqn": f"a/{room['room']}",
            "timestamp": 10**30,
            "data": {"id": room["user_id"], "participantId": {"a": 1}},
        },
        {"idempotencyKey": "k5\x00", "eventType": "ROOM_DESTROYED", "fqn": "\x00" * 3},
    ]
    for payload in weird:
        assert raw(json.dumps(payload).encode()) in (200, 400)


# --- exactly once, any order -----------------------------------------------------------------


def test_duplicates_are_ignored(
    app: Flask, client: Any, room: dict[str, Any], secrets_on: Any
) -> None:
    joined = jitsi_event(JOINED, room["room"], at(room, 0), user_id=room["user_id"], key="dup-1")
    left = jitsi_event(LEFT, room["room"], at(room, 30), user_id=room["user_id"], key="dup-2")
    first = send(client, joined, left)
    again = send(client, joined, left, left)
    assert all(r.get_data(as_text=True).startswith("recorded") for r in first)
    assert all(r.get_data(as_text=True).strip() == "duplicate" for r in again)
    row = attendance(app, room["session_id"], room["user_id"])
    assert row is not None and row.seconds_present == 30 * 60
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(JitsiEvent.id))) == 2
        deliveries = db.session.execute(sa.select(WebhookDelivery)).scalars().all()
        assert sorted(d.idempotency_key for d in deliveries) == ["dup-1", "dup-2"]
        # the payments' table holds none of them: the webinars own their deliveries
        assert not db.session.scalar(
            sa.select(sa.func.count(WebhookEvent.id)).where(WebhookEvent.provider == "jitsi")
        )


def test_left_before_joined_gives_the_right_total(
    app: Flask, client: Any, room: dict[str, Any], secrets_on: Any
) -> None:
    uid = room["user_id"]
    send(client, jitsi_event(LEFT, room["room"], at(room, 45), user_id=uid))
    row = attendance(app, room["session_id"], uid)
    assert row is not None and row.seconds_present == 0
    send(client, jitsi_event(JOINED, room["room"], at(room, 5), user_id=uid))
    row = attendance(app, room["session_id"], uid)
    assert row.seconds_present == 40 * 60
    assert row.first_join_at == at(room, 5)
    assert row.last_leave_at == at(room, 45)
    assert row.in_room is False


def test_joined_before_room_created_and_reconnects(
    app: Flask, client: Any, room: dict[str, Any], secrets_on: Any
) -> None:
    uid, name = room["user_id"], room["room"]
    send(
        client,
        jitsi_event(JOINED, name, at(room, 0), user_id=uid),
        jitsi_event("ROOM_CREATED", name, at(room, -1)),
        jitsi_event(LEFT, name, at(room, 20), user_id=uid),
        jitsi_event(LEFT, name, at(room, 70), user_id=uid),
        jitsi_event(JOINED, name, at(room, 30), user_id=uid),
    )
    row = attendance(app, room["session_id"], uid)
    assert row.seconds_present == (20 + 40) * 60
    # Every arrival order of the same events gives the same totals.
    events = [
        jitsi_event(JOINED, name, at(room, 0), user_id=uid),
        jitsi_event(LEFT, name, at(room, 20), user_id=uid),
        jitsi_event(JOINED, name, at(room, 30), user_id=uid),
        jitsi_event(LEFT, name, at(room, 70), user_id=uid),
    ]
    with app.app_context():
        rows = [
            (
                datetime.fromtimestamp(e["timestamp"] / 1000).astimezone(),
                JitsiEventKind(e["eventType"]),
                "p-1",
            )
            for e in events
        ]
        import itertools

        totals = {
            webinar_events.presence_from_events(list(p)).seconds
            for p in itertools.permutations(rows)
        }
        assert totals == {60 * 60}


def test_two_devices_at_once_count_once(
    app: Flask, client: Any, room: dict[str, Any], secrets_on: Any
) -> None:
    uid, name = room["user_id"], room["room"]
    send(
        client,
        jitsi_event(JOINED, name, at(room, 0), user_id=uid, participant="laptop"),
        jitsi_event(JOINED, name, at(room, 20), user_id=uid, participant="phone"),
        jitsi_event(LEFT, name, at(room, 40), user_id=uid, participant="laptop"),
        jitsi_event(LEFT, name, at(room, 60), user_id=uid, participant="phone"),
    )
    assert attendance(app, room["session_id"], uid).seconds_present == 60 * 60  # not 80


def test_room_destroyed_closes_open_connections(
    app: Flask, client: Any, room: dict[str, Any], secrets_on: Any
) -> None:
    uid, name = room["user_id"], room["room"]
    send(client, jitsi_event(JOINED, name, at(room, 10), user_id=uid))
    row = attendance(app, room["session_id"], uid)
    assert row.in_room and row.seconds_present == 0
    send(client, jitsi_event("ROOM_DESTROYED", name, at(room, 85)))
    row = attendance(app, room["session_id"], uid)
    assert not row.in_room and row.seconds_present == 75 * 60


def test_time_outside_the_session_window_is_not_counted(
    app: Flask, client: Any, room: dict[str, Any], secrets_on: Any
) -> None:
    uid, name = room["user_id"], room["room"]
    # The window: 15 minutes before the start to 15 minutes after the end (90 minutes).
    send(
        client,
        jitsi_event(JOINED, name, at(room, -60), user_id=uid),
        jitsi_event(LEFT, name, at(room, 200), user_id=uid),
    )
    assert attendance(app, room["session_id"], uid).seconds_present == (15 + 90 + 15) * 60


def test_unknown_rooms_and_people_are_recorded_and_ignored(
    app: Flask, client: Any, room: dict[str, Any], secrets_on: Any
) -> None:
    unknown_room = send(
        client, jitsi_event(JOINED, "no-such-room", at(room, 1), user_id=room["user_id"], key="u-1")
    )
    stranger = send(
        client, jitsi_event(JOINED, room["room"], at(room, 1), user_id=2147483000, key="u-2")
    )
    assert "unknown room" in unknown_room[0].get_data(as_text=True)
    assert "unknown participant" in stranger[0].get_data(as_text=True)
    with app.app_context():
        recorded = {
            d.idempotency_key: d.outcome
            for d in db.session.execute(sa.select(WebhookDelivery)).scalars()
        }
        assert recorded == {"u-1": "ignored: unknown room", "u-2": "ignored: unknown participant"}
        assert db.session.scalar(sa.select(sa.func.count(JitsiEvent.id))) == 0


def test_people_are_found_by_email_when_the_token_had_no_id(
    app: Flask, client: Any, room: dict[str, Any], secrets_on: Any
) -> None:
    name = room["room"]
    send(
        client,
        jitsi_event(JOINED, name, at(room, 0), email="Teilnehmerin@example.org"),
        jitsi_event(LEFT, name, at(room, 50), email="teilnehmerin@example.org"),
    )
    assert attendance(app, room["session_id"], room["user_id"]).seconds_present == 50 * 60


def test_room_names_from_jitsi_are_matched_case_insensitively(
    app: Flask, client: Any, room: dict[str, Any], secrets_on: Any
) -> None:
    uid = room["user_id"]
    send(
        client,
        jitsi_event(JOINED, room["room"].upper(), at(room, 0), user_id=uid),
        jitsi_event(LEFT, room["room"], at(room, 10), user_id=uid),
    )
    assert attendance(app, room["session_id"], uid).seconds_present == 10 * 60


def test_a_replaced_room_no_longer_collects_attendance(
    app: Flask, client: Any, room: dict[str, Any], secrets_on: Any, make_user: Any
) -> None:
    staff = make_user(Role.STAFF)
    with app.app_context():
        from vhs.accounts.models import User

        webinar_join.replace_room(
            db.session.get(User, staff.id), db.session.get(Session, room["session_id"])
        )
        db.session.commit()
    resp = send(client, jitsi_event(JOINED, room["room"], at(room, 1), user_id=room["user_id"]))
    assert "unknown room" in resp[0].get_data(as_text=True)
