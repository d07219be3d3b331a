"""API fuzzing: schemathesis against /api/v1/openapi.json, in-process through WSGI.

Every documented operation gets generated requests (valid and invalid) as an administrator
with a Bearer token; the app must never answer 5xx, and every answer must match the status
codes and schemas the OpenAPI document declares. Later issues' endpoints join automatically.

The document is read at collection time from an app of its own (no database needed), so that
each operation is a test item of its own; the requests go to the session's ``app`` fixture,
inside the per-test transaction. (``schemathesis.pytest.from_fixture`` would avoid the second
app, but its lazy loader does not run under pytest 9.2: it writes ``Node._nodeid``.) Under
pytest 9.2 the items share one node id, but their names carry the operation: failures are
headed ``test_...[GET /api/v1/me]`` and ``-k "/api/v1/me/tokens"`` selects operations.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import base_config
from vhs import create_app
from vhs.accounts.models import Role

# Generated cases per operation, besides schemathesis' boundary ("coverage") cases; raise it
# locally for a deeper run: VHS_FUZZ_EXAMPLES=500 pytest tests/test_api_schemathesis.py
FUZZ_EXAMPLES = int(os.environ.get("VHS_FUZZ_EXAMPLES", "25"))

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@dataclass
class Caller:
    """The account the fuzzer acts as, and its tokens."""

    headers: dict[str, str]
    token_id: int
    spare_token_id: int


@pytest.fixture
def caller(app: Flask, make_user: Callable[..., Any]) -> Caller:
    """An administrator with one token to authenticate and one the fuzzer may revoke."""
    from vhs.accounts.models import User
    from vhs.accounts.services import create_api_token
    from vhs.db import db

    admin = make_user(Role.ADMIN, email="fuzz-admin@example.org")
    make_user(Role.RESIDENT, email="fuzz-resident@example.org")
    with app.app_context():
        user = db.session.get(User, admin.id)
        token, plaintext = create_api_token(user, "fuzzer")
        spare, _ = create_api_token(user, "spare")
        db.session.commit()
        return Caller({"Authorization": f"Bearer {plaintext}"}, token.id, spare.id)


schema = schemathesis.openapi.from_wsgi(
    "/api/v1/openapi.json", create_app(base_config(url="sqlite://"))
)


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_openapi_document(case: Any, app: Flask, caller: Caller) -> None:
    """No server errors; statuses and bodies as documented."""
    if case.method == "DELETE" and case.path_parameters.get("token_id") == caller.token_id:
        # Revoking the fuzzer's own credential would turn every later case into a 401.
        case.path_parameters["token_id"] = caller.spare_token_id
    case.call_and_validate(app=app, headers=caller.headers, checks=CHECKS)
