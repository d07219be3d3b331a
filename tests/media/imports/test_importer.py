"""Importing: items created as drafts (or published), a second run updates or leaves alone
instead of duplicating, each record all or nothing, refusals reported with position and
reason, ONIX deletions withdraw, one audit entry per run."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError

from media.imports.models import ImportState
from media.models import ContributorRole, MediaItem, MediaKind, PublicationState, Subject
from tests.media.imports import samples as s
from vhs.audit import AuditEntry
from vhs.db import db


def test_marc_records_become_draft_items(run_import, item_by_isbn) -> None:
    data = s.marc_bytes(
        s.marc_record(subjects=("Krimi",), series=("Nordsee-Krimis", "3")),
        s.marc_record("Ebbe", isbn=s.ISBNS[1], control="2"),
    )
    out = run_import(data, "dnb.mrc")
    assert out.run.state is ImportState.DONE
    assert out.counts == {"created": 2, "updated": 0, "unchanged": 0, "withdrawn": 0, "rejected": 0}
    assert (out.run.total, out.run.position) == (2, 2)
    item = item_by_isbn(s.ISBNS[0])
    assert item.state is PublicationState.DRAFT
    assert item.title == "Tod am Deich" and item.kind is MediaKind.EBOOK
    assert [(c.name, c.role) for c in item.contributors] == [("Anna Berg", ContributorRole.AUTHOR)]
    assert [t.term for t in item.subjects] == ["Krimi"]
    assert (item.series_title, item.series_number) == ("Nordsee-Krimis", 3)
    assert item_by_isbn(s.ISBNS[1]).title == "Ebbe"


def test_isbn10_is_stored_as_isbn13(run_import, item_by_isbn) -> None:
    run_import(s.marc_bytes(s.marc_record("Ebbe", isbn="3-16-148410-X", control="9")))
    item = item_by_isbn("9783161484100")
    assert item is not None and item.title == "Ebbe"


def test_publish_publishes_new_items(run_import, item_by_isbn) -> None:
    run_import(s.marc_bytes(s.marc_record()), publish=True)
    assert item_by_isbn(s.ISBNS[0]).state is PublicationState.PUBLISHED


@pytest.mark.parametrize(
    "data",
    [
        s.marc_bytes(s.marc_record(), s.marc_record("Flut", isbn=s.ISBNS[1], control="2")),
        s.marcxml_bytes(s.marc_record(), s.marc_record("Flut", isbn=s.ISBNS[1], control="2")),
        s.onix_message(s.onix_product(), s.onix_product("Flut", isbn=s.ISBNS[1], reference="r2")),
        s.onix_message(
            s.onix_product(), s.onix_product("Flut", isbn=s.ISBNS[1], reference="r2"), short=True
        ),
        s.csv_bytes(
            [["Titel", "ISBN"], ["Tod am Deich", s.ISBNS[0]], ["Flut", s.ISBNS[1]]], bom=True
        ),
    ],
    ids=["marc", "marcxml", "onix-reference", "onix-short", "csv"],
)
def test_a_second_run_changes_nothing_and_duplicates_nothing(run_import, count_items, data) -> None:
    first = run_import(data)
    assert first.counts["created"] == 2 and first.counts["rejected"] == 0, first.rejections
    before = count_items()
    second = run_import(data)
    assert second.counts == {
        "created": 0,
        "updated": 0,
        "unchanged": 2,
        "withdrawn": 0,
        "rejected": 0,
    }
    assert count_items() == before


def test_a_changed_record_updates_its_item(run_import, item_by_isbn) -> None:
    run_import(s.marc_bytes(s.marc_record(subjects=("Krimi",))))
    out = run_import(
        s.marc_bytes(s.marc_record("Tod am Deich", subjects=("Krimi", "Sylt"), year="2022"))
    )
    assert out.counts["updated"] == 1
    item = item_by_isbn(s.ISBNS[0])
    assert item.year == 2022
    assert sorted(s.term for s in item.subjects) == ["Krimi", "Sylt"]


def test_matching_prefers_isbn_then_other_numbers(run_import, item_by_isbn, count_items) -> None:
    run_import(s.marc_bytes(s.marc_record(isbn=None, control="777")))
    assert count_items() == 1
    # The same record (DNB number 777), now with an ISBN: the number matches, the ISBN is added.
    out = run_import(s.marc_bytes(s.marc_record(isbn=s.ISBNS[2], control="777")))
    assert out.counts["updated"] == 1 and count_items() == 1
    assert item_by_isbn(s.ISBNS[2]) is not None


def test_the_same_book_twice_in_one_file_is_one_item(run_import, count_items) -> None:
    out = run_import(s.marc_bytes(s.marc_record(), s.marc_record(control="other")))
    assert out.counts["created"] == 1 and out.counts["updated"] == 1
    assert count_items() == 1


def test_refused_records_are_reported_and_the_rest_imported(run_import, count_items) -> None:
    data = s.marc_bytes(
        s.marc_record("Gut", isbn=s.ISBNS[0], control="1"),
        s.marc_record("Falsche Prüfziffer", isbn="9783161484101", control="2"),
        s.marc_record("", isbn=s.ISBNS[1], control="3"),  # no title
        s.marc_record("Auch gut", isbn=s.ISBNS[2], control="4"),
    )
    out = run_import(data, locale="en")
    assert out.counts["created"] == 2 and out.counts["rejected"] == 2
    assert count_items() == 2
    (k1, pos1, id1, title1, why1), (_k2, pos2, id2, _t2, why2) = out.rejections
    assert (k1, pos1, id1, title1) == ("record", 2, "ISBN 9783161484101", "Falsche Prüfziffer")
    assert "check digit" in why1
    assert (pos2, id2) == (3, f"ISBN {s.ISBNS[1]}")
    assert "Title: Please enter a title." in why2


def test_reasons_are_in_the_language_of_the_run(run_import) -> None:
    data = s.marc_bytes(s.marc_record("", control="3"))
    out = run_import(data, locale="de")
    assert "Titel" in out.reasons()[0] and "Please" not in out.reasons()[0]


def test_a_number_of_another_item_refuses_the_record(run_import, count_items) -> None:
    run_import(s.marc_bytes(s.marc_record("Erstes", isbn=s.ISBNS[0], control="1")))
    run_import(s.marc_bytes(s.marc_record("Zweites", isbn=s.ISBNS[1], control="2")))
    # Matched by ISBN to "Zweites", but its DNB number belongs to "Erstes".
    out = run_import(s.marc_bytes(s.marc_record("Zweites", isbn=s.ISBNS[1], control="1")))
    assert out.counts["rejected"] == 1
    assert "already belongs to “Erstes”" in out.reasons()[0]
    assert count_items() == 2


def test_a_record_failing_after_its_rows_were_written_leaves_nothing(
    app: Flask, run_import, count_items
) -> None:
    """The database refuses the third keyword of a record after its item, people and numbers
    were written: the record's savepoint takes all of them back; the records around it stay."""

    def refuse(_mapper, _connection, target: Subject) -> None:
        if target.term == "Verboten":
            raise IntegrityError(
                "INSERT INTO media_subjects", {}, Exception("refused by a trigger")
            )

    event.listen(Subject, "before_insert", refuse)
    try:
        out = run_import(
            s.marc_bytes(
                s.marc_record("Vorher", isbn=s.ISBNS[0], control="1"),
                s.marc_record(
                    "Kaputt", isbn=s.ISBNS[1], control="2", subjects=("Krimi", "Sylt", "Verboten")
                ),
                s.marc_record("Nachher", isbn=s.ISBNS[2], control="3"),
            )
        )
    finally:
        event.remove(Subject, "before_insert", refuse)
    assert out.counts["created"] == 2 and out.counts["rejected"] == 1
    assert "refused by a trigger" in out.reasons()[0]
    with app.app_context():
        titles = db.session.scalars(sa.select(MediaItem.title).order_by(MediaItem.title)).all()
        assert titles == ["Nachher", "Vorher"]
        assert not db.session.scalar(
            sa.select(sa.func.count()).select_from(Subject).where(Subject.term == "Sylt")
        )


