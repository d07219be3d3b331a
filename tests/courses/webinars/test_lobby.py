"""The lobby on the server side: what our Prosody tokens carry for a self-hosted lobby.

With ``lobby_autostart`` (every room members-only), ``token_lobby_bypass`` and
``token_affiliation`` on the conference component, the lobby holds participants back even when
they do not use our page; instructors and staff enter and become owners who admit them. The
claims are checked by decoding the tokens our join route hands out, and what they make Prosody
do is read with ``tests/prosody_standin.lobby_admission`` (the two modules' rules).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask

from tests.courses import factories
from tests.courses.webinars.helpers import first_session, online_course
from tests.prosody_standin import lobby_admission
from vhs.accounts.models import Role, User
from vhs.db import db

SECRET = "prosody-shared-secret-for-tests-0123456789"


@pytest.fixture
def prosody(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Any:
    settings = app.config["VHS"]
    monkeypatch.setattr(settings, "jitsi_domain", "meet.vhs-iserlohn.example")
    monkeypatch.setattr(settings, "jitsi_app_id", "vhs-iserlohn")
    monkeypatch.setattr(settings, "jitsi_app_secret", SECRET)
    return settings


@pytest.fixture
def webinar(app: Flask, make_user: Any) -> dict[str, Any]:
    teacher = make_user(Role.INSTRUCTOR, name="Karla Kursleiterin")
    participant = make_user(name="Jürgen Groß", email="juergen@example.org")
    with app.app_context():
        course = online_course(starts_in=timedelta(minutes=-5), instructors=[teacher])
        factories.new_enrolment(course, participant.id, status="confirmed")
        sid = first_session(course).id
        db.session.commit()
    return {"session_id": sid, "teacher": teacher, "participant": participant}


def claims_of(client: Any, api_token: Any, person: User, session_id: int) -> dict[str, Any]:
    resp = client.get(f"/api/v1/sessions/{session_id}/join", headers=api_token(person))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return jwt.decode(resp.get_json()["jwt"], SECRET, algorithms=["HS256"], audience="jitsi")


def test_participants_wait_in_the_lobby_whatever_client_they_use(
    client: Any, api_token: Any, prosody: Any, webinar: dict[str, Any]
) -> None:
    claims = claims_of(client, api_token, webinar["participant"], webinar["session_id"])
    user = claims["context"]["user"]
    assert user["affiliation"] == "member" and user["moderator"] == "false"
    assert "features" not in claims["context"]  # no bypass, and Jitsi's defaults stay as they are
    assert "lobby_bypass" not in user
    assert all(isinstance(v, str) for v in user.values())
    assert lobby_admission(claims) == ("lobby", "member")


@pytest.mark.parametrize("who", ["teacher", "staff"])
def test_instructors_and_staff_bypass_the_lobby_and_become_owners(
    client: Any,
    api_token: Any,
    make_user: Any,
    prosody: Any,
    webinar: dict[str, Any],
    who: str,
) -> None:
    person = webinar["teacher"] if who == "teacher" else make_user(Role.STAFF)
    claims = claims_of(client, api_token, person, webinar["session_id"])
    user, features = claims["context"]["user"], claims["context"]["features"]
    assert user["affiliation"] == "owner" and claims["moderator"] is True
    assert features["lobby_bypass"] is True  # a JSON boolean: the module compares with true
    assert lobby_admission(claims) == ("room", "owner")
    # A features object switches off what it does not list: the JaaS switches stay explicit.
    assert {k: v for k, v in features.items() if k != "lobby_bypass"} == {
        "livestreaming": "false",
        "recording": "false",
        "transcription": "false",
        "outbound-call": "false",
    }


def test_configured_features_reach_moderators_only(
    client: Any,
    api_token: Any,
    prosody: Any,
    webinar: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(prosody, "jaas_features", "recording")
    teacher = claims_of(client, api_token, webinar["teacher"], webinar["session_id"])
    assert teacher["context"]["features"]["recording"] == "true"
    participant = claims_of(client, api_token, webinar["participant"], webinar["session_id"])
    assert "features" not in participant["context"]


def test_a_string_true_would_not_bypass_the_lobby() -> None:
    """Why the claim is a boolean: token_lobby_bypass compares with Lua's true."""
    claims = {"context": {"user": {"moderator": "true"}, "features": {"lobby_bypass": "true"}}}
    assert lobby_admission(claims) == ("lobby", "owner")


def test_jaas_tokens_are_unchanged(
    app: Flask,
    client: Any,
    api_token: Any,
    webinar: dict[str, Any],
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """JaaS has its own lobby settings: no Prosody-only claims in its tokens."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "jaas.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    settings = app.config["VHS"]
    monkeypatch.setattr(settings, "jaas_app_id", "vpaas-magic-cookie-abc")
    monkeypatch.setattr(settings, "jaas_kid", "vpaas-magic-cookie-abc/1")
    monkeypatch.setattr(settings, "jaas_private_key_path", str(path))
    resp = client.get(
        f"/api/v1/sessions/{webinar['session_id']}/join", headers=api_token(webinar["teacher"])
    )
    claims = jwt.decode(
        resp.get_json()["jwt"], key.public_key(), algorithms=["RS256"], audience="jitsi"
    )
    assert "affiliation" not in claims["context"]["user"]
    assert "lobby_bypass" not in claims["context"]["features"]
