"""Upserting clean rows by external_id (accounts_import), for the API's
bulk requests and for CSV files, and scoring the new and changed accounts.

- All or nothing by default: one bad row and nothing is written; the report
  names every bad row. `valid_only` writes the good rows and reports the rest.
- A row whose cells are all empty is skipped and counted as blank.
- A good row holding a category value no live or draft criterion names is
  stored, and reported with a warning (scoring.ingest.picklists).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from profiles.models import User
from scoring import sql
from scoring.ingest.picklists import PicklistCheck
from scoring.ingest.rows import (
    COLUMNS,
    MAX_EXTERNAL_ID_LENGTH,
    OUTCOME_COLUMNS,
    UPDATE_FIELDS,
    AccountInvalidError,
    account_clean,
    declared_traits,
    is_empty,
)
from scoring.models import Account
from scoring.policies import IMPORT_REFUSED, can_import_accounts
from scoring.services import accounts_score

# Rows fetched, written and scored per statement: one IN (...) list per batch
# stays well inside every database's parameter limit.
BATCH_SIZE = 1000

CONCURRENT_WRITE = (
    "Another import wrote some of these accounts at the same moment, so nothing was stored. "
    "Import the file again."
)

Mode = Literal["all_or_nothing", "valid_only"]
MODES: tuple[Mode, ...] = ("all_or_nothing", "valid_only")

# --- Many rows -----------------------------------------------------------------


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
        parts = [f"{self.created} created", f"{self.updated} updated"]
        parts.append(f"{self.unchanged} unchanged")
        if self.blank:
            parts.append(f"{self.blank} blank skipped")
        if self.errors:
            parts.append(f"{self.bad_rows} with errors")
        head = "Imported" if self.written or not self.errors else "Nothing imported"
        return f"{head}: {', '.join(parts)}."


def external_id_of(row: Mapping[str, Any]) -> str:
    value = row.get("external_id")
    return str(value).strip()[:MAX_EXTERNAL_ID_LENGTH] if value is not None else ""


def _apply(account: Account, values: dict[str, Any]) -> bool:
    """Set the row's values on the account; True when anything changed."""
    changed = False
    for name, value in values.items():
        if name == "traits":
            merged = {**(account.traits or {}), **value}
            value = {k: v for k, v in merged.items() if v is not None}
        if getattr(account, name) != value:
            setattr(account, name, value)
            changed = True
    return account.reindex() or changed


