"""Authentication for OPDS 1.0: HTTP Basic with card number and PIN, and the authentication
document every 401 carries.

Reading apps learn how to log in from the document (``application/vnd.opds.authentication.
v1.0+json``): Thorium asks for card number and PIN only after a 401 that carries it, labelled
"Ausweisnummer" and "PIN" as the document says. Credentials are checked by the card login of
``library.patrons.auth`` (rate limits shared with the web login, one argon2 per full check, a
fast path for a pair checked a moment ago). Digest is not offered: it would need the PIN in
clear on the server.
"""

from __future__ import annotations

import json
from typing import Any

from flask import current_app, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from library import rules
from library.opds import feeds
from library.patrons.auth import patron_from_basic
from vhs.accounts.models import User
from vhs.errors import Unauthorized

BASIC = "http://opds-spec.org/auth/basic"
REL_PASSWORD_RESET = "http://librarysimplified.org/terms/rel/patron-password-reset"
LOGO_SIZE = 90


class LoginRequired(Unauthorized):
    """No, or wrong, card number and PIN: 401 with the authentication document."""

    code = "login_required"
    title = _l("Please log in with your library card number and PIN.")


def credentials() -> tuple[str, str] | None:
    """The card number and PIN of an HTTP Basic ``Authorization`` header, if one was sent."""
    auth = request.authorization
    if auth is None or auth.type != "basic" or auth.username is None:
        return None
    return auth.username, auth.password or ""


def require_patron() -> User:
    """The patron the request's Basic credentials name; else 401 (``LoginRequired``) or 429."""
    sent = credentials()
    if sent is None:
        raise LoginRequired()
    user = patron_from_basic(*sent)
    if user is None:
        raise LoginRequired(_l("Card number or PIN is wrong."), code="invalid_credentials")
    return user


def optional_patron() -> User | None:
    """The patron of a public feed's request: None without an ``Authorization`` header (the
    public answer), else as :func:`require_patron` (a wrong or non-Basic one is a 401: an app
    that believes it is logged in must hear that it is not)."""
    if "Authorization" not in request.headers:
        return None
    return require_patron()


def document() -> dict[str, Any]:
    """The authentication document (Authentication for OPDS 1.0, section 2.3)."""
    card_page = url_for("library.my_card", _external=True)
    return {
        "id": url_for("opds.auth_document", _external=True),
        "title": rules.library_name(),
        "description": _(
            "Log in with the number of your library card and your PIN. "
            "You can apply for a library card online."
        ),
        "links": [
            {
                "rel": "logo",
                "href": url_for("opds.logo", _external=True),
                "type": "image/png",
                "width": LOGO_SIZE,
                "height": LOGO_SIZE,
            },
            {"rel": "register", "href": card_page, "type": "text/html"},
            {"rel": REL_PASSWORD_RESET, "href": card_page, "type": "text/html"},
            {"rel": "help", "href": url_for("main.home", _external=True), "type": "text/html"},
            {"rel": "start", "href": feeds.url("root", 1), "type": feeds.NAVIGATION},
            {"rel": feeds.REL_SHELF, "href": feeds.url("shelf", 1), "type": feeds.ACQUISITION},
        ],
        "authentication": [
            {"type": BASIC, "labels": {"login": _("Card number"), "password": _("PIN")}}
        ],
    }


def realm() -> str:
    """The Basic realm: the library's name, as plain ASCII without quotes (a header value)."""
    name = rules.library_name().encode("ascii", "ignore").decode().replace('"', "").strip()
    return name or "Library"


def unauthorized_response(exc: Unauthorized) -> Any:
    """401 with the document as the body, ``WWW-Authenticate: Basic`` and the document's link."""
    body = json.dumps(document(), ensure_ascii=False, indent=None)
    resp = current_app.response_class(body, status=401, mimetype=feeds.AUTH_DOCUMENT)
    resp.headers["WWW-Authenticate"] = f'Basic realm="{realm()}", charset="UTF-8"'
    doc_url = url_for("opds.auth_document", _external=True)
    resp.headers["Link"] = f'<{doc_url}>; rel="{feeds.REL_AUTH}"; type="{feeds.AUTH_DOCUMENT}"'
    resp.headers["Cache-Control"] = "private, no-store"
    return resp
