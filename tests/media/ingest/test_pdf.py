"""PDF metadata (pypdf): title, authors, keywords, pages; password-protected PDFs refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from media.ingest.pdf import read_pdf
from media.ingest.proposal import FileRefused, Person
from media.models import ContributorRole
from tests.media.ingest import samples


def read(tmp_path: Path, data: bytes):
    path = tmp_path / "doc"
    path.write_bytes(data)
    return read_pdf(path)


def test_title_authors_keywords_and_pages(tmp_path):
    p = read(tmp_path, samples.pdf(pages=4))
    assert p.title == "Satzung der Stadtbibliothek"
    assert p.contributors == [
        Person("Stadt Iserlohn", ContributorRole.AUTHOR),
        Person("Erika Muster", ContributorRole.AUTHOR),
    ]
    assert p.subjects == ["Satzung", "Bibliothek"]
    assert p.pages == 4
    assert p.offered() == ["title", "contributors", "subjects", "pages"]


def test_a_pdf_that_needs_a_password_is_refused(tmp_path):
    with pytest.raises(FileRefused) as info:
        read(tmp_path, samples.pdf(user_password="geheim"))
    assert info.value.code == "file_encrypted"


def test_a_pdf_with_only_an_owner_password_opens(tmp_path):
    p = read(tmp_path, samples.pdf(owner_password="nur-rechte", pages=2))
    assert p.pages == 2


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n" + b"\x00garbage" * 200 + b"\n%%EOF\n",
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
    ],
)
def test_a_damaged_pdf_is_corrupt(tmp_path, data):
    with pytest.raises(FileRefused) as info:
        read(tmp_path, data)
    assert info.value.code == "file_corrupt"
