"""Upserting many rows by external_id, whatever they hold (accounts in
scoring.ingest.importer, deals in scoring.ingest.deals): rows_import reads
them by the rules of their kind, checks them against one another and
against what is stored, then writes them in one transaction.

- All or nothing by default: one bad row and nothing is written; the report
  names every bad row. `valid_only` writes the good rows and reports the rest.
- A row whose cells are all empty is skipped and counted as blank.
- Every check that needs the database (an account a row names, a stored
  record a partial row completes) runs before the writing, in batches, so
  a row the tables would refuse is that row's error, never the database's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

import orjson
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.db.models import Manager, Model

from icpsite.numbers import count
from profiles.models import User
from scoring import sql
from scoring.ingest.rows import RowInvalidError, is_empty
from scoring.policies import IMPORT_REFUSED, can_import_accounts

# Rows fetched, written and scored per statement: one IN (...) list per batch
# stays well inside every database's parameter limit.
BATCH_SIZE = 1000

CONCURRENT_WRITE = (
    "Another import wrote some of these records at the same moment, so nothing was stored. "
    "Import the file again."
)

Mode = Literal["all_or_nothing", "valid_only"]
MODES: tuple[Mode, ...] = ("all_or_nothing", "valid_only")


class ImportFileError(Exception):
    """The import as a whole could not go on (a file that cannot be read, a
    concurrent writer); nothing was stored."""

    def __init__(self, problems: list[str], *, header: bool = False) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems
        # The header names columns other than icpsite's own: a mapping
        # (scoring.ingest.mapping) may read the file.
        self.header = header


@dataclass(frozen=True)
class RowError:
    row: int
    external_id: str
    field: str
    message: str

    def __str__(self) -> str:
        who = f" ({self.external_id})" if self.external_id else ""
        return f"row {self.row}{who}: {self.field}: {self.message}"


@dataclass(frozen=True)
class RowWarning:
    """A row stored as sent, with a value worth a look (its `field` and why)."""

    row: int
    external_id: str
    field: str
    message: str


@dataclass
class ImportReport:
    mode: Mode
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    blank: int = 0
    scored: int = 0
    written: bool = False
    errors: list[RowError] = field(default_factory=list)
    # For the good rows, in row order (the row import; a file's report
    # counts its values instead, scoring.ingest.jobs).
    warnings: list[RowWarning] = field(default_factory=list)
    # Row number -> "created", "updated" or "unchanged", for the rows written.
    outcomes: dict[int, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def bad_rows(self) -> int:
        return len({e.row for e in self.errors})

    def summary(self) -> str:
        parts = [f"{count(self.created)} created", f"{count(self.updated)} updated"]
        parts.append(f"{count(self.unchanged)} unchanged")
        if self.blank:
            parts.append(f"{count(self.blank)} blank skipped")
        if self.errors:
            parts.append(f"{count(self.bad_rows)} with errors")
        head = "Imported" if self.written or not self.errors else "Nothing imported"
        return f"{head}: {', '.join(parts)}."


Batch = list[tuple[int, dict[str, Any]]]


class RowKind(Protocol):
    """What one kind of row needs from rows_import and the file import."""

    noun: str  # "account", for messages
    id_length: int

    def clean(self, row: Mapping[str, Any], *, strict: bool) -> dict[str, Any]:
        """The row in stored form, or RowInvalidError naming each bad field."""
        ...

    def pending(self, clean: dict[str, Any]) -> Any:
        """What of a clean row must be checked against the database before
        anything is written (small: the file import keeps it for every row),
        or None when nothing must."""
        ...

    def lookup_errors(self, pending: Mapping[int, Any]) -> list[RowError]:
        """The errors of the rows (number -> pending) the database refuses,
        looked up in batches."""
        ...

    def hold(self, trait_keys: Iterable[str]) -> None:
        """Inside the write transaction, before anything is written: hold
        what the checked rows rely on (an account import, the declared traits
        among `trait_keys` that it writes), or ImportFileError when that
        changed since the rows were checked."""
        ...

    def warnings(self, good: Mapping[int, dict[str, Any]]) -> list[RowWarning]:
        """Warnings on the good rows (number -> clean row), in row order:
        values stored as sent that deserve a look."""
        ...

    def write(self, report: ImportReport, batch: Batch) -> list[int]:
        """Upsert a batch of checked rows, counting each in the report;
        returns the ids of the records to score."""
        ...

    def score(self, ids: list[int]) -> int:
        """Score the records `write` returned; how many were scored."""
        ...


def external_id_of(row: Mapping[str, Any], length: int) -> str:
    value = row.get("external_id")
    return str(value).strip()[:length] if value is not None else ""


def repeated_id_errors(rows_of: Mapping[str, list[int]], noun: str) -> list[RowError]:
    """An error on each row of an external_id that appears in more than one
    row (`rows_of`: external_id -> its row numbers)."""
    errors = []
    for external_id, numbers in rows_of.items():
        for number in numbers if len(numbers) > 1 else ():
            others = ", ".join(str(n) for n in numbers if n != number)
            errors.append(
                RowError(
                    number,
                    external_id,
                    "external_id",
                    f"{external_id!r} also appears in row {others}; "
                    f"each {noun} may appear once per import",
                )
            )
    return errors


def _manager(model: type[Model]) -> Manager[Any]:
    manager = model._meta.default_manager
    assert manager is not None  # every concrete model has one
    return manager


def held_external_ids(model: type[Model], external_ids: Iterable[str]) -> set[str]:
    """The ids among `external_ids` that rows of `model` hold, looked up in batches."""
    wanted = list(dict.fromkeys(external_ids))
    held: set[str] = set()
    for start in range(0, len(wanted), BATCH_SIZE):
        chunk = wanted[start : start + BATCH_SIZE]
        rows = _manager(model).filter(external_id__any=chunk)
        held.update(rows.values_list("external_id", flat=True))
    return held


M = TypeVar("M", bound=Model)


def locked_by_external_id(
    model: type[M], external_ids: Sequence[str], *, defer: Sequence[str] = ()
) -> dict[str, M]:
    """The rows of `model` among `external_ids`, by external_id, locked for
    the writing transaction (in_bulk, with the ids as one array parameter),
    without the `defer` fields."""
    rows = _manager(model).select_for_update().defer(*defer)
    return {row.external_id: row for row in rows.filter(external_id__any=external_ids)}


def rows_import(
    kind: RowKind,
    *,
    actor: User | None,
    rows: Iterable[Mapping[str, Any]],
    mode: Mode = "all_or_nothing",
    first_row: int = 1,
    strict: bool = False,
    skip_blank: bool = True,
) -> ImportReport:
    """Upsert rows of `kind` by external_id in one transaction, and score
    what the kind scores.

    `actor` None is the system (the command line, a CRM sync); a person must
    be allowed to import. Rows are numbered from `first_row` (2 for a CSV
    file, whose header is row 1). Lookups, writes and scoring go in batches
    of BATCH_SIZE, never one query per row. `strict` checks JSON types;
    without `skip_blank` an empty row is an error, not skipped.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    if actor is not None and not can_import_accounts(actor):
        raise PermissionDenied(IMPORT_REFUSED)
    report = ImportReport(mode=mode)
    good = _read(kind, report, rows, first_row=first_row, strict=strict, skip_blank=skip_blank)
    pending = {n: p for n, clean in good.items() if (p := kind.pending(clean)) is not None}
    for error in kind.lookup_errors(pending):
        report.errors.append(error)
        good.pop(error.row, None)
    report.errors.sort(key=lambda e: (e.row, e.field))
    report.warnings = kind.warnings(good)
    if report.errors and mode == "all_or_nothing":
        return report
    cleaned = [(number, good[number]) for number in sorted(good)]
    try:
        with transaction.atomic():
            kind.hold({key for _, clean in cleaned for key in clean.get("traits") or ()})
            for start in range(0, len(cleaned), BATCH_SIZE):
                changed = kind.write(report, cleaned[start : start + BATCH_SIZE])
                if changed:
                    report.scored += kind.score(changed)
    except IntegrityError:
        raise ImportFileError([CONCURRENT_WRITE]) from None
    report.written = True
    return report


