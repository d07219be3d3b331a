"""Prosody's event_sync module: POSTs to /webhooks/jitsi/event-sync/events/... give attendance.

The deliveries come from ``tests/prosody_standin.EventSyncSender``, which builds the bodies as
jitsi-contrib's ``mod_event_sync_component`` does (its README's field names, Unix seconds) and
sends the module's ``api_headers`` (Bearer) or an HMAC-SHA256 signature over the body.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from courses.models import Session
from courses.webinars import jitsi
from courses.webinars import join as webinar_join
from courses.webinars.models import Attendance, JitsiEvent, JitsiEventKind, WebhookDelivery
from tests.courses import factories
from tests.courses.webinars.helpers import first_session, online_course
from tests.prosody_standin import EventSyncSender
from vhs.accounts.models import Role
from vhs.config import ConfigError, Settings
from vhs.db import db

SECRET = "event-sync-shared-secret-0123456789abcdef"
PREFIX = "/webhooks/jitsi/event-sync/events"
PATHS = ["room/created", "room/destroyed", "occupant/joined", "occupant/left"]


@pytest.fixture
def sync_on(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Any:
    settings = app.config["VHS"]
    monkeypatch.setattr(settings, "jitsi_event_sync_secret", SECRET)
    monkeypatch.setattr(settings, "jitsi_event_sync_auth", "bearer")
    return settings


@pytest.fixture
def room(app: Flask, make_user: Any) -> dict[str, Any]:
    """A session that ran from 100 to 10 minutes ago, its room and two participants."""
    teacher = make_user(Role.INSTRUCTOR)
    anna = make_user(name="Anna Arndt", email="anna@example.org")
    bert = make_user(name="Bert Brandt", email="bert@example.org")
    with app.app_context():
        course = online_course(
            starts_in=timedelta(minutes=-100), duration=timedelta(minutes=90), instructors=[teacher]
        )
        for person in (anna, bert):
            factories.new_enrolment(course, person.id, status="confirmed")
        session = first_session(course)
        name = webinar_join.room_for(session)
        db.session.commit()
        return {
            "room": name,
            "session_id": session.id,
            "start": session.starts_at,
            "anna": {"id": str(anna.id), "name": anna.name, "email": anna.email},
            "bert": {"id": str(bert.id), "name": bert.name, "email": bert.email},
            "anna_id": anna.id,
            "bert_id": bert.id,
        }


@pytest.fixture
def prosody() -> EventSyncSender:
    return EventSyncSender(SECRET)


def at(room: dict[str, Any], minutes: float) -> datetime:
    return room["start"] + timedelta(minutes=minutes)


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


def deliver(client: Any, prosody: EventSyncSender, *events: tuple) -> list[Any]:
    responses = [prosody.post(client, e) for e in events]
    for r in responses:
        assert r.status_code == 200, r.get_data(as_text=True)
    return responses


def jid(n: int) -> str:
    return f"{n:08x}-5195-4a4d-8efb-f58b49d18741@meet.vhs-iserlohn.example/OWhl8jS{n}"


# --- the payloads as the module sends them ------------------------------------------------------


def test_the_stand_in_speaks_the_module_s_field_names(
    room: dict[str, Any], prosody: EventSyncSender
) -> None:
    path, created = prosody.room_created(room["room"], at(room, 0))
    assert path == "/events/room/created"
    assert created == {
        "event_name": "muc-room-created",
        "created_at": int(at(room, 0).timestamp()),
        "is_breakout": False,
        "room_jid": f"{room['room']}@conference.meet.vhs-iserlohn.example",
        "room_name": room["room"],
    }
    _, joined = prosody.occupant_joined(room["room"], jid(1), at(room, 1), room["anna"])
    assert set(joined) == {
        "event_name",
        "occupant",
        "active_occupants_count",
        "is_breakout",
        "room_jid",
        "room_name",
    }
    assert set(joined["occupant"]) == {"occupant_jid", "joined_at", "name", "id", "email"}
    _, left = prosody.occupant_left(room["room"], jid(1), at(room, 5))
    assert left["occupant"]["left_at"] - left["occupant"]["joined_at"] == 240
    _, destroyed = prosody.room_destroyed(room["room"], at(room, 6))
    assert destroyed["all_occupants"][0]["occupant_jid"] == jid(1)


def test_a_whole_meeting_gives_each_person_their_minutes(
    app: Flask, client: Any, room: dict[str, Any], prosody: EventSyncSender, sync_on: Any
) -> None:
    r = room["room"]
    responses = deliver(
        client,
        prosody,
        prosody.room_created(r, at(room, -2)),
        prosody.occupant_joined(r, jid(1), at(room, 0), room["anna"]),
        prosody.occupant_joined(r, jid(2), at(room, 10), room["bert"]),
        prosody.occupant_left(r, jid(2), at(room, 40)),
        prosody.occupant_left(r, jid(1), at(room, 60)),
        prosody.room_destroyed(r, at(room, 61)),
    )
    assert all(x.get_data(as_text=True).startswith("recorded") for x in responses)
    anna = attendance(app, room["session_id"], room["anna_id"])
    bert = attendance(app, room["session_id"], room["bert_id"])
    assert anna is not None and anna.seconds_present == 60 * 60 and not anna.in_room
    assert bert is not None and bert.seconds_present == 30 * 60
    assert anna.first_join_at == at(room, 0) and anna.last_leave_at == at(room, 60)


def test_someone_still_in_the_room_is_in_the_room(
    app: Flask, client: Any, room: dict[str, Any], prosody: EventSyncSender, sync_on: Any
) -> None:
    r = room["room"]
    deliver(
        client,
        prosody,
        prosody.room_created(r, at(room, 0)),
        prosody.occupant_joined(r, jid(1), at(room, 1), room["anna"]),
    )
    row = attendance(app, room["session_id"], room["anna_id"])
    assert row is not None and row.in_room and row.first_join_at == at(room, 1)


# --- authentication ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_without_a_secret_configured_nothing_is_accepted(
    app: Flask, client: Any, room: dict[str, Any], prosody: EventSyncSender, path: str
) -> None:
    r = room["room"]
    prosody.room_created(r, at(room, 0))
    event = prosody.occupant_joined(r, jid(1), at(room, 1), room["anna"])
    resp = client.post(f"{PREFIX}/{path}", data=json.dumps(event[1]), headers=prosody.headers(b""))
    assert resp.status_code == 401
    assert "not configured" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(JitsiEvent.id))) == 0


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-secret-of-the-same-length-0123456789"},
        {"Authorization": f"Basic {SECRET}"},
        {"Authorization": "Bearer"},
        {"Authorization": f"Bearer {SECRET}x"},
        {"Authorization": "Bearer \u00fcber"},
        {"X-Event-Sync-Signature": "sha256=00"},
    ],
)
def test_missing_or_wrong_bearer_secrets_are_refused(
    app: Flask,
    client: Any,
    room: dict[str, Any],
    prosody: EventSyncSender,
    sync_on: Any,
    headers: dict[str, str],
) -> None:
    prosody.room_created(room["room"], at(room, 0))
    _, payload = prosody.occupant_joined(room["room"], jid(1), at(room, 1), room["anna"])
    resp = client.post(f"{PREFIX}/occupant/joined", data=json.dumps(payload), headers=headers)
    assert resp.status_code == 401
    assert attendance(app, room["session_id"], room["anna_id"]) is None


def test_hmac_mode_accepts_a_signed_body_and_refuses_the_rest(
    app: Flask,
    client: Any,
    room: dict[str, Any],
    sync_on: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sync_on, "jitsi_event_sync_auth", "hmac")
    signer = EventSyncSender(SECRET, mode="hmac")
    bearer = EventSyncSender(SECRET)
    r = room["room"]
    signer.room_created(r, at(room, 0))
    bearer.room_created(r, at(room, 0))
    event = signer.occupant_joined(r, jid(1), at(room, 1), room["anna"])
    # The shared secret alone is not enough once the body must be signed.
    assert bearer.post(client, event).status_code == 401
    body = json.dumps(event[1]).encode()
    tampered = body.replace(room["anna"]["id"].encode(), room["bert"]["id"].encode())
    resp = client.post(f"{PREFIX}/occupant/joined", data=tampered, headers=signer.headers(body))
    assert resp.status_code == 401
    wrong = EventSyncSender("another-secret-0123456789abcdef0123", mode="hmac")
    assert wrong.post(client, event).status_code == 401
    assert attendance(app, room["session_id"], room["anna_id"]) is None
    assert attendance(app, room["session_id"], room["bert_id"]) is None
    resp = signer.post(client, event)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert attendance(app, room["session_id"], room["anna_id"]) is not None


def test_the_secret_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every check goes through hmac.compare_digest (no == on secrets)."""
    calls: list[tuple[bytes, bytes]] = []
    real = jitsi.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(jitsi.hmac, "compare_digest", spy)
    assert jitsi.verify_event_sync(
        SECRET, "bearer", b"{}", authorization=f"Bearer {SECRET}", signature=None
    )
    assert not jitsi.verify_event_sync(
        SECRET, "bearer", b"{}", authorization="Bearer nope", signature=None
    )
    signature = jitsi.event_sync_signature(SECRET, b"{}")
    assert jitsi.verify_event_sync(SECRET, "hmac", b"{}", authorization=None, signature=signature)
    assert len(calls) == 3


