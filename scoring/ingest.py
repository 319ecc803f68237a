"""Account ingest: validate incoming accounts, upsert them by external_id, and
score the new and changed ones at once.

Rows come from a CSV file today and from a CRM's JSON later; both are plain
mappings of column to value, so one set of rules serves both. The rules:

- A row sets the columns it has. An empty cell (or JSON null) clears the
  value (NULL, "" or []); a column the file lacks leaves the stored value
  alone. external_id and name are required in every row.
- Nothing is guessed: a value that does not read cleanly is an error naming
  the field and the value, never coerced or dropped.
- All or nothing by default: one bad row and nothing is written; the report
  names every bad row. `valid_only` writes the good rows and reports the rest.
- A row whose cells are all empty is skipped and counted as blank.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from icpsite.text import text_problem
from profiles.attributes import (
    LIST_SEPARATOR,
    MAX_LIST_ITEMS,
    MAX_VALUE_LENGTH,
    Attribute,
    AttrType,
)
from profiles.models import User
from profiles.selectors import attribute_registry
from scoring.models import Account, DealStatus, list_index_for
from scoring.policies import IMPORT_REFUSED, can_import_accounts
from scoring.services import accounts_score

# Rows fetched, written and scored per statement: one IN (...) list per batch
# stays well inside every database's parameter limit.
BATCH_SIZE = 1000

# The largest CSV file accepted, in bytes.
MAX_FILE_BYTES = 20 * 1024 * 1024

CONCURRENT_WRITE = (
    "Another import wrote some of these accounts at the same moment, so nothing was stored. "
    "Import the file again."
)

# How many malformed CSV records a file error lists before summing up the rest.
MAX_LISTED_PROBLEMS = 10

MAX_EXTERNAL_ID_LENGTH = 64
NAME_LENGTH = 200
LIFECYCLE_STAGE_LENGTH = 60
MAX_INT = 2_147_483_647
MAX_BIGINT = 9_223_372_036_854_775_807
MAX_DEAL_AMOUNT = Decimal("999999999999.99")

TRAIT_PREFIX = "traits."

Mode = Literal["all_or_nothing", "valid_only"]
MODES: tuple[Mode, ...] = ("all_or_nothing", "valid_only")

TEXT_FIELDS = ("industry", "country", "funding_stage", "crm")
DATETIME_FIELDS = ("opportunity_opened_at", "deal_closed_at", "churned_at")
COLUMNS = (
    "external_id",
    "name",
    "domain",
    "employees",
    "annual_revenue",
    *TEXT_FIELDS,
    "tech_stack",
    "has_revops",
    "lifecycle_stage",
    "opportunity_opened_at",
    "deal_status",
    "deal_closed_at",
    "deal_amount",
    "churned_at",
)
# Deal outcomes and churn: what an outcomes-only import may set on accounts it
# already holds.
OUTCOME_COLUMNS = (
    "external_id",
    "lifecycle_stage",
    "opportunity_opened_at",
    "deal_status",
    "deal_closed_at",
    "deal_amount",
    "churned_at",
)
# Written on update; external_id is the key and never changes.
UPDATE_FIELDS = [*(c for c in COLUMNS if c != "external_id"), "traits", "list_index", "updated_at"]

_WHOLE = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


def declared_traits() -> dict[str, Attribute]:
    return {key: a for key, a in attribute_registry().items() if a.is_trait}


# --- One row -------------------------------------------------------------------


class AccountInvalidError(Exception):
    """A row that does not validate; `errors` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{f}: {m}" for f, ms in errors.items() for m in ms))
        self.errors = errors


class _BadValueError(Exception):
    """One field's value is unusable; the message says why."""


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any, max_length: int = MAX_VALUE_LENGTH) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _BadValueError(f"{_shown(value)} is not text")
    text = value.strip()
    problem = text_problem(text)
    if problem is not None:
        raise _BadValueError(problem)
    if len(text) > max_length:
        raise _BadValueError(f"is {len(text)} characters long; the limit is {max_length}")
    return text


