"""The German catalog is complete and sound, and pages come out in the visitor's language.

German is the default language, so an English message id without a German translation shows
up as English text on a German page. These tests re-extract the messages from the source the way
``make translations`` does and fail until every one of them is translated.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "vhs" / "translations" / "de" / "LC_MESSAGES" / "messages.po"
# Keep in step with BABEL_KEYWORDS in the Makefile.
KEYWORDS = {
    **DEFAULT_KEYWORDS,
    **parse_keywords(["_l", "lazy_gettext", "lazy_ngettext:1,2", "lazy_pgettext:1c,2"]),
}
HOW_TO_FIX = (
    "run `make translations`, then translate the new entries in "
    "vhs/translations/de/LC_MESSAGES/messages.po (formal 'Sie', placeholders unchanged) "
    "and remove any '#, fuzzy' flag"
)
# printf-style placeholders as Python's % operator reads them; %% is a literal percent sign.
PLACEHOLDER = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?(?P<conv>[a-zA-Z%])"
)


def _mapping() -> tuple[Any, Any]:
    """The extraction methods and options configured in babel.cfg."""
    from babel.messages import frontend

    parse = getattr(frontend, "parse_mapping_cfg", None) or frontend.parse_mapping
    with (ROOT / "babel.cfg").open(encoding="utf-8") as f:
        return parse(f, filename=str(ROOT / "babel.cfg"))


@functools.cache
def extracted_messages() -> list[tuple[str | tuple[str, ...], str | None, str]]:
    """Every translatable message in the source: (message id, context, ``file:line``)."""
    method_map, options_map = _mapping()
    return [
        (message, context, f"{filename}:{lineno}")
        for filename, lineno, message, _comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS
        )
    ]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    """The German catalog as committed."""
    with CATALOG.open("rb") as f:
        return read_po(f, locale="de")


def _strings(message: Any) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def placeholders(text: str) -> list[tuple[str | None, str]]:
    """The placeholders of a message as (name, conversion), sorted; literal ``%%`` left out."""
    found = [(m["name"], m["conv"]) for m in PLACEHOLDER.finditer(text) if m["conv"] != "%"]
    return sorted(found, key=lambda p: (p[0] or "", p[1]))


def test_source_has_messages_to_check() -> None:
    """The extraction finds the messages at all (guards against a broken babel.cfg)."""
    ids = {m for m, _ctx, _where in extracted_messages()}
    assert "Skip to content" in ids and "Log in" in ids
    assert "Please log in to continue." in ids  # lazy_gettext in Python code


def test_every_message_in_the_source_has_a_german_translation(catalog: Catalog) -> None:
    """A message id used in code or templates is in the catalog, translated and not fuzzy."""
    problems: dict[str, str] = {}
    for msgid, context, where in extracted_messages():
        key = msgid[0] if isinstance(msgid, tuple) else msgid
        entry = catalog.get(msgid, context=context)
        if entry is None:
            problems.setdefault(key, f"{where}: missing from the catalog")
        elif entry.fuzzy:
            problems.setdefault(key, f"{where}: marked fuzzy (check it, then drop the flag)")
        elif not all(s.strip() for s in _strings(entry)):
            problems.setdefault(key, f"{where}: no German translation")
    report = "\n".join(f"  {msgid!r}\n      {why}" for msgid, why in sorted(problems.items()))
    assert not problems, f"{len(problems)} message(s) need German; {HOW_TO_FIX}:\n{report}"


def test_catalog_has_no_fuzzy_or_empty_entries(catalog: Catalog) -> None:
    """Every entry of the catalog is translated and reviewed (fuzzy ones would be ignored)."""
    assert not catalog.fuzzy, "the catalog header is marked fuzzy; remove '#, fuzzy' at the top"
    bad = [m.id for m in catalog if m.id and (m.fuzzy or not all(_strings(m)))]
    assert not bad, f"{len(bad)} untranslated or fuzzy entries; {HOW_TO_FIX}:\n" + "\n".join(
        f"  {msgid!r}" for msgid in bad
    )


def test_translations_keep_the_placeholders(catalog: Catalog) -> None:
    """A translation uses exactly the placeholders of its message id, or formatting breaks."""
    wrong = []
    for m in catalog:
        if not m.id:
            continue
        if isinstance(m.id, tuple):
            singular, plural = (placeholders(i) for i in m.id)
            allowed = set(singular + plural)
            forms = [placeholders(s) for s in _strings(m) if s]
            if any(not set(f) <= allowed for f in forms) or (forms and forms[-1] != plural):
                wrong.append((m.id, m.string))
        elif m.string and placeholders(m.string) != placeholders(m.id):
            wrong.append((m.id, m.string))
    assert not wrong, "placeholders differ between msgid and msgstr:\n" + "\n".join(
        f"  {msgid!r}\n  -> {msgstr!r}" for msgid, msgstr in wrong
    )


def test_placeholder_pattern_reads_python_formats() -> None:
    """The placeholder check sees what Python's % operator sees."""
    assert placeholders("%(n)d von %(total)s, 100 %%") == [("n", "d"), ("total", "s")]
    assert placeholders("%s und %5.2f") == [(None, "f"), (None, "s")]


@pytest.mark.parametrize("accept", ["de", "de-DE,de;q=0.9,en;q=0.5"])
def test_home_page_in_german(client: Any, accept: str) -> None:
    """Visitors whose browser asks for German get the German interface."""
    page = client.get("/", headers={"Accept-Language": accept})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<html lang="de">' in html
    for text in ("Zum Inhalt springen", "Anmelden", "Registrieren", "Datenschutzerklärung"):
        assert text in html
    assert "Skip to content" not in html and "Log in" not in html


def test_home_page_in_english(client: Any) -> None:
    """Visitors whose browser asks for English get the English interface."""
    page = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.8"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<html lang="en">' in html
    for text in ("Skip to content", "Log in", "Register", "Privacy notice"):
        assert text in html
    assert "Zum Inhalt springen" not in html and "Anmelden" not in html


def test_home_page_defaults_to_german(client: Any) -> None:
    """Without a language preference (or an unsupported one) the page is German."""
    for headers in ({}, {"Accept-Language": "fr-FR,fr;q=0.9"}):
        html = client.get("/", headers=headers).get_data(as_text=True)
        assert '<html lang="de">' in html and "Zum Inhalt springen" in html
