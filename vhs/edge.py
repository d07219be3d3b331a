"""The edge: what no field may hold is refused for every request, before anything reads it.

One ``before_request`` check (installed first, ahead of rate limits, CSRF and login) looks at
everything of a request that can reach a handler or the database: path parameters (a URL
with such a character names nothing: 404, as for an id too large for its column), the query
string, form fields and file names, a JSON body (parsed here, once, by a depth-limited parser
that Flask and the API's argument parser then reuse from the request's cache), and the
``Authorization`` header (API tokens are looked up with it). It refuses

- NUL and the other C0 control characters except tab, CR and LF, and lone surrogates, in any
  text (PostgreSQL cannot store NUL; a lone surrogate cannot be encoded at all);
- JSON nested deeper than ``MAX_JSON_DEPTH``, and JSON that is not JSON (NaN, Infinity);
- bodies over the limit for their content type;
- an API operation's body that is missing or not JSON, as its OpenAPI document declares it.

Refusals are domain errors (``vhs.errors``), so API clients get problem+json and people a
translated page. Webhooks (``/webhooks/...``) keep their raw body for the signature check:
only its size and JSON depth are checked here, what a signed body says is the webhook's
business. Values that are well-formed text but out of range (dates, numbers) are bounded by
the shared field types in ``vhs.fields``, not here.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from itertools import accumulate
from typing import Any, TypeVar

from flask import Flask, Request, current_app, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge
from werkzeug.exceptions import NotFound as NotFoundError

from vhs.errors import (
    BodyRequired,
    BodyTooLarge,
    InvalidCharacters,
    InvalidJson,
    JsonTooDeep,
    NotFound,
    UnsupportedMediaType,
)
from vhs.extensions import api

# Deep enough for any document the API defines (they nest three or four levels), far below
# where a recursive parser or validator would run out of stack.
MAX_JSON_DEPTH = 32

# The largest body of each kind a legitimate client sends, with room to spare: a course
# description of 20,000 characters is under 100 KB as form or JSON even with many umlauts.
# Multipart bodies carry files; an upload endpoint that needs more sets its own limit
# (``large_uploads``).
BODY_LIMITS: dict[str, int] = {
    "application/json": 512 * 1024,
    "application/x-www-form-urlencoded": 512 * 1024,
    "multipart/form-data": 16 * 1024 * 1024,
}
OTHER_BODY_LIMIT = 64 * 1024  # no handler reads other bodies, but webhooks and refusals may
WEBHOOK_BODY_LIMIT = 1024 * 1024  # Stripe's largest events are well under this
WEBHOOK_PREFIX = "/webhooks/"

# C0 controls except tab (09), LF (0a) and CR (0d); surrogates, which in a Python string are
# always unpaired (JSON's escaped pairs are joined into one code point when parsed).
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
MAX_REPORTED = 20  # field names listed in a refusal; the rest are left out

# A JSON string, or an unterminated one up to the end: every string start matches once and
# possessive quantifiers never backtrack, so removing strings is linear even for hostile text.
_JSON_STRING = re.compile(r'"(?:[^"\\]++|\\[\s\S]?)*+(?:"|\Z)')
_NOT_BRACKET = re.compile(r"[^\[\]{}]++")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}

F = TypeVar("F", bound=Callable[..., Any])

FIELD_MESSAGE = _l("Contains a character that is not allowed (a control character).")


def body_limit(mimetype: str, path: str = "/") -> int:
    """The largest body accepted for ``mimetype`` at ``path`` (webhooks have their own)."""
    if path.startswith(WEBHOOK_PREFIX):
        return WEBHOOK_BODY_LIMIT
    if _is_json(mimetype):
        return BODY_LIMITS["application/json"]
    return BODY_LIMITS.get(mimetype, OTHER_BODY_LIMIT)


def large_uploads(limit: Callable[[], int]) -> Callable[[F], F]:
    """Let one view take multipart bodies up to ``limit()`` bytes (read per request, so a
    configured size applies), instead of the ``multipart/form-data`` limit of every other."""

    def decorate(view: F) -> F:
        view.vhs_multipart_limit = limit  # type: ignore[attr-defined]
        return view

    return decorate


def _view_multipart_limit() -> int | None:
    """The matched view's own limit for a multipart body (``large_uploads``), if it has one."""
    if request.mimetype != "multipart/form-data" or request.endpoint is None:
        return None
    limit = getattr(current_app.view_functions.get(request.endpoint), "vhs_multipart_limit", None)
    return limit() if limit is not None else None


