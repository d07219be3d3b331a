"""Records into the catalogue: matched on identifier, each all-or-nothing, in batches.

Every record goes through :func:`media.catalogue.services.save_item` (the same checks and
audit entries as a staff form), inside a SAVEPOINT of its own: a record refused half-way
leaves nothing of itself, and the batch goes on. A record is matched to an item by its
numbers — ISBN first, then ISSN, then other numbers (the MARC control number, the ONIX record
reference) — so a second run of the same file updates, or reports "unchanged", instead of
adding the items again. The matches of a whole batch are fetched with one query (and their
people, numbers and keywords with one more each), not one query per record.

What an update changes: the fields the record has a value for. Its people and keywords
replace the item's when it names any; its numbers are added to the item's (a number is what
the next run matches on, so none is dropped). The item's state stays as staff left it:
``publish`` (the CLI's ``--publish``, the form's checkbox) publishes new items only; a CSV
``state`` column publishes or withdraws the row's item. ONIX deletions withdraw.

A bad ISBN check digit refuses the whole record, not just the number: the number is what
matches the record on the next run, and an item imported without it would be imported twice
once the source is corrected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import selectinload

from media import rules
from media.catalogue import services as catalogue
from media.catalogue import validation
from media.catalogue.labels import IDENTIFIER_MESSAGES, SCHEME_LABELS
from media.imports.labels import FIELD_LABELS
from media.imports.records import ImportRecord, Notice, Rejection
from media.models import Identifier, IdentifierScheme, MediaItem, PublicationState
from vhs.accounts.models import User
from vhs.db import db
from vhs.errors import Conflict, Invalid, VhsError

BATCH_SIZE = 200
MATCH_ORDER = (IdentifierScheme.ISBN, IdentifierScheme.ISSN, IdentifierScheme.OTHER)

Entry = ImportRecord | Rejection | Notice

# An item's lists for a whole batch: one SELECT ... IN per list (joined loads would multiply
# the rows of a batch by its people times its numbers).
BATCH_DETAILS = (
    selectinload(MediaItem.contributors),
    selectinload(MediaItem.identifiers),
    selectinload(MediaItem.subjects),
)


@dataclass
class Counts:
    """How many records an import created, updated, left alone, withdrew and refused."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    rejected: int = 0

    def add(self, other: Counts) -> None:
        """Add another batch's counts to these."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict[str, int]:
        """The counts by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class BatchResult:
    """What one batch did: its counts, refusals and notices, and the last position read."""

    counts: Counts = field(default_factory=Counts)
    rejections: list[Rejection] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    position: int = 0


def reason_of(exc: VhsError) -> str:
    """A refusal as one line of text, each field's problems after the field's name."""
    if isinstance(exc, Conflict) or not exc.errors:
        return str(exc.detail)
    parts = []
    for key, messages in exc.errors.items():
        listed = messages if isinstance(messages, list | tuple) else [messages]
        label = FIELD_LABELS.get(key, key)
        parts.append(f"{label}: {' '.join(str(m) for m in listed)}")
    return "; ".join(parts)


def clean_numbers(record: ImportRecord) -> list[tuple[IdentifierScheme, str]]:
    """The record's numbers as stored (ISBN-13, ``NNNN-NNNC``); ``Invalid`` naming a bad one."""
    numbers: list[tuple[IdentifierScheme, str]] = []
    for scheme, value in record.identifiers:
        try:
            number = validation.clean_identifier(scheme, value)
        except rules.IdentifierError as exc:
            message = f"{SCHEME_LABELS[scheme]} {value}: {IDENTIFIER_MESSAGES[exc.reason]}"
            raise Invalid(message, errors={"identifiers": [message]}) from None
        if number and len(number) <= rules.IDENTIFIER_MAX and (scheme, number) not in numbers:
            numbers.append((scheme, number))
    return numbers


