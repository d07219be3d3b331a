"""Library cards: issue at the desk (also to people without e-mail), apply online and confirm,
validity, block and unblock, PIN set, reset and changed.

Services take the acting user first, check, change, flush, audit and raise domain errors; they
never commit (the caller's unit of work does). A card's states: ``applied`` (online, waiting
for staff) → ``active`` ↔ ``blocked``; expiry is derived from ``valid_until``. Any other move is
a 409. PINs are hashed like passwords (argon2id) and shown once when the desk makes one up.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from library import rules
from library.models import CardState, LibraryCard, RetiredCardNumber
from library.patrons import auth
from library.patrons.eligibility import card_of, fee_cents, today
from library.patrons.labels import PIN_MESSAGES
from vhs.accounts.models import Role, User
from vhs.accounts.services import LOCALES, hash_password, verify_secret
from vhs.audit import audit
from vhs.db import db, lock, utcnow
from vhs.errors import Conflict, Forbidden, Invalid, NotFound
from vhs.mail import notify
from vhs.urls import external_url


@dataclass(frozen=True)
class Issued:
    """A card the desk has just issued or changed, and the PIN to show once (None: typed)."""

    card: LibraryCard
    pin: str | None


def require_staff(actor: User | None) -> User:
    """The acting staff member, or a refusal."""
    if actor is None or not actor.is_staff:
        raise Forbidden(_l("This area is for VHS staff only."), code="forbidden_role")
    return actor


# --- numbers and PINs ------------------------------------------------------------------------


def _number_taken(number: str) -> bool:
    """Whether a number belongs to a card, or did once (numbers are never reused)."""
    return bool(
        db.session.scalar(sa.select(sa.func.count()).where(LibraryCard.number == number))
        or db.session.get(RetiredCardNumber, number)
    )


def new_card_number() -> str:
    """A fresh number: the configured prefix, 10 random digits and the Luhn check digit.

    Random rather than counted up, so that knowing one number does not name the next patron's
    card; one not yet used (by a card that exists or existed) is drawn. The unique index on
    the number stands behind the check for the rare race of two desks drawing the same one.
    """
    prefix = current_app.config["VHS"].library_card_prefix
    for _attempt in range(20):
        body = prefix + "".join(
            secrets.choice("0123456789") for _ in range(rules.CARD_RANDOM_DIGITS)
        )
        number = body + rules.luhn_check_digit(body)
        if not _number_taken(number):
            return number
    raise RuntimeError("no free card number found in 20 draws: is the number space exhausted?")


def check_pin(pin: str | None, field: str = "pin") -> str:
    """``pin`` if it may be a PIN, else an ``Invalid`` naming ``field``."""
    problem = rules.pin_problem(pin)
    if problem is not None:
        raise Invalid(errors={field: [PIN_MESSAGES[problem]]}, code="invalid_pin")
    assert pin is not None
    return pin


def new_pin() -> str:
    """A random PIN of ``PIN_GENERATED_LENGTH`` digits that passes the rules."""
    while True:
        pin = "".join(secrets.choice("0123456789") for _ in range(rules.PIN_GENERATED_LENGTH))
        if rules.pin_problem(pin) is None:
            return pin


def _set_pin(card: LibraryCard, pin: str | None) -> str | None:
    """Hash ``pin`` (checked) onto the card, or a made-up one; returns the one to show once."""
    shown = None
    if pin is None or pin == "":
        pin = shown = new_pin()
    card.pin_hash = hash_password(check_pin(pin))
    return shown


def _end_sessions(user: User) -> None:
    """Log the person out everywhere (a PIN is as good as a password for their account)."""
    user.session_token = secrets.token_hex(16)


# --- loading ---------------------------------------------------------------------------------


def get_card(card_id: int) -> LibraryCard:
    """A card by id (staff), or 404."""
    card = db.session.get(LibraryCard, card_id)
    if card is None:
        raise NotFound(_l("This library card does not exist."), code="card_not_found")
    return card


def lock_card(card_id: int) -> LibraryCard:
    """A card under a row lock: its state changes are decided while holding it."""
    card = lock(LibraryCard, card_id)
    if card is None:
        raise NotFound(_l("This library card does not exist."), code="card_not_found")
    return card


def own_card(user: User) -> LibraryCard:
    """The user's own card, or 404 ``no_card``."""
    card = card_of(user)
    if card is None:
        raise NotFound(_l("You have no library card yet."), code="no_card")
    return card


