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
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import connection
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
from scoring.engine import Rule, Ruleset, Tier

_DECIMAL: DecimalField[Decimal, Decimal] = DecimalField(max_digits=38, decimal_places=10)


def _decimal(value: Any) -> Value:
    return Value(Decimal(str(value)), output_field=_DECIMAL)


def _operand(rule: Rule) -> Any:
    """The account's value for the rule, as an expression."""
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
    present = _trait_present(rule) if rule.is_trait else Q()
    operand = _operand(rule)
    if rule.type == AttrType.CATEGORY:
        return present & Q(GreaterThan(operand, ""))
    return present & Q(IsNull(operand, False))


def matched(rule: Rule) -> Q:
    """The rule holds for the account; never true when the data is missing."""
    op, value = rule.operator, rule.value
    if rule.type == AttrType.LIST:
        items = [_list_item(rule, item) for item in value]
        combined = items[0]
        for item in items[1:]:
            combined = combined | item if op == Operator.CONTAINS_ANY else combined & item
        return combined
    if rule.type == AttrType.BOOLEAN:
        target = op == Operator.IS_TRUE
        if rule.is_trait:
            return Q(**{f"traits__{rule.attribute}": target})
        return Q(Exact(F(rule.attribute), Value(target, output_field=BooleanField())))
    operand = _operand(rule)
    condition: Q
    if rule.type == AttrType.NUMBER:
        if op == Operator.BETWEEN:
            condition = Q(GreaterThanOrEqual(operand, _decimal(value[0]))) & Q(
                LessThanOrEqual(operand, _decimal(value[1]))
            )
        else:
            lookup = {
                Operator.GTE: GreaterThanOrEqual,
                Operator.LTE: LessThanOrEqual,
                Operator.EQ: Exact,
            }
            condition = Q(lookup[op](operand, _decimal(value)))
    elif op == Operator.EQ:
        condition = Q(Exact(operand, value))
    elif op == Operator.IN:
        condition = Q(In(operand, list(value)))
    else:
        return known(rule) & ~Q(In(operand, list(value)))
    return _trait_present(rule) & condition if rule.is_trait else condition


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


def raw_sql(mask: str, ruleset: Ruleset) -> str:
    """SQL for the points earned, or -1 when a disqualifier matched, read
    from the matched mask: each rule's condition is evaluated once, for the
    mask, and never again for the score."""
    dq_bits = sum(1 << i for i, rule in enumerate(ruleset.rules) if rule.disqualifier)
    terms = [
        f"(CASE WHEN ({mask} & {1 << i}) <> 0 THEN {int(rule.points)} ELSE 0 END)"
        for i, rule in enumerate(ruleset.rules)
        if not rule.disqualifier and rule.points
    ]
    points = " + ".join(terms) or "0"
    if not dq_bits:
        return points
    return f"CASE WHEN ({mask} & {dq_bits}) <> 0 THEN -1 ELSE {points} END"


def score_sql(raw: str) -> str:
    """SQL for the 0-100 score from a raw column."""
    return f"CASE WHEN {raw} < 0 THEN 0 WHEN {raw} > 100 THEN 100 ELSE {raw} END"


def tier_sql(raw: str, ruleset: Ruleset) -> str:
    """SQL for the tier from a raw column; thresholds are trusted integers."""
    a, b = int(ruleset.thresholds.a), int(ruleset.thresholds.b)
    return (
        f"CASE WHEN {raw} < 0 THEN '{Tier.DQ}' WHEN {raw} >= {a} THEN '{Tier.A}' "
        f"WHEN {raw} >= {b} THEN '{Tier.B}' ELSE '{Tier.C}' END"
    )


def fenced(sql: str) -> str:
    """A subquery the planner will not flatten, so the score CASE runs once
    per row rather than once per outer reference (PostgreSQL inlined it up to
    three times)."""
    if connection.vendor == "sqlite":
        return f"{sql} LIMIT -1 OFFSET 0"
    return f"{sql} OFFSET 0"


def scores_select(queryset: QuerySet[Any], ruleset: Ruleset) -> tuple[str, tuple[Any, ...]]:
    """SELECT account_id, score, tier, matched for the accounts in `queryset`,
    computed in the database; the caller wraps it (INSERT ... SELECT,
    aggregates).

    Three layers, each fenced: the rules evaluated once per account into the
    matched mask; the raw points read from the mask's bits; score and tier
    from the raw points.
    """
    inner = queryset.annotate(matched=matched_mask(ruleset)).order_by().values("id", "matched")
    sql, params = inner.query.sql_with_params()
    # Only generated SQL and integer points and thresholds are formatted in;
    # criterion values stay parameters.
    with_raw = (
        f"SELECT m.id, m.matched, {raw_sql('m.matched', ruleset)} AS raw FROM ({fenced(sql)}) m"  # noqa: S608
    )
    statement = (
        f"SELECT s.id AS account_id, {score_sql('s.raw')} AS score, "  # noqa: S608
        f"{tier_sql('s.raw', ruleset)} AS tier, s.matched AS matched "
        f"FROM ({fenced(with_raw)}) s"
    )
    return statement, tuple(params)