class Importer:
    """Imports batches of records as ``actor``; one instance per run."""

    def __init__(self, actor: User, *, publish: bool = False) -> None:
        self.actor = catalogue.require_staff(actor)
        self.publish = publish

    # --- a batch ---------------------------------------------------------------------------

    def run_batch(self, entries: list[Entry]) -> BatchResult:
        """Import one batch in the caller's transaction (a savepoint per record); flushes."""
        result = BatchResult()
        prepared: list[tuple[ImportRecord, list[tuple[IdentifierScheme, str]]]] = []
        for entry in entries:
            if isinstance(entry, Notice):
                result.notices.append(entry.message)
                continue
            result.position = max(result.position, entry.position or 0)
            if isinstance(entry, Rejection):
                self._reject(result, entry)
                continue
            try:
                prepared.append((entry, clean_numbers(entry)))
            except Invalid as exc:
                self._reject(result, self._rejection(entry, exc))
        if prepared and not self._all_at_once(prepared, result):
            index, items = self._matches([n for _r, numbers in prepared for n in numbers])
            for record, numbers in prepared:
                self._one(record, numbers, index, items, result)
        return result

    def _all_at_once(
        self,
        prepared: list[tuple[ImportRecord, list[tuple[IdentifierScheme, str]]]],
        result: BatchResult,
    ) -> bool:
        """Try the whole batch at once; False (and nothing kept) when any record fails.

        Its new and changed items are saved with one ``save_items`` call (one flush for the
        batch instead of one per record), inside one savepoint. Most batches have no refused
        record; one that has is rolled back and done again record by record, each in a
        savepoint of its own, so the refused record leaves nothing behind. A batch that names
        one item twice is done record by record too (the second record updates the first).
        """
        index, items = self._matches([n for _r, numbers in prepared for n in numbers])
        counts = Counts()
        planned: list[tuple[ImportRecord, dict[str, Any], MediaItem | None]] = []
        left: list[tuple[ImportRecord, MediaItem | None]] = []
        claimed: set[tuple[IdentifierScheme, str]] = set()
        for record, numbers in prepared:
            if claimed & set(numbers):
                return False
            claimed.update(numbers)
            matched = _match(numbers, index)
            item = items.get(matched) if matched is not None else None
            if record.delete:
                left.append((record, item))
                continue
            data = self._data(record, numbers, item)
            try:
                changed = item is None or _differs(
                    item, validation.clean_item_data(data, creating=False)
                )
            except Invalid:
                return False
            if changed:
                planned.append((record, data, item))
            else:
                left.append((record, item))
        savepoint = db.session.begin_nested()
        try:
            saved = catalogue.save_items(self.actor, [(d, i) for _r, d, i in planned])
            fresh: list[MediaItem] = []  # new items the run publishes: all in one go
            for (record, _data, before), item in zip(planned, saved, strict=True):
                if before is None and self.publish and record.state is None:
                    fresh.append(item)
                    outcome = "created"
                else:
                    outcome = self._state(record, item, "created" if before is None else "updated")
                setattr(counts, outcome, getattr(counts, outcome) + 1)
            catalogue.publish_items(self.actor, fresh)
            for record, item in left:
                outcome = self._state(record, item, "unchanged")
                setattr(counts, outcome, getattr(counts, outcome) + 1)
        except (VhsError, IntegrityError, DataError):
            savepoint.rollback()
            return False
        except BaseException:
            savepoint.rollback()
            raise
        savepoint.commit()
        result.counts.add(counts)
        return True

    def _matches(
        self, numbers: list[tuple[IdentifierScheme, str]]
    ) -> tuple[dict[tuple[IdentifierScheme, str], int], dict[int, MediaItem]]:
        """The items that hold any of ``numbers``: one query for the numbers, one for the items."""
        by_scheme: dict[IdentifierScheme, set[str]] = {}
        for scheme, value in numbers:
            by_scheme.setdefault(scheme, set()).add(value)
        if not by_scheme:
            return {}, {}
        conds = [
            sa.and_(Identifier.scheme == scheme, Identifier.value.in_(sorted(values)))
            for scheme, values in by_scheme.items()
        ]
        rows = db.session.execute(
            sa.select(Identifier.scheme, Identifier.value, Identifier.item_id).where(sa.or_(*conds))
        ).all()
        index = {(row.scheme, row.value): row.item_id for row in rows}
        items: dict[int, MediaItem] = {}
        if index:
            loaded = db.session.execute(
                sa.select(MediaItem)
                .where(MediaItem.id.in_(set(index.values())))
                .options(*BATCH_DETAILS)
            ).scalars()
            items = {item.id: item for item in loaded}
        return index, items

    def _one(
        self,
        record: ImportRecord,
        numbers: list[tuple[IdentifierScheme, str]],
        index: dict[tuple[IdentifierScheme, str], int],
        items: dict[int, MediaItem],
        result: BatchResult,
    ) -> None:
        """One record, all or nothing: its own savepoint, rolled back when it is refused."""
        try:
            with db.session.begin_nested():
                outcome = self._settle(record, numbers, index, items)
        except VhsError as exc:
            self._reject(result, self._rejection(record, exc))
            return
        except (IntegrityError, DataError) as exc:
            problem = _("The database refused the record: %(problem)s", problem=_short(exc))
            self._reject(result, self._rejection(record, Invalid(problem)))
            return
        setattr(result.counts, outcome, getattr(result.counts, outcome) + 1)

    def _settle(
        self,
        record: ImportRecord,
        numbers: list[tuple[IdentifierScheme, str]],
        index: dict[tuple[IdentifierScheme, str], int],
        items: dict[int, MediaItem],
    ) -> str:
        """Import one record against the batch's matches; the outcome's name.

        An item made by an earlier record of the same batch is matched too (the index learns
        each new item's numbers), so a file that names one book twice does not add it twice.
        """
        matched = _match(numbers, index)
        item = items.get(matched) if matched is not None else None
        if matched is not None and item is None:
            item = db.session.get(MediaItem, matched)
        outcome, item = self._apply(record, numbers, item)
        if item is not None:
            for number in numbers:
                index.setdefault(number, item.id)
            items[item.id] = item
        return outcome

    def _apply(
        self,
        record: ImportRecord,
        numbers: list[tuple[IdentifierScheme, str]],
        item: MediaItem | None,
    ) -> tuple[str, MediaItem | None]:
        """Create, update, withdraw or leave alone; the outcome's name and the item."""
        if record.delete:
            return self._state(record, item, "unchanged"), item
        data = self._data(record, numbers, item)
        if item is None:
            item = catalogue.save_item(self.actor, data)
            return self._state(record, item, "created"), item
        outcome = "unchanged"
        if _differs(item, validation.clean_item_data(data, creating=False)):
            catalogue.save_item(self.actor, data, item)
            outcome = "updated"
        return self._state(record, item, outcome), item

    def _data(
        self,
        record: ImportRecord,
        numbers: list[tuple[IdentifierScheme, str]],
        item: MediaItem | None,
    ) -> dict[str, Any]:
        """``save_item``'s data for the record: its numbers cleaned, an item's own kept too."""
        data = record.to_data()
        if numbers:
            have = [(i.scheme, i.value) for i in item.identifiers] if item is not None else []
            merged = have + [n for n in numbers if n not in have]
            data["identifiers"] = [{"scheme": s, "value": v} for s, v in merged]
        return data

    def _state(self, record: ImportRecord, item: MediaItem | None, outcome: str) -> str:
        """Publish or withdraw as the record and the run ask; the outcome, changed if so."""
        if item is None:
            return outcome
        if record.delete or record.state is PublicationState.WITHDRAWN:
            if item.state is PublicationState.PUBLISHED:
                catalogue.withdraw_item(self.actor, item)
                return "withdrawn"
            return outcome
        publish = record.state is PublicationState.PUBLISHED or (
            self.publish and outcome == "created"
        )
        if publish and item.state is not PublicationState.PUBLISHED:
            catalogue.publish_item(self.actor, item)
            return outcome if outcome == "created" else "updated"
        return outcome

    # --- refusals ------------------------------------------------------------------------------

    def _rejection(self, record: ImportRecord, exc: VhsError) -> Rejection:
        return Rejection(record.position, reason_of(exc), record.label(), record.title)

    def _reject(self, result: BatchResult, rejection: Rejection) -> None:
        result.rejections.append(rejection)
        result.counts.rejected += 1


