"""Account operations: registration, verification, login, passwords, roles, tokens, GDPR."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import joinedload

from vhs import gdpr
from vhs.accounts.models import ApiToken, Role, User
from vhs.audit import AuditEntry, audit
from vhs.db import db, utcnow
from vhs.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from vhs.mail import queue_mail
from vhs.mail.models import OutboxMessage
from vhs.urls import external_url

# OWASP: argon2id, 19 MiB, t=2, p=1.
PRODUCTION_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_hasher = PRODUCTION_HASHER
_DUMMY_HASH = _hasher.hash("not-a-real-password-but-equal-cost")


def use_hasher(hasher: PasswordHasher) -> None:
    """Hash and verify passwords and PINs with ``hasher`` from now on (the test suite uses
    argon2id at its lowest cost: thousands of logins, each as real as in production, without
    35 ms of hashing each). The application itself never calls this."""
    global _hasher, _DUMMY_HASH
    _hasher = hasher
    _DUMMY_HASH = hasher.hash("not-a-real-password-but-equal-cost")


MIN_PASSWORD_LENGTH = 10
VERIFY_MAX_AGE = 60 * 60 * 48
RESET_MAX_AGE = 60 * 60 * 2
LOCALES = ("de", "en")


def hash_password(password: str) -> str:
    """Hash a password with argon2id at OWASP's parameters."""
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    """Verify a password; rehash when the parameters have been raised since."""
    if not user.password_hash:
        _hasher.hash(password)
        return False
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return True


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    """Check a secret (a library card's PIN) against its argon2 hash, at the same cost whether
    or not there is a hash: without one a dummy hash is verified, so a missing card or account
    cannot be told from a wrong secret by the time the answer takes."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, secret or "x") and bool(stored_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def secret_needs_rehash(stored_hash: str) -> bool:
    """Whether a hash was made with weaker parameters than today's (rehash on next success)."""
    return _hasher.check_needs_rehash(stored_hash)


def validate_password(password: str, field: str = "password") -> None:
    """Refuse passwords shorter than ten characters."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise Invalid(errors={field: [_l("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)]})


def normalise_email(email: str) -> str:
    """E-mail addresses are compared case-insensitively and without surrounding spaces."""
    return (email or "").strip().lower()


def find_user_by_email(email: str) -> User | None:
    """The account with this address, if any."""
    return db.session.execute(
        sa.select(User).where(User.email == normalise_email(email))
    ).scalar_one_or_none()


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _fingerprint(user: User) -> str:
    """Changes when the password or e-mail changes, so old links stop working."""
    return (user.password_hash or "")[-16:] + (user.email or "")


def make_token(kind: str, user: User, **extra: Any) -> str:
    """A signed, expiring link token (verify, reset, email_change)."""

    fp = hashlib.sha256(_fingerprint(user).encode()).hexdigest()[:16]
    return _serializer(f"vhs-{kind}").dumps({"uid": user.id, "fp": fp, **extra})


def read_token(kind: str, token: str, max_age: int) -> tuple[User, dict[str, Any]]:
    """Check a link token's signature and age, and that it still fits the account."""

    try:
        data = _serializer(f"vhs-{kind}").loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise Invalid(
            _l("This link has expired. Please request a new one."), code="link_expired"
        ) from exc
    except BadSignature as exc:
        raise Invalid(_l("This link is not valid."), code="link_invalid") from exc
    user = db.session.get(User, data.get("uid"))
    if user is None or not user.is_active:
        raise Invalid(_l("This link is not valid."), code="link_invalid")
    fp = hashlib.sha256(_fingerprint(user).encode()).hexdigest()[:16]
    if data.get("fp") != fp:
        raise Invalid(_l("This link has already been used."), code="link_used")
    return user, data


def register(email: str, password: str, name: str, locale: str = "de") -> User | None:
    """Create a resident account and mail the verification link.

    If the address is taken, nobody learns it from the page: the owner gets a mail instead.
    """
    email = normalise_email(email)
    validate_password(password)
    if not name.strip():
        raise Invalid(errors={"name": [_l("Please enter your name.")]})
    existing = find_user_by_email(email)
    if existing is not None:
        queue_mail(existing, "account_exists", {"reset_url": external_url("accounts.forgot")})
        return None
    user = User(
        email=email,
        name=name.strip(),
        password_hash=hash_password(password),
        role=Role.RESIDENT,
        locale=locale if locale in LOCALES else "de",
        session_token=secrets.token_hex(16),
    )
    db.session.add(user)
    db.session.flush()
    send_verification(user)
    return user


def send_verification(user: User) -> None:
    """Mail a fresh verification link to the account's address."""
    token = make_token("verify", user, email=user.email)
    queue_mail(user, "verify_email", {"url": external_url("accounts.verify", token=token)})


