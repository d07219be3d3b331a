"""Extension objects, created unbound here and bound to the app in ``create_app``."""

from __future__ import annotations

import http
import re
from dataclasses import dataclass
from typing import Any

from apispec import BasePlugin
from flask import current_app, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint as SmorestBlueprint
from flask_smorest.utils import prepare_response
from flask_wtf.csrf import CSRFProtect
from marshmallow import Schema, fields
from webargs.core import missing
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.routing import IntegerConverter, Rule

from vhs.db import db

__all__ = ["Blueprint", "api", "babel", "csrf", "db", "limiter", "login_manager", "migrate"]

# How flask-smorest (apispec) writes a Flask rule as an OpenAPI path: <int:id> -> {id}.
_RULE_PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


class ProblemSchema(Schema):
    """RFC 7807 problem document, as every API error is answered."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    code = fields.String(required=True)
    errors = fields.Dict(keys=fields.String())


class IdConverter(IntegerConverter):
    """``<int:...>`` in our URLs is a database id: at most 2**31 - 1 (PostgreSQL ``integer``).

    A larger number cannot name anything, so the route does not match (404) instead of the
    database overflowing into a 500; the OpenAPI document states the maximum.
    """

    def __init__(self, map: Any, *args: Any, max: int | None = 2**31 - 1, **kwargs: Any) -> None:
        super().__init__(map, *args, max=max, **kwargs)


@dataclass(frozen=True)
class RequestBody:
    """What an API operation's OpenAPI document says about its request body."""

    required: bool
    content_types: tuple[str, ...]


class Parser(FlaskParser):
    """webargs' parser reading the JSON body the edge (``vhs.edge``) already parsed.

    webargs would parse the raw body again with the standard library, unbounded; this one
    takes ``request.get_json()``'s cached result (depth-limited, checked), and an empty body
    as no body (the edge has already refused it where the operation requires one).
    """

    def _raw_load_json(self, req: Any) -> Any:
        """The cached JSON body, or ``missing`` when there is none."""
        if not is_json_request(req) or not req.get_data(cache=True):
            return missing
        return req.get_json()


class Blueprint(SmorestBlueprint):
    """flask-smorest's Blueprint with our argument parser; every API module uses this one."""

    ARGUMENTS_PARSER = Parser()


class BadBodyPlugin(BasePlugin):
    """What the edge (``vhs.edge``) may answer before any handler, in every operation's document.

    Any request can carry what no field may hold (a NUL or a lone surrogate in the query, the
    path or the Authorization header): 400. An operation that reads a body also answers 400
    for a body that is not JSON or nests too deep, 413 for one over the size limit and 415 for
    another content type.
    """

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        """Add the edge's answers to every operation (and the body ones where there is a body)."""
        for operation in (operations or {}).values():
            if not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            responses.setdefault(400, "BAD_REQUEST")
            if "requestBody" in operation:
                responses.setdefault(413, "REQUEST_ENTITY_TOO_LARGE")
                responses.setdefault(415, "UNSUPPORTED_MEDIA_TYPE")


class Api(SmorestApi):
    """flask-smorest with errors documented as ``application/problem+json``."""

    ERROR_SCHEMA = ProblemSchema

    def request_body(self, rule: Rule | None, method: str) -> RequestBody | None:
        """The body the OpenAPI document declares for ``method`` on ``rule`` (None: none).

        Read from the generated document, so the edge holds each operation to exactly what
        it publishes; built once per app on first use.
        """
        if rule is None:
            return None
        bodies = current_app.extensions.get("vhs_request_bodies")
        if bodies is None:
            bodies = current_app.extensions["vhs_request_bodies"] = self._request_bodies()
        return bodies.get((_RULE_PARAMETER.sub(r"{\1}", rule.rule), method.lower()))

    def _request_bodies(self) -> dict[tuple[str, str], RequestBody]:
        """(OpenAPI path, method) -> declared body, for every operation that has one."""
        found = {}
        for path, operations in self.spec.to_dict().get("paths", {}).items():
            for method, operation in operations.items():
                body = operation.get("requestBody") if isinstance(operation, dict) else None
                if body:
                    found[(path, method)] = RequestBody(
                        required=bool(body.get("required")),
                        content_types=tuple(body.get("content", {})),
                    )
        return found

    def init_app(self, app: Any, *, spec_kwargs: Any = None) -> None:
        """Bind to the app; before any blueprint is registered, bound ``int`` URL parts."""
        app.url_map.converters["int"] = IdConverter
        super().init_app(app, spec_kwargs=spec_kwargs)

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, "application/problem+json")
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, "application/problem+json")
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def _client_ip() -> str:
    return get_remote_address() or "unknown"


migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=_client_ip, default_limits=[], headers_enabled=True)
api = Api(
    spec_kwargs={
        "extra_plugins": [BadBodyPlugin()],
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "session"},
            }
        },
        "security": [{"bearerAuth": []}, {"cookieAuth": []}],
    }
)


def bearer_token() -> str | None:
    """The personal API token sent as ``Authorization: Bearer ...``, if any."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


def problems(blueprint: Any, *codes: int) -> Any:
    """Document the error answers (problem+json) an endpoint can give, in one decorator."""

    def decorator(func: Any) -> Any:
        for code in codes:
            func = blueprint.alt_response(code, response=http.HTTPStatus(code).name)(func)
        return func

    return decorator


def link(
    method: str,
    path: str,
    description: str,
    *,
    body: dict[str, Any] | None = None,
    **parameters: str,
) -> dict[str, Any]:
    """An OpenAPI link to ``METHOD path``: ``parameters`` map its names to runtime expressions
    (``$response.body#/id``); ``body`` holds fields for the target's request body."""
    pointer = path.replace("~", "~0").replace("/", "~1")
    target: dict[str, Any] = {
        "operationRef": f"#/paths/{pointer}/{method.lower()}",
        "description": description,
    }
    if parameters:
        target["parameters"] = parameters
    if body is not None:
        target["requestBody"] = body
    return target


def links(blueprint: Any, status: int, **targets: dict[str, Any]) -> Any:
    """Document where a response's ids lead (OpenAPI ``links``): clients, and the stateful
    fuzzer, follow them from one operation to the next (create, read, change, delete)."""
    return blueprint.doc(responses={status: {"links": targets}})