def _no_card_yet(user: User) -> None:
    """Refuse a second card for one person (one card per account)."""
    card = card_of(user)
    if card is None:
        return
    if card.state is CardState.APPLIED:
        raise Conflict(
            _l("This person has applied for a card online: confirm the application instead."),
            code="card_applied",
        )
    raise Conflict(_l("This person already has a library card."), code="card_exists")


def _new_card(user: User, state: CardState) -> LibraryCard:
    card = LibraryCard(user_id=user.id, number=new_card_number(), state=state)
    card.user = user
    db.session.add(card)
    return card


def _first_validity() -> date:
    return rules.add_months(today(), current_app.config["VHS"].library_card_valid_months)


# --- the desk --------------------------------------------------------------------------------

PER_PAGE = 25  # cards (and people) per page at the desk


def like_pattern(q: str) -> str:
    """``q`` as a LIKE pattern matching it anywhere (its own % and _ taken literally)."""
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search_cards(q: str, state: str) -> Any:
    """Cards whose patron's name or e-mail address contains ``q``, or whose number does."""
    query = sa.select(LibraryCard).join(User, User.id == LibraryCard.user_id)
    if state in {s.value for s in CardState}:
        query = query.where(LibraryCard.state == CardState(state))
    if q:
        pattern = like_pattern(q.lower())
        conds = [
            sa.func.lower(User.name).like(pattern, escape="\\"),
            sa.func.lower(User.email).like(pattern, escape="\\"),
        ]
        digits = "".join(ch for ch in q if ch.isdigit())
        if digits:
            conds.append(LibraryCard.number.like(like_pattern(digits), escape="\\"))
        query = query.where(sa.or_(*conds))
    return query


def issue_card(actor: User, user: User, pin: str | None = None) -> Issued:
    """Issue an active card to an existing account at the desk; an empty PIN is made up."""
    require_staff(actor)
    if user.erased_at is not None:
        raise Conflict(_l("This account has been deleted."), code="account_erased")
    _no_card_yet(user)
    card = _new_card(user, CardState.ACTIVE)
    shown = _set_pin(card, pin)
    card.valid_until = _first_validity()
    card.issued_at = utcnow()
    card.issued_by_id = actor.id
    db.session.flush()
    audit(actor, "library.card_issued", card, user_id=user.id, pin_made_up=shown is not None)
    return Issued(card, shown)


def _clean(data: dict[str, Any], key: str, limit: int, *, required: bool) -> str:
    value = " ".join(str(data.get(key) or "").split())
    if required and not value:
        raise Invalid(errors={key: [_l("Please fill in this field.")]})
    if len(value) > limit:
        raise Invalid(errors={key: [_l("At most %(n)d characters.", n=limit)]})
    return value


def register_patron(actor: User, data: dict[str, Any], pin: str | None = None) -> Issued:
    """A person without an e-mail address gets an account and an active card at the desk.

    Only name and postal address are kept (how the library reaches them, and what invoices for
    the fee need); the account has no e-mail address and no password: the person logs in with
    card number and PIN.
    """
    require_staff(actor)
    name = _clean(data, "name", rules.NAME_MAX, required=True)
    street = _clean(data, "street", rules.STREET_MAX, required=True)
    postal_code = _clean(data, "postal_code", rules.POSTAL_CODE_MAX, required=True)
    city = _clean(data, "city", rules.CITY_MAX, required=True)
    locale = data.get("locale") or "de"
    if locale not in LOCALES:
        raise Invalid(errors={"locale": [_l("Choose German or English.")]})
    if pin:
        check_pin(pin)
    user = User(
        email=None,
        name=name,
        password_hash=None,
        role=Role.RESIDENT,
        locale=locale,
        street=street,
        postal_code=postal_code,
        city=city,
        session_token=secrets.token_hex(16),
    )
    db.session.add(user)
    db.session.flush()
    audit(actor, "library.patron_registered", user)
    return issue_card(actor, user, pin)


def confirm_application(actor: User, card: LibraryCard) -> LibraryCard:
    """Staff confirm an online application: the card is active and valid; the patron is mailed."""
    require_staff(actor)
    if card.state is not CardState.APPLIED:
        raise Conflict(_l("Only an application can be confirmed."), code="not_applied")
    card.state = CardState.ACTIVE
    card.valid_until = _first_validity()
    card.issued_at = utcnow()
    card.issued_by_id = actor.id
    audit(actor, "library.card_confirmed", card, user_id=card.user_id)
    notify(
        card.user,
        "library_card_confirmed",
        {"card": card, "url": external_url("library.my_card"), "fee_cents": fee_cents()},
    )
    return card


