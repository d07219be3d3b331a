"""Joining a webinar: rooms, who may join when, the page and the API, and the JWTs.

JWTs are checked with PyJWT against the configured secret (Prosody) or the public half of a
key pair made here (JaaS): signature, header and every claim the issue lists.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask

from courses.models import EnrolmentStatus, Session, SessionStatus
from courses.webinars import jitsi as jitsi
from courses.webinars import join as webinar_join
from tests.courses import factories
from tests.courses.webinars.helpers import APP_ID, first_session, online_course
from vhs.accounts.models import Role, User
from vhs.audit import AuditEntry
from vhs.config import ConfigError, Settings
from vhs.db import db, utcnow
from vhs.errors import Conflict

SECRET = "prosody-shared-secret-for-tests-0123456789"


@pytest.fixture
def settings(app: Flask) -> Any:
    """The live settings object (tests change fields with monkeypatch)."""
    return app.config["VHS"]


@pytest.fixture
def prosody(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A self-hosted Jitsi with token authentication."""
    monkeypatch.setattr(settings, "jitsi_domain", "meet.vhs-iserlohn.example")
    monkeypatch.setattr(settings, "jitsi_app_id", "vhs-iserlohn")
    monkeypatch.setattr(settings, "jitsi_app_secret", SECRET)
    return settings