def _whole(value: Any, maximum: int) -> int | None:
    if _is_empty(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise _BadValueError(
            f"{_shown(value)} is not a whole number (write digits only, e.g. 1200)"
        )
    if value < 0:
        raise _BadValueError(f"{value} is negative; enter 0 or more")
    if value > maximum:
        raise _BadValueError(f"{value} is larger than {maximum:,}")
    return value


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise _BadValueError(f"{_shown(value)} is not a number")
    if isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        return Decimal(value.strip())
    if isinstance(value, int | float | Decimal):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            number = Decimal("NaN")
        if number.is_finite():
            return number
    raise _BadValueError(
        f"{_shown(value)} is not a number (write digits with an optional '.', e.g. 1200.50)"
    )


def _amount(value: Any) -> Decimal | None:
    if _is_empty(value):
        return None
    number = _decimal(value)
    if number < 0:
        raise _BadValueError(f"{value} is negative; enter 0 or more")
    if number > MAX_DEAL_AMOUNT:
        raise _BadValueError(f"{value} is larger than {MAX_DEAL_AMOUNT:,}")
    if number != number.quantize(Decimal("0.01")):
        raise _BadValueError(f"{value} has more than 2 decimal places")
    return number.quantize(Decimal("0.01"))


def _boolean(value: Any) -> bool | None:
    if _is_empty(value):
        return None
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower() if isinstance(value, str | int) else None
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise _BadValueError(f"{_shown(value)} is not one of true, false, yes, no, 1, 0 (or empty)")


def _list(value: Any) -> list[str]:
    if _is_empty(value):
        return []
    if isinstance(value, str):
        items: list[Any] = [item for item in re.split(r"[,;]", value) if item.strip()]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise _BadValueError(
            f"{_shown(value)} is not a list (in a CSV cell, separate items with , or ;)"
        )
    if len(items) > MAX_LIST_ITEMS:
        raise _BadValueError(f"has {len(items)} items; the limit is {MAX_LIST_ITEMS}")
    seen: dict[str, None] = {}
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise _BadValueError(f"item {_shown(item)} is not text")
        text = item.strip().lower()
        problem = text_problem(text)
        if problem is not None:
            raise _BadValueError(f"item {_shown(item.strip())} {problem}")
        if LIST_SEPARATOR in text:
            raise _BadValueError(f"item {_shown(item.strip())} may not contain {LIST_SEPARATOR!r}")
        if len(text) > MAX_VALUE_LENGTH:
            raise _BadValueError(
                f"item {_shown(item.strip())} is over {MAX_VALUE_LENGTH} characters"
            )
        seen.setdefault(text, None)
    return list(seen)


# Outcomes happen in business time: a date outside these years is a typo or
# a placeholder, and the far past does not even survive the trip through
# UTC (year 1 at +06:00 is 1 BC, which PostgreSQL stores and Python cannot read).
EARLIEST_YEAR, LATEST_YEAR = 1900, 2999


def _moment(value: Any) -> datetime | None:
    """A timezone-aware datetime; a bare date means the start of that day in
    the site's time zone. A time without an offset is refused: guessing the
    zone would shift the moment by hours."""
    if _is_empty(value):
        return None
    moment = _parsed(value)
    if moment is None:
        raise _BadValueError(
            f"{_shown(value)} is not a date (2024-05-31) or a date and time with an offset "
            "(2024-05-31T09:30:00+02:00)"
        )
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise _BadValueError(
            f"{_shown(value)} is outside the years {EARLIEST_YEAR} to {LATEST_YEAR}"
        )
    if not isinstance(moment, datetime):
        return _start_of(moment)
    if timezone.is_naive(moment):
        raise _BadValueError(f"{_shown(value)} has no time zone; add an offset such as Z or +02:00")
    return moment


def _parsed(value: Any) -> date | None:
    """The date or the date and time a value holds; None when it holds neither."""
    if isinstance(value, date):  # a datetime is a date too
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return parse_date(text) or parse_datetime(text)
        except ValueError:
            return None
    return None


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time()), timezone.get_default_timezone())


def _deal_status(value: Any) -> str:
    word = _text(value).lower()
    if word not in DealStatus.values:
        raise _BadValueError(f"{_shown(value)} is not one of open, won, lost (or empty)")
    return word


def _trait(attribute: Attribute, value: Any) -> Any:
    """A trait value in its stored JSON form; None clears the trait."""
    if _is_empty(value) or value == []:
        return None
    if attribute.type == AttrType.NUMBER:
        number = _decimal(value)
        whole = number == number.to_integral_value()
        return int(number) if whole and abs(number) < 2**53 else float(number)
    if attribute.type == AttrType.CATEGORY:
        return _text(value)
    if attribute.type == AttrType.LIST:
        return _list(value)
    return _boolean(value)