def set_validity(actor: User, card: LibraryCard, until: date) -> LibraryCard:
    """Set the card's last valid day: from today up to ten years ahead (extend, or correct)."""
    require_staff(actor)
    if card.state is CardState.APPLIED:
        raise Conflict(
            _l("Confirm the application first; the card is then valid for a year."),
            code="not_confirmed",
        )
    latest = rules.add_months(today(), rules.VALIDITY_MAX_MONTHS)
    if not today() <= until <= latest:
        raise Invalid(
            errors={"valid_until": [_l("Choose a day from today up to ten years ahead.")]}
        )
    previous = card.valid_until
    card.valid_until = until
    audit(
        actor,
        "library.card_validity",
        card,
        previous=previous.isoformat() if previous else None,
        valid_until=until.isoformat(),
    )
    return card


def block_card(actor: User, card: LibraryCard, reason: str) -> LibraryCard:
    """Block a card (lost, misuse), saying why; it can neither borrow nor log in."""
    require_staff(actor)
    reason = " ".join((reason or "").split())
    if not reason:
        raise Invalid(errors={"reason": [_l("Please say why the card is blocked.")]})
    if len(reason) > rules.BLOCK_REASON_MAX:
        raise Invalid(
            errors={"reason": [_l("At most %(n)d characters.", n=rules.BLOCK_REASON_MAX)]}
        )
    if card.state is CardState.BLOCKED:
        raise Conflict(_l("This card is blocked already."), code="card_blocked")
    card.state = CardState.BLOCKED
    card.blocked_reason = reason
    _end_sessions(card.user)
    audit(actor, "library.card_blocked", card, reason=reason)
    return card


def unblock_card(actor: User, card: LibraryCard) -> LibraryCard:
    """Lift a block: the card is active again (or back to an application never confirmed)."""
    require_staff(actor)
    if card.state is not CardState.BLOCKED:
        raise Conflict(_l("This card is not blocked."), code="card_not_blocked")
    card.state = CardState.ACTIVE if card.issued_at is not None else CardState.APPLIED
    card.blocked_reason = ""
    audit(actor, "library.card_unblocked", card)
    return card


def reset_pin(actor: User, card: LibraryCard, pin: str | None = None) -> Issued:
    """Staff set a new PIN (typed by the patron, or made up and shown once)."""
    require_staff(actor)
    shown = _set_pin(card, pin)
    _end_sessions(card.user)
    audit(actor, "library.pin_reset", card, pin_made_up=shown is not None)
    return Issued(card, shown)


# --- the patron ------------------------------------------------------------------------------


def apply_for_card(user: User, pin: str) -> LibraryCard:
    """A resident applies online, choosing their PIN; staff confirm the card."""
    if user.erased_at is not None:
        raise Forbidden(code="account_erased")
    if not user.email_verified:
        raise Forbidden(_l("Please confirm your e-mail address first."), code="email_not_verified")
    card = card_of(user)
    if card is not None:
        raise Conflict(_l("You already have a library card."), code="card_exists")
    check_pin(pin)
    card = _new_card(user, CardState.APPLIED)
    card.pin_hash = hash_password(pin)
    db.session.flush()
    audit(user, "library.card_applied", card)
    return card


def change_pin(user: User, current: str, new: str) -> LibraryCard:
    """The patron changes their PIN, proving it with the current PIN or their password.

    Wrong proofs count against the card number like failed card logins (brute force).
    """
    card = own_card(user)
    auth.check_not_limited(card.number)
    proven = verify_secret(card.pin_hash, current or "")
    if not proven and user.password_hash:
        proven = verify_secret(user.password_hash, current or "")
    if not proven:
        auth.count_failure(card.number)
        raise Invalid(errors={"current": [_l("This is neither your PIN nor your password.")]})
    card.pin_hash = hash_password(check_pin(new, "new_pin"))
    _end_sessions(user)
    return card


# --- erasure ---------------------------------------------------------------------------------


def retire_card(card: LibraryCard) -> None:
    """Delete a card (and its fee periods), keeping only its number so it is never reissued."""
    if db.session.get(RetiredCardNumber, card.number) is None:
        db.session.add(RetiredCardNumber(number=card.number))
    db.session.delete(card)
    db.session.flush()