@pytest.fixture
def jaas(settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Any:
    """8x8 JaaS with a freshly generated RSA key; returns the public key (PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "jaas-private.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    monkeypatch.setattr(settings, "jaas_app_id", APP_ID)
    monkeypatch.setattr(settings, "jaas_kid", f"{APP_ID}/4f4910")
    monkeypatch.setattr(settings, "jaas_private_key_path", str(path))
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture
def webinar(app: Flask, make_user: Callable[..., User]) -> dict[str, Any]:
    """An online course running now (started 5 minutes ago), its instructor and participant."""
    teacher = make_user(Role.INSTRUCTOR, name="Karla Kursleiterin")
    participant = make_user(name="Jürgen Groß", email="juergen@example.org")
    with app.app_context():
        course = online_course(starts_in=timedelta(minutes=-5), instructors=[teacher])
        factories.new_enrolment(course, participant.id, status="confirmed")
        session = first_session(course)
        db.session.commit()
        return {
            "course_id": course.id,
            "session_id": session.id,
            "teacher": teacher,
            "participant": participant,
        }


def _session(app: Flask, session_id: int) -> Session:
    with app.app_context():
        s = db.session.get(Session, session_id)
        assert s is not None
        db.session.expunge(s)
        return s


# --- rooms ------------------------------------------------------------------------------------


def test_room_names_are_unguessable_lower_case_and_start_with_the_course_code() -> None:
    names = {jitsi.new_room_name("271-105 A") for _ in range(200)}
    assert len(names) == 200
    for name in names:
        prefix, _, random_part = name.rpartition("-")
        assert prefix == "271-105-a"
        assert name == name.lower()
        assert len(random_part) * 5 >= 128  # base32: 5 bits per character


def test_room_is_created_once_and_stays_stable(app: Flask, webinar: dict[str, Any]) -> None:
    with app.app_context():
        session = db.session.get(Session, webinar["session_id"])
        updated = session.updated_at
        first = webinar_join.room_for(session)
        db.session.commit()
        again = webinar_join.room_for(db.session.get(Session, webinar["session_id"]))
        assert first == again
        assert first.startswith(session.course.code.lower())
        assert session.updated_at == updated  # calendars do not see a change


def test_staff_replace_the_room_audited_and_nobody_else(
    app: Flask, client: Any, webinar: dict[str, Any], make_user: Any, login: Any
) -> None:
    with app.app_context():
        old = webinar_join.room_for(db.session.get(Session, webinar["session_id"]))
        db.session.commit()
    login(webinar["teacher"])
    url = f"/staff/sessions/{webinar['session_id']}/room/replace"
    assert client.submit(url).status_code == 403
    staff = make_user(Role.STAFF)
    login(staff)
    resp = client.submit(url)
    assert resp.status_code == 302
    with app.app_context():
        new = db.session.get(Session, webinar["session_id"]).jitsi_room
        assert new and new != old
        entry = db.session.execute(
            sa.select(AuditEntry).where(AuditEntry.action == "session.room_replaced")
        ).scalar_one()
        assert entry.actor_id == staff.id
        assert old not in str(entry.details) and new not in str(entry.details)


# --- the window -------------------------------------------------------------------------------


def test_window_boundaries_to_the_second(app: Flask, webinar: dict[str, Any]) -> None:
    with app.test_request_context():
        session = db.session.get(Session, webinar["session_id"])
        user = db.session.get(User, webinar["participant"].id)
        opens = session.starts_at - timedelta(minutes=15)
        second = timedelta(seconds=1)
        state = lambda now: webinar_join.join_decision(user, session, now).state  # noqa: E731
        assert state(opens - second) is webinar_join.JoinState.NOT_YET
        assert state(opens) is webinar_join.JoinState.OPEN
        assert state(session.ends_at) is webinar_join.JoinState.OPEN
        assert state(session.ends_at + second) is webinar_join.JoinState.OVER
        with pytest.raises(Conflict) as info:
            webinar_join.require_join(user, session, opens - second)
        assert info.value.code == "not_open_yet"
        assert info.value.extra["opens_at"] == opens.isoformat()


def test_open_minutes_are_configurable(
    app: Flask, webinar: dict[str, Any], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "jitsi_open_minutes", 30)
    with app.test_request_context():
        session = db.session.get(Session, webinar["session_id"])
        user = db.session.get(User, webinar["participant"].id)
        decision = webinar_join.join_decision(
            user, session, session.starts_at - timedelta(minutes=29)
        )
        assert decision.can_join_now


def test_api_answers_409_with_opens_at_before_the_window(
    app: Flask, client: Any, make_user: Any, api_token: Any
) -> None:
    person = make_user()
    with app.app_context():
        course = online_course(starts_in=timedelta(hours=2))
        factories.new_enrolment(course, person.id, status="confirmed")
        session = first_session(course)
        db.session.commit()
        sid, opens = session.id, session.starts_at - timedelta(minutes=15)
    resp = client.get(f"/api/v1/sessions/{sid}/join", headers=api_token(person))
    assert resp.status_code == 409
    body = resp.get_json()
    assert body["code"] == "not_open_yet"
    assert body["opens_at"] == opens.isoformat()
    assert "jwt" not in body and "room" not in body
    # The problem document is exactly what the OpenAPI document promises for this 409.
    spec = client.get("/api/v1/openapi.json").get_json()
    promised = spec["components"]["schemas"]["JoinConflict"]["properties"]
    assert set(body) <= set(promised)
    page = client.get(f"/sessions/{sid}/join")  # not logged in in this client: to the login
    assert page.status_code == 302


def test_page_outside_the_window_says_when_it_opens_or_that_it_is_over(
    app: Flask, client: Any, make_user: Any, login: Any
) -> None:
    person = make_user(locale="en")
    with app.app_context():
        later = online_course(starts_in=timedelta(days=2))
        over = online_course(starts_in=timedelta(hours=-3))
        cancelled = online_course(starts_in=timedelta(minutes=1))
        for c in (later, over, cancelled):
            factories.new_enrolment(c, person.id, status="confirmed")
        first_session(cancelled).status = SessionStatus.CANCELLED
        ids = [first_session(c).id for c in (later, over, cancelled)]
        db.session.commit()
    login(person)
    texts = [client.get(f"/sessions/{sid}/join") for sid in ids]
    assert all(r.status_code == 200 for r in texts)
    assert "The room opens on" in texts[0].get_data(as_text=True)
    assert "This session is over" in texts[1].get_data(as_text=True)
    assert "This session has been cancelled" in texts[2].get_data(as_text=True)
    for r in texts:
        assert "external_api.js" not in r.get_data(as_text=True)
        assert "jitsi-meeting" not in r.get_data(as_text=True)
    api = client.get(f"/api/v1/sessions/{ids[1]}/join")
    assert (api.status_code, api.get_json()["code"]) == (409, "session_over")
    api = client.get(f"/api/v1/sessions/{ids[2]}/join")
    assert (api.status_code, api.get_json()["code"]) == (409, "session_cancelled")


# --- who ---------------------------------------------------------------------------------------

CASES = [
    # (who, page status, API status, API code, moderator)
    ("confirmed", 200, 200, None, False),
    ("pending_payment", 403, 403, "pending_payment", None),
    ("waitlisted", 403, 403, "waitlisted", None),
    ("cancelled", 403, 403, "enrolment_cancelled", None),
    ("expired", 403, 403, "enrolment_expired", None),
    ("not_enrolled", 403, 403, "not_enrolled", None),
    ("course_instructor", 200, 200, None, True),
    ("other_instructor", 403, 403, "not_enrolled", None),
    ("staff", 200, 200, None, True),
    ("admin", 200, 200, None, True),
]


@pytest.mark.parametrize(("who", "page_status", "api_status", "code", "moderator"), CASES)
def test_every_role_and_enrolment_status_on_both_join_endpoints(
    app: Flask,
    client: Any,
    make_user: Any,
    login: Any,
    api_token: Any,
    webinar: dict[str, Any],
    who: str,
    page_status: int,
    api_status: int,
    code: str | None,
    moderator: bool | None,
) -> None:
    role = {"staff": Role.STAFF, "admin": Role.ADMIN, "other_instructor": Role.INSTRUCTOR}.get(
        who, Role.RESIDENT
    )
    person = webinar["teacher"] if who == "course_instructor" else make_user(role)
    if who in ("pending_payment", "waitlisted", "cancelled", "expired", "confirmed"):
        with app.app_context():
            factories.new_enrolment(webinar["course_id"], person.id, status=EnrolmentStatus(who))
            db.session.commit()
    sid = webinar["session_id"]
    api = client.get(f"/api/v1/sessions/{sid}/join", headers=api_token(person))
    assert api.status_code == api_status, api.get_data(as_text=True)
    if code:
        assert api.get_json()["code"] == code
        assert api.mimetype == "application/problem+json"
    else:
        body = api.get_json()
        assert body["moderator"] is moderator
        assert body["domain"] == "meet.jit.si"
        assert body["jwt"] is None  # public Jitsi: no token
        assert body["url"] == f"https://meet.jit.si/{body['room']}"
        assert api.headers["Cache-Control"] == "private, no-store"
    login(person)
    page = client.get(f"/sessions/{sid}/join")
    assert page.status_code == page_status
    html = page.get_data(as_text=True)
    if page_status == 200:
        assert 'src="https://meet.jit.si/external_api.js"' in html
        assert "/static/js/jitsi-embed.js" in html
        assert "<script>" not in html  # no inline script: the CSP forbids it
        csp = page.headers["Content-Security-Policy"]
        assert "script-src 'self' https://meet.jit.si" in csp
        assert "frame-src https://meet.jit.si" in csp
        assert f'data-moderator="{"true" if moderator else "false"}"' in html
        assert "lobby" in html
    else:
        assert "external_api.js" not in html


def test_refusal_pages_say_what_to_do(
    app: Flask, client: Any, make_user: Any, login: Any, webinar: dict[str, Any]
) -> None:
    pending, waiting = make_user(locale="en"), make_user(locale="en")
    with app.app_context():
        e = factories.new_enrolment(webinar["course_id"], pending.id, status="pending_payment")
        factories.new_enrolment(webinar["course_id"], waiting.id, status="waitlisted")
        db.session.commit()
        pay_url = f"/enrolments/{e.id}/pay"
    login(pending)
    html = client.get(f"/sessions/{webinar['session_id']}/join").get_data(as_text=True)
    assert "the fee has not been paid yet" in html
    assert pay_url in html
    login(waiting)
    html = client.get(f"/sessions/{webinar['session_id']}/join").get_data(as_text=True)
    assert "waiting list" in html
    assert "number 1 on the waiting list" in html


def test_participant_of_one_course_cannot_join_another(
    app: Flask, client: Any, make_user: Any, api_token: Any, webinar: dict[str, Any]
) -> None:
    with app.app_context():
        other = online_course(starts_in=timedelta(minutes=-1))
        other_sid = first_session(other).id
        db.session.commit()
    headers = api_token(webinar["participant"])
    assert (
        client.get(f"/api/v1/sessions/{webinar['session_id']}/join", headers=headers).status_code
        == 200
    )
    resp = client.get(f"/api/v1/sessions/{other_sid}/join", headers=headers)
    assert (resp.status_code, resp.get_json()["code"]) == (403, "not_enrolled")


def test_in_person_sessions_and_drafts_have_no_join(
    app: Flask, client: Any, make_user: Any, api_token: Any
) -> None:
    person = make_user()
    with app.app_context():
        in_person = online_course(online=False)
        draft = online_course(status="draft")
        factories.new_enrolment(in_person, person.id, status="confirmed")
        ids = first_session(in_person).id, first_session(draft).id
        db.session.commit()
    for sid in ids:
        assert (
            client.get(f"/api/v1/sessions/{sid}/join", headers=api_token(person)).status_code == 404
        )
    assert (
        client.get("/api/v1/sessions/2147483647/join", headers=api_token(person)).status_code == 404
    )


# --- JWTs --------------------------------------------------------------------------------------


def _join(client: Any, api_token: Any, person: User, sid: int) -> dict[str, Any]:
    resp = client.get(f"/api/v1/sessions/{sid}/join", headers=api_token(person))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()


def test_prosody_token_claims_and_signature(
    app: Flask, client: Any, api_token: Any, webinar: dict[str, Any], prosody: Any
) -> None:
    session = _session(app, webinar["session_id"])
    body = _join(client, api_token, webinar["participant"], session.id)
    token = body["jwt"]
    assert token and body["domain"] == "meet.vhs-iserlohn.example"
    assert body["url"] == f"https://meet.vhs-iserlohn.example/{body['room']}?jwt={token}"
    assert parse_qs(urlsplit(body["url"]).query)["jwt"] == [token]
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(
        token, SECRET, algorithms=["HS256"], audience="jitsi", issuer="vhs-iserlohn"
    )
    assert claims["sub"] == "meet.vhs-iserlohn.example"
    assert claims["room"] == body["room"] != "*"
    assert claims["nbf"] == int((session.starts_at - timedelta(minutes=15)).timestamp())
    assert claims["exp"] == int((session.ends_at + timedelta(minutes=15)).timestamp())
    user = claims["context"]["user"]
    assert user["id"] == str(webinar["participant"].id)
    assert user["name"] == "Jürgen Groß"
    assert user["email"] == "juergen@example.org"
    assert all(isinstance(v, str) for v in user.values())
    assert claims["moderator"] is False and user["moderator"] == "false"
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            token, "another-secret-of-sufficient-length-42", algorithms=["HS256"], audience="jitsi"
        )


def test_prosody_token_makes_instructors_and_staff_moderators(
    app: Flask,
    client: Any,
    api_token: Any,
    make_user: Any,
    webinar: dict[str, Any],
    prosody: Any,
) -> None:
    for person in (webinar["teacher"], make_user(Role.STAFF)):
        token = _join(client, api_token, person, webinar["session_id"])["jwt"]
        claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience="jitsi")
        assert claims["moderator"] is True
        assert claims["context"]["user"]["moderator"] == "true"


def test_prosody_grace_minutes_set_the_expiry(
    app: Flask,
    client: Any,
    api_token: Any,
    webinar: dict[str, Any],
    prosody: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(prosody, "jitsi_grace_minutes", 40)
    session = _session(app, webinar["session_id"])
    token = _join(client, api_token, webinar["participant"], session.id)["jwt"]
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience="jitsi")
    assert claims["exp"] == int((session.ends_at + timedelta(minutes=40)).timestamp())


def test_tokens_are_minted_per_request_and_never_stored(
    app: Flask, client: Any, api_token: Any, webinar: dict[str, Any], prosody: Any
) -> None:
    headers = api_token(webinar["participant"])
    url = f"/api/v1/sessions/{webinar['session_id']}/join"
    first = client.get(url, headers=headers).get_json()
    second = client.get(url, headers=headers).get_json()
    assert first["room"] == second["room"]
    with app.app_context():
        session = db.session.get(Session, webinar["session_id"])
        assert session.jitsi_room == first["room"]
        assert first["jwt"] not in (session.note or "")


def test_jaas_token_claims_header_and_features(
    app: Flask,
    client: Any,
    api_token: Any,
    make_user: Any,
    webinar: dict[str, Any],
    jaas: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(app.config["VHS"], "jaas_features", "recording, transcription")
    session = _session(app, webinar["session_id"])
    body = _join(client, api_token, webinar["participant"], session.id)
    token = body["jwt"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    assert header["kid"] == f"{APP_ID}/4f4910"
    claims = jwt.decode(token, jaas, algorithms=["RS256"], audience="jitsi", issuer="chat")
    assert claims["sub"] == APP_ID
    room = claims["room"]
    assert room != "*" and "/" not in room
    assert body["domain"] == "8x8.vc"
    assert body["room"] == f"{APP_ID}/{room}"
    assert body["url"] == f"https://8x8.vc/{APP_ID}/{room}?jwt={token}"
    assert claims["nbf"] == int((session.starts_at - timedelta(minutes=15)).timestamp())
    assert claims["exp"] == int((session.ends_at + timedelta(minutes=15)).timestamp())
    user = claims["context"]["user"]
    assert user["moderator"] == "false"
    assert user["id"] == str(webinar["participant"].id) and user["name"] == "Jürgen Groß"
    # Features are for moderators only: a participant gets every one switched off.
    assert set(claims["context"]["features"].values()) == {"false"}

    teacher = jwt.decode(
        _join(client, api_token, webinar["teacher"], session.id)["jwt"],
        jaas,
        algorithms=["RS256"],
        audience="jitsi",
    )
    assert teacher["context"]["user"]["moderator"] == "true"
    assert teacher["context"]["features"] == {
        "livestreaming": "false",
        "recording": "true",
        "transcription": "true",
        "outbound-call": "false",
    }
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, other_key, algorithms=["RS256"], audience="jitsi")


def test_jaas_features_are_off_unless_configured(
    app: Flask, client: Any, api_token: Any, webinar: dict[str, Any], jaas: bytes
) -> None:
    token = _join(client, api_token, webinar["teacher"], webinar["session_id"])["jwt"]
    claims = jwt.decode(token, jaas, algorithms=["RS256"], audience="jitsi")
    assert set(claims["context"]["features"].values()) == {"false"}


def test_join_page_embeds_jaas_with_token_name_and_language(
    app: Flask,
    client: Any,
    login: Any,
    make_user: Any,
    webinar: dict[str, Any],
    jaas: bytes,
) -> None:
    person = make_user(name="Ümit Özdemir", locale="en")
    with app.app_context():
        factories.new_enrolment(webinar["course_id"], person.id, status="confirmed")
        db.session.commit()
    login(person)
    resp = client.get(f"/sessions/{webinar['session_id']}/join")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert f'src="https://8x8.vc/{APP_ID}/external_api.js"' in html
    assert 'data-domain="8x8.vc"' in html
    assert 'data-name="Ümit Özdemir"' in html
    assert 'data-lang="en"' in html
    assert 'data-jwt="ey' in html
    assert "frame-src https://8x8.vc" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Cache-Control"] == "private, no-store"
    # The fallback link opens the same room, with the token, name and language preset.
    assert f"https://8x8.vc/{APP_ID}/" in html and "?jwt=ey" in html
    assert "config.defaultLanguage=%22en%22" in html
    assert "After joining you wait in the lobby" in html


def test_instructor_gets_a_start_button_and_the_lobby_explained(
    app: Flask, client: Any, login: Any, webinar: dict[str, Any]
) -> None:
    with app.app_context():
        db.session.get(User, webinar["teacher"].id).locale = "en"
        db.session.commit()
    login(webinar["teacher"])
    html = client.get(f"/courses/{webinar['course_id']}").get_data(as_text=True)
    assert "Start webinar" in html
    assert f"/sessions/{webinar['session_id']}/join" in html
    assert "wait in the lobby until you" in html
    page = client.get(f"/sessions/{webinar['session_id']}/join").get_data(as_text=True)
    assert "You are the moderator" in page and "Admit" in page


def test_participant_gets_a_join_link_on_the_course_page(
    app: Flask, client: Any, login: Any, webinar: dict[str, Any]
) -> None:
    login(webinar["participant"])
    html = client.get(f"/courses/{webinar['course_id']}").get_data(as_text=True)
    assert f"/sessions/{webinar['session_id']}/join" in html
    assert "Start webinar" not in html and "Webinar starten" not in html


def test_public_jitsi_needs_no_token(app: Flask) -> None:
    with app.test_request_context():
        dep = jitsi.deployment()
        assert (dep.kind, dep.domain, dep.uses_jwt) == ("public", "meet.jit.si", False)
        token = jitsi.mint_token(
            dep,
            "room",
            jitsi.Person("1", "A"),
            moderator=False,
            not_before=utcnow(),
            expires=utcnow(),
        )
        assert token is None


def test_a_token_is_never_for_every_room(app: Flask, prosody: Any) -> None:
    with app.test_request_context():
        dep = jitsi.deployment()
        with pytest.raises(ValueError):
            jitsi.prosody_claims(
                dep,
                "*",
                jitsi.Person("1", "A"),
                moderator=False,
                not_before=utcnow(),
                expires=utcnow(),
            )


def test_production_refuses_half_configured_jitsi_tokens() -> None:
    safe = {
        "VHS_ENV": "production",
        "VHS_SECRET_KEY": "k" * 48,
        "VHS_DATABASE_URL": "postgresql+psycopg://vhs@db.internal/vhs",
        "VHS_PUBLIC_BASE_URL": "https://vhs.example",
    }
    Settings.from_env(
        {**safe, "VHS_JITSI_APP_ID": "vhs", "VHS_JITSI_APP_SECRET": SECRET}
    ).validate()
    for env, name in (
        ({"VHS_JITSI_APP_ID": "vhs"}, "VHS_JITSI_APP_SECRET"),
        ({"VHS_JITSI_APP_ID": "vhs", "VHS_JITSI_APP_SECRET": "short"}, "VHS_JITSI_APP_SECRET"),
        ({"VHS_JAAS_APP_ID": APP_ID}, "VHS_JAAS_KID"),
    ):
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({**safe, **env}).validate()
