"""API fuzzing: schemathesis against /api/v1/openapi.json, in-process through WSGI, per role.

Two tests, both acting as each of the five roles (anonymous, resident, instructor, staff,
administrator; the signed-in roles with a Bearer token), in a small world of their own: an
open course, a paid booking with its payment, a running webinar the actor teaches or attends,
library cards (the actor's own, except an instructor's, and another resident's).

- ``test_operation``: every documented operation gets generated requests, valid and invalid.
  Each (operation, role) is one test item with its own node id, ``test_operation[GET
  /api/v1/me][resident]``, so ``--durations`` and ``-k "me/tokens and staff"`` tell them apart.
  (Schemathesis names an item after its operation only when pytest parametrizes it further;
  unparametrized, all items of one test share the function's node id under pytest 9.2.)
- ``test_scenarios``: stateful sequences that follow the OpenAPI links the API modules declare
  (``vhs.extensions.links``, ``courses/links.py``): plan a term, a course in it, sessions,
  publish, book, pay, refund, cancel. Each scenario starts from the same world (a savepoint).

The app must never answer 5xx, and every answer must match the status codes and schemas the
document declares. The document is read at collection time from an app of its own (no
database needed); the requests go to the session's ``app`` fixture, inside the per-test
transaction. The CI run is small (``VHS_FUZZ_EXAMPLES``, ``VHS_FUZZ_SCENARIOS``); ``make fuzz``
runs a longer one, with schemathesis' boundary cases for every role (``VHS_FUZZ_DEEP=1``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.meta import TestPhase
from schemathesis.specs.openapi.checks import (
    UndefinedStatusCode,
    content_type_conformance,
    ensure_resource_availability,
    is_unexpected_http_status_case,
    response_schema_conformance,
    status_code_conformance,
)

from courses.enrolment.payments import pay_enrolment
from courses.models import Course
from media.models import FileFormat, MediaFile, MediaItem, MediaKind, PublicationState
from tests.conftest import base_config
from tests.courses import factories
from tests.courses.webinars.helpers import online_course
from tests.library.patrons.conftest import new_card
from tests.media.ingest import samples as media_samples
from vhs import create_app
from vhs.accounts.models import Role, User
from vhs.accounts.services import create_api_token
from vhs.db import db, utcnow
from vhs.payments.models import Provider
from vhs.uow import unit_of_work

ROLES = ("anonymous", "resident", "instructor", "staff", "admin")
# Generated cases per operation and role, besides schemathesis' boundary ("coverage") cases.
FUZZ_EXAMPLES = int(os.environ.get("VHS_FUZZ_EXAMPLES", "6"))
# Stateful scenarios per role, and the most steps (requests) one scenario takes.
SCENARIOS = int(os.environ.get("VHS_FUZZ_SCENARIOS", "15"))
STEPS = int(os.environ.get("VHS_FUZZ_STEPS", "8"))
# Boundary cases cost up to 250 requests per operation, so CI sends them as the administrator
# only, who gets past every refusal to the argument parsing they probe; the other roles get
# the generated cases. `make fuzz` (VHS_FUZZ_DEEP=1) sends them as every role.
DEEP = os.environ.get("VHS_FUZZ_DEEP", "") == "1"
BOUNDARY_ROLES = set(ROLES) if DEEP else {"admin"}


def status_listed(ctx: Any, response: Any, case: Any) -> bool | None:
    """The status is one the operation lists itself: flask-smorest's ``default`` response
    admits any status, which leaves ``status_code_conformance`` nothing to refuse."""
    if is_unexpected_http_status_case(case):
        return None  # a probe with a method or shape the operation does not have
    listed = [code for code in case.operation.responses.status_codes if code != "default"]
    if str(response.status_code) not in listed:
        raise UndefinedStatusCode(
            operation=case.operation.label,
            status_code=response.status_code,
            defined_status_codes=listed,
            allowed_status_codes=[int(code) for code in listed],
            message=f"Received: {response.status_code}\nListed: {', '.join(listed)}",
        )
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    status_listed,
    content_type_conformance,
    response_schema_conformance,
]
# A link from a "create" to a "read" must find what was created. (``use_after_free`` is left
# out: cancelling a booking with DELETE keeps it readable, as a cancelled booking.)
SCENARIO_CHECKS = [*CHECKS, ensure_resource_availability]

HYPOTHESIS = {
    "derandomize": True,
    "database": None,
    "deadline": None,
    "suppress_health_check": list(HealthCheck),
}

schema = schemathesis.openapi.from_wsgi(
    "/api/v1/openapi.json", create_app(base_config(url="sqlite://"))
)
# Scenarios follow the links the API declares, not links schemathesis guesses from field
# names (those chain unrelated ids and spend the step budget on 404s).
schema.config.phases.stateful.inference.algorithms = []


@dataclass
class World:
    """The acting account's credentials (its objects are in the database, ids from 1 up on
    SQLite, where the fuzzer's small numbers find them)."""

    role: str
    headers: dict[str, str] = field(default_factory=dict)
    token_id: int | None = None
    spare_token_id: int | None = None

    def protect(self, case: Any) -> None:
        """Keep the fuzzer's credential: revoking it would turn every later case into a 401."""
        if (
            case.method == "DELETE"
            and self.token_id is not None
            and case.path_parameters.get("token_id") == self.token_id
        ):
            case.path_parameters["token_id"] = self.spare_token_id