def test_an_unsafe_auth_mode_or_short_secret_is_refused_at_start() -> None:
    with pytest.raises(ConfigError, match="VHS_JITSI_EVENT_SYNC_AUTH"):
        Settings.from_env({"VHS_JITSI_EVENT_SYNC_AUTH": "none"}).validate()
    with pytest.raises(ConfigError, match="VHS_JITSI_EVENT_SYNC_SECRET"):
        Settings.from_env(
            {
                "VHS_ENV": "production",
                "VHS_SECRET_KEY": "x" * 40,
                "VHS_DATABASE_URL": "postgresql+psycopg://u@h/db",
                "VHS_PUBLIC_BASE_URL": "https://vhs.example",
                "VHS_JITSI_EVENT_SYNC_SECRET": "short",
            }
        ).validate()


# --- exactly once, in any order ----------------------------------------------------------------


def test_retries_and_duplicates_change_nothing(
    app: Flask, client: Any, room: dict[str, Any], prosody: EventSyncSender, sync_on: Any
) -> None:
    r = room["room"]
    prosody.room_created(r, at(room, 0))
    joined = prosody.occupant_joined(r, jid(1), at(room, 0), room["anna"])
    left = prosody.occupant_left(r, jid(1), at(room, 20))
    deliver(client, prosody, joined, left)
    # Prosody retries on 5xx and timeouts: the same body again, with its keys in another order.
    again = prosody.post(client, left)
    assert again.get_data(as_text=True).strip() == "duplicate"
    reordered = json.dumps(dict(reversed(list(left[1].items())))).encode()
    assert prosody.post(client, left, body=reordered).get_data(as_text=True).strip() == (
        "duplicate"
    )
    row = attendance(app, room["session_id"], room["anna_id"])
    assert row is not None and row.seconds_present == 20 * 60
    with app.app_context():
        kinds = db.session.execute(
            sa.select(JitsiEvent.kind).where(JitsiEvent.user_id == room["anna_id"])
        ).scalars()
        assert sorted(kinds) == [JitsiEventKind.PARTICIPANT_JOINED, JitsiEventKind.PARTICIPANT_LEFT]
        assert (
            db.session.scalar(
                sa.select(sa.func.count(WebhookDelivery.id)).where(
                    WebhookDelivery.idempotency_key.startswith("event_sync:")
                )
            )
            == 2
        )


