"""README.md documents the configuration the code really reads: every setting it names exists
in ``Settings`` (vhs/config.py), every field of ``Settings`` is named, and nothing it points at
is missing from the repository."""

from __future__ import annotations

import re
from pathlib import Path

from vhs.config import REPO_ROOT, Settings

README = REPO_ROOT / "README.md"
TABLE_ROW = re.compile(r"^\|\s*`(VHS_[A-Z0-9_]+)`\s*\|")


def configuration_tables() -> list[set[str]]:
    """The ``VHS_*`` names of each table in README's "Configuration" section, in order."""
    text = README.read_text(encoding="utf-8")
    match = re.search(r"^## Configuration\n(.*?)(?=^## )", text, re.M | re.S)
    assert match, "README.md has no '## Configuration' section"
    tables: list[set[str]] = []
    in_table = False
    for line in match.group(1).splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        if not in_table:
            tables.append(set())
            in_table = True
        if row := TABLE_ROW.match(line):
            assert row.group(1) not in tables[-1], f"{row.group(1)} is listed twice"
            tables[-1].add(row.group(1))
    return tables


def code_text() -> str:
    """Every Python module, the Makefile and the CI script: where variables are read."""
    files = [p for p in REPO_ROOT.glob("**/*.py") if ".venv" not in p.parts]
    files += [REPO_ROOT / "Makefile", REPO_ROOT / ".ci" / "run"]
    return "\n".join(p.read_text(encoding="utf-8") for p in files if p.is_file())


def test_the_settings_table_names_exactly_the_settings_fields():
    tables = configuration_tables()
    assert len(tables) == 2, "expected the Settings table and the 'Outside Settings' table"
    documented, fields = tables[0], set(Settings.env_names())
    assert documented - fields == set(), "README names settings that Settings does not have"
    assert fields - documented == set(), "Settings has fields that README does not name"


def test_variable_tables_elsewhere_name_only_real_settings():
    """Sections may repeat the settings they use; never one that does not exist."""
    text = README.read_text(encoding="utf-8")
    everywhere = {row.group(1) for line in text.splitlines() if (row := TABLE_ROW.match(line))}
    known = set(Settings.env_names()) | configuration_tables()[1]
    assert everywhere - known == set()


def test_variables_outside_settings_are_really_read_and_not_settings():
    outside = configuration_tables()[1]
    assert outside, "the 'Outside Settings' table is empty"
    assert outside.isdisjoint(Settings.env_names())
    code = code_text()
    unread = {name for name in outside if not re.search(rf"\b{name}\b", code)}
    assert unread == set(), "README documents variables that no code reads"


def test_readme_points_only_at_files_in_the_repository():
    """A Markdown file it names, or a relative link, must exist in the checkout."""
    text = README.read_text(encoding="utf-8")
    named = set(re.findall(r"`([\w./-]+\.md)`", text))
    linked = {
        target
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
        if not re.match(r"[a-z][a-z0-9+.-]*:", target)  # not http:, mailto: ...
    }
    missing = sorted(p for p in named | linked if not (REPO_ROOT / Path(p)).exists())
    assert missing == [], f"README.md points at files that are not in the repository: {missing}"
