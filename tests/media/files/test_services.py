"""Uploading files to items: detect, read, store once per hash; refusals keep nothing."""

from __future__ import annotations

import hashlib
import io

import pytest
import sqlalchemy as sa

from media.catalogue.search import MediaQuery, search
from media.files import services, signals
from media.files.storage import cover_key, file_key
from media.ingest.proposal import FileRefused, FileTooLarge
from media.models import (
    ContributorRole,
    FileFormat,
    Identifier,
    MediaFile,
    MediaItem,
    PublicationState,
)
from tests.media.ingest import samples
from vhs.accounts.models import User
from vhs.audit import AuditEntry
from vhs.db import db
from vhs.errors import Conflict, Forbidden


def rows(app, item_id=None) -> list[MediaFile]:
    with app.app_context():
        query = sa.select(MediaFile).order_by(MediaFile.id)
        if item_id is not None:
            query = query.where(MediaFile.item_id == item_id)
        found = list(db.session.execute(query).scalars())
        db.session.expunge_all()
        return found


@pytest.mark.parametrize(
    ("make", "fmt", "pages", "duration"),
    [
        (lambda: samples.epub(title="Buch A"), FileFormat.EPUB, None, None),
        (lambda: samples.pdf(title="Satzung B", pages=5), FileFormat.PDF, 5, None),
        (lambda: samples.mp3(title="Kapitel C", seconds=6), FileFormat.MP3, None, 6),
        (lambda: samples.m4b(title="Teil D", seconds=8), FileFormat.M4A, None, 8),
        (lambda: samples.ogg_vorbis(title="E", seconds=4), FileFormat.OGG, None, 4),
        (lambda: samples.mp4_boxes(video=True, seconds=11), FileFormat.MP4, None, 11),
        (lambda: samples.webm(), FileFormat.WEBM, None, None),
    ],
)
def test_each_format_is_stored_with_its_facts(
    app, upload, make_item, blobs, make, fmt, pages, duration
):
    item_id = make_item()
    data = make()
    added = upload(item_id, data, "datei.bin")
    assert added.detected.format is fmt
    [row] = rows(app, item_id)
    assert (row.format, row.size_bytes, row.pages, row.duration_seconds) == (
        fmt,
        len(data),
        pages,
        duration,
    )
    assert row.sha256 == hashlib.sha256(data).hexdigest()
    assert f"files/{row.sha256}" in blobs()
    assert added.misnamed == ".bin"


def test_a_lying_extension_is_stored_as_what_it_is(app, upload, make_item):
    added = upload(make_item(), samples.pdf(title="Wahrheit"), "roman.epub")
    assert added.detected.format is FileFormat.PDF
    assert added.misnamed == ".epub"
    assert rows(app)[-1].media_type == "application/pdf"


def test_the_uploaded_name_reaches_neither_disk_nor_database(app, upload, make_item, blobs):
    before = blobs()
    upload(make_item(), samples.epub(title="Name"), "../../etc/böse Datei.epub")
    new = blobs() - before
    assert len(new) == 1 and all("böse" not in k and ".." not in k for k in new)
    assert "böse" not in rows(app)[-1].label


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (samples.pdf()[:500], "file_corrupt"),
        (b"MZ" + bytes(400), "file_format_unknown"),
        (samples.epub(extra=[("../../evil", b"x")]), "file_unsafe_path"),
        (samples.pdf(user_password="geheim"), "file_encrypted"),
        (b"", "file_empty"),
        (samples.epub(opf="<broken"), "file_corrupt"),  # passes detection, fails reading
        (b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(50), "file_corrupt"),
    ],
)
def test_a_refused_file_leaves_no_row_and_no_bytes(app, upload, make_item, blobs, data, code):
    item_id = make_item()
    before = blobs()
    with pytest.raises(FileRefused) as info:
        upload(item_id, data, "buch.epub")
    assert info.value.code == code
    assert rows(app, item_id) == []
    assert blobs() == before
    assert str(info.value.detail)  # a reason people can read


def test_too_large_is_refused_while_streaming(app, upload, make_item, blobs, monkeypatch):
    monkeypatch.setattr(app.config["VHS"], "media_max_file_mb", 1)
    item_id = make_item()
    before = blobs()
    data = samples.mp3_frames(seconds=30)  # 30 s at 128 kbit/s: about 480 KB
    upload(item_id, data, "klein.mp3")  # under the limit
    big = samples.mp3_frames(seconds=70)  # over 1 MB
    assert len(big) > 1024 * 1024
    with pytest.raises(FileTooLarge) as info:
        upload(item_id, big, "gross.mp3")
    assert info.value.status == 413
    assert "1 MB" in str(info.value.detail)
    assert len(rows(app, item_id)) == 1 and len(blobs() - before) == 1