def test_left_before_joined_and_a_lost_joined(
    app: Flask, client: Any, room: dict[str, Any], prosody: EventSyncSender, sync_on: Any
) -> None:
    r = room["room"]
    prosody.room_created(r, at(room, 0))
    joined_a = prosody.occupant_joined(r, jid(1), at(room, 5), room["anna"])
    left_a = prosody.occupant_left(r, jid(1), at(room, 35))
    prosody.occupant_joined(r, jid(2), at(room, 10), room["bert"])  # its POST is lost
    left_b = prosody.occupant_left(r, jid(2), at(room, 25))
    deliver(client, prosody, left_a, left_b)
    anna = attendance(app, room["session_id"], room["anna_id"])
    bert = attendance(app, room["session_id"], room["bert_id"])
    # A left carries its joined_at: nobody stays "in the room", nothing is lost.
    assert anna is not None and anna.seconds_present == 30 * 60 and not anna.in_room
    assert bert is not None and bert.seconds_present == 15 * 60 and not bert.in_room
    deliver(client, prosody, joined_a)  # the late joined changes nothing
    anna = attendance(app, room["session_id"], room["anna_id"])
    assert anna is not None and anna.seconds_present == 30 * 60 and not anna.in_room


@pytest.mark.parametrize("order", ["forward", "backward", "destroyed_first"])
def test_every_order_of_arrival_gives_the_same_totals(
    app: Flask,
    client: Any,
    room: dict[str, Any],
    prosody: EventSyncSender,
    sync_on: Any,
    order: str,
) -> None:
    r = room["room"]
    events = [
        prosody.room_created(r, at(room, 0)),
        prosody.occupant_joined(r, jid(1), at(room, 0), room["anna"]),
        prosody.occupant_left(r, jid(1), at(room, 10)),
        prosody.occupant_joined(r, jid(3), at(room, 12), room["anna"]),  # reconnect
        prosody.occupant_joined(r, jid(2), at(room, 30), room["bert"]),
        prosody.occupant_left(r, jid(3), at(room, 50)),
        prosody.room_destroyed(r, at(room, 70)),  # Bert never sent a left: the end closes it
    ]
    if order == "backward":
        events.reverse()
    elif order == "destroyed_first":
        events = events[-1:] + events[:-1]
    deliver(client, prosody, *events)
    anna = attendance(app, room["session_id"], room["anna_id"])
    bert = attendance(app, room["session_id"], room["bert_id"])
    assert anna is not None and anna.seconds_present == (10 + 38) * 60
    assert bert is not None and bert.seconds_present == 40 * 60
    assert not anna.in_room and not bert.in_room