def _read(
    kind: RowKind,
    report: ImportReport,
    rows: Iterable[Mapping[str, Any]],
    *,
    first_row: int,
    strict: bool,
    skip_blank: bool,
) -> dict[int, dict[str, Any]]:
    """Every row read by the kind's rules: the good ones by number; the bad
    ones, and those repeating an external_id, as errors in the report."""
    good: dict[int, dict[str, Any]] = {}
    rows_of: dict[str, list[int]] = {}
    for number, row in enumerate(rows, start=first_row):
        if skip_blank and all(is_empty(v) for v in row.values()):
            report.blank += 1
            continue
        try:
            clean = kind.clean(row, strict=strict)
        except RowInvalidError as exc:
            external_id = external_id_of(row, kind.id_length)
            report.errors.extend(
                RowError(number, external_id, name, message)
                for name, messages in exc.errors.items()
                for message in messages
            )
            if external_id:
                rows_of.setdefault(external_id, []).append(number)
            continue
        rows_of.setdefault(clean["external_id"], []).append(number)
        good[number] = clean
    for error in repeated_id_errors(rows_of, kind.noun):
        report.errors.append(error)
        good.pop(error.row, None)
    return good


def rows_update(model: type[Model], objects: Sequence[Model], fields: Sequence[str]) -> None:
    """Write `fields` of many rows of `model`: on PostgreSQL one UPDATE per
    batch from the rows as one JSON parameter (bulk_update's CASE per field
    and row made an update about 15 times slower than a create), elsewhere
    bulk_update."""
    if not objects:
        return
    if connection.vendor != "postgresql":
        _manager(model).bulk_update(objects, fields, batch_size=BATCH_SIZE)
        return
    columns = {f.attname: f.column for f in model._meta.concrete_fields if f.name in fields}
    for start in range(0, len(objects), BATCH_SIZE):
        rows = [
            {"id": o.pk, **{c: getattr(o, f) for f, c in columns.items()}}
            for o in objects[start : start + BATCH_SIZE]
        ]
        data = orjson.dumps(rows, default=str).decode()  # Decimal as its text
        sql.execute(sql.rows_update(model, list(columns.values()), data))