def _build_world(role: str) -> World:
    """Accounts, courses, bookings and a payment, as the fuzzed role would meet them."""
    world = World(role)
    other = factories.new_user(Role.RESIDENT, email="fuzz-other@example.org", name="Olga Andere")
    actor: User | None = None
    if role != "anonymous":
        actor = factories.new_user(role, email=f"fuzz-{role}@example.org", name="Fritz Fuzzer")
        token, plaintext = create_api_token(actor, "fuzzer")
        spare, _ = create_api_token(actor, "spare")
        world.headers = {"Authorization": f"Bearer {plaintext}"}
        world.token_id, world.spare_token_id = token.id, spare.id
    teaches = actor is not None and role != "resident"
    teacher = actor if teaches else factories.new_user(Role.INSTRUCTOR)
    learner = actor if role == "resident" else other
    term = factories.new_term()
    factories.new_term(name="Herbst 2027")  # somewhere to copy courses to
    factories.new_course(term=term, title="Offener Kurs")
    paid = factories.new_course(term=term, fee_cents=5000, title="Bezahlkurs")
    pending = factories.new_enrolment(paid, learner.id, status="pending_payment")
    pay_enrolment(pending, learner, Provider.MANUAL)
    webinar: Course = online_course(
        starts_in=timedelta(minutes=-5), instructors=[teacher], term=term, title="Webinar"
    )
    factories.new_enrolment(webinar, learner.id, status="confirmed")
    if learner is not other:
        factories.new_enrolment(webinar, other.id, status="confirmed")
    factories.new_course(term=term, status="draft", title="Entwurf", instructors=[teacher])
    # Library cards: the other resident's, and the actor's own (instructors have none, so that
    # applying for one succeeds somewhere).
    new_card(other.id)
    if actor is not None and role != "instructor":
        new_card(actor.id)
        _lend_an_epub(actor)
    return world


_EPUB = media_samples.epub(title="Fuzz-Buch")


def _lend_an_epub(patron: User) -> None:
    """An e-book on loan to the actor (loan 1 on SQLite), so the reading position is fuzzed
    past its refusals too."""
    from library.circulation.services import borrow
    from library.models import Licence

    item = MediaItem(
        kind=MediaKind.EBOOK,
        title="Fuzz-Buch",
        state=PublicationState.PUBLISHED,
        published_at=utcnow(),
    )
    item.files.append(
        MediaFile(
            format=FileFormat.EPUB,
            media_type="application/epub+zip",
            size_bytes=len(_EPUB),
            sha256=hashlib.sha256(_EPUB).hexdigest(),
        )
    )
    db.session.add(item)
    db.session.flush()
    db.session.add(
        Licence(item_id=item.id, concurrency=1, active_loans=0, reserved=0, max_loan_days=21)
    )
    db.session.flush()
    borrow(patron, item.id)


@pytest.fixture
def world(app: Flask, role: str) -> Iterator[World]:
    """The fuzzed role's world, built in the test's rolled-back transaction."""
    with app.app_context():
        with unit_of_work():
            built = _build_world(role)
        db.session.remove()
    yield built


@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
@settings(max_examples=FUZZ_EXAMPLES, **HYPOTHESIS)
def test_operation(case: Any, app: Flask, world: World, role: str) -> None:
    """No server errors; statuses, content types and bodies as documented."""
    boundary = case.meta is not None and case.meta.phase.name == TestPhase.COVERAGE
    if boundary and role not in BOUNDARY_ROLES:
        return
    world.protect(case)
    case.call_and_validate(app=app, headers=world.headers, checks=CHECKS)


@pytest.mark.parametrize("role", ROLES)
def test_scenarios(app: Flask, world: World, role: str) -> None:
    """Sequences along the declared links hold the same promises, plus: what a POST created,
    the link to read it finds."""

    # The connection conftest binds every session to: each scenario runs in a savepoint of its
    # own and starts from the same world, as Hypothesis needs to replay and shrink it.
    connection = db.session.session_factory.kw["bind"]

    class Scenarios(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            """Open the scenario's savepoint."""
            self.scenario = connection.begin_nested()

        def teardown(self) -> None:
            """Undo the scenario."""
            self.scenario.rollback()

        def before_call(self, case: Any) -> None:
            """Keep the fuzzer's token."""
            world.protect(case)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            """Send to the session's app, as the role."""
            return {"app": app, "headers": world.headers}

        def validate_response(
            self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            """Our checks, with the scenario's record for the stateful one."""
            case.validate_response(
                response, checks=SCENARIO_CHECKS, transport_kwargs=kwargs, recorder=self.recorder
            )

    Scenarios.run(
        settings=settings(max_examples=SCENARIOS, stateful_step_count=STEPS, **HYPOTHESIS)
    )


def test_every_item_has_its_own_node_id(request: pytest.FixtureRequest) -> None:
    """``-k``, ``--durations`` and xdist tell the fuzzing items apart."""
    ids = [item.nodeid for item in request.session.items if item.path == request.path]
    assert len(ids) == len(set(ids)), "fuzzing items share a node id"