def test_the_same_file_twice_on_one_item_is_a_conflict(app, upload, make_item, blobs):
    item_id = make_item()
    data = samples.epub(title="Doppelt")
    upload(item_id, data)
    stored = blobs()
    with pytest.raises(Conflict) as info:
        upload(item_id, data, "nochmal.epub")
    assert info.value.code == "file_duplicate"
    assert len(rows(app, item_id)) == 1 and blobs() == stored


def test_the_same_bytes_on_two_items_are_stored_once(app, upload, make_item, blobs):
    data = samples.epub(title="Geteilt")
    first = upload(make_item(), data)
    stored = blobs()
    second = upload(make_item("Andere Ausgabe"), data)
    assert blobs() == stored
    assert first.file.sha256 == second.file.sha256 and first.file.id != second.file.id


def test_files_get_positions_and_labels(app, upload, make_item):
    item_id = make_item(kind="audiobook")
    upload(item_id, samples.mp3(title="Kapitel 1", seconds=2))
    upload(item_id, samples.mp3(title="Kapitel 2", seconds=3))
    upload(item_id, samples.mp3(title="X", seconds=4), label="  Bonus\ttrack ")
    assert [(f.position, f.label) for f in rows(app, item_id)] == [
        (0, "Kapitel 1"),
        (1, "Kapitel 2"),
        (2, "Bonus track"),
    ]


def test_only_staff_may_upload(app, upload, make_item, make_user, blobs):
    before = blobs()
    for role in ("resident", "instructor"):
        with pytest.raises(Forbidden):
            upload(make_item(), samples.epub(title=role), actor=make_user(role))
    assert blobs() == before
    upload(make_item(), samples.epub(title="admin"), actor=make_user("admin"))


def test_removing_deletes_the_bytes_only_with_the_last_file(
    app, upload, make_item, within, staff, blobs
):
    data = samples.pdf(title="Zweimal")
    a, b = upload(make_item(), data), upload(make_item("B"), data)
    key = file_key(a.file.sha256)

    def remove(added):
        with within():
            actor = db.session.get(User, staff.id)
            item = db.session.get(MediaItem, added.file.item_id)
            services.remove_file(actor, item, db.session.get(MediaFile, added.file.id))

    remove(a)
    assert key in blobs()  # item B still has it
    remove(b)
    assert key not in blobs()
    with within():
        actions = (
            db.session.execute(
                sa.select(AuditEntry.action).where(AuditEntry.action.like("media.file_%"))
            )
            .scalars()
            .all()
        )
    assert actions.count("media.file_removed") == 2


def test_a_rolled_back_removal_keeps_the_bytes(app, upload, make_item, within, staff, blobs):
    added = upload(make_item(), samples.pdf(title="Bleibt"))
    with pytest.raises(RuntimeError), within():
        actor = db.session.get(User, staff.id)
        item = db.session.get(MediaItem, added.file.item_id)
        services.remove_file(actor, item, db.session.get(MediaFile, added.file.id))
        raise RuntimeError("the request failed later")
    assert file_key(added.file.sha256) in blobs()
    assert len(rows(app, added.file.item_id)) == 1


def test_a_file_of_another_item_cannot_be_removed_through_this_one(
    app, upload, make_item, within, staff
):
    added = upload(make_item(), samples.pdf(title="Fremd"))
    other = make_item("Anderes")
    with within():
        actor = db.session.get(User, staff.id)
        with pytest.raises(Exception) as info:
            services.remove_file(
                actor, db.session.get(MediaItem, other), db.session.get(MediaFile, added.file.id)
            )
    assert info.value.status == 404


# --- metadata ---------------------------------------------------------------------------------


def apply(within, staff, item_id, file_id, fields):
    with within():
        actor = db.session.get(User, staff.id)
        item = db.session.get(MediaItem, item_id)
        proposal = services.propose(actor, db.session.get(MediaFile, file_id))
        return services.apply_metadata(actor, item, proposal, fields)


def test_chosen_fields_are_taken_over_from_the_stored_file(app, upload, make_item, within, staff):
    item_id = make_item("Unbekannt")
    added = upload(item_id, samples.epub(cover=samples.png()))
    seen = []

    def described(sender, **kw):
        seen.append((sender.id, kw["fields"]))

    chosen = ["title", "contributors", "isbn", "subjects", "series", "year", "pages", "cover"]
    with signals.item_described.connected_to(described):
        applied = apply(within, staff, item_id, added.file.id, chosen)
    # "pages": the EPUB has none to offer, so it is skipped.
    assert applied == ["title", "contributors", "year", "isbn", "subjects", "series", "cover"]
    assert seen == [(item_id, applied)]
    with within():
        item = db.session.get(MediaItem, item_id)
        assert item.title == "Der Schimmelreiter"
        assert item.subtitle == ""  # not chosen
        assert [(c.name, c.role, c.position) for c in item.contributors] == [
            ("Theodor Storm", ContributorRole.AUTHOR, 0),
            ("Erika Übersetzer", ContributorRole.TRANSLATOR, 1),
        ]
        assert item.isbn == samples.ISBN
        assert sorted(s.term for s in item.subjects) == ["Nordsee", "Novelle"]
        assert (item.series_title, item.series_number, item.year) == (
            "Nordfriesische Novellen",
            3,
            1888,
        )
        assert item.cover_sha256 == hashlib.sha256(samples.png()).hexdigest()