def verify_email(token: str) -> User:
    """Mark the address as verified by the mailed link."""
    user, data = read_token("verify", token, VERIFY_MAX_AGE)
    if data.get("email") != user.email:
        raise Invalid(_l("This link is not valid."), code="link_invalid")
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    return user


def authenticate(email: str, password: str) -> User:
    """Check credentials; the same refusal for unknown address and wrong password."""
    user = find_user_by_email(email)
    if user is None or not user.is_active:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password or "x")
        raise Unauthorized(_l("E-mail address or password is wrong."), code="invalid_credentials")
    if not check_password(user, password):
        raise Unauthorized(_l("E-mail address or password is wrong."), code="invalid_credentials")
    user.last_login_at = utcnow()
    return user


def request_password_reset(email: str) -> None:
    """Mail a reset link if the account exists; the caller shows the same message either way."""
    user = find_user_by_email(email)
    if user is None or not user.is_active:
        return
    token = make_token("reset", user)
    queue_mail(user, "reset_password", {"url": external_url("accounts.reset", token=token)})


def reset_password(token: str, new_password: str) -> User:
    """Set a new password from a reset link; the link works once."""
    user, _ = read_token("reset", token, RESET_MAX_AGE)
    validate_password(new_password)
    user.password_hash = hash_password(new_password)
    user.session_token = secrets.token_hex(16)
    if user.email_verified_at is None:
        # The link reached the mailbox, which proves the address.
        user.email_verified_at = utcnow()
    queue_mail(user, "password_changed", {})
    return user


def change_password(user: User, current: str, new: str) -> None:
    """Change the password after checking the current one; other sessions end."""
    if not check_password(user, current):
        raise Invalid(errors={"current_password": [_l("The current password is wrong.")]})
    validate_password(new, "new_password")
    user.password_hash = hash_password(new)
    user.session_token = secrets.token_hex(16)
    queue_mail(user, "password_changed", {})


def request_email_change(user: User, password: str, new_email: str) -> None:
    """Mail a confirmation link to the new address; the change happens when it is clicked."""
    if not check_password(user, password):
        raise Invalid(errors={"password": [_l("The password is wrong.")]})
    new_email = normalise_email(new_email)
    if new_email == user.email:
        raise Invalid(errors={"new_email": [_l("This is already your address.")]})
    if find_user_by_email(new_email) is not None:
        raise Invalid(errors={"new_email": [_l("This address belongs to another account.")]})
    token = make_token("email_change", user, new_email=new_email)
    queue_mail(
        new_email,
        "confirm_email_change",
        {"url": external_url("accounts.confirm_email", token=token), "name": user.name},
        locale=user.locale,
    )


def confirm_email_change(token: str) -> User:
    """Switch the account to the new, now proven, address."""
    user, data = read_token("email_change", token, VERIFY_MAX_AGE)
    new_email = normalise_email(data.get("new_email", ""))
    if find_user_by_email(new_email) is not None:
        raise Conflict(_l("This address belongs to another account."), code="email_taken")
    old = user.email
    user.email = new_email
    user.email_verified_at = utcnow()
    if old:
        queue_mail(
            old, "email_changed", {"new_email": new_email, "name": user.name}, locale=user.locale
        )
    return user


def update_profile(user: User, data: dict[str, Any]) -> User:
    """Change name, language and postal address; nothing else is reachable from here."""
    allowed = {"name", "locale", "street", "postal_code", "city"}
    for key, value in data.items():
        if key not in allowed:
            raise Forbidden(_l("This field cannot be changed here."), code="field_not_editable")
        value = (value or "").strip()
        if key == "name" and not value:
            raise Invalid(errors={"name": [_l("Please enter your name.")]})
        if key == "locale" and value not in LOCALES:
            raise Invalid(errors={"locale": [_l("Choose German or English.")]})
        setattr(user, key, value)
    return user


def grant_role(actor: User, user: User, role: Role) -> User:
    """Give an account another role; only administrators may, and never to themselves."""
    if not actor.is_admin:
        raise Forbidden(_l("Only administrators can change roles."), code="not_admin")
    if actor.id == user.id:
        raise Conflict(_l("You cannot change your own role."), code="own_role")
    if user.erased_at is not None:
        raise Conflict(_l("This account has been deleted."), code="account_erased")
    previous = user.role
    user.role = Role(role)
    audit(actor, "user.role_granted", user, previous=previous.value, role=user.role.value)
    return user


def create_api_token(user: User, name: str) -> tuple[ApiToken, str]:
    """Create a personal API token; the plaintext is shown once and never stored."""
    if not user.email_verified:
        raise Forbidden(_l("Please confirm your e-mail address first."), code="email_not_verified")
    name = (name or "").strip()[:80] or "API"
    plaintext = "vhs_" + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id, name=name, prefix=plaintext[:10], token_hash=ApiToken.digest(plaintext)
    )
    db.session.add(token)
    db.session.flush()
    return token, plaintext


