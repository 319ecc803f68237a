"""The scoring engine's database face: a Ruleset compiled into ORM expressions,
so a run scores accounts inside the database, set-based.

Each rule becomes two conditions, `known` (the account has the data) and
`matched` (known, and the rule holds), mirroring scoring.engine exactly:
missing data never matches, a matched disqualifier means DQ and 0, numbers
compare as decimals. The property test in tests/scoring holds both faces to
the same score, tier and matched mask on SQLite and PostgreSQL.

Comparisons are written as lookup expressions over `Value(..., output_field)`
so that Django does not coerce criterion values through the column's field
(an IntegerField would truncate 199.5 to 199).

Category values and list items are compared in canonical form
(profiles.attributes.canonical): the account's side from the columns ingest
fills with it (Account's `<category>_canonical`, `traits_canonical`,
`list_index`), the rule's side from `Rule.compared`. The database never
folds case itself: SQLite's lower() knows ASCII only, and a plain column
comparison keeps a run as fast as before.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    DecimalField,
    Expression,
    F,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    IsNull,
    LessThanOrEqual,
)

from profiles.attributes import LIST_SEPARATOR, AttrType, Operator
from scoring import sql
from scoring.engine import Rule, Ruleset
from scoring.models import CANONICAL_COLUMNS, SCORE_ROW_COPIES
from scoring.sql import Sql

_DECIMAL: DecimalField[Decimal, Decimal] = DecimalField(max_digits=38, decimal_places=10)


def _decimal(value: Any) -> Value:
    return Value(Decimal(str(value)), output_field=_DECIMAL)


def operand_of(rule: Rule) -> Any:
    """The account's value for the rule, as an expression; a category's in
    canonical form (NULL for a trait that holds no text). What a rule
    compares, and what attribute lift (reviews.suggestions) groups by."""
    if rule.type == AttrType.CATEGORY:
        if rule.is_trait:
            return KT(f"traits_canonical__{rule.attribute}")
        return F(CANONICAL_COLUMNS[rule.attribute])
    if not rule.is_trait:
        return F(rule.attribute)
    if rule.type == AttrType.NUMBER:
        return Cast(KT(f"traits__{rule.attribute}"), _DECIMAL)
    return KT(f"traits__{rule.attribute}")


def _list_item(rule: Rule, item: str) -> Q:
    needle = f"{LIST_SEPARATOR}{rule.attribute}:{item}{LIST_SEPARATOR}"
    return Q(list_index__contains=needle)


def _trait_present(rule: Rule) -> Q:
    """The trait key exists and is not JSON null (SQLite's ->> turns a JSON
    null into the text 'null', which must not pass for a value)."""
    trait = f"traits__{rule.attribute}"
    return Q(**{f"{trait}__isnull": False}) & ~Q(**{trait: None})


def known(rule: Rule) -> Q:
    """The account has a usable value for the rule's attribute."""
    if rule.type == AttrType.LIST:
        return Q(list_index__contains=f"{LIST_SEPARATOR}{rule.attribute}:")
    if rule.type == AttrType.BOOLEAN and rule.is_trait:
        trait = f"traits__{rule.attribute}"
        return Q(**{trait: True}) | Q(**{trait: False})
    operand = operand_of(rule)
    if rule.type == AttrType.CATEGORY:
        return Q(GreaterThan(operand, ""))
    present = _trait_present(rule) if rule.is_trait else Q()
    return present & Q(IsNull(operand, False))


def matched(rule: Rule) -> Q:
    """The rule holds for the account; never true when the data is missing."""
    op, value = rule.operator, rule.value
    if rule.type == AttrType.LIST:
        return _list_matched(rule)
    if rule.type == AttrType.BOOLEAN:
        target = op == Operator.IS_TRUE
        if rule.is_trait:
            return Q(**{f"traits__{rule.attribute}": target})
        return Q(Exact(F(rule.attribute), Value(target, output_field=BooleanField())))
    operand = operand_of(rule)
    if rule.type == AttrType.CATEGORY:
        choices = Q(In(operand, sorted(rule.compared))) if rule.compared else _NOTHING
        return known(rule) & ~choices if op == Operator.NOT_IN else choices
    condition: Q
    if op == Operator.BETWEEN:
        condition = Q(GreaterThanOrEqual(operand, _decimal(value[0]))) & Q(
            LessThanOrEqual(operand, _decimal(value[1]))
        )
    else:
        condition = Q(_NUMBER_LOOKUPS[op](operand, _decimal(value)))
    return _trait_present(rule) & condition if rule.is_trait else condition


# No account: what a rule without any value to compare matches.
_NOTHING = Q(pk__in=[])

_NUMBER_LOOKUPS = {
    Operator.GTE: GreaterThanOrEqual,
    Operator.LTE: LessThanOrEqual,
    Operator.EQ: Exact,
}


def _list_matched(rule: Rule) -> Q:
    """Each of the rule's items, in canonical form, in the list index: any
    of them, or all."""
    items = [_list_item(rule, item) for item in sorted(rule.compared)]
    if not items:
        return _NOTHING if rule.operator == Operator.CONTAINS_ANY else known(rule)
    combined = items[0]
    for item in items[1:]:
        combined = combined | item if rule.operator == Operator.CONTAINS_ANY else combined & item
    return combined


def _sum(terms: list[Expression]) -> Expression:
    total: Expression = Value(0, output_field=BigIntegerField())
    for term in terms:
        total = total + term
    return total


def matched_mask(ruleset: Ruleset) -> Expression:
    return _sum(
        [
            Case(
                When(matched(rule), then=Value(1 << i)),
                default=Value(0),
                output_field=BigIntegerField(),
            )
            for i, rule in enumerate(ruleset.rules)
        ]
    )


def scores_select(queryset: QuerySet[Any], ruleset: Ruleset) -> Sql:
    """SELECT account_id, score, tier, matched and the copies of the
    account's columns a score row carries (SCORE_ROW_COPIES) for the
    accounts in `queryset`, computed in the database; the caller wraps it
    (INSERT ... SELECT, aggregates). Unpacks as (sql, params).

    The rules are evaluated once per account, by the ORM, into the matched
    mask; scoring.sql reads the points, score and tier from the mask.
    """
    matched = queryset.annotate(matched=matched_mask(ruleset)).order_by()
    matches = matched.values("id", "matched", *SCORE_ROW_COPIES)
    return sql.scores_select(sql.of(matches), ruleset)
