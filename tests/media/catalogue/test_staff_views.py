"""Staff pages for stocking the catalogue (/staff/media): list, create, edit, publish, withdraw."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from media.models import MediaItem, PublicationState
from vhs.db import db


def text(resp: Any) -> str:
    return resp.get_data(as_text=True).replace("\xa0", " ")


@pytest.fixture
def as_staff(client: Any, login: Callable[..., Any], make_user: Callable[..., Any]) -> Any:
    """The test client logged in as staff."""
    login(make_user("staff"))
    return client


def _form(**overrides: str) -> dict[str, str]:
    data = {
        "kind": "audiobook",
        "title": "Tod am Deich",
        "subtitle": "",
        "contributors-0-name": "Anna Berg",
        "contributors-0-role": "author",
        "contributors-1-name": "Jens Wawrczeck",
        "contributors-1-role": "narrator",
        "contributors-2-name": "",
        "contributors-2-role": "author",
        "publisher": "Deichverlag",
        "year": "2021",
        "language": "de",
        "series_title": "Deich-Krimis",
        "series_number": "3",
        "min_age": "12",
        "pages": "",
        "duration": "7:45",
        "classification": "SL",
        "identifiers-0-scheme": "isbn",
        "identifiers-0-value": "3-16-148410-X",
        "identifiers-1-scheme": "isbn",
        "identifiers-1-value": "",
        "subjects": "Krimi, Nordsee; Watt",
        "description": "Ein Mord am Deich.",
    }
    data.update(overrides)
    return data


def _only_item(app: Flask) -> MediaItem | None:
    with app.app_context():
        items = list(db.session.execute(sa.select(MediaItem)).scalars())
        assert len(items) <= 1
        if not items:
            return None
        item = items[0]
        _ = (item.contributors, item.identifiers, item.subjects)
        db.session.expunge_all()
        return item


def test_create_an_item_through_the_form(app: Flask, as_staff: Any) -> None:
    page = text(as_staff.get("/staff/media/new"))
    assert 'name="contributors-1-name"' in page  # blank rows to fill, no JavaScript needed
    assert 'name="identifiers-1-value"' in page
    assert '<option selected value="de">Deutsch</option>' in page
    resp = as_staff.submit("/staff/media/new", _form())
    assert resp.status_code == 302, text(resp)[:3000]
    item = _only_item(app)
    assert resp.headers["Location"] == f"/staff/media/{item.id}/edit"
    assert item.state is PublicationState.DRAFT
    assert [c.name for c in item.contributors] == ["Anna Berg", "Jens Wawrczeck"]
    assert [i.value for i in item.identifiers] == ["9783161484100"]
    assert sorted(s.term for s in item.subjects) == ["Krimi", "Nordsee", "Watt"]
    assert item.duration_seconds == 7 * 3600 + 45 * 60
    assert (item.series_number, item.min_age, item.year) == (3, 12, 2021)
    page = text(as_staff.get(resp.headers["Location"]))
    assert "„Tod am Deich“ wurde als Entwurf gespeichert." in page
    assert 'value="7:45"' in page and 'value="9783161484100"' in page
    assert 'name="contributors-3-name"' in page  # two blank rows below the two people


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"identifiers-0-value": "978-3-16-148410-1"}, "Die Prüfziffer stimmt nicht"),
        ({"title": ""}, "Titel"),
        ({"year": "1200"}, "Erscheinungsjahr"),
        ({"duration": "7 Stunden"}, "z. B. 7:45"),
        ({"series_title": ""}, "Geben Sie die Reihe an"),
        ({"contributors-0-role": "singer"}, "Rolle"),
        ({"language": "xx"}, "Sprache"),
    ],
)
def test_refused_input_shows_the_form_again(
    app: Flask, as_staff: Any, overrides: dict[str, str], message: str
) -> None:
    resp = as_staff.submit("/staff/media/new", _form(**overrides))
    assert resp.status_code == 422
    page = text(resp)
    assert "Bitte korrigieren Sie Folgendes:" in page and message in page
    assert 'value="Anna Berg"' in page  # what was typed stays
    assert _only_item(app) is None


def test_an_isbn_of_another_item_is_named(
    app: Flask, as_staff: Any, make_item: Callable[..., MediaItem]
) -> None:
    make_item("Das Original", isbn="9783161484100")
    resp = as_staff.submit("/staff/media/new", _form())
    assert resp.status_code == 422
    page = text(resp)
    assert "gehört bereits zu „Das Original“" in page
    assert "Diese Nummer gehört zu einem anderen Medium." in page


def test_edit_publish_and_withdraw(
    app: Flask, as_staff: Any, make_item: Callable[..., MediaItem], load_item: Any
) -> None:
    item = make_item("Tod am Deich", state="draft", subjects=["Krimi"])
    url = f"/staff/media/{item.id}/edit"
    page = text(as_staff.get(url))
    assert "Dieses Medium ist ein Entwurf" in page and 'value="Krimi"' in page
    assert f'action="/staff/media/{item.id}/publish"' in page
    assert f'href="/staff/media/{item.id}/withdraw"' not in page

    resp = as_staff.submit(url, _form(title="Tod im Watt", **{"identifiers-0-value": ""}))
    assert resp.status_code == 302
    assert load_item(item.id).title == "Tod im Watt"

    resp = as_staff.submit(f"/staff/media/{item.id}/publish")
    assert resp.status_code == 302
    assert load_item(item.id).state is PublicationState.PUBLISHED
    assert as_staff.submit(f"/staff/media/{item.id}/publish").status_code == 409

    # withdrawing asks first, saying what happens
    page = text(as_staff.get(f"/staff/media/{item.id}/withdraw"))
    assert "verschwindet sofort aus dem Katalog" in page
    assert "Datensatz, Dateien und Verlauf bleiben erhalten" in page
    assert load_item(item.id).state is PublicationState.PUBLISHED
    resp = as_staff.submit(f"/staff/media/{item.id}/withdraw")
    assert resp.status_code == 302
    assert load_item(item.id).state is PublicationState.WITHDRAWN
    page = text(as_staff.get(url))
    assert "zurückgezogen" in page and "Wieder veröffentlichen" in page
    # a second withdrawal is refused, and its page offers no button
    assert as_staff.submit(f"/staff/media/{item.id}/withdraw").status_code == 409
    page = text(as_staff.get(f"/staff/media/{item.id}/withdraw"))
    assert "Nur ein Medium, das im Katalog steht" in page and "Jetzt zurückziehen" not in page


def test_withdraw_without_a_form_token_is_refused(
    app: Flask, as_staff: Any, make_item: Callable[..., MediaItem], load_item: Any
) -> None:
    item = make_item()
    assert as_staff.post(f"/staff/media/{item.id}/withdraw").status_code == 400
    assert load_item(item.id).state is PublicationState.PUBLISHED


def test_list_search_and_state_filter(as_staff: Any, make_item: Callable[..., MediaItem]) -> None:
    make_item("Tod am Deich", authors=["Anna Berg"], isbn="9783161484100")
    make_item("Geheimer Entwurf", authors=["Ole Olsen"], state="draft")
    make_item("Weg damit", state="withdrawn")
    page = text(as_staff.get("/staff/media"))
    assert "3 Medien gefunden" in page and "Geheimer Entwurf" in page and "Weg damit" in page
    page = text(as_staff.get("/staff/media?state=draft"))
    assert "Geheimer Entwurf" in page and "Tod am Deich" not in page
    assert "Ole Olsen" in text(as_staff.get("/staff/media?q=olsen"))
    page = text(as_staff.get("/staff/media?q=3-16-148410-X"))
    assert "1 Medium gefunden" in page and "Tod am Deich" in page
    page = text(as_staff.get("/staff/media?q=100%25_"))
    assert "Kein Medium passt zu diesen Filtern." in page
    assert as_staff.get("/staff/media?page=99999999999").status_code == 200


def test_missing_items_are_404(as_staff: Any) -> None:
    assert as_staff.get("/staff/media/99999/edit").status_code == 404
    assert as_staff.get("/staff/media/99999/withdraw").status_code == 404
    assert as_staff.submit("/staff/media/99999/publish").status_code == 404


def test_only_staff_get_in(
    client: Any, login: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    resp = client.get("/staff/media")
    assert resp.status_code == 302 and "/account/login" in resp.headers["Location"]
    login(make_user("instructor"))
    assert client.get("/staff/media").status_code == 403
    assert client.get("/staff/media/new").status_code == 403
