"""Account pages: register, verify, log in/out, reset, profile, tokens, GDPR, role grants."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import login_user, logout_user

from vhs import gdpr
from vhs.accounts import services
from vhs.accounts.forms import (
    DeleteAccountForm,
    EmailChangeForm,
    EmptyForm,
    ForgotForm,
    LoginForm,
    PasswordForm,
    ProfileForm,
    RegisterForm,
    ResetForm,
    RoleForm,
    TokenForm,
)
from vhs.accounts.models import Role, User
from vhs.auth import admin_required, current, require_user, user_required
from vhs.db import db
from vhs.errors import Invalid, NotFound, Unauthorized
from vhs.extensions import limiter
from vhs.forms import apply_errors, safe_next
from vhs.i18n import page_locale

bp = Blueprint("accounts", __name__, url_prefix="/account")

# Other ways to log in that domains offer (the library: card number and PIN), shown as links
# under the login form; the core knows only their endpoint and label.
_login_options: list[tuple[str, Any]] = []


def register_login_option(endpoint: str, label: Any) -> None:
    """Offer another way to log in (a link under the login form)."""
    if all(existing != endpoint for existing, _label in _login_options):
        _login_options.append((endpoint, label))


def _login_key() -> str:
    return "login-account:" + services.normalise_email(request.form.get("email", ""))


def _login_failed(response: Response) -> bool:
    return bool(g.get("login_failed"))


def _login_limit() -> str:
    return current_app.config["VHS"].login_rate_limit


@bp.route("/register", methods=["GET", "POST"])
def register() -> Any:
    """Create an account; the address is confirmed by a mailed link."""
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            services.register(form.email.data, form.password.data, form.name.data, page_locale())
        except Invalid as exc:
            apply_errors(form, exc)
        else:
            flash(
                _(
                    "Almost done: we have sent you an e-mail. Please click the link in it "
                    "to confirm your address."
                ),
                "success",
            )
            return redirect(url_for("accounts.login"))
    status = 422 if form.errors else 200
    return render_template("accounts/register.html", form=form), status


@bp.route("/verify/<token>")
def verify(token: str) -> Any:
    """Confirm the e-mail address from the link."""
    services.verify_email(token)
    flash(_("Thank you, your e-mail address is confirmed."), "success")
    return redirect(url_for("accounts.profile") if current() else url_for("accounts.login"))


@bp.route("/verify/resend", methods=["POST"])
@user_required
def resend_verification() -> Any:
    """Send the verification link again."""
    user = require_user()
    if not user.email_verified:
        services.send_verification(user)
    flash(_("We have sent the link again."), "success")
    return redirect(url_for("accounts.profile"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_login_failed)
@limiter.limit(_login_limit, methods=["POST"], key_func=_login_key, deduct_when=_login_failed)
def login() -> Any:
    """Log in; a new session is started so no earlier session id survives."""
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except Unauthorized as exc:
            g.login_failed = True
            form.password.errors = [str(exc.detail)]
            return _login_page(form, 401)
        locale = session.get("locale")
        session.clear()
        if locale:
            session["locale"] = locale
        login_user(user, remember=bool(form.remember.data))
        if not user.email_verified:
            flash(
                _(
                    "Please confirm your e-mail address: we have sent you a link. "
                    "Until then you cannot book courses."
                ),
                "warning",
            )
        else:
            flash(_("Welcome, %(name)s!", name=user.name), "success")
        return redirect(safe_next(request.args.get("next")) or url_for("main.home"))
    return _login_page(form, 422 if form.errors else 200)


def _login_page(form: LoginForm, status: int) -> Any:
    return render_template("accounts/login.html", form=form, options=_login_options), status


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    """Log out and forget the session."""
    locale = session.get("locale")
    # Clear first: logout_user() leaves the note that deletes the remember cookie.
    session.clear()
    logout_user()
    if locale:
        session["locale"] = locale
    flash(_("You are logged out."), "success")
    return redirect(url_for("main.home"))


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def forgot() -> Any:
    """Ask for a password reset link (same answer whether the account exists or not)."""
    form = ForgotForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        flash(
            _(
                "If an account exists for this address, we have sent a link to reset the "
                "password. It is valid for two hours."
            ),
            "success",
        )
        return redirect(url_for("accounts.login"))
    status = 422 if form.errors else 200
    return render_template("accounts/forgot.html", form=form), status


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str) -> Any:
    """Choose a new password from the mailed link."""
    services.read_token("reset", token, services.RESET_MAX_AGE)
    form = ResetForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data)
        except Invalid as exc:
            apply_errors(form, exc)
        else:
            logout_user()
            flash(_("Your password has been changed. Please log in."), "success")
            return redirect(url_for("accounts.login"))
    status = 422 if form.errors else 200
    return render_template("accounts/reset.html", form=form), status


@bp.route("", methods=["GET", "POST"])
@user_required
def profile() -> Any:
    """The account page: profile, password, e-mail, API tokens, data rights."""
    user = require_user()
    form = ProfileForm(obj=user)
    if request.method == "POST" and form.validate_on_submit():
        # Only the fields of the form are read: a posted "role" is ignored by construction.
        try:
            services.update_profile(
                user,
                {
                    "name": form.name.data,
                    "locale": form.locale.data,
                    "street": form.street.data,
                    "postal_code": form.postal_code.data,
                    "city": form.city.data,
                },
            )
        except Invalid as exc:
            apply_errors(form, exc)
        else:
            session["locale"] = user.locale
            flash(_("Your profile has been saved."), "success")
            return redirect(url_for("accounts.profile"))
    return _render_profile(user, profile_form=form)


def _render_profile(user: User, status: int | None = None, **forms: Any) -> Any:
    ctx = {
        "user": user,
        "profile_form": forms.get("profile_form") or ProfileForm(obj=user),
        "password_form": forms.get("password_form") or PasswordForm(),
        "email_form": forms.get("email_form") or EmailChangeForm(),
        "token_form": forms.get("token_form") or TokenForm(),
        "empty_form": EmptyForm(),
        "new_token": forms.get("new_token"),
    }
    has_errors = any(f.errors for f in ctx.values() if hasattr(f, "errors"))
    return render_template("accounts/profile.html", **ctx), status or (422 if has_errors else 200)


@bp.route("/password", methods=["POST"])
@user_required
def change_password() -> Any:
    """Change the password; other sessions end, this one continues."""
    user = require_user()
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(user, form.current_password.data, form.new_password.data)
        except Invalid as exc:
            apply_errors(form, exc)
        else:
            login_user(user)
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("accounts.profile"))
    return _render_profile(user, password_form=form)


@bp.route("/email", methods=["POST"])
@user_required
def change_email() -> Any:
    """Ask to move the account to a new address."""
    user = require_user()
    form = EmailChangeForm()
    if form.validate_on_submit():
        try:
            services.request_email_change(user, form.password.data, form.new_email.data)
        except Invalid as exc:
            apply_errors(form, exc)
        else:
            flash(
                _(
                    "We have sent a link to %(email)s. Your address changes when you click it.",
                    email=form.new_email.data,
                ),
                "success",
            )
            return redirect(url_for("accounts.profile"))
    return _render_profile(user, email_form=form)


@bp.route("/email/confirm/<token>")
def confirm_email(token: str) -> Any:
    """Confirm the new address from the link."""
    services.confirm_email_change(token)
    flash(_("Your e-mail address has been changed."), "success")
    return redirect(url_for("accounts.profile") if current() else url_for("accounts.login"))


@bp.route("/tokens", methods=["POST"])
@user_required
def create_token() -> Any:
    """Create a personal API token and show it once."""
    user = require_user()
    form = TokenForm()
    if form.validate_on_submit():
        _token, plaintext = services.create_api_token(user, form.token_name.data)
        flash(
            _("Your new API token has been created. Copy it now: it is shown only once."), "success"
        )
        return _render_profile(user, status=201, new_token=plaintext)
    return _render_profile(user, token_form=form)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@user_required
def revoke_token(token_id: int) -> Any:
    """Revoke one of the user's own tokens."""
    user = require_user()
    EmptyForm().validate_on_submit()
    services.revoke_api_token(user, token_id)
    flash(_("The token has been revoked."), "success")
    return redirect(url_for("accounts.profile"))


