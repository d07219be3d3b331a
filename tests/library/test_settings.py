"""The lending settings are read, typed and checked at start-up (vhs/config.py)."""

from __future__ import annotations

import pytest

from vhs.config import ConfigError, Settings


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert (
        settings.library_loan_days_ebook,
        settings.library_loan_days_audiobook,
        settings.library_loan_days_emagazine,
        settings.library_max_loans,
        settings.library_max_holds,
        settings.library_hold_pickup_hours,
        settings.library_keep_history,
        settings.library_card_fee_cents,
    ) == (21, 14, 1, 10, 5, 48, False, 0)


def test_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {"VHS_LIBRARY_KEEP_HISTORY": "yes", "VHS_LIBRARY_LOAN_DAYS_VIDEO": "3"}
    )
    assert settings.library_keep_history is True and settings.library_loan_days_video == 3
    with pytest.raises(ConfigError, match="VHS_LIBRARY_MAX_LOANS"):
        Settings.from_env({"VHS_LIBRARY_MAX_LOANS": "zehn"})


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("VHS_LIBRARY_LOAN_DAYS_EBOOK", "0"),
        ("VHS_LIBRARY_LOAN_DAYS_EMAGAZINE", "367"),
        ("VHS_LIBRARY_MAX_LOANS", "0"),
        ("VHS_LIBRARY_MAX_HOLDS", "-1"),
        ("VHS_LIBRARY_HOLD_PICKUP_HOURS", "0"),
        ("VHS_LIBRARY_HOLD_PICKUP_HOURS", "721"),
        ("VHS_LIBRARY_CARD_FEE_CENTS", "-100"),
    ],
)
def test_out_of_bounds_refused_at_start_up(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env({variable: value}).validate()
