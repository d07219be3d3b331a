"""Domain errors and the one place that turns any error into an HTML page or problem+json."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from vhs.db import db

log = logging.getLogger(__name__)

PROBLEM_BASE = "https://vhs-platform.example/problems/"


class VhsError(Exception):
    """Base of every error the platform raises on purpose.

    Carries an HTTP status, a stable machine ``code`` and a translatable user message, so the
    same error reads well on a web page and as an RFC 7807 problem document.
    """

    status: int = 400
    code: str = "bad_request"
    title: Any = _l("The request could not be processed.")

    def __init__(
        self,
        detail: Any = None,
        *,
        code: str | None = None,
        errors: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(str(detail or self.title))
        self.detail = detail if detail is not None else self.title
        if code:
            self.code = code
        self.errors = dict(errors or {})
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})


class Invalid(VhsError):
    """Input that fails validation; ``errors`` maps field names to messages."""

    status = 422
    code = "invalid"
    title = _l("Some of the information you entered is not valid.")


class Unauthorized(VhsError):
    """No or bad credentials."""

    status = 401
    code = "unauthorized"
    title = _l("Please log in to continue.")


class Forbidden(VhsError):
    """Authenticated, but not allowed to do this to this object."""

    status = 403
    code = "forbidden"
    title = _l("You are not allowed to do this.")


class NotFound(VhsError):
    """The object does not exist (or must not be revealed)."""

    status = 404
    code = "not_found"
    title = _l("We could not find what you were looking for.")


class Conflict(VhsError):
    """The request clashes with the current state (already enrolled, illegal transition)."""

    status = 409
    code = "conflict"
    title = _l("This cannot be done in the current state.")


class ServiceUnavailable(VhsError):
    """A transient problem (lock timeout, provider down): try again shortly."""

    status = 503
    code = "temporarily_unavailable"
    title = _l("The service is busy right now. Please try again in a moment.")


class BadGateway(VhsError):
    """An outside service (payment provider) answered badly or not at all."""

    status = 502
    code = "upstream_error"
    title = _l("An outside service did not answer. Please try again in a moment.")


class InvalidCharacters(VhsError):
    """Text holding what no field may hold: NUL, other C0 controls, lone surrogates."""

    status = 400
    code = "invalid_characters"
    title = _l("The request contains characters that are not allowed.")


class InvalidJson(VhsError):
    """A body sent as JSON that is not JSON (or holds NaN/Infinity, which JSON has not)."""

    status = 400
    code = "invalid_json"
    title = _l("The request body is not valid JSON.")


class JsonTooDeep(VhsError):
    """JSON nested deeper than any document of ours; refused before it is parsed."""

    status = 400
    code = "json_too_deep"
    title = _l("The JSON document is nested too deeply.")


class BodyRequired(VhsError):
    """An API operation that takes a JSON body was sent none."""

    status = 400
    code = "body_required"
    title = _l("This request needs a JSON body.")


class BodyTooLarge(VhsError):
    """A body over the limit for its content type."""

    status = 413
    code = "body_too_large"
    title = _l("The request body is too large.")


class UnsupportedMediaType(VhsError):
    """A body in a content type the operation does not take (it takes JSON)."""

    status = 415
    code = "unsupported_media_type"
    title = _l("This content type is not supported here. Please send JSON.")


GENERIC_TITLES: dict[int, Any] = {
    400: _l("The request could not be processed."),
    401: _l("Please log in to continue."),
    403: _l("You are not allowed to do this."),
    404: _l("We could not find what you were looking for."),
    405: _l("This method is not allowed here."),
    409: _l("This cannot be done in the current state."),
    413: _l("The upload is too large."),
    415: _l("This content type is not supported."),
    422: _l("Some of the information you entered is not valid."),
    429: _l("Too many attempts. Please wait a minute and try again."),
    500: _l("Something went wrong on our side. We have been notified."),
    502: _l("An outside service did not answer. Please try again in a moment."),
    503: _l("The service is busy right now. Please try again in a moment."),
}

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    500: "internal_error",
    502: "upstream_error",
    503: "temporarily_unavailable",
}


def wants_json() -> bool:
    """Whether the client should get problem+json rather than an HTML page."""
    if request.path.startswith("/api/") or request.path.startswith("/webhooks/"):
        return True
    best = request.accept_mimetypes.best_match(
        ["text/html", "application/json", "application/problem+json"]
    )
    return best in ("application/json", "application/problem+json")


def problem_response(
    status: int,
    code: str,
    title: Any,
    detail: Any = None,
    *,
    errors: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Render an error for the client: problem+json for APIs, a friendly page for people."""
    title_s = str(title)
    detail_s = str(detail) if detail is not None else title_s
    if wants_json():
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + code,
            "title": title_s,
            "status": status,
            "detail": detail_s,
            "code": code,
        }
        if errors:
            body["errors"] = _stringify(errors)
        if extra:
            body.update(extra)
        resp = jsonify(body)
        resp.mimetype = "application/problem+json"
    else:
        html = render_template(
            "errors/error.html",
            status=status,
            code=code,
            title=title_s,
            detail=detail_s,
            errors=_stringify(errors or {}),
        )
        resp = Response(html, mimetype="text/html")
    resp.status_code = status
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


