"""Templates translate through :func:`vhs.i18n._translations`, which keeps the catalogue of
the locale being rendered for the rest of the request: a mail rendered in another language
(``force_locale``) and a language switch within one request must still get their own words."""

from __future__ import annotations

from flask import Flask, render_template_string, session
from flask_babel import force_locale

from vhs.i18n import refresh_locale

PAGE = "{{ _('My loans') }}|{{ ngettext('%(num)d place left', '%(num)d places left', 2) }}"


def test_the_request_language_then_a_forced_one_then_back(app: Flask) -> None:
    with app.test_request_context("/", headers={"Accept-Language": "de"}):
        assert render_template_string(PAGE) == "Meine Ausleihen|2 Plätze frei"
        with force_locale("en"):
            assert render_template_string(PAGE) == "My loans|2 places left"
        assert render_template_string(PAGE) == "Meine Ausleihen|2 Plätze frei"


def test_a_language_switch_within_the_request(app: Flask) -> None:
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert render_template_string(PAGE) == "My loans|2 places left"
        session["locale"] = "de"
        refresh_locale()
        assert render_template_string(PAGE) == "Meine Ausleihen|2 Plätze frei"


def test_outside_a_request_the_default_language(app: Flask) -> None:
    with app.app_context():
        assert render_template_string("{{ _('My loans') }}") == "Meine Ausleihen"
