"""The authorisation matrix: every route, requested as every role, gets the declared status.

The expectations live in ``tests/authz_expectations.py``; this module only checks that they
cover ``app.url_map`` exactly and then sends each request.
"""

from __future__ import annotations

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

IGNORED_METHODS = {"HEAD", "OPTIONS"}


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
            for role in ROLES:
                yield pytest.param(method, rule, case, role, id=f"{label}-{role}")


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
            if isinstance(case.access, str):
                if case.access not in ACCESS:
                    problems.append(f"{method} {rule}: unknown shorthand {case.access!r}")
            elif set(case.access) != set(ROLES):
                problems.append(
                    f"{method} {rule}: roles declared {sorted(case.access)}, need {list(ROLES)}"
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


@pytest.mark.parametrize(("method", "rule", "case", "role"), list(_params()))
def test_matrix(
    app: Flask,
    client: Client,
    make_user: Callable[..., Any],
    login: Callable[..., Any],
    api_token: Callable[..., dict[str, str]],
    method: str,
    rule: str,
    case: Case,
    role: str,
) -> None:
    """One route, one case, one role: the status is the declared one."""
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
    objects = Objects(app, role, user, victim, PASSWORD)
    api = rule.startswith("/api/")
    path = _resolve(case.path, objects) or rule
    data = _resolve(case.data, objects)
    query = _resolve(case.query, objects)
    headers = dict(case.headers)
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
        else:
            resp = client.submit(path, data, method=method, headers=headers)

    expected = _allowed(case.outcome(role))
    body = resp.get_data()[:400].decode("utf-8", errors="replace")
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