@bp.route("/export")
@user_required
def export() -> Response:
    """Download everything the platform holds about the user, as JSON."""
    user = require_user()
    data = services.export_user_data(user)
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="meine-daten.json"'},
    )


@bp.route("/delete", methods=["GET", "POST"])
@user_required
def delete() -> Any:
    """Explain what erasure removes and keeps, then erase on confirmation."""
    user = require_user()
    form = DeleteAccountForm()
    if form.validate_on_submit():
        try:
            services.erase_account(user, form.password.data)
        except Invalid as exc:
            apply_errors(form, exc)
        else:
            session.clear()
            logout_user()
            flash(_("Your account has been deleted. Goodbye!"), "success")
            return redirect(url_for("main.home"))
    status = 422 if form.errors else 200
    return render_template("accounts/delete.html", form=form, retentions=gdpr.retentions()), status


admin_bp = Blueprint("admin", __name__, url_prefix="/admin")


@admin_bp.route("/users")
@admin_required
def users() -> Any:
    """Administrators see accounts and grant roles."""
    q = (request.args.get("q") or "").strip()
    query = sa.select(User).where(User.erased_at.is_(None)).order_by(User.name).limit(100)
    if q:
        like = f"%{q.lower()}%"
        query = query.where(sa.or_(sa.func.lower(User.name).like(like), User.email.like(like)))
    rows = db.session.execute(query).scalars().all()
    return render_template(
        "accounts/admin_users.html", users=rows, q=q, role_form=RoleForm(), roles=list(Role)
    )


@admin_bp.route("/users/<int:user_id>/role", methods=["POST"])
@admin_required
def grant_role(user_id: int) -> Any:
    """Grant a role (audited)."""
    actor = require_user()
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    form = RoleForm()
    if not form.validate_on_submit():
        raise Invalid(errors=form.errors)
    services.grant_role(actor, user, Role(form.role.data))
    label = dict((c.value, c.label) for c in RoleForm().role.choices)[user.role.value]
    flash(_("%(name)s now has the role %(role)s.", name=user.name, role=label), "success")
    return redirect(url_for("admin.users"))
