"""Report the messages of a catalog that still need a translator (empty or fuzzy).

Usage: ``python tools/po_status.py vhs/translations/de/LC_MESSAGES/messages.po``.
Prints them and exits 0; ``--strict`` exits 1 when any are left (the test suite enforces it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from babel.messages.pofile import read_po


def untranslated(path: Path) -> list[str]:
    """The message ids in ``path`` whose translation is missing or still marked fuzzy."""
    with path.open("rb") as f:
        catalog = read_po(f)
    todo = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            todo.append(message.id if isinstance(message.id, str) else message.id[0])
    return todo


def main(argv: list[str] | None = None) -> int:
    """Print what is left to translate in each catalog given."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("catalogs", nargs="+", type=Path)
    parser.add_argument("--strict", action="store_true", help="exit 1 when anything is left")
    args = parser.parse_args(argv)
    left = 0
    for path in args.catalogs:
        todo = untranslated(path)
        left += len(todo)
        print(f"{path}: {len(todo)} message(s) to translate" + (":" if todo else "."))
        for msgid in todo:
            print(f"    {msgid!r}")
    return 1 if args.strict and left else 0


if __name__ == "__main__":
    sys.exit(main())
