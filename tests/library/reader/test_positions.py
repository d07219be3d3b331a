"""The reading position per loan: GET/PUT /api/v1/loans/{id}/position, its validation and
refusals, the export, and its deletion in every way a loan ends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from library import rules
from library.access.links import LoanEnded
from library.circulation.gdpr import end_all_lending
from library.licences.services import lock_item
from library.loans.services import close_overdue_loans, return_loan, revoke_loan
from library.models import Loan, ReadingPosition
from library.reader import services
from media.models import FileFormat
from vhs import gdpr
from vhs.accounts.models import User
from vhs.db import db, utcnow
from vhs.uow import unit_of_work

CFI = "epubcfi(/6/4!/4/2/1:0)"


def url(loan_id: int) -> str:
    return f"/api/v1/loans/{loan_id}/position"


def problem(resp, status: int) -> str:
    assert resp.status_code == status, resp.get_data(as_text=True)[:300]
    assert resp.mimetype == "application/problem+json"
    return resp.json["code"]


@pytest.fixture
def reader(client, login, patron, lend):
    """A patron signed in with an EPUB on loan: (patron, lent, put) where ``put(body)`` sends
    the reader's request (session cookie and CSRF header)."""
    a = patron()
    lent = lend(a, FileFormat.EPUB)
    login(a)
    token = client.csrf()

    def put(body: dict, loan_id: int | None = None):
        return client.put(url(loan_id or lent.loan_id), json=body, headers={"X-CSRFToken": token})

    return a, lent, put


def test_a_position_round_trips_and_the_last_save_wins(client, reader):
    _a, lent, put = reader
    assert problem(client.get(url(lent.loan_id)), 404) == "position_not_found"
    first = put({"file_id": lent.file_id, "cfi": CFI, "progress": 0.25})
    assert first.status_code == 200, first.get_data(as_text=True)
    assert first.json["cfi"] == CFI and first.json["seconds"] is None
    later = "epubcfi(/6/8!/4/2[kapitel-2]/1:120)"
    assert put({"file_id": lent.file_id, "cfi": later, "progress": 0.5}).status_code == 200
    got = client.get(url(lent.loan_id))
    assert got.status_code == 200
    assert got.headers["Cache-Control"] == "private, no-store"
    assert got.json == {
        "loan_id": lent.loan_id,
        "file_id": lent.file_id,
        "cfi": later,
        "seconds": None,
        "progress": 0.5,
        "updated_at": got.json["updated_at"],
    }
    assert _positions(client.application, lent.loan_id) == 1


def test_a_second_device_reads_it_with_a_token(client, reader, api_token):
    a, lent, put = reader
    put({"file_id": lent.file_id, "cfi": CFI, "progress": 0.1})
    other = client.application.test_client()  # no session: the token alone
    got = other.get(url(lent.loan_id), headers=api_token(a))
    assert got.status_code == 200 and got.json["cfi"] == CFI


def test_audio_keeps_seconds(client, login, patron, lend):
    a = patron()
    lent = lend(a, FileFormat.MP3)
    login(a)
    resp = client.put(
        url(lent.loan_id),
        json={"file_id": lent.file_id, "seconds": 61.5, "progress": 0.3},
        headers={"X-CSRFToken": client.csrf()},
    )
    assert resp.status_code == 200
    assert (resp.json["seconds"], resp.json["cfi"]) == (61.5, None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"cfi": CFI, "progress": 0.1}, "file_id"),
        ({"file_id": 1, "progress": 0.1}, "cfi"),  # neither a CFI nor seconds
        ({"file_id": 1, "cfi": CFI, "seconds": 3, "progress": 0.1}, "cfi"),  # both
        ({"file_id": 1, "cfi": "kapitel-2", "progress": 0.1}, "cfi"),
        (
            {"file_id": 1, "cfi": "epubcfi(" + "/4" * rules.POSITION_CFI_MAX + ")", "progress": 0},
            "cfi",
        ),
        ({"file_id": 1, "cfi": "epubcfi(/6/4\n)", "progress": 0}, "cfi"),
        ({"file_id": 1, "cfi": CFI, "progress": 1.5}, "progress"),
        ({"file_id": 1, "cfi": CFI, "progress": -0.1}, "progress"),
        ({"file_id": 1, "cfi": CFI}, "progress"),
        ({"file_id": 1, "seconds": -1, "progress": 0}, "seconds"),
        ({"file_id": 1, "seconds": rules.POSITION_SECONDS_MAX + 1, "progress": 0}, "seconds"),
        ({"file_id": 1, "cfi": CFI, "progress": 0, "page": 3}, "page"),
    ],
)
def test_a_bad_position_is_refused(reader, body, field):
    _a, lent, put = reader
    if body.get("file_id") == 1:
        body = {**body, "file_id": lent.file_id}
    resp = put(body)
    assert problem(resp, 422) == "invalid"
    assert field in resp.json["errors"], resp.json