_FIELD_RULES: dict[str, Any] = {
    "domain": _text,
    "employees": lambda v: _whole(v, MAX_INT),
    "annual_revenue": lambda v: _whole(v, MAX_BIGINT),
    **dict.fromkeys(TEXT_FIELDS, _text),
    "tech_stack": _list,
    "has_revops": _boolean,
    "lifecycle_stage": lambda v: _text(v, LIFECYCLE_STAGE_LENGTH),
    **dict.fromkeys(DATETIME_FIELDS, _moment),
    "deal_status": _deal_status,
    "deal_amount": _amount,
}


# The JSON types each column takes from a JSON client (strict mode), where a
# number in quotes is a client's bug rather than a spreadsheet's habit.
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(
        ("external_id", "name", "domain", *TEXT_FIELDS, "lifecycle_stage", "deal_status"), (str,)
    ),
    **dict.fromkeys(DATETIME_FIELDS, (str,)),
    "employees": (int,),
    "annual_revenue": (int,),
    "deal_amount": (int, float, str),
    "has_revops": (bool,),
    "tech_stack": (list,),
}
_TRAIT_JSON_TYPES: dict[AttrType, tuple[type, ...]] = {
    AttrType.NUMBER: (int, float),
    AttrType.CATEGORY: (str,),
    AttrType.LIST: (list,),
    AttrType.BOOLEAN: (bool,),
}
_JSON_NAMES = {str: "a string", int: "a whole number", float: "a number", bool: "true or false"}
_JSON_NAMES[list] = "an array"


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, dict):
        return "an object"
    return _JSON_NAMES.get(type(value), type(value).__name__)


def _check_json_type(value: Any, expected: tuple[type, ...]) -> None:
    """Refuse a JSON value of the wrong type; null always passes (it clears)."""
    if value is None:
        return
    wrong_bool = isinstance(value, bool) and bool not in expected
    if wrong_bool or not isinstance(value, expected):
        wanted = " or ".join(_JSON_NAMES[t] for t in expected if t in _JSON_NAMES)
        raise _BadValueError(f"{_shown(value)} is {_json_kind(value)}; send {wanted} or null")


def _required(value: Any, max_length: int) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    text = _text(value, max_length)
    if not text:
        raise _BadValueError("missing; every row needs one")
    return text


def account_clean(
    row: Mapping[str, Any],
    *,
    traits: dict[str, Attribute],
    strict: bool = False,
    columns: tuple[str, ...] = COLUMNS,
) -> dict[str, Any]:
    """The row's fields in stored form, or AccountInvalidError naming every bad field.

    Only the columns present come back (see the module rules). Traits come
    from a `traits` mapping (JSON) or `traits.<key>` columns (CSV), must be
    declared, and come back under "traits" as {key: value or None to clear}.
    `strict` (JSON clients) also refuses values of the wrong JSON type, such
    as a number in quotes. `columns` narrows what a row may hold (outcomes
    only, for instance); without "name" among them, name is not required.
    """
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    trait_values: dict[str, Any] = {}
    unknown = []
    with_traits = columns == COLUMNS
    for column, value in row.items():
        if column == "traits" and with_traits:
            if not isinstance(value, Mapping):
                errors["traits"] = [f"{_shown(value)} is not an object of trait values"]
                continue
            trait_values.update({f"{TRAIT_PREFIX}{k}": v for k, v in value.items()})
        elif isinstance(column, str) and column.startswith(TRAIT_PREFIX) and with_traits:
            trait_values[column] = value
        elif column not in columns:
            unknown.append(str(column))
    if unknown:
        accepted = ", ".join(columns) + (" and traits.<key>" if with_traits else "")
        errors["columns"] = [
            f"unknown column{'s' if len(unknown) > 1 else ''} "
            + ", ".join(repr(c) for c in sorted(unknown))
            + f"; accepted: {accepted}"
        ]
    required = [("external_id", lambda v: _required(v, MAX_EXTERNAL_ID_LENGTH))]
    if "name" in columns:
        required.append(("name", lambda v: _required(v, NAME_LENGTH)))
    for column, rule in (
        *required,
        *((c, _FIELD_RULES[c]) for c in columns if c in row and c in _FIELD_RULES),
    ):
        try:
            if strict:
                _check_json_type(row.get(column), _JSON_TYPES[column])
            clean[column] = rule(row.get(column))
        except _BadValueError as exc:
            errors.setdefault(column, []).append(str(exc))
    if trait_values:
        clean["traits"] = {}
    for column, value in trait_values.items():
        key = column.removeprefix(TRAIT_PREFIX)
        attribute = traits.get(key)
        if attribute is None:
            declared = ", ".join(sorted(traits)) or "none yet"
            errors.setdefault(column, []).append(
                f"no trait {key!r} is declared (declared traits: {declared})"
            )
            continue
        try:
            if strict:
                _check_json_type(value, _TRAIT_JSON_TYPES[attribute.type])
            clean["traits"][key] = _trait(attribute, value)
        except _BadValueError as exc:
            errors.setdefault(column, []).append(f"{exc}; {key} is a {attribute.type.value} trait")
    if errors:
        raise AccountInvalidError(errors)
    return clean


