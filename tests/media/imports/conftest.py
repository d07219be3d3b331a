"""Fixtures of the import tests: a staff member, an import through the services (upload,
claim, process), and what the catalogue holds afterwards."""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from media.catalogue.services import ITEM_DETAILS
from media.files.storage import get_storage
from media.imports import runs
from media.imports.models import ImportRun
from media.models import Identifier, IdentifierScheme, MediaItem
from vhs.accounts.models import User
from vhs.db import db
from vhs.uow import unit_of_work


@dataclass
class Outcome:
    """A finished run: its row (detached) and its refusals as (kind, position, id, title, why)."""

    run: ImportRun
    rejections: list[tuple[str, int | None, str, str, str]] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        r = self.run
        return {
            "created": r.created,
            "updated": r.updated,
            "unchanged": r.unchanged,
            "withdrawn": r.withdrawn,
            "rejected": r.rejected,
        }

    def reasons(self) -> list[str]:
        return [reason for *_rest, reason in self.rejections]


@pytest.fixture
def staff(make_user: Callable[..., User]) -> User:
    """A staff member who imports."""
    return make_user("staff", email=f"import-{secrets.token_hex(3)}@example.org")


def finished(run_id: int) -> Outcome:
    """The run and its refusals, detached (inside an app context)."""
    run = db.session.get(ImportRun, run_id)
    assert run is not None
    rows = [
        (r.kind.value, r.position, r.identifier, r.title, r.reason) for r in runs.rejections_of(run)
    ]
    db.session.expunge(run)
    return Outcome(run, rows)


@pytest.fixture
def run_import(app: Flask, staff: User) -> Callable[..., Outcome]:
    """``run_import(data, name, publish=False, files=None, actor=None, locale="en")``: upload
    through ``runs.queue_run``, then run the job's loop (claim and process) to the end."""

    def _run(
        data: bytes,
        name: str = "records",
        *,
        publish: bool = False,
        files: bytes | None = None,
        actor: User | None = None,
        locale: str = "en",
    ) -> Outcome:
        with app.app_context(), unit_of_work():
            user = db.session.get(User, (actor or staff).id)
            run = runs.queue_run(
                user,
                io.BytesIO(data),
                name,
                files=io.BytesIO(files) if files is not None else None,
                files_name="files.zip" if files is not None else "",
                publish=publish,
                locale=locale,
            )
            run_id = run.id
        with app.app_context(), unit_of_work():
            assert runs.process_waiting() >= 1
        with app.app_context():
            return finished(run_id)

    return _run


@pytest.fixture
def item_by_isbn(app: Flask) -> Callable[[str], MediaItem | None]:
    """The item holding an ISBN, with its lists, detached."""

    def _get(isbn: str) -> MediaItem | None:
        with app.app_context():
            item = (
                db.session.execute(
                    sa.select(MediaItem)
                    .join(Identifier, Identifier.item_id == MediaItem.id)
                    .where(Identifier.scheme == IdentifierScheme.ISBN, Identifier.value == isbn)
                    .options(*ITEM_DETAILS, sa.orm.selectinload(MediaItem.files))
                )
                .unique()
                .scalar_one_or_none()
            )
            db.session.expunge_all()
            return item

    return _get


@pytest.fixture
def count_items(app: Flask) -> Callable[[], int]:
    """How many items the catalogue holds."""

    def _count() -> int:
        with app.app_context():
            return db.session.scalar(sa.select(sa.func.count()).select_from(MediaItem)) or 0

    return _count


@pytest.fixture
def blob_count(app: Flask) -> Callable[[], int]:
    """How many media files storage holds (covers and import uploads not counted)."""

    def _count() -> int:
        with app.app_context():
            root = get_storage().root  # type: ignore[attr-defined]
        return sum(1 for p in (root / "files").glob("*") if p.is_file())

    return _count


def stream(data: bytes) -> Any:
    """Bytes as the binary stream a reader takes."""
    return io.BytesIO(data)
