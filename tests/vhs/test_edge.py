"""Hostile input is refused at the edge (vhs/edge.py) with a 4xx, before any handler runs.

Regressions for issue 10: NUL bytes, C0 controls and lone surrogates (500s on PostgreSQL),
deeply nested JSON (RecursionError), oversized bodies, and API bodies that are missing or of
the wrong content type. Each refusal is checked as problem+json for API clients and as a
translated page for browsers; the shared bounded field types (vhs/fields.py) are tested too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from flask import Flask
from marshmallow import Schema, ValidationError
from wtforms import Form

from tests.conftest import PASSWORD, Client
from tests.vhs.conftest import shows, tr
from vhs import fields as bounded
from vhs.accounts.models import Role, User
from vhs.db import db
from vhs.edge import MAX_JSON_DEPTH, body_limit

NUL = "a\x00b"
CONTROL = "a\x1bb"
SURROGATE = "\ud800"
DEEP = "[" * 5000 + "]" * 5000  # 10 KB, nested far beyond any recursion limit


def deep_json(depth: int) -> str:
    """An array nested ``depth`` levels deep."""
    return "[" * depth + "]" * depth


def raw_json(value: Any) -> str:
    """JSON text with non-ASCII kept as escapes, so a lone surrogate survives as ``\\ud800``."""
    return json.dumps(value, ensure_ascii=True)


def assert_problem(resp: Any, status: int, code: str) -> dict[str, Any]:
    """The answer is problem+json with ``status`` and the stable ``code``."""
    body = resp.get_data(as_text=True)[:400]
    assert resp.status_code == status, body
    assert resp.mimetype == "application/problem+json", body
    doc = resp.get_json()
    assert doc["code"] == code and doc["status"] == status
    return doc


@pytest.fixture
def resident(make_user: Callable[..., User]) -> User:
    """A resident with a known password."""
    return make_user(email="edge-resident@example.org", name="Rita Rand")


@pytest.fixture
def bearer(api_token: Callable[[User], dict[str, str]], resident: User) -> dict[str, str]:
    """The resident's API headers."""
    return api_token(resident)


@pytest.fixture
def fetch(app: Flask) -> Callable[[int], User]:
    """An account as stored now (detached)."""

    def _fetch(user_id: int) -> User:
        with app.app_context():
            user = db.session.get(User, user_id)
            assert user is not None
            db.session.expunge(user)
            return user

    return _fetch


@pytest.fixture
def course_id(app: Flask) -> Iterator[int]:
    """A published course with places (the enrolment and message endpoints need one)."""
    from tests.courses import factories

    with app.app_context():
        course = factories.new_course(title="Randkurs")
        db.session.commit()
        yield course.id


# --- issue 10, item 1: NUL bytes, C0 controls, lone surrogates -------------------------------


@pytest.mark.parametrize("value", [NUL, CONTROL])
def test_catalogue_query_with_control_characters_is_refused_anonymously(
    client: Client, value: str
) -> None:
    doc = assert_problem(
        client.get("/api/v1/courses", query_string={"language": value}), 400, "invalid_characters"
    )
    assert "language" in doc["errors"]


def test_html_login_with_a_nul_in_the_email_is_a_translated_page(
    client: Client, app: Flask
) -> None:
    resp = client.submit("/account/login", {"email": "a\x00@example.org", "password": "x" * 12})
    assert resp.status_code == 400
    assert resp.mimetype == "text/html"
    assert shows(resp, tr(app, "The request contains characters that are not allowed.", "de"))


def test_html_registration_with_a_nul_in_the_name_creates_nothing(
    client: Client, app: Flask
) -> None:
    resp = client.submit(
        "/account/register",
        {
            "name": "Max\x00Mustermann",
            "email": "nul@example.org",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
            "accept_privacy": "y",
        },
        headers={"Accept-Language": "en"},
    )
    assert resp.status_code == 400
    assert shows(resp, "The request contains characters that are not allowed.")
    with app.app_context():
        assert (
            db.session.execute(
                db.select(User).where(User.email == "nul@example.org")
            ).scalar_one_or_none()
            is None
        )


@pytest.mark.parametrize("field", ["name", "street"])
@pytest.mark.parametrize("value", [NUL, "a\u0000b", SURROGATE, "x\ud800y", CONTROL])
def test_profile_patch_with_forbidden_characters_changes_nothing(
    client: Client,
    bearer: dict[str, str],
    resident: User,
    fetch: Callable[[int], User],
    field: str,
    value: str,
) -> None:
    resp = client.patch(
        "/api/v1/me",
        data=raw_json({field: value}),
        content_type="application/json",
        headers=bearer,
    )
    doc = assert_problem(resp, 400, "invalid_characters")
    assert field in doc["errors"]
    assert fetch(resident.id).name == "Rita Rand"