def accounts_import(
    *,
    actor: User | None,
    rows: Iterable[Mapping[str, Any]],
    mode: Mode = "all_or_nothing",
    first_row: int = 1,
    strict: bool = False,
    skip_blank: bool = True,
    outcomes_only: bool = False,
) -> ImportReport:
    """Upsert accounts by external_id in one transaction and score the new and
    changed ones against every current run.

    `actor` None is the system (the command line, a CRM sync); a person must
    be allowed to import. Rows are numbered from `first_row` (2 for a CSV
    file, whose header is row 1). Lookups, writes and scoring go in batches
    of BATCH_SIZE, never one query per row. `strict` checks JSON types (see
    account_clean); without `skip_blank` an empty row is an error, not
    skipped. `outcomes_only` takes OUTCOME_COLUMNS alone and only for
    accounts already held: an unknown external_id is that row's error.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    if actor is not None and not can_import_accounts(actor):
        raise PermissionDenied(IMPORT_REFUSED)
    report = ImportReport(mode=mode)
    traits = declared_traits()
    good: dict[int, dict[str, Any]] = {}
    rows_of: dict[str, list[int]] = {}
    for number, row in enumerate(rows, start=first_row):
        if skip_blank and all(is_empty(v) for v in row.values()):
            report.blank += 1
            continue
        try:
            clean = account_clean(
                row,
                traits=traits,
                strict=strict,
                columns=OUTCOME_COLUMNS if outcomes_only else COLUMNS,
            )
        except AccountInvalidError as exc:
            external_id = external_id_of(row)
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
    for error in repeated_id_errors(rows_of):
        report.errors.append(error)
        good.pop(error.row, None)
    _refuse_unheld(report, good, outcomes=outcomes_only)
    report.errors.sort(key=lambda e: (e.row, e.field))
    if not outcomes_only:
        report.warnings = _warnings(good, PicklistCheck.load(traits))
    if report.errors and mode == "all_or_nothing":
        return report
    cleaned = [(number, good[number]) for number in sorted(good)]
    try:
        with transaction.atomic():
            for start in range(0, len(cleaned), BATCH_SIZE):
                write_batch(report, cleaned[start : start + BATCH_SIZE])
    except IntegrityError:
        raise ImportFileError([CONCURRENT_WRITE]) from None
    report.written = True
    return report


def _warnings(good: Mapping[int, Mapping[str, Any]], check: PicklistCheck) -> list[RowWarning]:
    """A warning for each value of the good rows that no criterion names."""
    return [
        RowWarning(number, good[number]["external_id"], unknown.field, check.message(unknown))
        for number in sorted(good)
        for unknown in check.unknown(good[number])
    ]


# Each of UPDATE_FIELDS with its column.
_UPDATE_COLUMNS = {
    f.attname: f.column for f in Account._meta.concrete_fields if f.name in UPDATE_FIELDS
}


def accounts_update(accounts: list[Account]) -> None:
    """Write the accounts' UPDATE_FIELDS: on PostgreSQL one UPDATE per batch
    from the rows as one JSON parameter (bulk_update's CASE per field and
    row made an update about 15 times slower than a create), elsewhere
    bulk_update."""
    if connection.vendor != "postgresql":
        Account.objects.bulk_update(accounts, UPDATE_FIELDS, batch_size=BATCH_SIZE)
        return
    for start in range(0, len(accounts), BATCH_SIZE):
        rows = [
            {"id": a.pk, **{c: getattr(a, f) for f, c in _UPDATE_COLUMNS.items()}}
            for a in accounts[start : start + BATCH_SIZE]
        ]
        data = orjson.dumps(rows, default=str).decode()  # Decimal as its text
        sql.execute(sql.accounts_update(list(_UPDATE_COLUMNS.values()), data))


def repeated_id_errors(rows_of: Mapping[str, list[int]]) -> list[RowError]:
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
                    "each account may appear once per import",
                )
            )
    return errors


def unheld_ids(external_ids: Iterable[str]) -> set[str]:
    """The ids among `external_ids` of no account held, looked up in batches."""
    wanted = list(dict.fromkeys(external_ids))
    unheld: set[str] = set()
    for start in range(0, len(wanted), BATCH_SIZE):
        chunk = wanted[start : start + BATCH_SIZE]
        held = set(
            Account.objects.filter(external_id__in=chunk).values_list("external_id", flat=True)
        )
        unheld.update(external_id for external_id in chunk if external_id not in held)
    return unheld


def unheld_errors(rows: Mapping[int, str], *, outcomes: bool) -> list[RowError]:
    """An error on each row (number -> external_id) whose account is not
    held: outcomes are for accounts already held, and a row without a name
    only updates one."""
    unheld = unheld_ids(rows.values())
    if outcomes:
        field, words = "external_id", "no account {id!r}; send the account itself first"
    else:
        field, words = "name", "missing; {id!r} is a new account, so its row needs a name"
    return [
        RowError(number, external_id, field, words.format(id=external_id))
        for number, external_id in rows.items()
        if external_id in unheld
    ]


def _refuse_unheld(
    report: ImportReport, good: dict[int, dict[str, Any]], *, outcomes: bool
) -> None:
    """Refuse the rows that need their account held and whose account is not:
    every row of an outcomes import, a row without a name otherwise."""
    needing = {
        number: clean["external_id"]
        for number, clean in good.items()
        if outcomes or "name" not in clean
    }
    for error in unheld_errors(needing, outcomes=outcomes):
        report.errors.append(error)
        del good[error.row]


def write_batch(
    report: ImportReport,
    batch: list[tuple[int, dict[str, Any]]],
    *,
    score: bool = True,
    insert: Callable[[list[Account]], None] | None = None,
) -> list[int]:
    """Upsert a batch of clean rows; returns the ids of the accounts created
    or changed, scored here unless `score` is False (the caller scores them).
    `insert` stores the new accounts instead of bulk_create (a file import
    COPYs them)."""
    ids = [clean["external_id"] for _, clean in batch]
    existing = Account.objects.select_for_update().in_bulk(ids, field_name="external_id")
    created: list[Account] = []
    updated: list[Account] = []
    now = timezone.now()
    for number, clean in batch:
        account = existing.get(clean["external_id"])
        if account is None:
            if "name" not in clean:
                # Held when the rows were checked, deleted since: the row
                # would make an account without a name.
                raise ImportFileError([CONCURRENT_WRITE])
            account = Account(external_id=clean["external_id"])
            _apply(account, clean)
            created.append(account)
            report.outcomes[number] = "created"
        elif _apply(account, clean):
            account.updated_at = now
            updated.append(account)
            report.outcomes[number] = "updated"
        else:
            report.unchanged += 1
            report.outcomes[number] = "unchanged"
    if insert is None:
        Account.objects.bulk_create(created, batch_size=BATCH_SIZE)
    else:
        insert(created)
    accounts_update(updated)
    new_ids = [a.pk for a in created]
    if None in new_ids:
        created_ids = [a.external_id for a in created]
        new_ids = list(
            Account.objects.filter(external_id__in=created_ids).values_list("pk", flat=True)
        )
    report.created += len(created)
    report.updated += len(updated)
    changed = [*new_ids, *(a.pk for a in updated)]
    if changed and score:
        report.scored += accounts_score(changed)
    return changed