def test_breakout_rooms_neither_lose_time_nor_end_the_main_room(
    app: Flask, client: Any, room: dict[str, Any], prosody: EventSyncSender, sync_on: Any
) -> None:
    r = room["room"]
    deliver(
        client,
        prosody,
        prosody.room_created(r, at(room, 0)),
        prosody.occupant_joined(r, jid(1), at(room, 0), room["anna"]),
        prosody.occupant_joined(r, jid(2), at(room, 0), room["bert"]),
        # Anna goes to a breakout room for 20 minutes (left main, joined breakout, same JID).
        prosody.occupant_left(r, jid(1), at(room, 10)),
        prosody.room_created(r, at(room, 10), breakout="b1"),
        prosody.occupant_joined(r, jid(1), at(room, 10), room["anna"], breakout="b1"),
        prosody.occupant_left(r, jid(1), at(room, 30), breakout="b1"),
        prosody.room_destroyed(r, at(room, 30), breakout="b1"),
        prosody.occupant_joined(r, jid(1), at(room, 30), room["anna"]),
    )
    anna = attendance(app, room["session_id"], room["anna_id"])
    bert = attendance(app, room["session_id"], room["bert_id"])
    # The breakout room's end closed nobody's stay in the main room.
    assert bert is not None and bert.in_room
    assert anna is not None and anna.in_room and anna.seconds_present == 30 * 60
    deliver(
        client,
        prosody,
        prosody.occupant_left(r, jid(1), at(room, 45)),
        prosody.occupant_left(r, jid(2), at(room, 45)),
        prosody.room_destroyed(r, at(room, 46)),
    )
    anna = attendance(app, room["session_id"], room["anna_id"])
    assert anna is not None and anna.seconds_present == 45 * 60 and not anna.in_room