def _stringify(value: Any) -> Any:
    """Turn lazy strings inside nested error structures into plain strings."""
    if isinstance(value, Mapping):
        return {str(k): _stringify(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_stringify(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _rollback() -> None:
    """Roll back what the request holds before answering with an error.

    A view's own unit of work has already rolled back and dropped its after-commit work when
    the error left it; this covers errors raised before the view (CSRF, routing, hooks).
    """
    try:
        db.session.rollback()
    except Exception:  # pragma: no cover - rollback on a dead connection
        log.exception("rollback failed")


def _is_lock_timeout(exc: DBAPIError) -> bool:
    """Whether a database error is transient: a lock we could not get, a busy database."""
    orig = getattr(exc, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate in {"55P03", "40001", "40P01", "57014"}:
        return True
    text = str(orig or exc).lower()
    return "database is locked" in text or "lock timeout" in text or "could not obtain lock" in text


def register_error_handlers(app: Flask) -> None:
    """Install the handlers; called last in ``create_app`` so they win over extensions'."""

    @app.errorhandler(VhsError)
    def _vhs_error(exc: VhsError) -> Response:
        _rollback()
        if exc.status == 401 and not wants_json() and request.method == "GET":
            target = url_for("accounts.login", next=request.full_path.rstrip("?"))
            return redirect(target)  # type: ignore[return-value]
        return problem_response(
            exc.status,
            exc.code,
            GENERIC_TITLES.get(exc.status, exc.title),
            exc.detail,
            errors=exc.errors,
            extra=exc.extra,
            headers=exc.headers,
        )

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError) -> Response:
        _rollback()
        return problem_response(
            400,
            "csrf_failed",
            GENERIC_TITLES[400],
            _l(
                "The form has expired or was sent from elsewhere. "
                "Please reload the page and try again."
            ),
        )

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        _rollback()
        status = exc.code or 500
        data = getattr(exc, "data", None) or {}
        errors = data.get("errors") or data.get("messages")
        if isinstance(errors, Mapping) and set(errors) <= {
            "json",
            "query",
            "form",
            "headers",
            "files",
            "path",
            "view_args",
        }:
            merged: dict[str, Any] = {}
            for part in errors.values():
                if isinstance(part, Mapping):
                    merged.update(part)
            errors = merged or errors
        headers = dict(data.get("headers") or {})
        if status == 405:
            allow = exc.get_headers() if hasattr(exc, "get_headers") else []
            for key, value in allow:
                if key.lower() == "allow":
                    headers["Allow"] = value
            if "Allow" not in headers and getattr(exc, "valid_methods", None):
                headers["Allow"] = ", ".join(exc.valid_methods)
        if status == 429:
            for key, value in exc.get_headers():
                if key.lower() == "retry-after":
                    headers["Retry-After"] = value
        return problem_response(
            status,
            HTTP_CODES.get(status, "error"),
            GENERIC_TITLES.get(status, exc.name),
            GENERIC_TITLES.get(status, exc.name) if status >= 500 else None,
            errors=errors if isinstance(errors, Mapping) else None,
            headers=headers,
        )

    @app.errorhandler(IntegrityError)
    def _integrity(exc: IntegrityError) -> Response:
        _rollback()
        log.warning("integrity error: %s", exc.orig)
        return problem_response(
            409,
            "conflict",
            GENERIC_TITLES[409],
            _l("This was changed at the same time by someone else, or it already exists."),
        )

    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    def _db_error(exc: DBAPIError) -> Response:
        _rollback()
        if _is_lock_timeout(exc):
            return problem_response(
                503, "temporarily_unavailable", GENERIC_TITLES[503], headers={"Retry-After": "2"}
            )
        log.exception("database error")
        return problem_response(500, "internal_error", GENERIC_TITLES[500])

    @app.errorhandler(InternalServerError)
    def _internal(exc: InternalServerError) -> Response:
        _rollback()
        original = getattr(exc, "original_exception", None)
        if original is not None:
            if isinstance(original, VhsError):
                return _vhs_error(original)
            if isinstance(original, DBAPIError):
                return _db_error(original)
            current_app.logger.error("unhandled error", exc_info=original)
        return problem_response(500, "internal_error", GENERIC_TITLES[500], GENERIC_TITLES[500])
