"""What a PDF says about itself (pypdf): title, author, subject keywords, and its page count.

A PDF that needs a password to open is refused as encrypted; one that only restricts
printing or copying (an owner password) opens with the empty user password and is taken.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pypdf import PasswordType, PdfReader

from media.ingest.proposal import (
    FileRefused,
    Proposal,
    add_person,
    add_subject,
    clean,
    column_limit,
    refused,
)
from media.models import ContributorRole


def read_pdf(path: Path) -> Proposal:
    """The metadata and page count of the PDF at ``path``; ``FileRefused`` if unreadable."""
    try:
        # Opened here, not by pypdf from the path: a reader keeps its file open until closed.
        with path.open("rb") as stream:
            reader = PdfReader(stream, strict=False)
            if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
                raise refused("file_encrypted")
            pages = len(reader.pages)
            info = reader.metadata or {}
            title, author, keywords = (
                _text(info, key) for key in ("/Title", "/Author", "/Keywords")
            )
    except FileRefused:
        raise
    except Exception:  # any failure to parse an untrusted file: it is damaged
        raise refused("file_corrupt") from None
    if pages < 1:
        raise refused("file_corrupt")
    proposal = Proposal(title=clean(title, column_limit("title")), pages=pages)
    for name in re.split(r"\s*;\s*|\s+(?:und|and|&)\s+", author):
        add_person(proposal.contributors, name, ContributorRole.AUTHOR)
    for term in re.split(r"\s*[;,]\s*", keywords):
        add_subject(proposal.subjects, term)
    return proposal


def _text(info: Any, key: str) -> str:
    """A document-information entry as text (pypdf may give other objects for broken ones)."""
    value = info.get(key)
    return value if isinstance(value, str) else ""