def test_destroyed_with_all_occupants_fills_in_what_was_lost(
    app: Flask, client: Any, room: dict[str, Any], prosody: EventSyncSender, sync_on: Any
) -> None:
    r = room["room"]
    prosody.room_created(r, at(room, 0))
    prosody.occupant_joined(r, jid(1), at(room, 2), room["anna"])
    prosody.occupant_left(r, jid(1), at(room, 32))
    prosody.occupant_joined(r, jid(2), at(room, 5), room["bert"])
    # Only the room's end arrives: its all_occupants still gives both their times.
    deliver(client, prosody, prosody.room_destroyed(r, at(room, 50)))
    anna = attendance(app, room["session_id"], room["anna_id"])
    bert = attendance(app, room["session_id"], room["bert_id"])
    assert anna is not None and anna.seconds_present == 30 * 60
    assert bert is not None and bert.seconds_present == 45 * 60  # closed by the room's end


# --- what is ignored, and what is refused ------------------------------------------------------


def test_unknown_rooms_guests_and_foreign_events_are_ignored(
    app: Flask, client: Any, room: dict[str, Any], prosody: EventSyncSender, sync_on: Any
) -> None:
    prosody.room_created("some-other-room", at(room, 0))
    resp = prosody.post(
        client, prosody.occupant_joined("some-other-room", jid(1), at(room, 1), room["anna"])
    )
    assert resp.status_code == 200 and "unknown room" in resp.get_data(as_text=True)
    prosody.room_created(room["room"], at(room, 0))
    guest = prosody.occupant_joined(room["room"], jid(9), at(room, 1), {"name": "Gast"})
    resp = prosody.post(client, guest)
    assert resp.status_code == 200 and "unknown participant" in resp.get_data(as_text=True)
    stranger = prosody.occupant_joined(
        room["room"], jid(8), at(room, 1), {"id": "999999", "name": "X", "email": "x@example.org"}
    )
    assert "unknown participant" in prosody.post(client, stranger).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(JitsiEvent.id))) == 0


def test_room_names_from_prosody_are_matched_case_insensitively(
    app: Flask, client: Any, room: dict[str, Any], prosody: EventSyncSender, sync_on: Any
) -> None:
    upper = room["room"].upper()
    prosody.room_created(upper, at(room, 0))
    deliver(client, prosody, prosody.occupant_joined(upper, jid(1), at(room, 0), room["anna"]))
    assert attendance(app, room["session_id"], room["anna_id"]) is not None


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b"null",
        b'"text"',
        b"{}",
        b'{"event_name": "muc-occupant-left"}',  # another event than the URL says
        b'{"event_name": 5}',
        b"\xff\xfe",
        b'{"event_name": "muc-occupant-joined", "room_name": "\\u0000"}',
        b'{"event_name": "muc-occupant-joined", "room_name": ["x"], "occupant": "x"}',
        b'{"event_name": "muc-occupant-joined", "room_name": "a", "occupant": {"id": 1e400}}',
        b"[" * 5000 + b"]" * 5000,
    ],
)
def test_garbage_is_never_a_server_error(
    client: Any, room: dict[str, Any], prosody: EventSyncSender, sync_on: Any, body: bytes
) -> None:
    resp = client.post(f"{PREFIX}/occupant/joined", data=body, headers=prosody.headers(body))
    assert resp.status_code in (200, 400), resp.status_code


