"""media/rules.py: every limit once; ISBN and ISSN check digits; ISO 639 codes."""

from __future__ import annotations

import contextlib

import pytest

from media import models, rules

# --- ISBN ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "isbn"),
    [
        ("978-3-16-148410-0", "9783161484100"),
        ("9783161484100", "9783161484100"),
        ("ISBN 978-3-16-148410-0", "9783161484100"),
        ("ISBN-13: 978 3 16 148410 0", "9783161484100"),
        ("979-10-90636-07-1", "9791090636071"),
        # ISBN-10 is converted to ISBN-13 (978 prefix, check digit computed anew)
        ("3-16-148410-X", "9783161484100"),
        ("316148410x", "9783161484100"),
        ("ISBN 0-8044-2957-X", "9780804429573"),
        ("0‑8044‑2957‑X", "9780804429573"),  # non-breaking hyphens from a publisher's site
    ],
)
def test_normalise_isbn_accepts_both_lengths(text: str, isbn: str) -> None:
    assert rules.normalise_isbn(text) == isbn


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("978-3-16-148410-1", rules.BAD_CHECK_DIGIT),
        ("978-3-16-148410-9", rules.BAD_CHECK_DIGIT),
        ("3-16-148410-9", rules.BAD_CHECK_DIGIT),  # ISBN-10 with a wrong check digit
        ("0-8044-2957-1", rules.BAD_CHECK_DIGIT),
        ("977-3-16-148410-1", rules.BAD_PREFIX),  # an ISSN's EAN, not an ISBN
        ("12345", rules.BAD_LENGTH),
        ("", rules.BAD_LENGTH),
        ("97831614841000", rules.BAD_LENGTH),
        ("978-3-16-ABCDE-0", rules.BAD_CHARACTERS),
        ("31614X410X", rules.BAD_CHARACTERS),  # X only as an ISBN-10's last character
        ("978316148410X", rules.BAD_CHARACTERS),
    ],
)
def test_normalise_isbn_refuses_wrong_numbers(text: str, reason: str) -> None:
    with pytest.raises(rules.IdentifierError) as exc:
        rules.normalise_isbn(text)
    assert exc.value.reason == reason


def test_every_isbn_check_digit_but_one_is_refused() -> None:
    """Control: of the ten possible last digits exactly the right one passes."""
    accepted = []
    for digit in "0123456789":
        with contextlib.suppress(rules.IdentifierError):
            accepted.append(rules.normalise_isbn("978316148410" + digit))
    assert accepted == ["9783161484100"]


# --- ISSN ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "issn"),
    [("0317-8471", "0317-8471"), ("03178471", "0317-8471"), ("ISSN 2434-561x", "2434-561X")],
)
def test_normalise_issn(text: str, issn: str) -> None:
    assert rules.normalise_issn(text) == issn


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0317-8472", rules.BAD_CHECK_DIGIT),
        ("0317-847", rules.BAD_LENGTH),
        ("0317-84A1", rules.BAD_CHARACTERS),
    ],
)
def test_normalise_issn_refuses(text: str, reason: str) -> None:
    with pytest.raises(rules.IdentifierError) as exc:
        rules.normalise_issn(text)
    assert exc.value.reason == reason


# --- languages -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "kept"),
    [
        ("de", "de"),
        ("DE", "de"),
        ("ger", "de"),  # ISO 639-2/B, as MARC records carry it
        ("deu", "de"),  # ISO 639-2/T
        ("fre", "fr"),
        ("gsw", "gsw"),  # Swiss German: no ISO 639-1 code
        ("nds", "nds"),
        ("mul", "mul"),
        ("zxx", "zxx"),
        ("iw", "he"),  # withdrawn ISO 639-1 code
    ],
)
def test_normalise_language(code: str, kept: str) -> None:
    assert rules.normalise_language(code) == kept


@pytest.mark.parametrize("code", ["xx", "deutsch", "d", "", "qqq", "de-DE"])
def test_unknown_languages_are_refused(code: str) -> None:
    assert rules.normalise_language(code) is None


def test_all_iso_639_1_codes_are_known() -> None:
    assert len([c for c in rules.LANGUAGE_CODES if len(c) == 2]) >= 183


# --- bounds and the columns -------------------------------------------------------------------


def test_bounds_refuse_bools_and_fractions() -> None:
    assert 2000 in rules.YEAR
    assert 1399 not in rules.YEAR and 2201 not in rules.YEAR
    assert True not in rules.PAGES
    assert 1.0 not in rules.PAGES


def test_columns_agree_with_the_rules() -> None:
    """Each limit lives in rules; the model's columns and constraints have the same values."""
    items = models.MediaItem.__table__.c
    assert items.title.type.length == rules.TITLE_MAX
    assert items.subtitle.type.length == rules.SUBTITLE_MAX
    assert items.publisher.type.length == rules.PUBLISHER_MAX
    assert items.classification.type.length == rules.CLASSIFICATION_MAX
    assert items.series_title.type.length == rules.SERIES_TITLE_MAX
    assert items.language.type.length == max(len(c) for c in rules.LANGUAGE_CODES)
    assert models.Contributor.__table__.c.name.type.length == rules.CONTRIBUTOR_NAME_MAX
    assert models.Subject.__table__.c.term.type.length == rules.SUBJECT_MAX
    assert models.Identifier.__table__.c.value.type.length == rules.IDENTIFIER_MAX
    assert models.AGE_RATINGS == rules.AGE_RATINGS
    checks = {
        str(c.name).removeprefix("ck_media_items_"): str(c.sqltext)
        for c in models.MediaItem.__table__.constraints
        if hasattr(c, "sqltext")
    }
    assert f"year >= {rules.YEAR.lo} AND year <= {rules.YEAR.hi}" in checks["year"]
    assert f"IN ({', '.join(map(str, rules.AGE_RATINGS))})" in checks["min_age"]
    assert f"series_number >= {rules.SERIES_NUMBER.lo}" in checks["series_number"]
    assert "pages > 0" in checks["pages"] and rules.PAGES.lo == 1
    assert "duration_seconds > 0" in checks["duration_seconds"] and rules.DURATION_SECONDS.lo == 1