def test_tab_and_newlines_are_still_welcome(
    client: Client, bearer: dict[str, str], resident: User, fetch: Callable[[int], User]
) -> None:
    resp = client.patch("/api/v1/me", json={"street": "Am Rand 1\r\n\tHinterhaus"}, headers=bearer)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert fetch(resident.id).street == "Am Rand 1\r\n\tHinterhaus"


def test_umlauts_and_emoji_pass(client: Client, bearer: dict[str, str]) -> None:
    resp = client.patch(
        "/api/v1/me",
        data=raw_json({"name": "Jürgen 😀 Groß"}),
        content_type="application/json",
        headers=bearer,
    )
    assert resp.status_code == 200
    assert resp.get_json()["name"] == "Jürgen 😀 Groß"


def test_a_nul_in_a_json_key_is_refused(client: Client, bearer: dict[str, str]) -> None:
    resp = client.patch(
        "/api/v1/me",
        data=raw_json({"na\x00me": "x"}),
        headers=bearer,
        content_type="application/json",
    )
    assert_problem(resp, 400, "invalid_characters")


def test_token_name_with_a_nul_is_refused(client: Client, bearer: dict[str, str]) -> None:
    resp = client.post("/api/v1/me/tokens", json={"name": NUL}, headers=bearer)
    assert_problem(resp, 400, "invalid_characters")


def test_staff_user_search_with_a_nul_is_refused(
    client: Client, make_user: Callable[..., User], api_token: Callable[..., dict[str, str]]
) -> None:
    headers = api_token(make_user(Role.STAFF))
    resp = client.get("/api/v1/users", query_string={"q": NUL}, headers=headers)
    assert_problem(resp, 400, "invalid_characters")


def test_course_message_with_a_nul_is_refused(
    client: Client,
    make_user: Callable[..., User],
    api_token: Callable[..., dict[str, str]],
    course_id: int,
) -> None:
    headers = api_token(make_user(Role.STAFF))
    resp = client.post(
        f"/api/v1/courses/{course_id}/messages",
        json={"subject": "Raum", "body": f"Raum {NUL}"},
        headers=headers,
    )
    assert_problem(resp, 400, "invalid_characters")


def test_course_cancellation_reason_with_a_nul_is_refused(
    client: Client,
    make_user: Callable[..., User],
    api_token: Callable[..., dict[str, str]],
    course_id: int,
) -> None:
    headers = api_token(make_user(Role.STAFF))
    resp = client.post(
        f"/api/v1/staff/courses/{course_id}/cancel", json={"reason": NUL}, headers=headers
    )
    assert_problem(resp, 400, "invalid_characters")


def test_a_path_parameter_with_a_nul_names_nothing(client: Client) -> None:
    assert client.get("/calendar/a%00b.ics").status_code == 404
    assert client.get("/static/a%00b.css").status_code == 404
    assert client.get("/account/reset/a%01b").status_code == 404
    assert_problem(client.get("/api/v1/certificates/verify/a%00b"), 404, "not_found")


def test_a_control_character_in_the_bearer_token_is_refused(client: Client) -> None:
    resp = client.get("/api/v1/me", headers={"Authorization": "Bearer a\x01b"})
    assert_problem(resp, 400, "invalid_characters")


def test_a_nul_in_a_form_of_a_page_needing_login_is_refused_before_the_login_check(
    client: Client,
) -> None:
    resp = client.post("/account", data={"name": NUL}, headers={"Accept": "application/json"})
    assert_problem(resp, 400, "invalid_characters")


# --- issue 10, item 2: deeply nested JSON ------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "auth"),
    [
        ("PATCH", "/api/v1/me", True),
        ("POST", "/api/v1/me/tokens", True),
        ("PUT", "/api/v1/users/1/role", False),
        ("PUT", "/api/v1/users/1/role", True),
        ("POST", "/api/v1/courses/{course}/enrolments", True),
    ],
)
def test_deeply_nested_json_is_refused(
    client: Client, bearer: dict[str, str], course_id: int, method: str, path: str, auth: bool
) -> None:
    resp = client.open(
        path.format(course=course_id),
        method=method,
        data=DEEP,
        content_type="application/json",
        headers=bearer if auth else {},
    )
    assert_problem(resp, 400, "json_too_deep")


def test_nesting_up_to_the_limit_is_parsed(client: Client, bearer: dict[str, str]) -> None:
    """At the limit the body is parsed and validated as usual (a list is not an object)."""
    ok = client.patch(
        "/api/v1/me",
        data=deep_json(MAX_JSON_DEPTH),
        content_type="application/json",
        headers=bearer,
    )
    assert ok.status_code == 422
    too_deep = client.patch(
        "/api/v1/me",
        data=deep_json(MAX_JSON_DEPTH + 1),
        content_type="application/json",
        headers=bearer,
    )
    assert_problem(too_deep, 400, "json_too_deep")


