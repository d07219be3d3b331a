"""The authorisation matrix: every route, requested as every role, gets the declared status.

The expectations live in ``tests/authz_expectations.py``; this module only checks that they
cover ``app.url_map`` exactly and then sends each request, twice: with the embedded defaults
(manual payments, public Jitsi), and with Stripe (the stand-in, tests/stripe_standin.py) and
Jitsi (token authentication, signed webhooks) configured. For object-level cases (A asks for
B's object) a refused answer must also hold nothing of B's: not B's name, e-mail address or
street, nor the ids and texts the case names as B's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from tests.authz_expectations import (
    ACCESS,
    EXPECTATIONS,
    LOGIN,
    ROLES,
    Case,
    Entry,
    Objects,
)
from tests.conftest import PASSWORD, Client
from tests.stripe_standin import StripeStandIn

IGNORED_METHODS = {"HEAD", "OPTIONS"}
SETUPS = ("embedded", "configured")
JITSI_SECRET = "prosody-shared-secret-for-the-matrix-0123"


def routes(app: Flask) -> set[tuple[str, str]]:
    """Every (METHOD, rule) the app answers, static files and HEAD/OPTIONS left out."""
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        for method in (rule.methods or set()) - IGNORED_METHODS:
            found.add((method, rule.rule))
    return found


def cases_of(entry: Entry) -> list[Case]:
    """An entry as a list of cases (a shorthand string is a case with defaults)."""
    if isinstance(entry, str):
        return [Case(entry)]
    if isinstance(entry, Case):
        return [entry]
    return list(entry)


def _params() -> Iterator[Any]:
    for (method, rule), entry in sorted(EXPECTATIONS.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        cases = cases_of(entry)
        for index, case in enumerate(cases):
            label = f"{method} {rule}" + (f" ({case.note or index})" if len(cases) > 1 else "")
            for setup in SETUPS:
                for role in ROLES:
                    yield pytest.param(
                        method, rule, case, role, setup, id=f"{label}-{role}-{setup}"
                    )


@pytest.fixture(scope="module")
def stripe_standin() -> Iterator[StripeStandIn]:
    """Stripe's API on loopback, for the configured half of the matrix."""
    standin = StripeStandIn()
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture
def configured(
    app: Flask, setup: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> bool:
    """Whether Stripe and Jitsi are configured for this request (set on the live settings,
    as the rest of the suite configures them, and put back afterwards)."""
    if setup == "embedded":
        return False
    standin: StripeStandIn = request.getfixturevalue("stripe_standin")
    settings = app.config["VHS"]
    for name, value in {
        "stripe_secret_key": "sk_test_matrix",
        "stripe_publishable_key": "pk_test_matrix",
        "stripe_webhook_secret": standin.webhook_secret,
        "stripe_api_base": standin.base_url,
        "jitsi_domain": "meet.vhs-iserlohn.example",
        "jitsi_app_id": "vhs-iserlohn",
        "jitsi_app_secret": JITSI_SECRET,
        "jitsi_webhook_secret": JITSI_SECRET[::-1],
        "jitsi_event_sync_secret": "event-sync-" + JITSI_SECRET,
        "jaas_webhook_secret": "jaas-" + JITSI_SECRET,
    }.items():
        monkeypatch.setattr(settings, name, value)
    return True


def test_every_route_has_expectations(app: Flask) -> None:
    """A new route fails here until its expectations are declared for all five roles."""
    actual = routes(app)
    declared = set(EXPECTATIONS)
    missing = sorted(actual - declared, key=lambda r: (r[1], r[0]))
    stale = sorted(declared - actual, key=lambda r: (r[1], r[0]))
    problems = [
        f"no expectation for {m} {r} (add it to tests/authz_expectations.py)" for m, r in missing
    ]
    problems += [f"expectation for a route that does not exist: {m} {r}" for m, r in stale]
    for (method, rule), entry in EXPECTATIONS.items():
        for case in cases_of(entry):
            for access in (case.access, case.configured):
                if access is None:
                    continue
                if isinstance(access, str):
                    if access not in ACCESS:
                        problems.append(f"{method} {rule}: unknown shorthand {access!r}")
                elif set(access) != set(ROLES):
                    problems.append(
                        f"{method} {rule}: roles declared {sorted(access)}, need {list(ROLES)}"
                    )
            if "<" in rule and case.path is None:
                problems.append(f"{method} {rule}: has URL parameters but no path builder")
    assert not problems, "\n".join(problems)


def _resolve(spec: Any, objects: Objects) -> Any:
    return spec(objects) if callable(spec) else spec


def _allowed(outcome: Any) -> set[Any]:
    if isinstance(outcome, int | str):
        return {outcome}
    return set(outcome)


def _json_ids(value: Any) -> Iterator[Any]:
    """The values of every ``id`` and ``*_id`` member anywhere in a JSON document."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "id" or key.endswith("_id"):
                yield item
            yield from _json_ids(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_ids(item)


def assert_nothing_foreign(resp: Any, path: str, fingerprint: list[int | str]) -> None:
    """A refusal of B's object says nothing about B: no text of B's and no id of B's objects
    (ids are sought as JSON ids and as URL path segments; the one asked for may be echoed)."""
    body = resp.get_data(as_text=True)
    json_ids = set(_json_ids(resp.get_json(silent=True))) if resp.is_json else set()
    asked = set(re.findall(r"\d+", path))
    for item in fingerprint:
        if isinstance(item, str):
            assert item not in body, f"the answer names {item!r}, which is someone else's"
        elif str(item) not in asked:
            assert item not in json_ids, f"the answer holds the id {item} of someone else's"
            assert not re.search(rf"/{item}(?!\d)", body), f"the answer links to id {item}"


@pytest.mark.parametrize(("method", "rule", "case", "role", "setup"), list(_params()))
def test_matrix(
    app: Flask,
    client: Client,
    make_user: Callable[..., Any],
    login: Callable[..., Any],
    api_token: Callable[..., dict[str, str]],
    configured: bool,
    method: str,
    rule: str,
    case: Case,
    role: str,
    setup: str,
) -> None:
    """One route, one case, one role, one setup: the declared status, and for someone else's
    object a refusal that gives nothing of theirs away."""
    victim = make_user(
        email=f"victim-{role}@example.org", name="Bernd Fremdmann", password=PASSWORD
    )
    with app.app_context():
        from vhs.accounts.models import User
        from vhs.db import db

        v = db.session.get(User, victim.id)
        v.street = "Fremdweg 7"
        db.session.commit()
        victim.street = "Fremdweg 7"
    user = None if role == "anonymous" else make_user(role, email=f"actor-{role}@example.org")
    objects = Objects(app, role, user, victim, PASSWORD, configured)
    api = rule.startswith("/api/")
    path = _resolve(case.path, objects) or rule
    data = _resolve(case.data, objects)
    query = _resolve(case.query, objects)
    headers = dict(_resolve(case.headers, objects))
    if api:
        objects.victim_token_id
        if user is not None:
            headers.update(api_token(user))
        resp = client.open(path, method=method, json=data, query_string=query, headers=headers)
    else:
        if user is not None:
            login(user)
        if method == "GET":
            resp = client.get(path, query_string=query, headers=headers)
        elif method != "POST":  # no form sends it: a reading app's PUT (OPDS borrow, revoke)
            resp = client.open(path, method=method, query_string=query, headers=headers)
        else:
            resp = client.submit(path, data, method=method, headers=headers)

    expected = _allowed(case.outcome(role, configured))
    body = resp.get_data()[:400].decode("utf-8", errors="replace")
    if case.foreign is not None and case.refuses(role):
        with app.app_context():
            fingerprint = [victim.email, victim.name, victim.street, victim.id]
            fingerprint += case.foreign(objects)
        assert_nothing_foreign(resp, path, fingerprint)
    if LOGIN in expected:
        if not api and method == "GET":
            assert resp.status_code == 302, (
                f"{role}: expected a redirect to log in, got {resp.status_code}: {body}"
            )
            assert "/account/login" in resp.headers["Location"]
        else:
            assert resp.status_code == 401, f"{role}: expected 401, got {resp.status_code}: {body}"
            if api:
                assert resp.mimetype == "application/problem+json"
        return
    assert resp.status_code in expected, (
        f"{method} {path} as {role}: expected {sorted(expected)}, got {resp.status_code}: {body}"
    )
    if case.check is not None and resp.status_code in _allowed(case.ok):
        case.check(resp, objects)


def test_the_body_check_finds_someone_elses_data(app: Flask) -> None:
    """The object-level body check is not vacuous: it finds B's text, a JSON id and a link to
    B's object, and lets the id that was asked for be echoed."""
    problem = app.response_class(
        '{"detail": "Kein Zugriff", "course_id": 7}', mimetype="application/problem+json"
    )
    with pytest.raises(AssertionError, match="id 7"):
        assert_nothing_foreign(problem, "/api/v1/enrolments/3", [7])
    assert_nothing_foreign(problem, "/api/v1/enrolments/7", [7])
    page = app.response_class('<a href="/payments/12/receipt">Beleg</a>', mimetype="text/html")
    with pytest.raises(AssertionError, match="links to id 12"):
        assert_nothing_foreign(page, "/enrolments/3/pay", [12])
    with pytest.raises(AssertionError, match="Bernd Fremdmann"):
        assert_nothing_foreign(app.response_class("Bernd Fremdmann"), "/", ["Bernd Fremdmann"])
