"""The rules of one incoming row, whichever way it comes (a CSV file's
record or a CRM's JSON object): row_clean turns a mapping of column to value
into the values to store by the rules of its kind (RowRules), or raises
RowInvalidError naming each bad field. This module holds the readers of
single values and the account's rules (account_clean); a deal's are in
scoring.ingest.deal_rows.

- A row sets the columns it has. An empty cell (or JSON null) clears the
  value (NULL, "" or []); a column the row lacks leaves the stored value
  alone. external_id is required in every row; the kind's key field (an
  account's name) in a row that creates a record (an update may leave it
  out, but not send it empty).
- Nothing is guessed: a value that does not read cleanly is an error naming
  the field and the value, never coerced or dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from functools import cache, partial
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from icpsite.text import text_problem
from profiles.attributes import (
    LIST_SEPARATOR,
    MAX_LIST_ITEMS,
    MAX_VALUE_LENGTH,
    Attribute,
    AttrType,
    canonical,
)
from profiles.selectors import attribute_registry
from scoring.models import DERIVED_FIELDS, OUTCOME_FIELDS, DealStatus

MAX_EXTERNAL_ID_LENGTH = 64
NAME_LENGTH = 200
LIFECYCLE_STAGE_LENGTH = 60
MAX_INT = 2_147_483_647
MAX_BIGINT = 9_223_372_036_854_775_807
MAX_DEAL_AMOUNT = Decimal("999999999999.99")
# A deal amount from a JSON client: a number, or its exact text ("48000.00").
AMOUNT_JSON_TYPES: tuple[type, ...] = (int, float, str)
# Number traits are stored in JSON as doubles; past this they lose whole units.
MAX_TRAIT_NUMBER = Decimal("1e15")

TRAIT_PREFIX = "traits."
# Where an error about a trait key sends the client to look the keys up.
TRAITS_LISTED = "GET /api/v1/traits/ lists each with its type"

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
# An account row's outcome fields are a shortcut to the account's outcome
# deal (scoring.ingest.outcomes), not fields of the account.
OUTCOME_DEAL_FIELDS = tuple(OUTCOME_FIELDS)
# Written on update; external_id is the key and never changes. The
# canonical columns and the list index follow the values (Account.reindex).
UPDATE_FIELDS = [
    *(c for c in COLUMNS if c != "external_id" and c not in OUTCOME_DEAL_FIELDS),
    "traits",
    *DERIVED_FIELDS,
    "updated_at",
]

_WHOLE = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


def declared_traits() -> dict[str, Attribute]:
    return {key: a for key, a in attribute_registry().items() if a.is_trait}


# --- One row -------------------------------------------------------------------


class RowInvalidError(Exception):
    """A row that does not validate; `errors` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{f}: {m}" for f, ms in errors.items() for m in ms))
        self.errors = errors


class AccountInvalidError(RowInvalidError):
    """An account row that does not validate."""


class BadValueError(Exception):
    """One field's value is unusable; the message says why."""


# Reads one field's value into its stored form, or raises BadValueError.
Reader = Callable[[Any], Any]


def shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def text_value(value: Any, max_length: int = MAX_VALUE_LENGTH) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadValueError(f"{shown(value)} is not text")
    text = value.strip()
    problem = text_problem(text)
    if problem is not None:
        raise BadValueError(problem)
    if len(text) > max_length:
        raise BadValueError(f"is {len(text)} characters long; the limit is {max_length}")
    return text