def test_brackets_inside_strings_do_not_count_as_nesting(
    client: Client, bearer: dict[str, str]
) -> None:
    name = "[{" * 50 + '\\"'
    resp = client.patch("/api/v1/me", json={"name": name}, headers=bearer)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert resp.get_json()["name"] == name


@pytest.mark.parametrize(
    "text", ['{"name": NaN}', '{"name": Infinity}', '{"name": 1e999}', '{"name": ', "\xff\xfe{}"]
)
def test_what_json_does_not_allow_is_invalid_json(
    client: Client, bearer: dict[str, str], text: str
) -> None:
    resp = client.patch(
        "/api/v1/me",
        data=text.encode("latin-1"),
        content_type="application/json",
        headers=bearer,
    )
    assert_problem(resp, 400, "invalid_json")


def test_the_depth_check_is_translated_for_browsers(client: Client, app: Flask) -> None:
    resp = client.post(
        "/account/login",
        data=DEEP,
        content_type="application/json",
        headers={"Accept": "text/html"},
    )
    assert resp.status_code == 400 and resp.mimetype == "text/html"
    assert shows(resp, tr(app, "The JSON document is nested too deeply.", "de"))


# --- issue 10, item 8: bodies that are missing or not JSON -----------------------------------


def test_profile_patch_without_a_body_is_a_400(client: Client, bearer: dict[str, str]) -> None:
    assert_problem(client.patch("/api/v1/me", headers=bearer), 400, "body_required")


def test_profile_patch_with_an_empty_json_body_is_a_400(
    client: Client, bearer: dict[str, str]
) -> None:
    resp = client.patch("/api/v1/me", data=b"", content_type="application/json", headers=bearer)
    assert_problem(resp, 400, "body_required")


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ('{"name": "Text"}', "text/plain"),
        ("<me><name>XML</name></me>", "application/xml"),
        ("name=Formular", "application/x-www-form-urlencoded"),
    ],
)
def test_profile_patch_with_another_content_type_is_a_415(
    client: Client,
    bearer: dict[str, str],
    resident: User,
    fetch: Callable[[int], User],
    data: str,
    content_type: str,
) -> None:
    resp = client.patch("/api/v1/me", data=data, content_type=content_type, headers=bearer)
    assert_problem(resp, 415, "unsupported_media_type")
    assert fetch(resident.id).name == "Rita Rand"


def test_a_json_body_with_a_charset_and_a_vendor_type_is_fine(
    client: Client, bearer: dict[str, str]
) -> None:
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        resp = client.patch(
            "/api/v1/me", data='{"city": "Rand"}', content_type=content_type, headers=bearer
        )
        assert resp.status_code == 200, (content_type, resp.get_data(as_text=True)[:300])


def test_the_body_check_comes_before_the_login_check(client: Client) -> None:
    """Anonymous or not, a body-less PATCH is malformed; no handler runs for it."""
    assert_problem(client.patch("/api/v1/me"), 400, "body_required")


def test_endpoints_without_a_body_still_take_none(client: Client, bearer: dict[str, str]) -> None:
    assert client.post("/api/v1/me/calendar/token", headers=bearer).status_code == 201


# --- body sizes ---------------------------------------------------------------------------


def test_an_oversized_json_body_is_a_413(client: Client, bearer: dict[str, str]) -> None:
    big = raw_json({"name": "x" * body_limit("application/json")})
    resp = client.patch("/api/v1/me", data=big, content_type="application/json", headers=bearer)
    assert_problem(resp, 413, "body_too_large")


def test_an_oversized_form_is_a_translated_413(client: Client, app: Flask) -> None:
    resp = client.post(
        "/account/login",
        data={
            "email": "a@example.org",
            "password": "x" * body_limit("application/x-www-form-urlencoded"),
        },
    )
    assert resp.status_code == 413 and resp.mimetype == "text/html"
    assert shows(resp, tr(app, "The request body is too large.", "de"))


def test_a_body_streamed_without_a_length_is_cut_off(app: Flask) -> None:
    """Chunked bodies carry no Content-Length: the limit holds while the body is read."""
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    body = b'{"name": "' + b"x" * body_limit("application/json") + b'"}'
    environ = EnvironBuilder(
        "/api/v1/me", method="PATCH", data=body, content_type="application/json"
    ).get_environ()
    del environ["CONTENT_LENGTH"]
    environ["wsgi.input_terminated"] = True
    app_iter, status, _headers = run_wsgi_app(app, environ, buffered=True)
    doc = json.loads(b"".join(app_iter))
    assert status.startswith("413") and doc["code"] == "body_too_large"


def test_a_large_body_is_fine_within_its_limit(client: Client, bearer: dict[str, str]) -> None:
    resp = client.patch("/api/v1/me", json={"city": "R", "street": "x" * 150}, headers=bearer)
    assert resp.status_code == 200


