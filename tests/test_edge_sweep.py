"""The edge sweep: every route of the URL map, hostile values in everything it takes, no 5xx.

Each (method, rule) of ``app.url_map`` is one test. It is requested as an anonymous visitor,
a resident and a member of staff (an administrator for administrators' routes), with

- a control character in every text at once, then a NUL (in JSON also a lone surrogate) in
  each text field alone, the other fields valid, so no other field's validation stops it;
- path parameters that name nothing (0, 2**31, a NUL), as the role that gets furthest;
- a JSON body nested 5,000 levels deep; once per route (it is decided before anyone is
  known) a NUL in the ``Authorization`` header and a body over the size limit;
- one at a time in each number and date field: 0, -1, 2**31, 2**63, year 0001 and 9999.

A control run without the edge (``init_edge`` left out) fails on some 40 routes.

A route's fields come from what it declares: for the API the OpenAPI document (query and
path parameters, the request body's properties); for HTML pages the fields of the forms the
page renders, the form data of its authorisation-matrix case (``tests/authz_expectations.py``,
whose builders also make the objects the URL points at) and a few common names. Every answer
must be below 500; the test lists all that were not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask

from tests.authz_expectations import EXPECTATIONS, Case, Objects
from tests.conftest import PASSWORD, Client, base_config
from vhs import create_app
from vhs.accounts.models import User
from vhs.edge import body_limit

NUL, CONTROL, SURROGATE = "a\x00b", "a\x1bb", "a\ud800b"
DEEP_JSON = "[" * 5000 + "]" * 5000
INTEGERS = (0, -1, 2**31, 2**63)
DATES = ("0001-01-01", "9999-12-31")
DATETIMES = ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00")
LOCAL_DATETIMES = ("0001-01-01T00:00", "9999-12-31T23:59")
EUROS = ("99999999999999999999,99", "-1,00")
BAD_PATH_VALUES = {"int": ("0", str(2**31)), "any": ("a%00b", "a%1bb")}

# Names any page might read from the query string or a form, besides those it declares.
COMMON_QUERY = ("q", "page", "next", "status", "sort", "lang", "from", "to", "provider")
FILE_SUFFIXES = (".pdf", ".csv", ".ics")  # downloads, not pages with forms
COMMON_FORM = ("name", "email", "q", "next", "reason", "body", "subject", "password")

_PARAM = re.compile(r"<(?:([^:<>]+):)?([^<>]+)>")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LOCAL_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$")
_INTEGER = re.compile(r"^-?\d+$")
_EUROS = re.compile(r"^\d+,\d{2}$")


# --- the routes, and what the API declares (read once, from an app of its own) ---------------


def _collect() -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """Every (method, rule) of the URL map, and the OpenAPI document."""
    app = create_app(base_config(url="sqlite://"))
    routes = sorted(
        {
            (method, rule.rule)
            for rule in app.url_map.iter_rules()
            for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
        },
        key=lambda r: (r[1], r[0]),
    )
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    return routes, document


ROUTES, OPENAPI = _collect()


@dataclass
class Fields:
    """What one route takes, by kind: name -> "string" | "integer" | "date" | ..."""

    query: dict[str, str] = field(default_factory=dict)
    body: dict[str, str] = field(default_factory=dict)


def _kind(schema: dict[str, Any]) -> str:
    """The sweep's kind of an OpenAPI schema."""
    schema = _deref(schema)
    fmt, kind = schema.get("format"), schema.get("type")
    if kind == "array":
        return "list:" + _kind(schema.get("items") or {})
    if fmt in ("date", "date-time"):
        return fmt
    return kind if kind in ("integer", "number", "boolean", "object") else "string"