def test_onix_deletion_withdraws_the_item(run_import, item_by_isbn) -> None:
    run_import(s.onix_message(s.onix_product()), publish=True)
    assert item_by_isbn(s.ISBNS[0]).state is PublicationState.PUBLISHED
    out = run_import(s.onix_message(s.onix_product(notification="05")))
    assert out.counts["withdrawn"] == 1
    assert item_by_isbn(s.ISBNS[0]).state is PublicationState.WITHDRAWN
    again = run_import(s.onix_message(s.onix_product(notification="05")))
    assert again.counts == {
        "created": 0,
        "updated": 0,
        "unchanged": 1,
        "withdrawn": 0,
        "rejected": 0,
    }


def test_csv_state_column_publishes_and_withdraws(run_import, item_by_isbn) -> None:
    rows = [["title", "isbn", "state"], ["Eins", s.ISBNS[0], "published"], ["Zwei", s.ISBNS[1], ""]]
    run_import(s.csv_bytes(rows))
    assert item_by_isbn(s.ISBNS[0]).state is PublicationState.PUBLISHED
    assert item_by_isbn(s.ISBNS[1]).state is PublicationState.DRAFT
    out = run_import(
        s.csv_bytes([["title", "isbn", "state"], ["Eins", s.ISBNS[0], "zurückgezogen"]])
    )
    assert out.counts["withdrawn"] == 1
    assert item_by_isbn(s.ISBNS[0]).state is PublicationState.WITHDRAWN


def test_one_audit_entry_per_run_besides_the_catalogues(app: Flask, run_import, staff) -> None:
    out = run_import(
        s.marc_bytes(s.marc_record(), s.marc_record("Flut", isbn=s.ISBNS[1], control="2"))
    )
    with app.app_context():
        actions = db.session.scalars(
            sa.select(AuditEntry.action)
            .where(AuditEntry.actor_id == staff.id)
            .order_by(AuditEntry.id)
        ).all()
        entry = db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "media_import.finished")
        ).one()
    assert actions.count("media_import.finished") == 1
    assert actions.count("media_item.created") == 2
    assert entry.object_id == str(out.run.id) and entry.details["created"] == 2


def test_large_files_commit_in_batches_and_resume_where_they_stopped(
    app: Flask, run_import
) -> None:
    records = [s.marc_record(f"Band {n}", isbn=s.isbn13(n), control=f"b{n}") for n in range(450)]
    out = run_import(s.marc_bytes(*records))
    assert out.counts["created"] == 450 and out.run.position == 450
