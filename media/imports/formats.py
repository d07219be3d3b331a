"""Which format a file of records is in (read from its content), and its reader.

MARC 21 binary starts with a leader: five digits of record length, and "22" at positions
10–11 (two indicators, two-character subfield codes). XML names its vocabulary early: the
MARCXML namespace (``http://www.loc.gov/MARC21/slim``) or a ``record``/``collection`` root,
ONIX an ``ONIXMessage`` (or ``ONIXmessage``) root. CSV is UTF-8 text whose first line names
at least a title column. Anything else is refused before it is stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO

from flask_babel import gettext as _
from lxml import etree

from media.imports import marc, onix, tabular
from media.imports.importer import Entry
from media.imports.models import ImportFormat
from media.imports.records import Rejection

SNIFF_BYTES = 8192
_LEADER = re.compile(rb"^\d{5}[ -~]{5}22\d{5}[ -~]{3}")


class Unreadable(ValueError):
    """The file cannot be read as records at all; the message says why (translated)."""


def sniff(head: bytes) -> ImportFormat | None:
    """The format of a file starting with ``head`` (its first few KB), or None."""
    data = head.removeprefix(b"\xef\xbb\xbf")
    if _LEADER.match(data):
        return ImportFormat.MARC
    stripped = data.lstrip()
    if stripped.startswith(b"<"):
        if (
            re.search(rb"<(?:[\w-]+:)?ONIX[mM]essage\b", stripped)
            or b"editeur.org/onix" in stripped
        ):
            return ImportFormat.ONIX
        if b"loc.gov/MARC21/slim" in stripped or re.search(
            rb"<(?:[\w-]+:)?(?:collection|record)\b", stripped
        ):
            return ImportFormat.MARCXML
        return None
    try:
        first_line = data.split(b"\n", 1)[0].decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any("title" in _columns(first_line, d) for d in tabular.DELIMITERS):
        return ImportFormat.CSV
    return None


def _columns(line: str, delimiter: str) -> set[str]:
    cells = line.rstrip("\r").split(delimiter)
    return {tabular.HEADERS.get(tabular._header_key(c.strip('"'))) or "" for c in cells}


def refused_format() -> str:
    """Why a file that is none of the formats is refused."""
    return _(
        "This file is not in a format we import. Accepted are MARC 21 (binary), MARCXML, "
        "ONIX 3.0 and CSV with a title column; the format is read from the content."
    )


def read(fmt: ImportFormat, stream: IO[bytes]) -> Iterator[Entry]:
    """The records of ``stream`` in ``fmt``; ``Unreadable`` when nothing at all can be read.

    A file that breaks off after some records (XML cut short) yields them, then a rejection
    that says where the rest could not be read.
    """
    readers = {
        ImportFormat.MARC: marc.read_marc,
        ImportFormat.MARCXML: marc.read_marcxml,
        ImportFormat.ONIX: onix.read_onix,
        ImportFormat.CSV: tabular.read_csv,
    }
    position = 0
    try:
        for entry in readers[fmt](stream):
            position = getattr(entry, "position", None) or position
            yield entry
    except onix.NotOnix3 as exc:
        raise Unreadable(onix.not_onix3_message(exc)) from None
    except tabular.NoTitleColumn:
        raise Unreadable(_("The CSV file has no title column (“title” or “Titel”).")) from None
    except (etree.XMLSyntaxError, UnicodeDecodeError) as exc:
        problem = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        if not position:
            raise Unreadable(_("The file cannot be read: %(problem)s", problem=problem)) from None
        yield Rejection(
            position + 1,
            _("The rest of the file cannot be read: %(problem)s", problem=problem),
        )


def count(fmt: ImportFormat, stream: IO[bytes]) -> int | None:
    """How many records the file holds (for progress), read fast; None when unknown."""
    try:
        if fmt is ImportFormat.MARC:
            total = 0
            while chunk := stream.read(1024 * 1024):
                total += chunk.count(b"\x1d")
            return total
        if fmt in (ImportFormat.MARCXML, ImportFormat.ONIX):
            names = ("record",) if fmt is ImportFormat.MARCXML else ("Product", "product")
            total = 0
            for _event, element in etree.iterparse(
                stream, events=("end",), resolve_entities=False, no_network=True, load_dtd=False
            ):
                if (
                    etree.QName(element.tag).localname in names
                    if isinstance(element.tag, str)
                    else False
                ):
                    total += 1
                    element.clear(keep_tail=False)
                    while element.getprevious() is not None:
                        del element.getparent()[0]
            return total
    except (etree.XMLSyntaxError, OSError):
        return None
    return None
