"""The registry of account attributes a criterion can test, and the rules for
criterion values.

Pure Python on purpose: the scoring engine, the forms, the services and the
API all read the same definitions, and the engine must not import Django.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from icpsite.text import TextError, check_text


class AttrType(StrEnum):
    NUMBER = "number"
    CATEGORY = "category"
    LIST = "list"
    BOOLEAN = "boolean"


class Operator(StrEnum):
    BETWEEN = "between"
    GTE = "gte"
    LTE = "lte"
    EQ = "eq"
    IN = "in"
    NOT_IN = "not_in"
    CONTAINS_ANY = "contains_any"
    CONTAINS_ALL = "contains_all"
    IS_TRUE = "is_true"
    IS_FALSE = "is_false"


OPERATOR_LABELS: dict[Operator, str] = {
    Operator.BETWEEN: "is between",
    Operator.GTE: "is at least",
    Operator.LTE: "is at most",
    Operator.EQ: "is",
    Operator.IN: "is one of",
    Operator.NOT_IN: "is not one of",
    Operator.CONTAINS_ANY: "includes any of",
    Operator.CONTAINS_ALL: "includes all of",
    Operator.IS_TRUE: "is true",
    Operator.IS_FALSE: "is false",
}

# (value, words) of each operator, as choice fields and the API schema list them.
OPERATOR_CHOICES = [(o.value, OPERATOR_LABELS[o]) for o in Operator]

OPERATORS_BY_TYPE: dict[AttrType, tuple[Operator, ...]] = {
    AttrType.NUMBER: (Operator.BETWEEN, Operator.GTE, Operator.LTE, Operator.EQ),
    AttrType.CATEGORY: (Operator.EQ, Operator.IN, Operator.NOT_IN),
    AttrType.LIST: (Operator.CONTAINS_ANY, Operator.CONTAINS_ALL),
    AttrType.BOOLEAN: (Operator.IS_TRUE, Operator.IS_FALSE),
}

CATEGORIES: tuple[str, ...] = ("firmographic", "technographic", "behavioral", "environmental")

# A score row records which criteria matched as a bit mask in a signed 64-bit
# integer, one bit per criterion; two bits are kept clear of the sign.
MAX_CRITERIA = 62

# Longest text accepted in one categorical or list value.
MAX_VALUE_LENGTH = 200

# Most items in one list value (a criterion's choices, an account's tech
# stack): every list is indexed and compared item by item.
MAX_LIST_ITEMS = 200
# Number criteria hold values up to this size either way, kept exactly as
# entered: every whole number in range is exact in a float (below 2**53).
NUMBER_LIMIT = 10**15

# Lengths of what people write, the same in the models, the API, the page
# forms and the admin.
MAX_PROFILE_NAME_LENGTH = 120
MAX_ATTRIBUTE_KEY_LENGTH = 60
MAX_RATIONALE_LENGTH = 300
MAX_COMMENT_LENGTH = 5000
# The criterion form's value box: a full list, items separated by ", ".
MAX_VALUE_TEXT_LENGTH = MAX_LIST_ITEMS * (MAX_VALUE_LENGTH + 2)

# List items are indexed for the database as "|key:item|"; an item cannot hold it.
LIST_SEPARATOR = "|"


# --- Comparing text values ----------------------------------------------------


def canonical(text: str) -> str:
    """A category value or list item in the form every comparison uses:
    Unicode case folded ("SaaS", "saas" and "SAAS" are one value, "Straße"
    is "strasse"), composed (an "é" typed as "e" and an accent is "é"), and
    each run of whitespace one space, none at either end ("  Series  B " is
    "series b").

    The one rule for picklist values: the scoring engine, its database face
    (from columns ingest fills with this form), the checks of a criterion's
    values, the accounts list's filters and the import's warnings all
    compare through it. Category values are stored and shown as they were
    sent (a CRM's "SaaS" stays "SaaS"); list items are stored in this form.
    """
    if text.isascii():  # the usual case: folding is lowering, nothing to compose
        return " ".join(text.lower().split())
    folded = unicodedata.normalize("NFD", text).casefold()
    return " ".join(unicodedata.normalize("NFC", folded).split())


# The help of every text attribute says how its values compare.
COMPARED = "Compared ignoring case and spacing."


def compared_items(values: Iterable[Any]) -> list[str]:
    """A list attribute's stored items as they are compared: the canonical
    form of each text item, without duplicates, in first-seen order. An item
    that is not text, empty, or holds LIST_SEPARATOR cannot be indexed and
    is left out, so it matches nothing in either face of the engine."""
    seen: dict[str, None] = {}
    for item in values:
        if isinstance(item, str):
            text = canonical(item)
            if text and LIST_SEPARATOR not in text:
                seen.setdefault(text, None)
    return list(seen)


@dataclass(frozen=True, slots=True)
class Attribute:
    key: str
    label: str
    type: AttrType
    category: str
    help: str = ""
    is_trait: bool = False

    @property
    def operators(self) -> tuple[Operator, ...]:
        return OPERATORS_BY_TYPE[self.type]


def _builtin(
    key: str, label: str, type_: AttrType, category: str, help_: str
) -> tuple[str, Attribute]:
    return key, Attribute(key, label, type_, category, help_)


BUILTIN_ATTRIBUTES: dict[str, Attribute] = dict(
    [
        _builtin("employees", "Employees", AttrType.NUMBER, "firmographic", "Headcount."),
        _builtin(
            "annual_revenue",
            "Annual revenue",
            AttrType.NUMBER,
            "firmographic",
            "Yearly revenue in the company's reporting currency.",
        ),
        _builtin(
            "industry",
            "Industry",
            AttrType.CATEGORY,
            "firmographic",
            f"e.g. SaaS, Fintech. {COMPARED}",
        ),
        _builtin(
            "country",
            "Country",
            AttrType.CATEGORY,
            "firmographic",
            f"ISO 3166 code, e.g. US, DE. {COMPARED}",
        ),
        _builtin(
            "funding_stage",
            "Funding stage",
            AttrType.CATEGORY,
            "firmographic",
            f"e.g. Seed, Series A, Series B, Public. {COMPARED}",
        ),
        _builtin(
            "crm",
            "CRM",
            AttrType.CATEGORY,
            "technographic",
            f"The CRM the account runs. {COMPARED}",
        ),
        _builtin(
            "tech_stack",
            "Tech stack",
            AttrType.LIST,
            "technographic",
            f"Tools the account uses. {COMPARED}",
        ),
        _builtin(
            "has_revops", "Has RevOps", AttrType.BOOLEAN, "behavioral", "A RevOps function exists."
        ),
    ]
)


def trait_attribute(
    key: str, label: str, type_: AttrType, category: str, help_: str = ""
) -> Attribute:
    """A company-declared attribute, read from the account's traits."""
    return Attribute(key, label, type_, category, help_, is_trait=True)


# --- Values -------------------------------------------------------------------


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise TypeError
    if isinstance(value, Decimal):
        value = float(value) if value != value.to_integral_value() else int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError
        if value.is_integer() and abs(value) < 2**53:
            value = int(value)
    if abs(value) > NUMBER_LIMIT:
        raise TypeError
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TypeError
    text = check_text(value.strip())
    if len(text) > MAX_VALUE_LENGTH:
        raise TypeError
    return text


def normalise_list(values: Any) -> list[str]:
    """A list attribute's items in stored form, which is the form they are
    compared in (canonical): items differing only in case or spacing are
    one item, kept once, in first-seen order. TypeError (or TextError) for
    an item that is not text of at most MAX_VALUE_LENGTH characters, or
    holds LIST_SEPARATOR."""
    seen: dict[str, None] = {}
    for item in values:
        text = canonical(_text(item))
        if LIST_SEPARATOR in text:
            raise TypeError
        seen.setdefault(text, None)
    return list(seen)


class SameValueError(ValueError):
    """Two values of one criterion are the same value once compared."""


def _distinct_choices(values: Iterable[str]) -> list[str]:
    """Category choices as written, each a different value once compared;
    SameValueError names the first two that are one value."""
    first: dict[str, str] = {}
    for value in values:
        earlier = first.setdefault(canonical(value), value)
        if earlier != value:
            raise SameValueError(
                f"{earlier!r} and {value!r} are the same value (values are compared ignoring "
                "case and spacing); keep one."
            )
    return list(first.values())


def validate_value(attribute: Attribute, operator: Operator, value: Any) -> Any:
    """The criterion value in its stored form, or ValueError saying what is wrong."""
    where = f"{attribute.label} {OPERATOR_LABELS[operator]!r}"
    if operator not in OPERATORS_BY_TYPE[attribute.type]:
        allowed = ", ".join(OPERATOR_LABELS[o] for o in OPERATORS_BY_TYPE[attribute.type])
        raise ValueError(f"{attribute.label} takes one of: {allowed}.")
    try:
        return _stored(attribute, operator, value)
    except TextError as exc:
        raise ValueError(f"{where}: a value {exc}.") from None
    except SameValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    except TypeError:
        raise ValueError(f"{where} needs {_expected(attribute, operator)}.") from None


def _stored(attribute: Attribute, operator: Operator, value: Any) -> Any:
    """The value in stored form; TypeError (or TextError) when it is not one
    the operator takes (validate_value words the error)."""
    if operator == Operator.BETWEEN:
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise TypeError
        low, high = _number(value[0]), _number(value[1])
        if low > high:
            raise TypeError
        return [low, high]
    if attribute.type == AttrType.NUMBER:
        return _number(value)
    if operator == Operator.EQ:
        return _text(value)
    if attribute.type in (AttrType.CATEGORY, AttrType.LIST):
        if isinstance(value, str) or not isinstance(value, list | tuple) or not value:
            raise TypeError
        if len(value) > MAX_LIST_ITEMS:
            raise TypeError
        if attribute.type == AttrType.LIST:
            return normalise_list(value)
        return _distinct_choices(_text(item) for item in value)
    if value not in (None, "", [], True):
        raise TypeError
    return None


def _expected(attribute: Attribute, operator: Operator) -> str:
    within = f"between -{NUMBER_LIMIT:,} and {NUMBER_LIMIT:,}"
    if operator == Operator.BETWEEN:
        return f"two numbers [low, high] with low <= high, each {within}"
    if attribute.type == AttrType.NUMBER:
        return f"one number {within}"
    if operator == Operator.EQ:
        return f"one text value of at most {MAX_VALUE_LENGTH} characters"
    if attribute.type == AttrType.LIST:
        return (
            f"a non-empty list of at most {MAX_LIST_ITEMS} text values of at most "
            f"{MAX_VALUE_LENGTH} characters each, without {LIST_SEPARATOR!r}"
        )
    if attribute.type == AttrType.CATEGORY:
        return (
            f"a non-empty list of at most {MAX_LIST_ITEMS} text values of at most "
            f"{MAX_VALUE_LENGTH} characters each"
        )
    return "no value"


def _number_words(value: int | float) -> str:
    return f"{value:,}"


def describe(attribute: Attribute, operator: Operator, value: Any) -> str:
    """The criterion in words, e.g. "Employees is between 200 and 2,000"."""
    clean = validate_value(attribute, operator, value)
    label = OPERATOR_LABELS[operator]
    if operator == Operator.BETWEEN:
        return f"{attribute.label} {label} {_number_words(clean[0])} and {_number_words(clean[1])}"
    if attribute.type == AttrType.NUMBER:
        return f"{attribute.label} {label} {_number_words(clean)}"
    if attribute.type == AttrType.BOOLEAN:
        return f"{attribute.label} {label}"
    if isinstance(clean, list):
        return f"{attribute.label} {label} {', '.join(clean)}"
    return f"{attribute.label} {label} {clean}"