def json_depth(text: str) -> int:
    """How deeply ``text`` nests arrays and objects, found without parsing it (linear time)."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def loads(data: str | bytes) -> Any:
    """Parse JSON no deeper than ``MAX_JSON_DEPTH``; JSON's own grammar, no NaN or Infinity.

    Raises ``JsonTooDeep`` before parsing a deeper document, ``ValueError`` for what is not
    JSON (Flask turns that into ``on_json_loading_failed``).
    """
    text = data.decode(json.detect_encoding(data)) if isinstance(data, bytes) else data
    if json_depth(text) > MAX_JSON_DEPTH:
        raise JsonTooDeep()
    return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)


def _refuse_constant(name: str) -> Any:
    """JSON has no NaN or Infinity (Python's parser would take them)."""
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    """A number that fits a float; 1e999 would silently become Infinity."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} does not fit a number")
    return value


class EdgeJSONProvider(DefaultJSONProvider):
    """Flask's JSON with the depth-limited parser: ``request.get_json`` parses through it."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse a request body (or any JSON the app reads through ``flask.json``)."""
        return loads(s)


class EdgeRequest(Request):
    """A request whose JSON failures are domain errors (415 and 400 with stable codes)."""

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        """No JSON content type: 415; not JSON: 400 ``invalid_json``."""
        if e is None:
            raise UnsupportedMediaType()
        raise InvalidJson() from e


def init_edge(app: Flask) -> None:
    """Install the edge: its request class and JSON parser, and its check before all others."""
    app.request_class = EdgeRequest
    app.json = EdgeJSONProvider(app)
    # First of all before-request functions: rate limits, CSRF and login never see what the
    # edge refuses (the limiter's key reads the login form, the token lookup the header).
    app.before_request_funcs.setdefault(None, []).insert(0, check_request)


def _not_allowed_or_not_found() -> None:
    """A 405 only where the URL names something; else the 404 it is.

    werkzeug answers 405 when another method's rule has the same path, even if this method's
    rule refused a value (an id too large for its column). Asked with an allowed method, such a
    URL matches nothing either: it names nothing, and the answer becomes 404.
    """
    exc = request.routing_exception
    if not isinstance(exc, MethodNotAllowed) or not exc.valid_methods:
        return
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = sorted(set(exc.valid_methods) - {"OPTIONS"}) or ["OPTIONS"]
    try:
        adapter.match(method=allowed[0])
    except NotFoundError:
        request.routing_exception = NotFoundError()
    except HTTPException:
        return


def check_request() -> None:
    """Refuse what no field may hold (see the module docstring); raise a ``VhsError``."""
    if request.routing_exception is not None:
        _not_allowed_or_not_found()
        return  # nothing will run: the 404/405 is the answer
    webhook = request.path.startswith(WEBHOOK_PREFIX)
    if _bad_names(_path_texts()):
        raise NotFound()  # like an id too large for a column: such a URL names nothing
    _check_size()
    if request.mimetype != "multipart/form-data":
        _body()  # read it now, within the limit (multipart is parsed as it streams in)
    bad = _bad_names(_header_texts())
    bad += _bad_names(request.args.items(multi=True))
    if bad:
        raise InvalidCharacters(errors=_field_errors(bad))
    if webhook:
        _check_webhook_body()
        return
    _check_api_body()
    if request.is_json:
        bad = list(_bad_json_names(_parsed_json()))
    elif request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        bad = _bad_names(_form_texts())
    if bad:
        raise InvalidCharacters(errors=_field_errors(bad))


def _check_size() -> None:
    """Refuse a declared length over the limit; cap a streamed body at it while it is read."""
    limit = _view_multipart_limit() or body_limit(request.mimetype, request.path)
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge()
    request.max_content_length = limit
    request.max_form_memory_size = min(limit, request.max_form_memory_size or limit)


def _body() -> bytes:
    """The raw body, read once and kept for Flask, the argument parser and webhooks."""
    try:
        data = request.get_data(cache=True)
    except RequestEntityTooLarge as exc:
        raise BodyTooLarge() from exc
    # A streamed body (no Content-Length) is cut at the limit without an error: one that
    # reaches it did not fit.
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(data) >= limit:
        raise BodyTooLarge()
    return data


def _parsed_json() -> Any:
    """The JSON body through Flask's ``get_json`` (cached: handlers get this very object)."""
    if not _body():
        return None
    return request.get_json()


def _check_webhook_body() -> None:
    """Depth only: the body stays byte for byte what the sender signed."""
    if not request.is_json:
        return
    try:
        text = _body().decode("utf-8")
    except UnicodeDecodeError:
        return  # not ours to judge: the webhook answers for its own body
    if json_depth(text) > MAX_JSON_DEPTH:
        raise JsonTooDeep()


def _check_api_body() -> None:
    """An API operation with a declared body: present if required, and of its content type."""
    declared = api.request_body(request.url_rule, request.method)
    if declared is None:
        return
    if not _body():
        if declared.required:
            raise BodyRequired()
        return
    if not any(_same_type(request.mimetype, t) for t in declared.content_types):
        raise UnsupportedMediaType()


def _same_type(sent: str, declared: str) -> bool:
    """Whether a sent content type is the declared one (any JSON type counts as JSON)."""
    return sent == declared or (_is_json(sent) and _is_json(declared))


def _is_json(mimetype: str) -> bool:
    """``application/json`` or ``application/*+json``, as Flask and webargs see it."""
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def _path_texts() -> Iterator[tuple[str, str]]:
    """The text path parameters of the matched rule (ids are numbers already)."""
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str):
            yield name, value