def _match(
    numbers: list[tuple[IdentifierScheme, str]], index: dict[tuple[IdentifierScheme, str], int]
) -> int | None:
    """The item the numbers point at: by ISBN first, then ISSN, then other numbers."""
    for scheme in MATCH_ORDER:
        for number in numbers:
            if number[0] is scheme and number in index:
                return index[number]
    return None


def _differs(item: MediaItem, clean: dict[str, Any]) -> bool:
    """Whether saving ``clean`` would change ``item``."""
    for key, value in clean.items():
        if key == "contributors":
            if [(c.name, c.role) for c in item.contributors] != value:
                return True
        elif key == "identifiers":
            if set(value) != {(i.scheme, i.value) for i in item.identifiers}:
                return True
        elif key == "subjects":
            if set(value) != {s.term for s in item.subjects}:
                return True
        elif getattr(item, key) != value:
            return True
    return False


def _short(exc: Exception) -> str:
    """The first line of a database error, without the SQL."""
    text = str(getattr(exc, "orig", exc)) or type(exc).__name__
    return text.splitlines()[0][:200]


def batches(entries: Iterable[Entry], size: int = BATCH_SIZE) -> Iterator[list[Entry]]:
    """``entries`` in lists of ``size`` records (notices ride along with the next batch)."""
    batch: list[Entry] = []
    records = 0
    for entry in entries:
        batch.append(entry)
        if not isinstance(entry, Notice):
            records += 1
        if records >= size:
            yield batch
            batch, records = [], 0
    if batch:
        yield batch


def skip_to(entries: Iterable[Entry], position: int) -> Iterator[Entry]:
    """The entries after ``position`` (a resumed run starts after its last committed batch)."""
    for entry in entries:
        if isinstance(entry, Notice):
            if not position:  # reported by the first attempt already
                yield entry
        elif (entry.position or 0) > position:
            yield entry


ProgressHook = Callable[[BatchResult], None]