def test_the_position_must_fit_the_file(client, login, patron, lend):
    """Seconds for a book, a CFI for audio, a PDF (its viewer keeps its place), or a file of
    another loan: refused by the service."""
    a = patron()
    book = lend(a, FileFormat.EPUB, title="Buch")
    audio = lend(a, FileFormat.MP3, title="Hörbuch")
    document = lend(a, FileFormat.PDF, title="Satzung")
    other = lend(patron(), FileFormat.EPUB, title="Fremd")
    login(a)
    token = client.csrf()
    for loan_id, body, field in [
        (book.loan_id, {"file_id": book.file_id, "seconds": 3, "progress": 0}, "cfi"),
        (audio.loan_id, {"file_id": audio.file_id, "cfi": CFI, "progress": 0}, "seconds"),
        (book.loan_id, {"file_id": audio.file_id, "cfi": CFI, "progress": 0}, "file_id"),
        (book.loan_id, {"file_id": other.file_id, "cfi": CFI, "progress": 0}, "file_id"),
        (document.loan_id, {"file_id": document.file_id, "cfi": CFI, "progress": 0}, "file_id"),
    ]:
        resp = client.put(url(loan_id), json=body, headers={"X-CSRFToken": token})
        assert problem(resp, 422) == "invalid"
        assert field in resp.json["errors"], resp.json


def test_refusals_of_the_loan(client, login, patron, lend, make_user):
    a, b = patron(), patron()
    theirs = lend(b, title="Fremdes Buch")
    body = {"file_id": theirs.file_id, "cfi": CFI, "progress": 0}
    assert client.get(url(theirs.loan_id)).status_code == 401
    assert client.put(url(theirs.loan_id), json=body).status_code == 401
    login(a)
    token = client.csrf()
    assert problem(client.get(url(theirs.loan_id)), 404) == "loan_not_found"
    resp = client.put(url(theirs.loan_id), json=body, headers={"X-CSRFToken": token})
    assert problem(resp, 404) == "loan_not_found"
    assert "Fremdes Buch" not in resp.get_data(as_text=True)
    assert problem(client.get(url(999_999)), 404) == "loan_not_found"
    # Without the CSRF token a signed-in browser's write is refused.
    mine = lend(a)
    assert client.put(url(mine.loan_id), json={**body, "file_id": mine.file_id}).status_code == 400


def test_an_ended_loan_refuses_with_410(app, client, login, patron, lend, offered):
    a = patron()
    with app.app_context(), unit_of_work():
        from library.loans.history import set_keep_history

        set_keep_history(db.session.get(User, a.id), True)
    lent = lend(a)
    with app.test_request_context(), unit_of_work():
        return_loan(db.session.get(User, a.id), lent.loan_id)
    login(a)
    assert problem(client.get(url(lent.loan_id)), 410) == "loan_ended"
    resp = client.put(
        url(lent.loan_id),
        json={"file_id": lent.file_id, "cfi": CFI, "progress": 0},
        headers={"X-CSRFToken": client.csrf()},
    )
    assert problem(resp, 410) == "loan_ended"


# --- deleted with the loan ---------------------------------------------------------------------


def _saved(app: Flask, patron: User, lent) -> None:
    with app.test_request_context(), unit_of_work():
        services.save_position(
            db.session.get(User, patron.id),
            lent.loan_id,
            {"file_id": lent.file_id, "cfi": CFI, "progress": 0.2},
        )


def _positions(app: Flask, loan_id: int) -> int:
    with app.app_context():
        return int(
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(ReadingPosition)
                .where(ReadingPosition.loan_id == loan_id)
            )
        )


def _return(patron: User, lent, staff: User) -> None:
    return_loan(patron, lent.loan_id)


def _expire_by_job(patron: User, lent, staff: User) -> None:
    later = utcnow() + timedelta(days=30)
    close_overdue_loans(lock_item(lent.item_id), later)


def _expire_lazily(patron: User, lent, staff: User) -> None:
    with pytest.raises(LoanEnded):
        services.get_position(patron, lent.loan_id, now=utcnow() + timedelta(days=30))


def _revoke(patron: User, lent, staff: User) -> None:
    revoke_loan(staff, lent.loan_id)


def _erase(patron: User, lent, staff: User) -> None:
    end_all_lending(patron)


@pytest.mark.parametrize("end", [_return, _expire_by_job, _expire_lazily, _revoke, _erase])
def test_the_position_goes_with_the_loan(
    app: Flask, patron, lend, make_user, offered, end: Callable[..., None]
):
    a = patron()
    staff = make_user("staff")
    with app.app_context(), unit_of_work():
        from library.loans.history import set_keep_history

        set_keep_history(db.session.get(User, a.id), True)  # even a kept history loses it
    lent = lend(a)
    _saved(app, a, lent)
    assert _positions(app, lent.loan_id) == 1
    with app.test_request_context(), unit_of_work():
        end(db.session.get(User, a.id), lent, db.session.get(User, staff.id))
    assert _positions(app, lent.loan_id) == 0
    with app.app_context():
        assert db.session.get(Loan, lent.loan_id).ended_at is not None


def test_the_export_holds_the_positions_of_open_loans(app: Flask, patron, lend):
    a = patron()
    lent = lend(a, title="Exportiertes Buch")
    with app.test_request_context():
        assert gdpr.export_sections(db.session.get(User, a.id))["library_reading_positions"] == []
    _saved(app, a, lent)
    with app.test_request_context():
        exported = gdpr.export_sections(db.session.get(User, a.id))["library_reading_positions"]
    assert exported == [
        {
            "loan_id": lent.loan_id,
            "item": {"id": lent.item_id, "title": "Exportiertes Buch"},
            "file_id": lent.file_id,
            "cfi": CFI,
            "seconds": None,
            "progress": 0.2,
            "updated_at": exported[0]["updated_at"],
        }
    ]