# --- Many rows -----------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    row: int
    external_id: str
    field: str
    message: str

    def __str__(self) -> str:
        who = f" ({self.external_id})" if self.external_id else ""
        return f"row {self.row}{who}: {self.field}: {self.message}"


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


def _external_id_of(row: Mapping[str, Any]) -> str:
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
    index = list_index_for(account.tech_stack or [], account.traits or {})
    if account.list_index != index:
        account.list_index = index
        changed = True
    return changed


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
        if skip_blank and all(_is_empty(v) for v in row.values()):
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
            external_id = _external_id_of(row)
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
    for external_id, numbers in rows_of.items():
        if len(numbers) < 2:
            continue
        for number in numbers:
            others = ", ".join(str(n) for n in numbers if n != number)
            report.errors.append(
                RowError(
                    number,
                    external_id,
                    "external_id",
                    f"{external_id!r} also appears in row {others}; "
                    "each account may appear once per import",
                )
            )
            good.pop(number, None)
    if outcomes_only:
        _refuse_unknown_accounts(report, good)
    report.errors.sort(key=lambda e: (e.row, e.field))
    if report.errors and mode == "all_or_nothing":
        return report
    cleaned = [(number, good[number]) for number in sorted(good)]
    try:
        with transaction.atomic():
            for start in range(0, len(cleaned), BATCH_SIZE):
                _write_batch(report, cleaned[start : start + BATCH_SIZE])
    except IntegrityError:
        raise ImportFileError([CONCURRENT_WRITE]) from None
    report.written = True
    return report


def _refuse_unknown_accounts(report: ImportReport, good: dict[int, dict[str, Any]]) -> None:
    """Outcomes are for accounts already held: each unknown one is its row's error."""
    numbers = sorted(good)
    for start in range(0, len(numbers), BATCH_SIZE):
        chunk = numbers[start : start + BATCH_SIZE]
        wanted = [good[n]["external_id"] for n in chunk]
        known = set(
            Account.objects.filter(external_id__in=wanted).values_list("external_id", flat=True)
        )
        for number in chunk:
            external_id = good[number]["external_id"]
            if external_id not in known:
                report.errors.append(
                    RowError(
                        number,
                        external_id,
                        "external_id",
                        f"no account {external_id!r}; send the account itself first",
                    )
                )
                del good[number]


