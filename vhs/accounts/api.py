"""Account API under /api/v1: the current user, personal tokens, data export, role grants."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import session
from flask.views import MethodView
from flask_login import login_user, logout_user

from vhs.accounts import services
from vhs.accounts.models import Role, User
from vhs.accounts.schemas import (
    EmailChangeSchema,
    EraseSchema,
    ExportSchema,
    MeSchema,
    MeUpdateSchema,
    NewTokenSchema,
    PasswordChangeSchema,
    RoleGrantSchema,
    TokenCreateSchema,
    TokenSchema,
    UserQuerySchema,
    UserSchema,
)
from vhs.auth import require_role, require_user
from vhs.db import db
from vhs.errors import NotFound
from vhs.extensions import Blueprint, bearer_token, link, links, problems

bp = Blueprint("accounts_api", __name__, url_prefix="/api/v1", description="Accounts")

TOKEN = "/api/v1/me/tokens/{token_id}"
ROLE = "/api/v1/users/{user_id}/role"


@bp.route("/me")
class Me(MethodView):
    @bp.response(200, MeSchema)
    @problems(bp, 401)
    def get(self) -> User:
        """The account behind this session or token."""
        return require_user()

    @bp.arguments(MeUpdateSchema)
    @bp.response(200, MeSchema)
    @problems(bp, 401, 422)
    def patch(self, data: dict[str, Any]) -> User:
        """Change name, language or postal address (role and e-mail are not editable here)."""
        return services.update_profile(require_user(), data)

    @bp.arguments(EraseSchema)
    @bp.response(204)
    @problems(bp, 401, 409, 422)
    def delete(self, data: dict[str, Any]) -> None:
        """Delete the account for good (GDPR Art. 17), confirmed with the password and
        `confirm: true`, as on the page. Name, addresses, password, tokens and sent mails go;
        what accounting must keep stays without the identity (the page `/account/delete` lists
        it). 422 for a wrong password, 409 `last_admin`. The token used stops working."""
        services.erase_account(require_user(), data["password"])
        session.clear()
        logout_user()


@bp.route("/me/password", methods=["PUT"])
@bp.arguments(PasswordChangeSchema)
@bp.response(204)
@problems(bp, 401, 422)
def change_password(data: dict[str, Any]) -> None:
    """Change the password, proven by the current one; other browser sessions end (API tokens
    stay valid) and a mail tells the holder. 422 for a wrong current or too short new one."""
    user = require_user()
    services.change_password(user, data["current_password"], data["new_password"])
    if bearer_token() is None:
        login_user(user)  # the caller's own browser session continues, as on the page


@bp.route("/me/email", methods=["POST"])
@bp.arguments(EmailChangeSchema)
@bp.response(202)
@problems(bp, 401, 422)
def change_email(data: dict[str, Any]) -> None:
    """Ask to move the account to `new_email`, proven by the password: a link goes to the new
    address, and the address changes when it is opened (202). 422 for a wrong password, the
    same address or one that belongs to another account."""
    services.request_email_change(require_user(), data["password"], data["new_email"])


@bp.route("/me/verification", methods=["POST"])
@bp.response(202)
@problems(bp, 401)
def resend_verification() -> None:
    """Send the link that confirms the account's address again (nothing when confirmed)."""
    user = require_user()
    if not user.email_verified:
        services.send_verification(user)


@bp.route("/me/tokens")
class Tokens(MethodView):
    @bp.response(200, TokenSchema(many=True))
    @problems(bp, 401)
    def get(self) -> list[Any]:
        """The account's personal API tokens (never their secret)."""
        return list(require_user().api_tokens)

    @bp.arguments(TokenCreateSchema)
    @bp.response(201, NewTokenSchema)
    @links(bp, 201, RevokeToken=link("DELETE", TOKEN, "Revoke it", token_id="$response.body#/id"))
    @problems(bp, 401, 403, 422)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a token; its secret is in this answer only."""
        token, plaintext = services.create_api_token(require_user(), data["name"])
        # The response schema dumps the token's own fields; the secret travels alongside.
        return {name: getattr(token, name) for name in TokenSchema().fields} | {"token": plaintext}


@bp.route("/me/tokens/<int:token_id>")
class TokenItem(MethodView):
    @bp.response(204)
    @problems(bp, 401, 404)
    def delete(self, token_id: int) -> None:
        """Revoke a token: requests with it get 401 from now on."""
        services.revoke_api_token(require_user(), token_id)


@bp.route("/me/export")
class Export(MethodView):
    @bp.response(200, ExportSchema)
    @problems(bp, 401)
    def get(self) -> dict[str, Any]:
        """Everything the platform holds about the account (GDPR Art. 15/20)."""
        return services.export_user_data(require_user())


@bp.route("/users")
class Users(MethodView):
    @bp.arguments(UserQuerySchema, location="query")
    @bp.response(200, UserSchema(many=True))
    @links(
        bp,
        200,
        GrantRole=link(
            "PUT", ROLE, "Grant the first account a role", user_id="$response.body#/0/id"
        ),
    )
    @problems(bp, 401, 403)
    def get(self, args: dict[str, Any]) -> list[User]:
        """Accounts for staff (search by name or e-mail), 50 per page."""
        require_role(Role.STAFF)
        query = sa.select(User).where(User.erased_at.is_(None)).order_by(User.id)
        if args.get("q"):
            like = f"%{args['q'].lower()}%"
            query = query.where(sa.or_(sa.func.lower(User.name).like(like), User.email.like(like)))
        page = args.get("page", 1)
        return list(db.session.execute(query.limit(50).offset((page - 1) * 50)).scalars())


@bp.route("/users/<int:user_id>/role")
class UserRole(MethodView):
    @bp.arguments(RoleGrantSchema)
    @bp.response(200, UserSchema)
    @problems(bp, 401, 403, 404, 409, 422)
    def put(self, data: dict[str, Any], user_id: int) -> User:
        """Grant a role (administrators only; audited)."""
        actor = require_role(Role.ADMIN)
        user = db.session.get(User, user_id)
        if user is None:
            raise NotFound()
        return services.grant_role(actor, user, data["role"])
