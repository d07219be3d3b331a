"""Translation catalogs (``de`` is the default; message ids are English)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

HERE = Path(__file__).parent


def compile_catalogs(only_stale: bool = False) -> list[Path]:
    """Compile every ``messages.po`` into ``messages.mo`` (what ``pybabel compile`` does)."""
    written = []
    for po in HERE.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if only_stale and mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as f:
            catalog = read_po(f)
        with mo.open("wb") as f:
            write_mo(f, catalog, use_fuzzy=False)
        written.append(mo)
    return written