def whole_value(value: Any, maximum: int) -> int | None:
    if is_empty(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadValueError(f"{shown(value)} is not a whole number (write digits only, e.g. 1200)")
    if value < 0:
        raise BadValueError(f"{value} is negative; enter 0 or more")
    if value > maximum:
        raise BadValueError(f"{value} is larger than {maximum:,}")
    return value


def decimal_value(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise BadValueError(f"{shown(value)} is not a number")
    if isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        return Decimal(value.strip())
    if isinstance(value, int | float | Decimal):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            number = Decimal("NaN")
        if number.is_finite():
            return number
    raise BadValueError(
        f"{shown(value)} is not a number (write digits with an optional '.', e.g. 1200.50)"
    )


def amount_value(value: Any) -> Decimal | None:
    if is_empty(value):
        return None
    number = decimal_value(value)
    if number < 0:
        raise BadValueError(f"{value} is negative; enter 0 or more")
    if number > MAX_DEAL_AMOUNT:
        raise BadValueError(f"{value} is larger than {MAX_DEAL_AMOUNT:,}")
    if number != number.quantize(Decimal("0.01")):
        raise BadValueError(f"{value} has more than 2 decimal places")
    return number.quantize(Decimal("0.01"))


def boolean_value(value: Any) -> bool | None:
    if is_empty(value):
        return None
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower() if isinstance(value, str | int) else None
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise BadValueError(f"{shown(value)} is not one of true, false, yes, no, 1, 0 (or empty)")


def list_value(value: Any) -> list[str]:
    """A list's items in stored form, which is the form they are compared in
    (canonical: items differing only in case or spacing are one item)."""
    if is_empty(value):
        return []
    if isinstance(value, str):
        items: list[Any] = [item for item in re.split(r"[,;]", value) if item.strip()]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise BadValueError(
            f"{shown(value)} is not a list (in a CSV cell, separate items with , or ;)"
        )
    if len(items) > MAX_LIST_ITEMS:
        raise BadValueError(f"has {len(items)} items; the limit is {MAX_LIST_ITEMS}")
    seen: dict[str, None] = {}
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise BadValueError(f"item {shown(item)} is not text")
        sent = item.strip()
        problem = text_problem(sent)
        if problem is not None:
            raise BadValueError(f"item {shown(sent)} {problem}")
        if len(sent) > MAX_VALUE_LENGTH:
            raise BadValueError(f"item {shown(sent)} is over {MAX_VALUE_LENGTH} characters")
        text = canonical(sent)
        if LIST_SEPARATOR in text:
            raise BadValueError(f"item {shown(sent)} may not contain {LIST_SEPARATOR!r}")
        seen.setdefault(text, None)
    return list(seen)


# Outcomes happen in business time: a date outside these years is a typo or
# a placeholder, and the far past does not even survive the trip through
# UTC (year 1 at +06:00 is 1 BC, which PostgreSQL stores and Python cannot read).
EARLIEST_YEAR, LATEST_YEAR = 1900, 2999


def moment_value(value: Any) -> datetime | None:
    """A timezone-aware datetime; a bare date means the start of that day in
    the site's time zone. A time without an offset is refused: guessing the
    zone would shift the moment by hours."""
    if is_empty(value):
        return None
    moment = _parsed(value)
    if moment is None:
        raise BadValueError(
            f"{shown(value)} is not a date (2024-05-31) or a date and time with an offset "
            "(2024-05-31T09:30:00+02:00)"
        )
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise BadValueError(f"{shown(value)} is outside the years {EARLIEST_YEAR} to {LATEST_YEAR}")
    if not isinstance(moment, datetime):
        return _start_of(moment)
    if timezone.is_naive(moment):
        raise BadValueError(f"{shown(value)} has no time zone; add an offset such as Z or +02:00")
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


_DEAL_STATUSES = frozenset(DealStatus.values)


def _deal_status(value: Any) -> str:
    word = text_value(value).lower()
    if word not in _DEAL_STATUSES:
        raise BadValueError(f"{shown(value)} is not one of open, won, lost (or empty)")
    return word


def _trait(attribute: Attribute, value: Any) -> Any:
    """A trait value in its stored JSON form; None clears the trait."""
    if is_empty(value) or value == []:
        return None
    if attribute.type == AttrType.NUMBER:
        number = decimal_value(value)
        if abs(number) >= MAX_TRAIT_NUMBER:
            raise BadValueError(f"{shown(value)} is too large; the limit is 1e15")
        whole = number == number.to_integral_value()
        return int(number) if whole and abs(number) < 2**53 else float(number)
    if attribute.type == AttrType.CATEGORY:
        return text_value(value)
    if attribute.type == AttrType.LIST:
        return list_value(value)
    return boolean_value(value)


_FIELD_RULES: dict[str, Reader] = {
    "domain": text_value,
    "employees": lambda v: whole_value(v, MAX_INT),
    "annual_revenue": lambda v: whole_value(v, MAX_BIGINT),
    **dict.fromkeys(TEXT_FIELDS, text_value),
    "tech_stack": list_value,
    "has_revops": boolean_value,
    "lifecycle_stage": lambda v: text_value(v, LIFECYCLE_STAGE_LENGTH),
    **dict.fromkeys(DATETIME_FIELDS, moment_value),
    "deal_status": _deal_status,
    "deal_amount": amount_value,
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
    "deal_amount": AMOUNT_JSON_TYPES,
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


def check_json_type(value: Any, expected: tuple[type, ...]) -> None:
    """Refuse a JSON value of the wrong type; null always passes (it clears)."""
    if value is None or type(value) in expected:
        return
    wrong_bool = isinstance(value, bool) and bool not in expected
    if wrong_bool or not isinstance(value, expected):
        wanted = " or ".join(_JSON_NAMES[t] for t in expected if t in _JSON_NAMES)
        raise BadValueError(f"{shown(value)} is {_json_kind(value)}; send {wanted} or null")


def required_text(value: Any, max_length: int, empty: str = "missing; every row needs one") -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    text = text_value(value, max_length)
    if not text:
        raise BadValueError(empty)
    return text


NAME_EMPTY = "empty; an account's name cannot be cleared (leave the field out to keep it)"


# --- Rules of a kind of row --------------------------------------------------


@dataclass(frozen=True)
class RowRules:
    """What one kind of row (an account, a deal) may hold and how each field
    reads. `key_field` names the row that creates a record (an account's
    name): required there, optional in an update, never sent empty. `finish`
    checks the fields against one another once each reads on its own, adding
    to the errors by field."""

    columns: tuple[str, ...]
    fields: Mapping[str, Reader]
    json_types: Mapping[str, tuple[type, ...]]
    id_length: int
    key_field: str
    key_empty: str
    key_length: int
    finish: Callable[[dict[str, Any], dict[str, list[str]]], None] | None = None


ACCOUNT_ROWS = RowRules(
    columns=COLUMNS,
    fields=_FIELD_RULES,
    json_types=_JSON_TYPES,
    id_length=MAX_EXTERNAL_ID_LENGTH,
    key_field="name",
    key_empty=NAME_EMPTY,
    key_length=NAME_LENGTH,
)


def row_clean(
    row: Mapping[str, Any],
    rules: RowRules,
    *,
    strict: bool = False,
    columns: tuple[str, ...] | None = None,
    traits: dict[str, Attribute] | None = None,
    error: type[RowInvalidError] = RowInvalidError,
) -> dict[str, Any]:
    """The row's fields in stored form by `rules`, or `error` naming every
    bad field; only the columns present come back (see the module rules).

    `columns` narrows what a row may hold (by default the rules' own).
    `traits`, the declared ones, lets the row hold traits as a `traits`
    mapping (JSON) or `traits.<key>` columns; they come back under "traits"
    as {key: value or None to clear}. `strict` (JSON clients) also refuses
    values of the wrong JSON type, such as a number in quotes.
    """
    errors: dict[str, list[str]] = {}
    allowed = rules.columns if columns is None else columns
    trait_values = _trait_cells(row, allowed, traits is not None, errors)
    clean = _clean_fields(row, rules, allowed, strict, errors)
    if trait_values and traits is not None:
        clean["traits"] = _clean_traits(trait_values, traits, strict, errors)
    if rules.finish is not None and not errors:
        rules.finish(clean, errors)
    if errors:
        raise error(errors)
    return clean


def account_clean(
    row: Mapping[str, Any],
    *,
    traits: dict[str, Attribute],
    strict: bool = False,
    columns: tuple[str, ...] = COLUMNS,
) -> dict[str, Any]:
    """An account row's fields in stored form, or AccountInvalidError naming
    every bad field (row_clean). Traits are declared ones; `columns` narrows
    what a row may hold (outcomes only, which take no traits); without
    "name" among them, name is not required."""
    return row_clean(
        row,
        ACCOUNT_ROWS,
        strict=strict,
        columns=columns,
        traits=traits if columns == COLUMNS else None,
        error=AccountInvalidError,
    )


def _trait_cells(
    row: Mapping[str, Any],
    columns: tuple[str, ...],
    with_traits: bool,
    errors: dict[str, list[str]],
) -> dict[str, Any]:
    """The row's trait values keyed `traits.<key>`, from a `traits` object or
    from `traits.<key>` columns; an unknown column is an error under "columns"."""
    trait_values: dict[str, Any] = {}
    unknown = []
    known = _column_set(columns)
    for column in [c for c in row if c not in known]:
        value = row[column]
        if column == "traits" and with_traits:
            if not isinstance(value, Mapping):
                errors["traits"] = [f"{shown(value)} is not an object of trait values"]
                continue
            trait_values.update({f"{TRAIT_PREFIX}{k}": v for k, v in value.items()})
        elif isinstance(column, str) and column.startswith(TRAIT_PREFIX) and with_traits:
            trait_values[column] = value
        else:
            unknown.append(str(column))
    if unknown:
        accepted = ", ".join(columns) + (
            f" and traits.<key> for a declared trait ({TRAITS_LISTED})" if with_traits else ""
        )
        errors["columns"] = [
            f"unknown column{'s' if len(unknown) > 1 else ''} "
            + ", ".join(repr(c) for c in sorted(unknown))
            + f"; accepted: {accepted}"
        ]
    return trait_values


def _clean_fields(
    row: Mapping[str, Any],
    rules: RowRules,
    columns: tuple[str, ...],
    strict: bool,
    errors: dict[str, list[str]],
) -> dict[str, Any]:
    """The columns the row has, in stored form; external_id whether the row
    has it or not. A row without the key field (an account's name) updates
    the record held (the importer refuses it for a new one); a key field
    given empty is an error."""
    clean: dict[str, Any] = {}
    for column, read, types in _plan(rules, columns):
        if column in row:
            value = row[column]
        elif column == "external_id":
            value = None  # every row needs one: its reader says it is missing
        else:
            continue
        try:
            if strict:
                check_json_type(value, types)
            clean[column] = read(value)
        except BadValueError as exc:
            errors.setdefault(column, []).append(str(exc))
    return clean


Plan = tuple[tuple[str, Reader, tuple[type, ...]], ...]
_PLANS: dict[tuple[int, tuple[str, ...]], Plan] = {}


def _plan(rules: RowRules, columns: tuple[str, ...]) -> Plan:
    """How a row of `rules` narrowed to `columns` is read, column by column
    (its reader and JSON types): external_id first, then the key field,
    then the others. Made once per kind of row and set of columns."""
    found = _PLANS.get((id(rules), columns))
    if found is None:
        readers: list[tuple[str, Reader]] = [
            ("external_id", partial(required_text, max_length=rules.id_length))
        ]
        if rules.key_field in columns:
            readers.append(
                (
                    rules.key_field,
                    partial(required_text, max_length=rules.key_length, empty=rules.key_empty),
                )
            )
        readers += [(c, rules.fields[c]) for c in columns if c in rules.fields]
        found = tuple((c, read, rules.json_types[c]) for c, read in readers)
        _PLANS[(id(rules), columns)] = found
    return found


@cache
def _column_set(columns: tuple[str, ...]) -> frozenset[str]:
    return frozenset(columns)


def _clean_traits(
    trait_values: dict[str, Any],
    traits: dict[str, Attribute],
    strict: bool,
    errors: dict[str, list[str]],
) -> dict[str, Any]:
    """The trait values in stored form, {key: value or None to clear}; each
    must be declared."""
    clean: dict[str, Any] = {}
    for column, value in trait_values.items():
        key = column.removeprefix(TRAIT_PREFIX)
        attribute = traits.get(key)
        if attribute is None:
            declared = ", ".join(sorted(traits)) or "none yet"
            errors.setdefault(column, []).append(
                f"no trait {key!r} is declared (declared traits: {declared}; {TRAITS_LISTED})"
            )
            continue
        try:
            if strict:
                check_json_type(value, _TRAIT_JSON_TYPES[attribute.type])
            clean[key] = _trait(attribute, value)
        except BadValueError as exc:
            errors.setdefault(column, []).append(f"{exc}; {key} is a {attribute.type.value} trait")
    return clean