def _deref(schema: dict[str, Any]) -> dict[str, Any]:
    """A schema, or the component it refers to."""
    ref = schema.get("$ref")
    if ref:
        return OPENAPI["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return schema


def api_fields(method: str, rule: str) -> Fields:
    """Query parameters and JSON properties the OpenAPI document declares for an operation."""
    path = _PARAM.sub(r"{\2}", rule)
    operation = OPENAPI["paths"].get(path, {}).get(method.lower(), {})
    found = Fields()
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "query":
            found.query[parameter["name"]] = _kind(parameter.get("schema", {}))
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body:
        for name, schema in _deref(body["schema"]).get("properties", {}).items():
            found.body[name] = _kind(schema)
    return found


class _Inputs(HTMLParser):
    """The names and kinds of a page's form fields."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Collect input, select and textarea names."""
        if tag not in ("input", "select", "textarea"):
            return
        a = dict(attrs)
        name, kind = a.get("name"), (a.get("type") or "text")
        if not name or name == "csrf_token" or kind in ("submit", "hidden", "checkbox", "radio"):
            return
        self.found[name] = {
            "number": "integer",
            "date": "date",
            "datetime-local": "local-datetime",
        }.get(kind, "string")


def page_inputs(html: str) -> dict[str, str]:
    """Form fields of an HTML page: name -> kind."""
    parser = _Inputs()
    parser.feed(html)
    return parser.found


def kind_of_value(value: Any) -> str:
    """Guess a form value's kind from a valid example of it."""
    text = str(value)
    if _ISO_DATE.match(text):
        return "date"
    if _LOCAL_DATETIME.match(text):
        return "local-datetime"
    if _EUROS.match(text):
        return "euros"
    if _INTEGER.match(text):
        return "integer"
    return "string"


def hostile_values(kind: str, json_body: bool) -> Iterator[Any]:
    """Out-of-range values of one kind (texts are covered all at once, elsewhere)."""
    if kind == "integer":
        yield from (INTEGERS if json_body else (str(n) for n in INTEGERS))
    elif kind == "number" and json_body:
        yield from (1e308, -1e308, 0.5)
    elif kind == "date":
        yield from DATES
    elif kind == "date-time":
        yield from DATETIMES
    elif kind == "local-datetime":
        yield from LOCAL_DATETIMES
    elif kind == "euros":
        yield from EUROS
    elif kind.startswith("list:") and json_body:
        for value in hostile_values(kind[5:], json_body):
            yield [value]


# --- one route ---------------------------------------------------------------------------------


def _route_id(route: tuple[str, str]) -> str:
    """The test id: ``METHOD rule``."""
    return f"{route[0]} {route[1]}"


def _case(method: str, rule: str) -> Case | None:
    """The route's first authorisation-matrix case (paths, valid data), if any."""
    entry = EXPECTATIONS.get((method, rule))
    if entry is None or isinstance(entry, str):
        return Case(entry) if entry else None
    return entry if isinstance(entry, Case) else entry[0]


def _resolve(spec: Any, objects: Objects) -> Any:
    """A case's value, built for the role when it is a builder."""
    return spec(objects) if callable(spec) else spec


def _fill(rule: str, values: dict[str, str]) -> str:
    """The rule with each parameter replaced by the value for its converter."""
    return _PARAM.sub(lambda m: values["int" if m.group(1) == "int" else "any"], rule)


@dataclass(frozen=True)
class Failure:
    """A request answered with 5xx (or an exception a testing app re-raises)."""

    role: str
    what: str
    field: str | None
    answer: str

    def __str__(self) -> str:
        return f"{self.role}: {self.what} -> {self.answer}"


@dataclass
class Sweep:
    """The requests of one route as one role, and the answers that were 5xx."""

    app: Flask
    client: Client
    method: str
    rule: str
    role: str
    headers: dict[str, str]
    failures: list[Failure]
    api: bool = False
    csrf: str = ""

    def send(
        self,
        what: str,
        path: str,
        *,
        query: Any = None,
        body: Any = None,
        field: str | None = None,
        **kw: Any,
    ) -> None:
        """One request; a 5xx is recorded with what was sent (``field``: the one varied)."""
        headers = {**self.headers, **kw.pop("headers", {})}
        if body is not None and "data" not in kw:
            if self.api:
                kw["data"] = json.dumps(body)  # ASCII: a lone surrogate travels as \\ud800
                kw["content_type"] = "application/json"
            else:
                kw["data"] = {"csrf_token": self.csrf, **body}
        try:
            resp = self.client.open(
                path, method=self.method, query_string=query, headers=headers, **kw
            )
            resp.get_data()  # a streamed body (CSV, ICS) fails while it is sent
            resp.close()  # as a server does: a file sent from disk is closed
        except Exception as exc:  # testing apps re-raise what would be a 500
            answer = f"{type(exc).__name__}: {exc}"
        else:
            if resp.status_code < 500:
                return
            answer = f"{resp.status_code} {resp.get_data(as_text=True)!r}"
        self.failures.append(Failure(self.role, what, field, answer[:200]))


def _login(client: Client, user: User) -> None:
    """Sign the browser in as ``user`` (the session Flask-Login keeps, without the form)."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


@pytest.mark.parametrize(("method", "rule"), ROUTES, ids=[_route_id(r) for r in ROUTES])
def test_no_hostile_input_gets_a_5xx(
    app: Flask,
    make_user: Callable[..., User],
    api_token: Callable[..., dict[str, str]],
    method: str,
    rule: str,
) -> None:
    """NUL, controls, surrogates, deep JSON, huge bodies, numbers and dates: all below 500."""
    case = _case(method, rule)
    privileged = "admin" if case is not None and case.access == "admin" else "staff"
    victim = make_user(email="sweep-victim@example.org", name="Bernd Fremdmann")
    failures: list[Failure] = []
    for role in ("anonymous", "resident", privileged):
        user = None if role == "anonymous" else make_user(role, email=f"sweep-{role}@example.org")
        _sweep_as(app, api_token, case, method, rule, role, user, victim, failures)
    assert not failures, f"{method} {rule} answered 5xx:\n" + "\n".join(map(str, failures))


def _sweep_as(
    app: Flask,
    api_token: Callable[..., dict[str, str]],
    case: Case | None,
    method: str,
    rule: str,
    role: str,
    user: User | None,
    victim: User,
    failures: list[Failure],
) -> None:
    """Send the route every hostile request as ``role`` (a browser of its own)."""
    app.test_client_class = Client
    client: Client = app.test_client()  # type: ignore[assignment]
    api = rule.startswith("/api/")
    headers = api_token(user) if api and user is not None else {}
    if user is not None and not api:
        _login(client, user)
    sweep = Sweep(app, client, method, rule, role, headers, failures, api=api)
    objects = Objects(app, role, user, victim, PASSWORD)
    path = (_resolve(case.path, objects) if case and case.path else None) or _fill(
        rule, {"int": "1", "any": "x"}
    )
    base_body = dict(_resolve(case.data, objects) or {}) if case and case.data else {}
    base_query = dict(_resolve(case.query, objects) or {}) if case and case.query else {}
    fields = _fields(sweep, method, rule, path, base_query, base_body)
    if not api and method != "GET":
        sweep.csrf = client.csrf()
    sends_body = method != "GET"

    # Texts no field may hold: a control character everywhere at once, then a NUL (and in
    # JSON a lone surrogate) in each text field alone, the rest valid, so that no other
    # field's validation stops the request before the database would see it.
    query = {**base_query, **dict.fromkeys(fields.query, CONTROL)}
    body = {**base_body, **dict.fromkeys(fields.body, CONTROL)} if sends_body else None
    sweep.send("a control character everywhere", path, query=query, body=body)
    texts = (NUL, SURROGATE) if api else (NUL,)
    if not api:  # names a view might read without declaring them, all at once
        common_body = dict.fromkeys(COMMON_FORM, NUL) if sends_body else {}
        sweep.send(
            "a NUL in common names",
            path,
            query={**dict.fromkeys(COMMON_QUERY, NUL), **base_query},
            body={**common_body, **base_body} if sends_body else None,
        )
    for name in _texts(fields.query):
        sweep.send(f"query {name}={NUL!r}", path, query={**base_query, name: NUL}, field=name)
    for name in _texts(fields.body) if sends_body else ():
        for text in texts:
            sweep.send(
                f"field {name}={text!r}",
                path,
                query=base_query,
                body={**base_body, name: text},
                field=name,
            )
    if "<" in rule and role not in ("anonymous", "resident"):  # the role that gets furthest
        for kind in ("int", "any"):
            for value in BAD_PATH_VALUES[kind]:
                bad = _fill(rule, {"int": "1", "any": "x", kind: value})
                sweep.send(f"path {bad}", bad, query=base_query, body=base_body or None)
    sweep.send("5,000-deep JSON", path, data=DEEP_JSON, content_type="application/json")
    if role == "anonymous":  # the same for every role: decided before anyone is known
        sweep.send(
            "a NUL in the bearer token and If-None-Match",
            path,
            headers={"Authorization": "Bearer a\x00b", "If-None-Match": '"a\x01b"'},
        )
        big_type = "application/json" if api else "application/x-www-form-urlencoded"
        sweep.send(
            "an oversized body",
            path,
            data="x" * (body_limit(big_type) + 1),
            content_type=big_type,
        )

    # Numbers and dates out of range, one field at a time, the rest valid.
    for name, kind in fields.query.items():
        for value in hostile_values(kind, json_body=False):
            sweep.send(
                f"query {name}={value!r}", path, query={**base_query, name: value}, field=name
            )
    if sends_body:
        for name, kind in fields.body.items():
            for value in hostile_values(kind, json_body=api):
                sweep.send(
                    f"field {name}={value!r}",
                    path,
                    query=base_query,
                    body={**base_body, name: value},
                    field=name,
                )


def _texts(kinds: dict[str, str]) -> list[str]:
    """The names of the text fields."""
    return [name for name, kind in kinds.items() if kind == "string"]


def _fields(
    sweep: Sweep,
    method: str,
    rule: str,
    path: str,
    base_query: dict[str, Any],
    base_body: dict[str, Any],
) -> Fields:
    """What the route takes: declared by the API, or shown by the page and its matrix case."""
    if sweep.api:
        return api_fields(method, rule)
    found = Fields()
    if "GET" in _methods(rule) and not rule.endswith(FILE_SUFFIXES):
        page = sweep.client.get(path)
        page.close()  # its body stays readable; a file it was sent from is closed
        if page.status_code == 200 and page.mimetype == "text/html":
            inputs = page_inputs(page.get_data(as_text=True))
            if method == "GET":
                found.query.update(inputs)
            else:
                found.body.update(inputs)
    found.query.update({name: kind_of_value(value) for name, value in base_query.items()})
    if method != "GET":
        found.body.update({name: kind_of_value(value) for name, value in base_body.items()})
    return found


def _methods(rule: str) -> set[str]:
    """The methods the app answers on ``rule``."""
    return {m for m, r in ROUTES if r == rule}