def _header_texts() -> Iterator[tuple[str, str]]:
    """Headers whose value reaches the database: the API token is looked up with it."""
    authorization = request.headers.get("Authorization")
    if authorization is not None:
        yield "Authorization", authorization


def _form_texts() -> Iterator[tuple[str, str]]:
    """Form fields and uploaded file names, as (name, text)."""
    try:
        yield from request.form.items(multi=True)
        for name, upload in request.files.items(multi=True):
            yield name, upload.filename or ""
    except RequestEntityTooLarge as exc:
        raise BodyTooLarge() from exc


def _bad_names(pairs: Any) -> list[str]:
    """Names of the (name, text) pairs where the name or the text holds a forbidden character."""
    return [name for name, text in pairs if FORBIDDEN.search(name) or FORBIDDEN.search(text)]


def _bad_json_names(value: Any, path: str = "") -> Iterator[str]:
    """Dotted paths (``items.0.name``) of the strings and keys holding a forbidden character."""
    if isinstance(value, str):
        if FORBIDDEN.search(value):
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else key
            if FORBIDDEN.search(key):
                yield inner
            else:
                yield from _bad_json_names(item, inner)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _bad_json_names(item, f"{path}.{index}" if path else str(index))


def _field_errors(names: list[str]) -> dict[str, list[Any]]:
    """The refusal's ``errors``, names made printable (they may hold the very character)."""
    return {
        FORBIDDEN.sub("\ufffd", name) or "body": [FIELD_MESSAGE] for name in names[:MAX_REPORTED]
    }