def test_taking_over_twice_changes_nothing_more(app, upload, make_item, within, staff):
    item_id = make_item()
    added = upload(item_id, samples.epub())
    apply(within, staff, item_id, added.file.id, ["isbn", "subjects", "contributors"])
    apply(within, staff, item_id, added.file.id, ["isbn", "subjects", "contributors"])
    with within():
        item = db.session.get(MediaItem, item_id)
        assert (
            len(item.identifiers) == 1 and len(item.subjects) == 2 and len(item.contributors) == 2
        )


def test_taken_over_metadata_is_searchable_at_once(app, upload, make_item, within, staff):
    item_id = make_item("Unbekannt")
    added = upload(item_id, samples.epub())
    drafts = (PublicationState.DRAFT,)
    with within():
        assert search(MediaQuery(q="Schimmelreiter", states=drafts)).total == 0
    apply(within, staff, item_id, added.file.id, ["title", "contributors", "subjects"])
    with within():
        for words in ("Schimmelreiter", "Storm", "Nordsee"):
            found = search(MediaQuery(q=words, states=drafts))
            assert [i.id for i in found.items] == [item_id], words


def test_an_isbn_of_another_item_is_a_conflict(app, upload, make_item, within, staff):
    first, second = make_item("Erstes"), make_item("Zweites")
    apply(within, staff, first, upload(first, samples.epub(title="1")).file.id, ["isbn"])
    with pytest.raises(Conflict) as info:
        apply(within, staff, second, upload(second, samples.epub(title="2")).file.id, ["isbn"])
    assert info.value.code == "identifier_taken"
    with within():
        assert db.session.execute(sa.select(sa.func.count()).select_from(Identifier)).scalar() == 1


def test_unknown_field_names_are_refused(app, upload, make_item, within, staff):
    item_id = make_item()
    added = upload(item_id, samples.epub(title="F"))
    with pytest.raises(Exception) as info:
        apply(within, staff, item_id, added.file.id, ["title", "state"])
    assert info.value.status == 422


def test_audiobook_fields(app, upload, make_item, within, staff):
    item_id = make_item("?", kind="audiobook")
    added = upload(item_id, samples.m4b(seconds=9, cover=samples.jpeg()))
    assert apply(within, staff, item_id, added.file.id, ["title", "duration", "cover"]) == [
        "title",
        "duration",
        "cover",
    ]
    with within():
        item = db.session.get(MediaItem, item_id)
        assert (item.title, item.duration_seconds) == ("Der Schimmelreiter", 9)
        assert item.cover_sha256


# --- covers -----------------------------------------------------------------------------------


def set_cover(within, staff, item_id, data):
    with within():
        actor = db.session.get(User, staff.id)
        return services.set_cover(actor, db.session.get(MediaItem, item_id), io.BytesIO(data))


def test_a_cover_is_stored_as_two_thumbnails_and_replaced_cleanly(
    app, make_item, within, staff, blobs
):
    item_id = make_item()
    first = set_cover(within, staff, item_id, samples.png(color="red"))
    assert {cover_key(first, 160), cover_key(first, 480)} <= blobs()
    second = set_cover(within, staff, item_id, samples.png(color="blue"))
    assert {cover_key(second, 160), cover_key(second, 480)} <= blobs()
    assert not {cover_key(first, 160), cover_key(first, 480)} & blobs()  # nobody shows it


def test_a_cover_shared_by_two_items_stays(app, make_item, within, staff, blobs):
    a, b = make_item("A"), make_item("B")
    shared = set_cover(within, staff, a, samples.png(color="green"))
    set_cover(within, staff, b, samples.png(color="green"))
    set_cover(within, staff, a, samples.png(color="yellow"))
    assert cover_key(shared, 480) in blobs()  # B still shows it


def test_a_non_image_cover_is_refused_and_nothing_changes(app, make_item, within, staff, blobs):
    item_id = make_item()
    before = blobs()
    with pytest.raises(FileRefused) as info:
        set_cover(within, staff, item_id, samples.pdf())
    assert info.value.code == "cover_not_image" and "cover" in info.value.errors
    assert blobs() == before
    with within():
        assert db.session.get(MediaItem, item_id).cover_sha256 is None


def test_only_staff_may_set_a_cover(app, make_item, within, make_user):
    with pytest.raises(Forbidden):
        set_cover(within, make_user("instructor"), make_item(), samples.png())
