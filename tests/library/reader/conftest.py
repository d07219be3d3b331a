"""Factories of the reader tests: access's (a patron, a loan of an item with one stored file,
its links), plus more files for a loan (an audiobook in parts) and a position saved."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from library.models import Loan
from media.models import FileFormat, MediaFile
from tests.library.access.conftest import MEDIA_TYPES, lend, links, patron, store
from tests.library.test_privacy import offered
from vhs.db import db
from vhs.uow import unit_of_work

__all__ = ["lend", "links", "offered", "patron"]  # fixtures of access and privacy, as they are


@pytest.fixture
def add_file(app: Flask) -> Callable[..., int]:
    """``add_file(loan_id, fmt, data, label="", position=1)``: one more file of the loan's
    item (an audiobook's next part); its id."""

    def _add(
        loan_id: int, fmt: FileFormat, data: bytes, *, label: str = "", position: int = 1
    ) -> int:
        with app.app_context(), unit_of_work():
            item = db.session.get(Loan, loan_id).item
            media_file = MediaFile(
                format=fmt,
                media_type=MEDIA_TYPES[fmt],
                size_bytes=len(data),
                sha256=store(data, fmt),
                label=label,
                position=position,
            )
            item.files.append(media_file)
            db.session.flush()
            return media_file.id

    return _add
