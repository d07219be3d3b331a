"""Signed links to a loan's files: what each format gets, and every refusal."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta

import pytest
from flask import Flask

from library.access import links as signing
from library.access.links import Action
from library.loans.services import return_loan
from library.models import Loan
from media.models import FileFormat
from vhs.accounts.models import User
from vhs.db import db, utcnow
from vhs.uow import unit_of_work

JSON = {"Accept": "application/json"}


def problem(resp, status: int) -> str:
    assert resp.status_code == status, resp.get_data(as_text=True)[:300]
    assert resp.mimetype == "application/problem+json"
    return resp.json["code"]


def body(resp) -> bytes:
    data = resp.get_data()
    resp.close()
    return data


def test_pdf_download_is_an_attachment_never_cached_or_sniffed(client, patron, lend, links):
    a = patron()
    lent = lend(a, FileFormat.PDF)
    resp = client.get(links(a, lent.loan_id)[Action.DOWNLOAD])
    assert resp.status_code == 200
    assert resp.mimetype == "application/pdf"
    assert resp.headers["Content-Disposition"].startswith(
        'attachment; filename="Der Schimmelreiter.pdf"'
    )
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Cache-Control"] == "private, no-store"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert body(resp) == lent.data


def test_pdf_reads_inline_when_the_licence_streams(client, patron, lend, links):
    a = patron()
    lent = lend(a, FileFormat.PDF)
    resp = client.get(links(a, lent.loan_id)[Action.STREAM])
    assert resp.status_code == 200
    assert resp.headers["Content-Disposition"].startswith("inline;")
    assert resp.headers["Cache-Control"].startswith("private, max-age=")
    body(resp)


def test_mp3_streams_with_ranges(client, patron, lend, links):
    a = patron()
    lent = lend(a, FileFormat.MP3)
    url = links(a, lent.loan_id)[Action.STREAM]
    resp = client.get(url, headers={"Range": "bytes=100-199"})
    assert resp.status_code == 206
    assert resp.headers["Content-Range"] == f"bytes 100-199/{len(lent.data)}"
    assert resp.headers["Accept-Ranges"] == "bytes"
    assert resp.headers["Content-Disposition"].startswith("inline;")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    max_age = int(resp.headers["Cache-Control"].removeprefix("private, max-age="))
    assert 0 < max_age <= 15 * 60
    assert body(resp) == lent.data[100:200]
    resp = client.get(url, headers={"Range": f"bytes={len(lent.data) + 10}-"})
    assert resp.status_code == 416
    assert resp.headers["Content-Range"] == f"bytes */{len(lent.data)}"
    body(resp)


def test_video_is_watched_and_downloaded(client, patron, lend, links, login):
    a = patron()
    lent = lend(a, FileFormat.MP4)
    made = links(a, lent.loan_id)
    assert set(made) == {Action.STREAM, Action.DOWNLOAD}
    login(a)
    page = client.get("/library/account").get_data(as_text=True)
    assert ">Ansehen</a>" in page and ">Herunterladen</a>" in page


def test_epub_download_is_watermarked(app: Flask, client, patron, lend, links):
    a = patron()
    lent = lend(a, FileFormat.EPUB)
    made = links(a, lent.loan_id)
    assert set(made) == {Action.DOWNLOAD}  # no browser shows an EPUB by itself
    resp = client.get(made[Action.DOWNLOAD])
    assert resp.status_code == 200 and resp.mimetype == "application/epub+zip"
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    assert resp.headers["Cache-Control"] == "private, no-store"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    data = body(resp)
    assert data[30:38] == b"mimetype" and data[38:58] == b"application/epub+zip"
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        opf = book.read("OEBPS/content.opf").decode()
        colophon = book.read("OEBPS/vhs-ausleihe.xhtml").decode()
    code = re.search(r'name="vhs:watermark" content="(W-[0-9A-Z]{4}-[0-9A-Z]{4})"', opf).group(1)
    assert "Stadtbibliothek Iserlohn" in opf and code in colophon
    assert "Ausgeliehen bei Stadtbibliothek Iserlohn" in colophon
    # Downloading again gives the same code and counts.
    again = body(client.get(made[Action.DOWNLOAD]))
    with zipfile.ZipFile(io.BytesIO(again)) as book:
        assert code in book.read("OEBPS/content.opf").decode()
    with app.app_context():
        from library.models import Watermark

        mark = db.session.execute(db.select(Watermark).filter_by(code=code)).scalar_one()
        assert (mark.loan_id, mark.file_id, mark.downloads) == (lent.loan_id, lent.file_id, 2)


def test_the_account_page_lists_fresh_links_and_is_never_stored(client, patron, lend, login):
    a = patron()
    lend(a, FileFormat.MP3, title="Hörbuch Nordsee")
    login(a)
    resp = client.get("/library/account")
    page = resp.get_data(as_text=True)
    assert resp.headers["Cache-Control"] == "private, no-store"
    assert ">Anhören</a>" in page and ">Herunterladen</a>" in page
    assert 'aria-label="Anhören: Hörbuch Nordsee (MP3 ·' in page
    assert "15 Minuten" in page
    path = re.search(r'href="http://[^/]+(/library/files/[^"]+)"', page).group(1)
    resp = client.get(path)
    assert resp.status_code == 200
    body(resp)


def test_links_work_without_login(client, patron, lend, links):
    a = patron()
    lent = lend(a, FileFormat.PDF)
    url = links(a, lent.loan_id)[Action.DOWNLOAD]
    resp = client.get(url)  # no session: a reading app
    assert resp.status_code == 200 and body(resp)


# --- refusals ------------------------------------------------------------------------------------


def test_a_tampered_link_is_refused(client, patron, lend, links):
    a = patron()
    lent = lend(a, FileFormat.PDF)
    url = links(a, lent.loan_id)[Action.DOWNLOAD]
    token = url.rsplit("/", 1)[1]
    payload, rest = token.split(".", 1)
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + rest
    assert problem(client.get(f"/library/files/{forged}", headers=JSON), 403) == "link_invalid"
    assert problem(client.get("/library/files/nonsense", headers=JSON), 403) == "link_invalid"
    page = client.get(f"/library/files/{forged}")
    assert page.status_code == 403 and "Dieser Link ist ungültig" in page.get_data(as_text=True)


def test_an_expired_link_is_refused_and_points_to_the_account(app, client, patron, lend, links):
    a = patron()
    lent = lend(a, FileFormat.PDF)
    sixteen_minutes_ago = utcnow() - timedelta(minutes=16)
    url = links(a, lent.loan_id, now=sixteen_minutes_ago)[Action.DOWNLOAD]
    assert problem(client.get(url, headers=JSON), 403) == "link_expired"
    page = client.get(url)
    text = page.get_data(as_text=True)
    assert page.status_code == 403 and "abgelaufen" in text and 'href="/library/account"' in text
    fresh = links(a, lent.loan_id, now=utcnow() - timedelta(minutes=14))[Action.DOWNLOAD]
    resp = client.get(fresh)
    assert resp.status_code == 200 and body(resp)


def test_a_link_signed_with_another_key_or_salt_is_refused(app, client, patron, lend):
    a = patron()
    lent = lend(a, FileFormat.PDF)
    from itsdangerous import URLSafeTimedSerializer

    payload = {"l": lent.loan_id, "f": lent.file_id, "p": a.id, "a": "download"}
    for key, salt in (("another-secret", signing.SALT), (app.config["SECRET_KEY"], "other")):
        token = URLSafeTimedSerializer(key, salt=salt).dumps(payload)
        assert problem(client.get(f"/library/files/{token}", headers=JSON), 403) == "link_invalid"


def test_someone_elses_link(app, client, patron, lend, links, login):
    a, b = patron(), patron()
    lent = lend(b, FileFormat.PDF, title="Bs Buch")
    url = links(b, lent.loan_id)[Action.DOWNLOAD]
    login(a)
    assert problem(client.get(url, headers=JSON), 403) == "link_not_yours"
    page = client.get(url)
    assert page.status_code == 403 and "Bs Buch" not in page.get_data(as_text=True)
    # A validly signed token naming A for B's loan (not one we would make) is refused too.
    with app.test_request_context():
        token = signing.sign(lent.loan_id, lent.file_id, a.id, Action.DOWNLOAD, utcnow())
    assert problem(client.get(f"/library/files/{token}", headers=JSON), 403) == "link_not_yours"
    # A's own link to B's file (a file of another item) is no file of A's loan.
    own = lend(a, FileFormat.PDF, title="As Buch")
    with app.test_request_context():
        token = signing.sign(own.loan_id, lent.file_id, a.id, Action.DOWNLOAD, utcnow())
    assert problem(client.get(f"/library/files/{token}", headers=JSON), 404) == "file_not_found"


def test_a_returned_loan_is_gone(app, client, patron, lend, links):
    a = patron()
    lent = lend(a, FileFormat.EPUB)
    url = links(a, lent.loan_id)[Action.DOWNLOAD]
    with app.app_context(), unit_of_work():
        return_loan(db.session.get(User, a.id), lent.loan_id)
    assert problem(client.get(url, headers=JSON), 410) == "loan_ended"
    page = client.get(url)
    text = page.get_data(as_text=True)
    assert page.status_code == 410 and "Diese Ausleihe ist beendet" in text
    assert f'href="/library/media/{lent.item_id}"' in text and 'href="/library/account"' in text
    assert page.headers["Cache-Control"] == "private, no-store"


def test_an_overdue_loan_is_closed_first_and_gone(app, client, patron, lend, links):
    a = patron()
    start = utcnow() - timedelta(days=7, minutes=5)
    lent = lend(a, FileFormat.MP3, now=start, days=7)
    with app.app_context():
        assert db.session.get(Loan, lent.loan_id).ended_at is None  # the job has not run
    # A link made a minute before the due time, used after it.
    url = links(a, lent.loan_id, now=utcnow() - timedelta(minutes=6))[Action.STREAM]
    assert problem(client.get(url, headers=JSON), 410) == "loan_ended"
    # Asked for fresh links, the API closes it first too (and refuses).
    resp = client.get(f"/api/v1/loans/{lent.loan_id}/links", headers=_bearer(app, a))
    assert problem(resp, 410) == "loan_ended"


def test_a_streaming_only_licence_offers_and_gives_no_download(
    app, client, patron, lend, links, login
):
    a = patron()
    lent = lend(a, FileFormat.PDF, download=False, streaming=True, title="Nur lesen")
    made = links(a, lent.loan_id)
    assert set(made) == {Action.STREAM}
    login(a)
    page = client.get("/library/account").get_data(as_text=True)
    assert ">Lesen</a>" in page and "Herunterladen" not in page
    with app.test_request_context():
        token = signing.sign(lent.loan_id, lent.file_id, a.id, Action.DOWNLOAD, utcnow())
    resp = client.get(f"/library/files/{token}", headers=JSON)
    assert problem(resp, 403) == "download_not_allowed"


def test_a_download_only_licence_gives_no_stream(app, client, patron, lend, links):
    a = patron()
    lent = lend(a, FileFormat.MP3, download=True, streaming=False)
    assert set(links(a, lent.loan_id)) == {Action.DOWNLOAD}
    with app.test_request_context():
        token = signing.sign(lent.loan_id, lent.file_id, a.id, Action.STREAM, utcnow())
    resp = client.get(f"/library/files/{token}", headers=JSON)
    assert problem(resp, 403) == "streaming_not_allowed"


# --- the API ---------------------------------------------------------------------------------------


def _bearer(app: Flask, user: User) -> dict[str, str]:
    from vhs.accounts.services import create_api_token

    with app.app_context(), unit_of_work():
        _tok, plaintext = create_api_token(db.session.get(User, user.id), "test")
    return {"Authorization": f"Bearer {plaintext}"}


def test_api_gives_links_to_own_loans_only(app, client, patron, lend):
    a, b = patron(), patron()
    mine = lend(a, FileFormat.MP3, title="Meins")
    theirs = lend(b, FileFormat.MP3, title="Fremd")
    resp = client.get(f"/api/v1/loans/{mine.loan_id}/links", headers=_bearer(app, a))
    assert resp.status_code == 200, resp.json
    answer = resp.json
    assert answer["loan_id"] == mine.loan_id and answer["item"]["title"] == "Meins"
    assert [
        (link["action"], link["format"], link["media_type"], link["size_bytes"])
        for link in answer["links"]
    ] == [
        ("stream", "mp3", "audio/mpeg", len(mine.data)),
        ("download", "mp3", "audio/mpeg", len(mine.data)),
    ]
    assert all(link["expires_at"] == answer["expires_at"] for link in answer["links"])
    path = answer["links"][0]["url"].split("vhs.test", 1)[-1].split("localhost", 1)[-1]
    assert body(client.get(path)) == mine.data
    resp = client.get(f"/api/v1/loans/{theirs.loan_id}/links", headers=_bearer(app, a))
    assert problem(resp, 404) == "loan_not_found" and "Fremd" not in resp.get_data(as_text=True)
    assert client.get(f"/api/v1/loans/{mine.loan_id}/links").status_code == 401


def test_the_link_lifetime_is_configured(app, client, patron, lend, links, monkeypatch):
    import dataclasses

    monkeypatch.setitem(
        app.config, "VHS", dataclasses.replace(app.config["VHS"], library_link_minutes=2)
    )
    a = patron()
    lent = lend(a, FileFormat.PDF)
    url = links(a, lent.loan_id, now=utcnow() - timedelta(minutes=3))[Action.DOWNLOAD]
    assert problem(client.get(url, headers=JSON), 403) == "link_expired"


@pytest.mark.parametrize("minutes", [0, 24 * 60 + 1])
def test_the_link_lifetime_is_bounded(minutes):
    from vhs.config import ConfigError, Settings

    with pytest.raises(ConfigError, match="VHS_LIBRARY_LINK_MINUTES"):
        Settings(library_link_minutes=minutes).validate()


def test_the_library_name_is_required():
    from vhs.config import ConfigError, Settings

    with pytest.raises(ConfigError, match="VHS_LIBRARY_NAME"):
        Settings(library_name="  ").validate()
