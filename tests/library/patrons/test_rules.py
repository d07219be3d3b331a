"""Card numbers (prefix, 10 random digits, Luhn), PIN rules and hashing, validity arithmetic;
the form, the API schema and the service accept and refuse the same PINs."""

from __future__ import annotations

from datetime import date

import pytest
from argon2 import extract_parameters
from werkzeug.datastructures import MultiDict

from library import rules
from library.models import LibraryCard, RetiredCardNumber
from library.patrons import forms, schemas, services
from vhs.accounts.models import User
from vhs.accounts.services import hash_password, verify_secret
from vhs.config import ConfigError, Settings
from vhs.db import db
from vhs.errors import Invalid


def test_luhn_check_digit_of_known_numbers():
    # The example of ISO/IEC 7812 and a test card number.
    assert rules.luhn_check_digit("7992739871") == "3"
    assert rules.luhn_check_digit("411111111111111") == "1"
    assert rules.luhn_check_digit("0") == "0"


def test_a_typed_number_is_normalised_and_checked():
    number = "58" + "1234567890"
    number += rules.luhn_check_digit(number)
    assert rules.normalise_card_number(number) == number
    assert rules.normalise_card_number(f" {number[:4]} {number[4:8]}-{number[8:]} ") == number
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    assert rules.normalise_card_number(wrong) is None  # one digit wrong
    swapped = number[:3] + number[4] + number[3] + number[5:]
    assert rules.normalise_card_number(swapped) is None  # neighbours swapped
    for bad in ("", None, "12", "5812345678９0", "58abc", "1" * 30, "58\x001234567890"):
        assert rules.normalise_card_number(bad) is None, bad


def test_generated_numbers(app):
    with app.app_context():
        numbers = {services.new_card_number() for _ in range(200)}
    assert len(numbers) == 200
    for number in numbers:
        assert number.startswith("58") and len(number) == 2 + 10 + 1
        assert rules.normalise_card_number(number) == number


def test_the_prefix_comes_from_the_settings(app, settings):
    with settings(library_card_prefix="4711"), app.app_context():
        number = services.new_card_number()
    assert number.startswith("4711") and len(number) == 15
    with settings(library_card_prefix=""), app.app_context():
        assert len(services.new_card_number()) == 11


def test_a_number_is_never_issued_twice_nor_after_its_card_is_gone(
    app, monkeypatch, make_user, make_card
):
    card = make_card(make_user())
    retired = "58" + "0000000001"
    retired += rules.luhn_check_digit(retired)
    draws = iter([card.number[2:-1], retired[2:-1], "7777777777"])
    monkeypatch.setattr(services.secrets, "choice", _digits_from(draws))
    with app.app_context():
        db.session.add(RetiredCardNumber(number=retired))
        db.session.flush()
        number = services.new_card_number()
    assert number[2:-1] == "7777777777"


def _digits_from(draws):
    """A stand-in for ``secrets.choice`` that hands out the digits of prepared draws."""
    pending: list[str] = []

    def choice(_alphabet):
        if not pending:
            pending.extend(next(draws))
        return pending.pop(0)

    return choice


@pytest.mark.parametrize(
    ("pin", "problem"),
    [
        ("2580", None),
        ("97531", None),
        ("12345670", None),
        ("1357", None),
        ("123", rules.PIN_NOT_DIGITS),
        ("123456789", rules.PIN_NOT_DIGITS),
        ("12a4", rules.PIN_NOT_DIGITS),
        ("١٢٣٤٥", rules.PIN_NOT_DIGITS),  # Arabic-Indic digits are digits, but not ours
        ("", rules.PIN_NOT_DIGITS),
        ("0000", rules.PIN_TOO_WEAK),
        ("99999999", rules.PIN_TOO_WEAK),
        ("1234", rules.PIN_TOO_WEAK),
        ("45678", rules.PIN_TOO_WEAK),
        ("8765", rules.PIN_TOO_WEAK),
    ],
)
def test_pin_rules_agree_in_form_schema_and_service(app, pin, problem):
    assert rules.pin_problem(pin) == problem
    with app.test_request_context(method="POST"):
        form = forms.ApplyForm(
            formdata=MultiDict({"pin": pin, "pin_confirm": pin}), meta={"csrf": False}
        )
        assert form.validate() is (problem is None), form.errors
        errors = schemas.ApplySchema().validate({"pin": pin})
        assert (errors == {}) is (problem is None), errors
        if problem is None:
            assert services.check_pin(pin) == pin
        else:
            with pytest.raises(Invalid):
                services.check_pin(pin)


def test_pins_are_hashed_like_passwords(app, make_user):
    with app.app_context(), app.test_request_context():
        user = db.session.get(User, make_user().id)
        card = services.apply_for_card(user, "2580")
        stored = db.session.get(LibraryCard, card.id).pin_hash
    # argon2id with the parameters passwords get (production's are OWASP's, tested in
    # tests/vhs/test_accounts.py; the suite hashes at argon2's lowest cost).
    assert stored.startswith("$argon2id$v=19$")
    assert extract_parameters(stored) == extract_parameters(hash_password("a password"))
    assert verify_secret(stored, "2580") and not verify_secret(stored, "2581")
    assert not verify_secret(None, "2580")


def test_made_up_pins_pass_the_rules():
    for _ in range(200):
        pin = services.new_pin()
        assert len(pin) == rules.PIN_GENERATED_LENGTH and rules.pin_problem(pin) is None


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2027, 3, 10), 12, date(2028, 3, 10)),
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2027, 12, 15), 1, date(2028, 1, 15)),
        (date(2027, 5, 31), 120, date(2037, 5, 31)),
    ],
)
def test_add_months(day, months, expected):
    assert rules.add_months(day, months) == expected


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("VHS_LIBRARY_CARD_PREFIX", "58A"),
        ("VHS_LIBRARY_CARD_PREFIX", "1234567"),
        ("VHS_LIBRARY_CARD_VALID_MONTHS", "0"),
        ("VHS_LIBRARY_CARD_VALID_MONTHS", "121"),
        ("VHS_LIBRARY_CARD_FEE_CENTS", "-1"),
        ("VHS_LIBRARY_CARD_FEE_CENTS", "100001"),
    ],
)
def test_bad_library_settings_stop_the_start_naming_the_variable(name, value):
    settings = Settings.from_env({name: value})
    with pytest.raises(ConfigError, match=name):
        settings.validate()


def test_the_library_settings_defaults():
    settings = Settings.from_env({})
    settings.validate()
    assert (
        settings.library_card_prefix,
        settings.library_card_valid_months,
        settings.library_card_fee_cents,
    ) == ("58", 12, 0)