def test_garbage_fields_of_a_known_room_are_ignored(
    app: Flask, client: Any, room: dict[str, Any], prosody: EventSyncSender, sync_on: Any
) -> None:
    payloads = [
        {"event_name": "muc-occupant-joined", "room_name": room["room"], "occupant": {}},
        {
            "event_name": "muc-occupant-joined",
            "room_name": room["room"],
            "occupant": {"id": room["anna"]["id"], "joined_at": "yesterday"},
        },
        {
            "event_name": "muc-occupant-joined",
            "room_name": room["room"],
            "occupant": {"id": True, "occupant_jid": 7, "joined_at": 10**30},
        },
    ]
    for payload in payloads:
        resp = prosody.post(client, ("/events/occupant/joined", payload))
        assert resp.status_code == 200, resp.get_data(as_text=True)
    destroyed = {
        "event_name": "muc-room-destroyed",
        "room_name": room["room"],
        "destroyed_at": "soon",
        "all_occupants": [None, 5, {"id": "x"}, {"id": room["anna"]["id"]}] * 3,
    }
    assert prosody.post(client, ("/events/room/destroyed", destroyed)).status_code == 200


def test_a_replaced_room_no_longer_collects_attendance(
    app: Flask,
    client: Any,
    room: dict[str, Any],
    prosody: EventSyncSender,
    sync_on: Any,
    make_user: Any,
) -> None:
    staff = make_user(Role.STAFF)
    with app.app_context():
        session = db.session.get(Session, room["session_id"])
        webinar_join.replace_room(db.session.get(type(staff), staff.id), session)
        db.session.commit()
    prosody.room_created(room["room"], at(room, 0))
    resp = prosody.post(
        client, prosody.occupant_joined(room["room"], jid(1), at(room, 1), room["anna"])
    )
    assert "unknown room" in resp.get_data(as_text=True)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "invalid JSON"),
        (b"[1, 2]", "invalid payload"),
        (b'{"event_name": "muc-occupant-left"}', "event_name must be muc-occupant-joined"),
        (b'{"room_name": "x"}', "event_name must be muc-occupant-joined"),
    ],
)
def test_bodies_that_are_no_event_of_their_url_are_refused(
    app: Flask,
    client: Any,
    prosody: EventSyncSender,
    sync_on: Any,
    body: bytes,
    reason: str,
) -> None:
    resp = client.post(f"{PREFIX}/occupant/joined", data=body, headers=prosody.headers(body))
    assert resp.status_code == 400
    assert resp.get_data(as_text=True).strip() == reason
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(WebhookDelivery.id))) == 0


def test_only_the_four_events_have_a_url(
    client: Any, prosody: EventSyncSender, sync_on: Any
) -> None:
    body = b'{"event_name": "muc-room-renamed"}'
    resp = client.post(f"{PREFIX}/room/renamed", data=body, headers=prosody.headers(body))
    assert resp.status_code == 404


def test_a_rejoin_with_the_same_jid_in_the_same_second_keeps_both_stays(
    app: Flask, client: Any, room: dict[str, Any], prosody: EventSyncSender, sync_on: Any
) -> None:
    r = room["room"]
    events = [
        prosody.room_created(r, at(room, 0)),
        prosody.occupant_joined(r, jid(1), at(room, 0), room["anna"]),
        prosody.occupant_left(r, jid(1), at(room, 10)),
        prosody.occupant_joined(r, jid(1), at(room, 10), room["anna"]),
        prosody.occupant_left(r, jid(1), at(room, 30)),
    ]
    deliver(client, prosody, *reversed(events))
    anna = attendance(app, room["session_id"], room["anna_id"])
    assert anna is not None and anna.seconds_present == 30 * 60 and not anna.in_room
