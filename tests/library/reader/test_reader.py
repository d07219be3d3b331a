"""The reader page of a loan's file: what each format opens in, the CSP it loosens, and every
refusal (no loan, someone else's, ended, a file outside the loan, a licence without the link)."""

from __future__ import annotations

import io
from datetime import timedelta
from urllib.parse import urlsplit

from library.access import watermark
from library.access.links import Action
from library.loans.history import set_keep_history
from library.loans.services import return_loan
from media.models import FileFormat
from tests.media.ingest import samples
from vhs.accounts.models import User
from vhs.db import db, utcnow
from vhs.uow import unit_of_work


def read_url(loan_id: int, file_id: int) -> str:
    return f"/library/loans/{loan_id}/read/{file_id}"


def csp(resp) -> dict[str, str]:
    policy = resp.headers["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


def unsigned(link: str) -> str:
    """A signed link without its timestamp and signature (``/library/files/<payload>``): two
    links made a second apart for the same loan, file and action differ only after it."""
    return link.split(".", 1)[0]


def test_an_epub_opens_in_the_reader_from_its_watermarked_download(
    client, login, patron, lend, links
):
    a = patron()
    lent = lend(a, FileFormat.EPUB)
    login(a)
    resp = client.get(read_url(lent.loan_id, lent.file_id))
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "private, no-store"
    page = resp.get_data(as_text=True)
    assert "/static/vendor/epubjs/epub.min.js" in page
    assert "/static/vendor/jszip/jszip.min.js" in page
    assert 'id="reader-prev"' in page and 'id="reader-next"' in page
    assert 'aria-live="polite"' in page
    assert f'data-position-url="/api/v1/loans/{lent.loan_id}/position"' in page
    # The book comes from the loan's download link: the same watermarked copy a download gets.
    src = page.split('data-src="', 1)[1].split('"', 1)[0]
    assert unsigned(urlsplit(src).path) == unsigned(links(a, lent.loan_id)[Action.DOWNLOAD])
    book = client.get(urlsplit(src).path)
    assert book.status_code == 200 and book.mimetype == "application/epub+zip"
    assert watermark.read_code(io.BytesIO(book.get_data())) is not None
    # Without JavaScript the download is still offered.
    assert "Herunterladen" in page and "<noscript>" in page
    # The policy is loosened for this page only, and not for scripts.
    policy = csp(resp)
    assert policy["script-src"] == "'self'"
    assert "'unsafe-inline'" in policy["style-src"] and "blob:" in policy["style-src"]
    assert "blob:" in policy["img-src"] and "blob:" in policy["font-src"]
    assert "'self'" in policy["font-src"]
    account = client.get("/library/account")
    assert "unsafe-inline" not in account.headers["Content-Security-Policy"]


def test_the_account_page_links_to_the_reader(client, login, patron, lend):
    a = patron()
    book = lend(a, FileFormat.EPUB, title="Lesebuch Leuchtturm")
    audio = lend(a, FileFormat.MP3, title="Hörbuch Leuchtturm")
    document = lend(a, FileFormat.PDF, title="Satzung Leuchtturm")
    login(a)
    page = client.get("/library/account").get_data(as_text=True)
    assert f'href="{read_url(book.loan_id, book.file_id)}"' in page
    assert "Im Browser lesen" in page
    assert f'href="{read_url(audio.loan_id, audio.file_id)}"' in page
    assert "Im Browser abspielen" in page
    # A PDF's "Lesen" link already opens in the browser's own viewer.
    assert read_url(document.loan_id, document.file_id) not in page


def test_no_reader_link_without_the_link_the_reader_needs(client, login, patron, lend):
    a = patron()
    lent = lend(a, FileFormat.EPUB, download=False)
    login(a)
    assert read_url(lent.loan_id, lent.file_id) not in client.get("/library/account").get_data(
        as_text=True
    )
    resp = client.get(read_url(lent.loan_id, lent.file_id))
    assert resp.status_code == 403
    assert "download_not_allowed" in resp.get_data(as_text=True)


def test_audio_plays_with_its_stream_link_and_resumes(client, login, patron, lend, links):
    a = patron()
    lent = lend(a, FileFormat.MP3)
    login(a)
    put = client.put(
        f"/api/v1/loans/{lent.loan_id}/position",
        json={"file_id": lent.file_id, "seconds": 75.5, "progress": 0.4},
        headers={"X-CSRFToken": client.csrf()},
    )
    assert put.status_code == 200, put.get_data(as_text=True)
    resp = client.get(read_url(lent.loan_id, lent.file_id))
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    stream = links(a, lent.loan_id)[Action.STREAM]
    assert "<audio" in page and " controls" in page
    assert f"{unsigned(stream)}." in page and '#t=75"' in page
    assert 'data-start="75.5"' in page
    assert "Weiter bei 1:15." in page
    assert "media-src" not in resp.headers["Content-Security-Policy"]  # local storage


def test_audio_chapters_and_parts_are_listed(client, login, patron, lend, add_file):
    a = patron()
    marked = samples.mp3(seconds=4, chapters=[("Am Deich", 0, 2000), ("Die Flut", 2000, 4000)])
    lent = lend(a, FileFormat.MP3, data=marked)
    second = add_file(lent.loan_id, FileFormat.MP3, samples.mp3_frames(3), label="Zweiter Teil")
    login(a)
    page = client.get(read_url(lent.loan_id, lent.file_id)).get_data(as_text=True)
    assert "Kapitel" in page
    assert 'data-seek="2.0">Die Flut</a>' in page
    assert ">Zweiter Teil</a>" in page
    assert f'data-next-url="{read_url(lent.loan_id, second)}"' in page
    assert 'aria-current="page"' in page
    last = client.get(read_url(lent.loan_id, second)).get_data(as_text=True)
    assert "data-next-url" not in last
    assert "Zweiter Teil" in last.split("<h1>", 1)[1].split("</h1>", 1)[0]


def test_a_position_in_another_part_is_offered(client, login, patron, lend, add_file):
    a = patron()
    lent = lend(a, FileFormat.MP3)
    second = add_file(lent.loan_id, FileFormat.MP3, samples.mp3_frames(3), label="Teil B")
    login(a)
    client.put(
        f"/api/v1/loans/{lent.loan_id}/position",
        json={"file_id": second, "seconds": 3, "progress": 0.1},
        headers={"X-CSRFToken": client.csrf()},
    )
    page = client.get(read_url(lent.loan_id, lent.file_id)).get_data(as_text=True)
    assert f'href="{read_url(lent.loan_id, second)}">Weiter, wo Sie aufgehört haben (0:03)' in page
    assert 'data-start="0"' in page


def test_video_plays_in_a_video_element(client, login, patron, lend):
    a = patron()
    lent = lend(a, FileFormat.MP4)
    login(a)
    page = client.get(read_url(lent.loan_id, lent.file_id)).get_data(as_text=True)
    assert "<video" in page and "playsinline" in page


def test_a_pdf_opens_in_the_browsers_own_viewer(client, login, patron, lend, links):
    a = patron()
    lent = lend(a, FileFormat.PDF)
    login(a)
    resp = client.get(read_url(lent.loan_id, lent.file_id))
    assert resp.status_code == 303
    location = urlsplit(resp.headers["Location"]).path
    assert unsigned(location) == unsigned(links(a, lent.loan_id)[Action.STREAM])
    shown = client.get(resp.headers["Location"])
    assert shown.mimetype == "application/pdf"
    assert shown.headers["Content-Disposition"].startswith("inline;")
    shown.close()


def test_a_pdf_without_streaming_is_refused(client, login, patron, lend):
    a = patron()
    lent = lend(a, FileFormat.PDF, streaming=False)
    login(a)
    resp = client.get(read_url(lent.loan_id, lent.file_id))
    assert resp.status_code == 403
    assert "streaming_not_allowed" in resp.get_data(as_text=True)


# --- refusals ------------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in(client, patron, lend):
    lent = lend(patron())
    resp = client.get(read_url(lent.loan_id, lent.file_id))
    assert resp.status_code == 302 and "/account/login" in resp.headers["Location"]


def test_someone_elses_loan_is_not_found(client, login, patron, lend):
    lent = lend(patron(), title="Fremdes Tagebuch")
    login(patron())
    resp = client.get(read_url(lent.loan_id, lent.file_id))
    assert resp.status_code == 404
    assert "Fremdes Tagebuch" not in resp.get_data(as_text=True)


def test_no_loan_is_not_found(client, login, patron):
    login(patron())
    assert client.get(read_url(999_999, 1)).status_code == 404


def test_a_file_outside_the_loan_is_not_found(client, login, patron, lend):
    a = patron()
    mine = lend(a)
    other = lend(patron(), title="Anderes Buch")
    login(a)
    resp = client.get(read_url(mine.loan_id, other.file_id))
    assert resp.status_code == 404
    assert "file_not_found" in resp.get_data(as_text=True)


def test_an_ended_loan_shows_the_ended_page(app, offered, client, login, patron, lend):
    a = patron()
    with app.test_request_context(), unit_of_work():
        set_keep_history(db.session.get(User, a.id), True)  # the loan keeps its patron
    lent = lend(a)
    with app.test_request_context(), unit_of_work():
        return_loan(db.session.get(User, a.id), lent.loan_id)
    login(a)
    resp = client.get(read_url(lent.loan_id, lent.file_id))
    assert resp.status_code == 410
    page = resp.get_data(as_text=True)
    assert "Diese Ausleihe ist beendet." in page
    assert f'href="/library/media/{lent.item_id}"' in page


def test_an_overdue_loan_ends_when_opened(client, login, patron, lend):
    a = patron()
    lent = lend(a, now=utcnow() - timedelta(days=8), days=7)
    login(a)
    resp = client.get(read_url(lent.loan_id, lent.file_id))
    assert resp.status_code == 410
    assert "Diese Ausleihe ist beendet." in resp.get_data(as_text=True)


def test_a_returned_loan_forgotten_by_default_is_not_found(app, client, login, patron, lend):
    a = patron()
    lent = lend(a)
    with app.test_request_context(), unit_of_work():
        return_loan(db.session.get(User, a.id), lent.loan_id)
    login(a)
    assert client.get(read_url(lent.loan_id, lent.file_id)).status_code == 404