def revoke_api_token(user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound()
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token


def user_for_token(plaintext: str) -> User | None:
    """The active account behind an API token, recording when it was last used."""
    token = db.session.execute(
        sa.select(ApiToken)
        .where(ApiToken.token_hash == ApiToken.digest(plaintext))
        .options(joinedload(ApiToken.user))  # one statement per API request, not two
    ).scalar_one_or_none()
    if token is None or not token.active or not token.user.is_active:
        return None
    now = utcnow()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 300:
        token.last_used_at = now
    return token.user


def create_user_by_operator(
    email: str, name: str, role: Role, password: str | None = None
) -> tuple[User, str | None]:
    """Operator-made accounts count as verified; a random password is made if none is given."""
    email = normalise_email(email)
    if find_user_by_email(email) is not None:
        raise Conflict(_l("This address belongs to another account."), code="email_taken")
    generated = None
    if password is None:
        generated = password = secrets.token_urlsafe(12)
    validate_password(password)
    user = User(
        email=email,
        name=name,
        role=role,
        password_hash=hash_password(password),
        email_verified_at=utcnow(),
        session_token=secrets.token_hex(16),
    )
    db.session.add(user)
    db.session.flush()
    audit(None, "user.created_by_operator", user, role=role.value)
    return user, generated


def export_user_data(user: User) -> dict[str, Any]:
    """Everything the platform holds about the user, for "download my data"."""
    return {
        "generated_at": utcnow().isoformat(),
        "platform": current_app.config["VHS"].org_name,
        **gdpr.export_sections(user),
    }


def erase_account(user: User, password: str) -> None:
    """Erase personal data; records that accounting must keep stay, without the identity."""
    if not check_password(user, password):
        raise Invalid(errors={"password": [_l("The password is wrong.")]})
    if user.is_admin:
        remaining = db.session.scalar(
            sa.select(sa.func.count(User.id)).where(
                User.role == Role.ADMIN, User.erased_at.is_(None), User.id != user.id
            )
        )
        if not remaining:
            raise Conflict(
                _l("The last administrator cannot delete their account."), code="last_admin"
            )
    gdpr.run_erasers(user)
    user.email = None
    user.name = _anonymous_name(user)
    user.password_hash = None
    user.street = user.postal_code = user.city = ""
    user.email_verified_at = None
    user.session_token = secrets.token_hex(16)
    user.erased_at = utcnow()
    for token in user.api_tokens:
        token.revoked_at = token.revoked_at or utcnow()
    audit(None, "user.erased", user)


def _anonymous_name(user: User) -> str:
    return f"Gelöschtes Konto #{user.id}"


# --- the core's own parts of the GDPR export and erasure -------------------------------------


def _export_account(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role.value,
        "locale": user.locale,
        "postal_address": {
            "street": user.street,
            "postal_code": user.postal_code,
            "city": user.city,
        },
        "email_verified_at": _iso(user.email_verified_at),
        "created_at": _iso(user.created_at),
        "last_login_at": _iso(user.last_login_at),
        "api_tokens": [
            {
                "name": t.name,
                "prefix": t.prefix,
                "created_at": _iso(t.created_at),
                "last_used_at": _iso(t.last_used_at),
                "revoked_at": _iso(t.revoked_at),
            }
            for t in user.api_tokens
        ],
    }


def _export_mail(user: User) -> list[dict[str, Any]]:
    rows = db.session.execute(
        sa.select(OutboxMessage).where(OutboxMessage.user_id == user.id).order_by(OutboxMessage.id)
    ).scalars()
    return [
        {
            "to": m.to_address,
            "subject": m.subject,
            "status": m.status.value,
            "created_at": _iso(m.created_at),
            "sent_at": _iso(m.sent_at),
        }
        for m in rows
    ]


def _export_audit(user: User) -> list[dict[str, Any]]:
    rows = db.session.execute(
        sa.select(AuditEntry)
        .where(
            sa.or_(
                AuditEntry.actor_id == user.id,
                sa.and_(AuditEntry.object_type == "users", AuditEntry.object_id == str(user.id)),
            )
        )
        .order_by(AuditEntry.id)
    ).scalars()
    return [
        {"at": _iso(a.at), "action": a.action, "object": f"{a.object_type}:{a.object_id}"}
        for a in rows
    ]


def _erase_mail(user: User) -> None:
    db.session.execute(sa.delete(OutboxMessage).where(OutboxMessage.user_id == user.id))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


gdpr.register_exporter("account", _export_account)
gdpr.register_exporter("emails", _export_mail)
gdpr.register_exporter("audit_log", _export_audit)
gdpr.register_eraser(
    "mail",
    _erase_mail,
    gdpr.Retention(
        what=_l("The audit log of actions staff took on your account, without your name."),
        why=_l("Public bodies must be able to show who changed what (accountability)."),
    ),
)
