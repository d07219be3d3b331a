"""Stocking the catalogue (media/catalogue/services.py): every refusal, identifiers, states."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from media import rules
from media.catalogue import services
from media.models import (
    ContributorRole,
    Identifier,
    IdentifierScheme,
    MediaItem,
    MediaKind,
    PublicationState,
)
from vhs.accounts.models import User
from vhs.audit import AuditEntry
from vhs.db import db
from vhs.errors import Conflict, Forbidden, Invalid, NotFound


@pytest.fixture
def staff(app: Flask, staff_member: User) -> Iterator[User]:
    """The staff member, inside an app context that lasts the test."""
    with app.app_context():
        yield db.session.get(User, staff_member.id)


def _data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": "ebook",
        "title": "Tod am Deich",
        "contributors": [{"name": "Anna Berg", "role": "author"}],
    }
    data.update(overrides)
    return data


def _refusal(staff: User, **overrides: Any) -> dict[str, list[str]]:
    """The field errors ``save_item`` answers for ``overrides`` (it must refuse)."""
    with pytest.raises(Invalid) as exc:
        services.save_item(staff, _data(**overrides))
    return {k: [str(m) for m in v] for k, v in exc.value.errors.items()}


# --- creating --------------------------------------------------------------------------------


def test_save_item_creates_a_draft_with_everything(staff: User) -> None:
    item = services.save_item(
        staff,
        _data(
            subtitle="Ein  Nordsee-Krimi",
            kind=MediaKind.AUDIOBOOK,
            contributors=[
                {"name": " Anna  Berg ", "role": "author"},
                {"name": "Jens Wawrczeck", "role": ContributorRole.NARRATOR},
            ],
            identifiers=[{"scheme": "isbn", "value": "3-16-148410-X"}],
            subjects=["Krimi", "Nordsee", "krimi"],
            publisher="Deichverlag",
            year=2021,
            language="ger",
            series_title="Die Deich-Krimis",
            series_number=3,
            min_age=12,
            duration_seconds=27900,
            classification="SL",
            description="Ein Mord am Deich.\n\nKommissarin Ahlers ermittelt.",
        ),
    )
    assert item.id is not None
    assert item.state is PublicationState.DRAFT
    assert item.kind is MediaKind.AUDIOBOOK
    assert item.subtitle == "Ein Nordsee-Krimi"  # white space collapsed
    assert [(c.name, c.role, c.position) for c in item.contributors] == [
        ("Anna Berg", ContributorRole.AUTHOR, 0),
        ("Jens Wawrczeck", ContributorRole.NARRATOR, 1),
    ]
    assert [(i.scheme, i.value) for i in item.identifiers] == [
        (IdentifierScheme.ISBN, "9783161484100")  # ISBN-10 kept as ISBN-13
    ]
    assert sorted(s.term for s in item.subjects) == ["Krimi", "Nordsee"]  # "krimi" once
    assert item.language == "de"
    assert item.description == "Ein Mord am Deich.\n\nKommissarin Ahlers ermittelt."
    assert item.search_head.split("\n") == [
        "Tod am Deich",
        "Ein Nordsee-Krimi",
        "Die Deich-Krimis",
        "Anna Berg",
        "Jens Wawrczeck",
    ]
    for word in ("Krimi", "Nordsee", "SL", "Deichverlag", "Kommissarin"):
        assert word in item.search_document
    entry = db.session.execute(
        sa.select(AuditEntry).where(AuditEntry.action == "media_item.created")
    ).scalar_one()
    assert entry.object_id == str(item.id) and entry.actor_id == staff.id


def test_only_staff_stock_the_catalogue(
    app: Flask, make_user: Callable[..., User], staff: User
) -> None:
    for role in ("resident", "instructor"):
        person = db.session.get(User, make_user(role).id)
        with pytest.raises(Forbidden):
            services.save_item(person, _data())
    item = services.save_item(staff, _data())
    resident = db.session.get(User, make_user("resident").id)
    for action in (services.publish_item, services.withdraw_item):
        with pytest.raises(Forbidden):
            action(resident, item)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": None}, "title"),
        ({"title": "x" * (rules.TITLE_MAX + 1)}, "title"),
        ({"title": 42}, "title"),
        ({"kind": "vinyl"}, "kind"),
        ({"kind": None}, "kind"),
        ({"subtitle": "x" * (rules.SUBTITLE_MAX + 1)}, "subtitle"),
        ({"description": "x" * (rules.DESCRIPTION_MAX + 1)}, "description"),
        ({"year": rules.YEAR.lo - 1}, "year"),
        ({"year": rules.YEAR.hi + 1}, "year"),
        ({"year": 2001.5}, "year"),
        ({"year": True}, "year"),
        ({"series_title": "Reihe", "series_number": -1}, "series_number"),
        ({"series_number": 3}, "series_title"),  # a volume needs its series
        ({"pages": 0}, "pages"),
        ({"duration_seconds": rules.DURATION_SECONDS.hi + 1}, "duration_seconds"),
        ({"min_age": 14}, "min_age"),
        ({"min_age": True}, "min_age"),
        ({"language": "deutsch"}, "language"),
        ({"language": None}, "language"),
        ({"cover_sha256": "../../etc/passwd"}, "cover_sha256"),
        ({"contributors": [{"name": "", "role": "author"}]}, "contributors"),
        ({"contributors": [{"name": "Anna Berg", "role": "singer"}]}, "contributors"),
        ({"contributors": ["Anna Berg"]}, "contributors"),
        ({"contributors": "Anna Berg"}, "contributors"),
        (
            {"contributors": [{"name": "A", "role": "author"}] * (rules.CONTRIBUTORS_MAX + 1)},
            "contributors",
        ),
        ({"identifiers": [{"scheme": "isbn", "value": "978-3-16-148410-1"}]}, "identifiers"),
        ({"identifiers": [{"scheme": "issn", "value": "0317-8472"}]}, "identifiers"),
        ({"identifiers": [{"scheme": "doi", "value": "10.1000/1"}]}, "identifiers"),
        ({"identifiers": [{"scheme": "other", "value": "  "}]}, "identifiers"),
        ({"subjects": [""]}, "subjects"),
        ({"subjects": ["x" * (rules.SUBJECT_MAX + 1)]}, "subjects"),
        ({"subjects": [f"s{i}" for i in range(rules.SUBJECTS_MAX + 1)]}, "subjects"),
        ({"colour": "red"}, "colour"),  # unknown keys are refused, not lost
    ],
)
def test_save_item_refuses_invalid_data(staff: User, overrides: dict[str, Any], field: str) -> None:
    errors = _refusal(staff, **overrides)
    assert field in errors, errors
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MediaItem)) == 0


def test_a_wrong_check_digit_is_named(staff: User) -> None:
    errors = _refusal(
        staff,
        identifiers=[
            {"scheme": "isbn", "value": "978-3-16-148410-0"},
            {"scheme": "isbn", "value": "978-3-16-148410-1"},
        ],
    )
    assert errors == {
        "identifiers": ["Eintrag 2: Die Prüfziffer stimmt nicht: Bitte prüfen Sie die Nummer."]
    }


def test_all_problems_are_listed_at_once(staff: User) -> None:
    errors = _refusal(staff, title="", year=1000, min_age=7)
    assert set(errors) == {"title", "year", "min_age"}


def test_creating_needs_kind_and_title(staff: User) -> None:
    with pytest.raises(Invalid) as exc:
        services.save_item(staff, {"subjects": ["Krimi"]})
    assert set(exc.value.errors) == {"kind", "title"}


def test_an_item_without_people_or_numbers_is_fine(staff: User) -> None:
    item = services.save_item(staff, {"kind": "emagazine", "title": "Stadtmagazin 3/2027"})
    assert item.contributors == [] and item.language == "de"


# --- identifiers -----------------------------------------------------------------------------


def test_an_isbn_of_another_item_is_a_conflict(staff: User) -> None:
    first = services.save_item(staff, _data(identifiers=[{"value": "978-3-16-148410-0"}]))
    with pytest.raises(Conflict) as exc:
        # the same number as ISBN-10: still the same book
        services.save_item(
            staff, _data(title="Anderes Buch", identifiers=[{"value": "3-16-148410-X"}])
        )
    assert exc.value.code == "identifier_taken"
    assert exc.value.extra == {"item_id": first.id}
    assert "Tod am Deich" in str(exc.value.detail)
    other = services.save_item(staff, _data(title="Anderes Buch"))
    with pytest.raises(Conflict):
        services.save_item(staff, {"identifiers": [{"value": "9783161484100"}]}, other)


def test_the_same_number_in_another_scheme_is_no_conflict(staff: User) -> None:
    services.save_item(staff, _data(identifiers=[{"scheme": "other", "value": "A-17"}]))
    item = services.save_item(staff, _data(identifiers=[{"scheme": "other", "value": "a-17"}]))
    assert item.identifiers[0].value == "a-17"


def test_saving_an_item_keeps_its_own_numbers(staff: User) -> None:
    item = services.save_item(
        staff,
        _data(identifiers=[{"value": "978-3-16-148410-0"}, {"scheme": "other", "value": "X1"}]),
    )
    kept = item.identifiers[0].id
    # the same ISBN again (as ISBN-10), one number dropped, one added: no unique clash
    services.save_item(
        staff,
        {
            "identifiers": [
                {"value": "3-16-148410-X"},
                {"scheme": "issn", "value": "0317-8471"},
            ]
        },
        item,
    )
    db.session.flush()
    rows = db.session.execute(
        sa.select(Identifier.id, Identifier.scheme, Identifier.value).order_by(Identifier.id)
    ).all()
    assert [(r.scheme, r.value) for r in rows] == [
        (IdentifierScheme.ISBN, "9783161484100"),
        (IdentifierScheme.ISSN, "0317-8471"),
    ]
    assert rows[0].id == kept


# --- editing ---------------------------------------------------------------------------------


def test_editing_changes_only_what_is_sent(staff: User) -> None:
    item = services.save_item(staff, _data(year=2020, subjects=["Krimi", "Nordsee"]))
    services.save_item(
        staff,
        {
            "title": "Tod am Watt",
            "contributors": [
                {"name": "Jens Wawrczeck", "role": "narrator"},
                {"name": "Anna Berg", "role": "author"},
            ],
            "subjects": ["Nordsee", "Watt"],
        },
        item,
    )
    assert item.year == 2020 and item.kind is MediaKind.EBOOK
    assert [c.name for c in item.contributors] == ["Jens Wawrczeck", "Anna Berg"]
    assert [c.position for c in item.contributors] == [0, 1]
    assert sorted(s.term for s in item.subjects) == ["Nordsee", "Watt"]
    assert item.search_head.startswith("Tod am Watt\n")
    assert "Watt" in item.search_document and "Krimi" not in item.search_document
    services.save_item(staff, {"contributors": [], "subjects": []}, item)
    assert item.contributors == [] and item.subjects == []
    assert db.session.execute(
        sa.select(AuditEntry.action).where(AuditEntry.object_id == str(item.id))
    ).scalars().all() == ["media_item.created", "media_item.saved", "media_item.saved"]


def test_a_series_number_may_stay_when_the_series_is_set(staff: User) -> None:
    item = services.save_item(staff, _data(series_title="Deich-Krimis", series_number=2))
    with pytest.raises(Invalid) as exc:
        services.save_item(staff, {"series_title": ""}, item)
    assert set(exc.value.errors) == {"series_title"}
    services.save_item(staff, {"series_title": "", "series_number": None}, item)
    assert item.series_number is None


# --- publishing and withdrawing -------------------------------------------------------------


def test_publish_and_withdraw_transitions(staff: User) -> None:
    item = services.save_item(staff, _data())
    with pytest.raises(Conflict) as exc:
        services.withdraw_item(staff, item)  # a draft is not in the catalogue
    assert exc.value.code == "not_published"

    services.publish_item(staff, item)
    assert item.state is PublicationState.PUBLISHED and item.published_at is not None
    with pytest.raises(Conflict) as exc:
        services.publish_item(staff, item)
    assert exc.value.code == "already_published"

    services.withdraw_item(staff, item)
    assert item.state is PublicationState.WITHDRAWN and item.withdrawn_at is not None
    with pytest.raises(Conflict):
        services.withdraw_item(staff, item)
    # history stays: the record, its people, and every step in the audit log
    assert db.session.get(MediaItem, item.id).contributors[0].name == "Anna Berg"

    services.publish_item(staff, item)  # published again
    assert item.state is PublicationState.PUBLISHED and item.withdrawn_at is None
    actions = (
        db.session.execute(
            sa.select(AuditEntry.action)
            .where(AuditEntry.object_type == "media_items", AuditEntry.object_id == str(item.id))
            .order_by(AuditEntry.id)
        )
        .scalars()
        .all()
    )
    assert actions == [
        "media_item.created",
        "media_item.published",
        "media_item.withdrawn",
        "media_item.published",
    ]


def test_get_item_hides_drafts_and_withdrawn_items_from_the_public(
    staff: User, make_user: Callable[..., User]
) -> None:
    resident = db.session.get(User, make_user("resident").id)
    draft = services.save_item(staff, _data(title="Entwurf"))
    published = services.publish_item(staff, services.save_item(staff, _data(title="Da")))
    withdrawn = services.save_item(staff, _data(title="Weg"))
    services.publish_item(staff, withdrawn)
    services.withdraw_item(staff, withdrawn)
    for hidden in (draft, withdrawn):
        for user in (None, resident):
            with pytest.raises(NotFound) as exc:
                services.get_item(hidden.id, user)
            assert exc.value.code == "media_not_found"
        assert services.get_item(hidden.id, staff).id == hidden.id
    assert services.get_item(published.id, None).id == published.id
    with pytest.raises(NotFound):
        services.get_item(999_999, staff)
    with pytest.raises(NotFound):
        services.lock_item(999_999)


def test_by_same_people_lists_other_published_items(staff: User) -> None:
    def make(title: str, author: str, publish: bool = True, year: int | None = None) -> MediaItem:
        item = services.save_item(
            staff, _data(title=title, year=year, contributors=[{"name": author}])
        )
        return services.publish_item(staff, item) if publish else item

    item = make("Eins", "Anna Berg")
    newer = make("Zwei", "Anna Berg", year=2024)
    older = make("Drei", "Anna Berg", year=2001)
    make("Entwurf", "Anna Berg", publish=False)
    make("Fremd", "Ole Olsen")
    people, others = services.by_same_people(item)
    assert people == ["Anna Berg"]
    assert [o.id for o in others] == [newer.id, older.id]
    nobody = services.save_item(staff, _data(title="Anonym", contributors=[]))
    assert services.by_same_people(nobody) == ([], [])