def _write_batch(
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
    Account.objects.bulk_update(updated, UPDATE_FIELDS, batch_size=BATCH_SIZE)
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


# --- CSV -----------------------------------------------------------------------


class ImportFileError(Exception):
    """The file as a whole cannot be read; nothing was stored."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class CsvFile:
    """A CSV file whose size, encoding and header have been checked."""

    text: str
    delimiter: str
    header: list[str]


def csv_open(data: bytes) -> CsvFile:
    """The cheap checks of a CSV file as a whole, reading only its header:
    size, encoding (UTF-8, with or without a BOM) and a header of known
    columns. The delimiter is a comma, or a semicolon when the header holds
    no comma. The records are read by csv_records."""
    if len(data) > MAX_FILE_BYTES:
        limit = MAX_FILE_BYTES // 1024 // 1024
        raise ImportFileError(
            [f"The file is larger than {limit} MB. Split it into smaller files and import each."]
        )
    if not data.strip():
        raise ImportFileError(["The file is empty. Upload a CSV file with a header row."])
    if b"\x00" in data:
        raise ImportFileError(
            [
                "The file contains NUL bytes, so it is not plain CSV text (perhaps a spreadsheet "
                "or UTF-16 file). Save it as 'CSV UTF-8' and upload it again."
            ]
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ImportFileError(
            [
                f"The file is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}). "
                "Save it as 'CSV UTF-8' and upload it again."
            ]
        ) from None
    end = text.find("\n")
    first_line = text if end < 0 else text[:end]
    delimiter = ";" if "," not in first_line and ";" in first_line else ","
    records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [_column(cell) for cell in next(records, [])]
    except csv.Error as exc:
        raise ImportFileError(
            [f"The file is not valid CSV near line {records.line_num}: {exc}."]
        ) from None
    _check_header(header)
    return CsvFile(text=text, delimiter=delimiter, header=header)


def csv_records(file: CsvFile) -> Iterator[tuple[int, dict[str, str]]]:
    """Each record after the header as (row number, {column: cell}), {} for
    an empty line; the header is row 1. Streams, so a large file is never
    held as rows. A record with the wrong number of cells is not yielded:
    ImportFileError lists them once the file is read (as it does when no
    record holds an account); invalid CSV raises it at once."""
    records = csv.reader(io.StringIO(file.text, newline=""), delimiter=file.delimiter, strict=True)
    width = len(file.header)
    problems: list[str] = []
    wrong = 0
    accounts = False
    try:
        next(records, None)
        for number, cells in enumerate(records, start=2):
            if not cells:
                yield number, {}
            elif len(cells) != width:
                wrong += 1
                if wrong <= MAX_LISTED_PROBLEMS:
                    problems.append(
                        f"Row {number} has {len(cells)} cells but the header has {width} columns."
                    )
            else:
                accounts = accounts or any(cell.strip() for cell in cells)
                yield number, dict(zip(file.header, cells, strict=True))
    except csv.Error as exc:
        raise ImportFileError(
            [f"The file is not valid CSV near line {records.line_num}: {exc}."]
        ) from None
    if not accounts and not problems:
        raise ImportFileError(["The file has a header but no account rows."])
    if problems:
        more = wrong - len(problems)
        raise ImportFileError(
            [*problems, *([f"... and {more} more rows like these."] if more > 0 else [])]
        )


def csv_rows(data: bytes) -> list[dict[str, str]]:
    """The records of a CSV file as {column: cell}, after checking the file
    as a whole (csv_open) and every record's number of cells (csv_records)."""
    return [row for _, row in csv_records(csv_open(data))]


def _column(cell: str) -> str:
    name = cell.strip()
    return name.lower() if name.lower() in COLUMNS else name


def _check_header(header: list[str]) -> None:
    if "external_id" not in header or "name" not in header:
        seen = ", ".join(repr(c) for c in header[:8]) or "nothing"
        raise ImportFileError(
            [
                "The first row must be a header naming the columns, with at least external_id "
                f"and name; it reads {seen}."
            ]
        )
    unknown = [c for c in header if c not in COLUMNS and not c.startswith(TRAIT_PREFIX)]
    if unknown:
        raise ImportFileError(
            [
                f"Unknown column{'s' if len(unknown) > 1 else ''} "
                f"{_listed(unknown)}. Accepted columns: "
                f"{', '.join(COLUMNS)}, and traits.<key> for a declared trait."
            ]
        )
    twice = sorted(name for name, count in Counter(header).items() if count > 1)
    if twice:
        raise ImportFileError([f"The header names {_listed(twice)} more than once."])


def _listed(names: list[str], most: int = 10) -> str:
    """Names for a message, the first `most` of them and how many more."""
    shown = ", ".join(repr(name[:60]) for name in names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def accounts_import_csv(*, actor: User | None, data: bytes, mode: Mode) -> ImportReport:
    """Import a CSV file's accounts; ImportFileError when the file is unreadable."""
    return accounts_import(actor=actor, rows=csv_rows(data), mode=mode, first_row=2)


# --- Export --------------------------------------------------------------------

EXPORT_COLUMNS = (
    "external_id",
    "name",
    "domain",
    "score",
    "tier",
    "effective_tier",
    "overridden",
    "profile",
    "version",
)


def _cell(value: Any) -> Any:
    """Text as a spreadsheet will not run it as a formula. Every cell of
    every CSV the product writes goes through here."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def export_lines(
    rows: Iterable[tuple[Any, ...]], *, profile: str, version: int | str
) -> Iterator[str]:
    """CSV lines for (external_id, name, domain, score, tier, effective_tier,
    override_tier) rows, header first; `overridden` is yes when people set
    the effective tier."""
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_COLUMNS)
    for external_id, name, domain, score, tier, effective_tier, override_tier in rows:
        scored = score is not None
        cells = [
            external_id,
            name,
            domain,
            "" if score is None else score,
            tier or "",
            effective_tier or "",
            "yes" if override_tier else ("no" if scored else ""),
            profile if scored else "",
            version if scored else "",
        ]
        yield writer.writerow([_cell(cell) for cell in cells])