# --- webhooks keep their raw body ----------------------------------------------------------


@pytest.mark.parametrize("path", ["/webhooks/stripe", "/webhooks/jitsi"])
def test_webhooks_get_their_body_untouched_and_do_not_fail(client: Client, path: str) -> None:
    """A NUL in a webhook's JSON is the webhook's business (it checks the signature first)."""
    body = raw_json({"id": "evt_1", "type": f"x{NUL}"})
    resp = client.post(path, data=body, content_type="application/json")
    assert 400 <= resp.status_code < 500
    deep = client.post(path, data=DEEP, content_type="application/json")
    assert 400 <= deep.status_code < 500


def test_a_signed_webhook_with_a_nul_inside_reaches_its_handler(
    app: Flask, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The edge leaves a signed body byte for byte as sent: the signature still verifies."""
    from tests.courses.webinars.helpers import jaas_header

    secret = "jaas-endpoint-secret-0123456789abcdef"
    monkeypatch.setattr(app.config["VHS"], "jaas_webhook_secret", secret)
    body = raw_json({"idempotencyKey": "edge-1", "eventType": f"UNKNOWN{NUL}"}).encode()
    resp = client.post(
        "/webhooks/jitsi",
        data=body,
        content_type="application/json",
        headers={"X-Jaas-Signature": jaas_header(secret, body)},
    )
    assert resp.status_code == 200 and resp.mimetype == "text/plain", resp.get_data()


# --- shared bounded field types (vhs/fields.py) --------------------------------------------


class _Dates(Schema):
    day = bounded.Date()
    at = bounded.DateTime()
    count = bounded.Integer(min=0, max=100)
    ref = bounded.Id()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("day", "0001-01-01"),
        ("day", "9999-12-31"),
        ("day", "1899-12-31"),
        ("at", "0001-01-01T00:00:00+14:00"),
        ("at", "9999-12-31T23:59:59-12:00"),
        ("count", -1),
        ("count", 101),
        ("count", 10**30),
        ("ref", 0),
        ("ref", 2**31),
    ],
)
def test_bounded_schema_fields_refuse_values_out_of_range(
    app: Flask, field: str, value: Any
) -> None:
    with (
        app.test_request_context(headers={"Accept-Language": "en"}),
        pytest.raises(ValidationError) as info,
    ):
        _Dates().load({field: value})
        assert str(info.value.messages[field][0])


def test_bounded_schema_fields_take_sane_values(app: Flask) -> None:
    loaded = _Dates().load(
        {"day": "2027-03-02", "at": "2027-03-02T18:00:00+01:00", "count": 100, "ref": 2**31 - 1}
    )
    assert loaded["day"] == date(2027, 3, 2) and loaded["count"] == 100


def test_bounded_date_message_is_translated(app: Flask) -> None:
    with (
        app.test_request_context(headers={"Accept-Language": "de"}),
        pytest.raises(ValidationError) as info,
    ):
        _Dates().load({"day": "9999-12-31"})
    with app.test_request_context(headers={"Accept-Language": "de"}):
        message = str(info.value.messages["day"][0])
    assert message == tr(
        app,
        "Please enter a date between %(earliest)s and %(latest)s.",
        "de",
        earliest="01.01.1900",
        latest="31.12.2199",
    )


class _Form(Form):
    day = bounded.DateField()
    count = bounded.IntegerField(min=1, max=10)


@pytest.mark.parametrize(
    ("field", "value"),
    [("day", "0001-01-01"), ("day", "9999-12-31"), ("count", "0"), ("count", "1" * 40)],
)
def test_bounded_form_fields_refuse_values_out_of_range(app: Flask, field: str, value: str) -> None:
    from werkzeug.datastructures import MultiDict

    with app.test_request_context():
        form = _Form(MultiDict({"day": "2027-03-02", "count": "5", field: value}))
        assert not form.validate()
        assert form.errors[field]


def test_bounded_form_fields_take_sane_values(app: Flask) -> None:
    from werkzeug.datastructures import MultiDict

    with app.test_request_context():
        form = _Form(MultiDict({"day": "2027-03-02", "count": "10"}))
        assert form.validate(), form.errors
        assert form.day.data == date(2027, 3, 2) and form.count.data == 10


def test_an_id_too_large_is_404_even_where_another_method_shares_the_path(client):
    """werkzeug would say 405 (the GET rule has the same path); the URL names nothing: 404."""
    too_large = 2**31
    assert client.post(f"/api/v1/staff/media/{too_large}/files").status_code == 404
    assert (
        client.post(f"/api/v1/staff/media/1/files/{too_large}/metadata", json={}).status_code == 404
    )
    # a real 405 stays one: the path exists, the method does not
    assert client.put("/api/v1/courses").status_code == 405
