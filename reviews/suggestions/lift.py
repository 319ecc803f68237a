"""Attribute lift: for every attribute a criterion can use, how the accounts
with each value (category value, list item, yes/no, or numeric bucket) did
in a window, against the base of all accounts.

Per value, over the accounts holding it (docs/suggestions.md says it for
people):
- closed deals, won deals, win rate (deal-level, as reviews.figures counts
  them: every deal won or lost inside the window, of every type) with its
  Wilson interval, and lift = win rate / base win rate;
- average won deal (won deals with an amount in the reporting currency);
- churn (account-level, as reviews.figures: customers who churned inside
  the window / customers, a customer being an account that won a deal
  before the window's end or churned, and did not churn before its start);
- the overrides accepted inside the window that claim a higher tier than
  the score gave, and those that claim a lower one;
- whether the win rate clears the minimum evidence (stats.evidence_standing).

Values compare as criteria compare them (scoring.expressions): categories
in canonical form, shown in their most common spelling; list items from the
list index; numbers in readable buckets (buckets.py) that select exactly
what "is at least low" and not "is at least high" would. Accounts with no
value form an "unknown" row. An account's outcome fields are its outcome
deal (scoring.ingest.outcomes), so accounts whose CRM sends no deals count
through those.

All of it in the database: one statement gathers the outcomes of each
account that has any into a scratch table, a second reads those accounts
once for every attribute's grouping value into another (`facts_of`), and
one GROUP BY over the two sums every attribute's values (plus a statement
for each number's bucket edges and each category's spellings). Nothing is
read account by account, and the work grows with the deals, not with the
account base. `lifted` keeps the two tables for the block that asked
(suggestions read their deals' pattern rows from the facts).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from django.conf import settings
from django.db.models import (
    Case,
    CharField,
    DecimalField,
    F,
    IntegerField,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models.fields.json import KT

from profiles.attributes import Attribute, AttrType, Operator
from profiles.models import Profile
from profiles.selectors import attribute_registry
from reviews.figures import moment
from reviews.suggestions import sql
from reviews.suggestions.buckets import QUANTILES, Bucket, bucket_edges, buckets
from reviews.suggestions.stats import Interval, Standing, evidence_standing, wilson
from reviews.suggestions.window import Window, window_for
from scoring.engine import Rule
from scoring.expressions import known, matched, operand_of
from scoring.models import Account
from scoring.sql import Sql, fetchall, fetchone, name, of, scratch

UNKNOWN = "unknown"
YES, NO = "true", "false"
_CENT = Decimal("0.01")
_NUMBER: DecimalField[Decimal, Decimal] = DecimalField(max_digits=38, decimal_places=10)


def _int(value: Any) -> int:
    return int(value or 0)


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class Outcomes:
    """The outcomes of a set of accounts in the window. Deal-level: won,
    lost, won_amount, won_priced; account-level: accounts (that closed a
    deal in the window), customers, churned; overrides: claimed_higher,
    claimed_lower."""

    accounts: int = 0
    won: int = 0
    lost: int = 0
    won_amount: Decimal = Decimal("0")
    won_priced: int = 0
    customers: int = 0
    churned: int = 0
    claimed_higher: int = 0
    claimed_lower: int = 0

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Outcomes:
        """From the sums sql._SUMS selects, in its order."""
        accounts, won, lost, amount, priced, customers, churned, higher, lower = row
        return cls(
            accounts=_int(accounts),
            won=_int(won),
            lost=_int(lost),
            won_amount=Decimal(str(amount or 0)).quantize(_CENT),
            won_priced=_int(priced),
            customers=_int(customers),
            churned=_int(churned),
            claimed_higher=_int(higher),
            claimed_lower=_int(lower),
        )

    @property
    def closed(self) -> int:
        return self.won + self.lost

    @property
    def win_rate(self) -> float | None:
        return _rate(self.won, self.closed)

    @cached_property
    def win_interval(self) -> Interval | None:
        return wilson(self.won, self.closed)

    @property
    def avg_deal(self) -> Decimal | None:
        if not self.won_priced:
            return None
        return (self.won_amount / self.won_priced).quantize(_CENT)

    @property
    def churn_rate(self) -> float | None:
        return _rate(self.churned, self.customers)

    @cached_property
    def churn_interval(self) -> Interval | None:
        return wilson(self.churned, self.customers)


@dataclass(frozen=True)
class ValueLift:
    """One value of an attribute (None: the accounts without one)."""

    value: str | None
    label: str
    outcomes: Outcomes
    lift: float | None
    standing: Standing
    bucket: Bucket | None = None

    @property
    def clears(self) -> bool:
        return self.standing == Standing.CLEARS


@dataclass(frozen=True)
class AttributeLift:
    attribute: Attribute
    values: list[ValueLift]
    buckets: list[Bucket] = field(default_factory=list)

    @property
    def clearing(self) -> list[ValueLift]:
        """The values whose evidence clears the minimum."""
        return [v for v in self.values if v.clears]

    @property
    def not_enough_evidence(self) -> list[ValueLift]:
        return [v for v in self.values if not v.clears]


@dataclass(frozen=True)
class Lift:
    profile: Profile
    window: Window
    min_deals: int
    base: Outcomes
    attributes: list[AttributeLift]

    def get(self, key: str) -> AttributeLift:
        return next(a for a in self.attributes if a.attribute.key == key)


class UnknownAttributeError(ValueError):
    """An attribute key that is neither built in nor a declared trait."""


def lift_for(
    *, profile: Profile, window: Window | None = None, keys: Iterable[str] | None = None
) -> Lift:
    """Attribute lift for `profile` over `window` (its default window when
    None), for the attributes `keys` names (all when None)."""
    with lifted(profile=profile, window=window, keys=keys) as (lift, _tables):
        return lift


@dataclass(frozen=True)
class Tables:
    """The scratch tables a lift was counted from, for the length of the
    `lifted` block: `outcomes` (sql.account_outcomes) and `facts` (_facts:
    per account with outcomes, column facts_column(attribute) per attribute
    and the `extra` columns)."""

    outcomes: Sql
    facts: Sql
    attributes: list[Attribute]

    def column(self, key: str) -> str:
        return next(facts_column(i) for i, a in enumerate(self.attributes) if a.key == key)


@contextmanager
def lifted(
    *,
    profile: Profile,
    window: Window | None = None,
    keys: Iterable[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Iterator[tuple[Lift, Tables]]:
    """Attribute lift (as lift_for), and the scratch tables it was counted
    from while the block runs; `extra` adds columns (expressions over an
    account) to the facts table."""
    window = window or window_for(profile=profile)
    attributes = _attributes(keys)
    min_deals = settings.REVIEWS_LIFT_MIN_DEALS
    start, end = moment(window.start), moment(window.end)
    with scratch(sql.account_outcomes(profile.pk, start, end)) as outcomes:
        base = Outcomes.from_row(fetchone(sql.base_outcomes(outcomes)) or [None] * 9)
        # The accounts are read once, for every attribute at a time.
        facts = sql.among(of(facts_of(attributes, extra)), sql.outcome_accounts(outcomes))
        with scratch(facts) as facts_table:
            grouping = _Grouping(outcomes, facts_table, base, min_deals)
            results = grouping.lift_all(attributes)
            lift = Lift(profile, window, min_deals, base, results)
            yield lift, Tables(outcomes, facts_table, attributes)


def _attributes(keys: Iterable[str] | None) -> list[Attribute]:
    registry = attribute_registry()
    if keys is None:
        return list(registry.values())
    wanted = list(keys)
    unknown = [key for key in wanted if key not in registry]
    if unknown:
        raise UnknownAttributeError(
            f"No attribute {', '.join(map(repr, unknown))}; "
            f"the attributes are: {', '.join(registry)}."
        )
    return [registry[key] for key in wanted]


def _rule(attribute: Attribute, operator: Operator, value: Any = None) -> Rule:
    return Rule(attribute.key, attribute.type, operator, value, is_trait=attribute.is_trait)


def _spelling(attribute: Attribute) -> Any:
    """The category value as the CRM sent it."""
    return KT(f"traits__{attribute.key}") if attribute.is_trait else F(attribute.key)


def facts_column(i: int) -> str:
    """The facts table's column of the i-th attribute."""
    return f"a{i}"


def _spelled(i: int) -> str:
    """The facts table's column of the i-th attribute's spelling (categories)."""
    return f"s{i}"


def facts_of(
    attributes: Sequence[Attribute], extra: dict[str, Any] | None = None
) -> QuerySet[Any, Any]:
    """Per account, a column per attribute holding what its values are
    grouped by: a category's canonical value, "true" or "false", a number's
    value as criteria compare it (NULL when unknown), or whether a list
    attribute has items (1 or 0, the items come from `list_index`); and each
    category's spelling."""
    columns: dict[str, Any] = {}
    for i, attribute in enumerate(attributes):
        column = facts_column(i)
        if attribute.type == AttrType.NUMBER:
            rule = _rule(attribute, Operator.GTE, 0)
            columns[column] = Case(
                When(known(rule), then=operand_of(rule)), default=Value(None), output_field=_NUMBER
            )
        elif attribute.type == AttrType.CATEGORY:
            rule = _rule(attribute, Operator.EQ, "")
            columns[column] = Case(
                When(known(rule), then=operand_of(rule)),
                default=Value(None),
                output_field=TextField(),
            )
            columns[_spelled(i)] = _spelling(attribute)
        elif attribute.type == AttrType.LIST:
            rule = _rule(attribute, Operator.CONTAINS_ANY, [])
            columns[column] = Case(
                When(known(rule), then=Value(1)), default=Value(0), output_field=IntegerField()
            )
        else:
            columns[column] = Case(
                When(matched(_rule(attribute, Operator.IS_TRUE)), then=Value(YES)),
                When(matched(_rule(attribute, Operator.IS_FALSE)), then=Value(NO)),
                default=Value(None),
                output_field=CharField(),
            )
    columns.update(extra or {})
    lists = any(a.type == AttrType.LIST for a in attributes)
    fields = ["id", *(["list_index"] if lists else []), *columns]
    return Account.objects.order_by().annotate(**columns).values(*fields)


class _Grouping:
    """Groups the outcomes table's accounts by each attribute's values,
    read from the facts table (see facts_of)."""

    def __init__(self, outcomes: Sql, facts: Sql, base: Outcomes, min_deals: int) -> None:
        self.outcomes, self.facts, self.base, self.min_deals = outcomes, facts, base, min_deals

    def lift_all(self, attributes: Sequence[Attribute]) -> list[AttributeLift]:
        """Every attribute's values with their outcomes: one statement
        sums the outcomes per value of every attribute at once (a number's
        buckets are cut first)."""
        keyed: list[tuple[int, Sql]] = []
        ranges: dict[int, list[Bucket]] = {}
        for i, attribute in enumerate(attributes):
            column = name(facts_column(i))
            if attribute.type == AttrType.NUMBER:
                ranges[i] = self._ranges(column)
                edges = [(b.index, b.low) for b in ranges[i] if b.low is not None]
                keyed.append((i, sql.bucketed(self.facts, column, edges)))
            elif attribute.type == AttrType.LIST:
                keyed.append((i, sql.list_items(self.facts, column, attribute.key)))
            else:
                keyed.append((i, sql.facts_column(self.facts, column)))
        sums: dict[int, dict[Any, Outcomes]] = {i: {} for i in range(len(attributes))}
        for i, value, *row in fetchall(sql.values_outcomes(self.outcomes, keyed)):
            number = attributes[i].type == AttrType.NUMBER and value is not None
            sums[i][int(value) if number else value] = Outcomes.from_row(row)
        results = []
        for i, attribute in enumerate(attributes):
            if attribute.type == AttrType.NUMBER:
                results.append(self._numbers(attribute, sums[i], ranges[i]))
            elif attribute.type == AttrType.CATEGORY:
                column, spelled = name(facts_column(i)), name(_spelled(i))
                labels = dict(fetchall(sql.spellings(self.facts, column, spelled)))
                results.append(AttributeLift(attribute, self._by_deals(sums[i], labels)))
            elif attribute.type == AttrType.LIST:
                results.append(AttributeLift(attribute, self._by_deals(sums[i])))
            else:
                results.append(self._yes_no(attribute, sums[i]))
        return results

    def _value(
        self, value: str | None, label: str, outcomes: Outcomes, bucket: Bucket | None = None
    ) -> ValueLift:
        base_rate, rate = self.base.win_rate, outcomes.win_rate
        standing = evidence_standing(
            closed=outcomes.closed,
            interval=outcomes.win_interval,
            base=self.base.win_interval,
            min_deals=self.min_deals,
        )
        lift = rate / base_rate if rate is not None and base_rate else None
        return ValueLift(value, label, outcomes, lift, standing, bucket)

    def _unknown(self, sums: dict[Any, Outcomes]) -> list[ValueLift]:
        return [self._value(None, UNKNOWN, sums[None])] if None in sums else []

    def _by_deals(
        self, sums: dict[Any, Outcomes], labels: dict[Any, str] | None = None
    ) -> list[ValueLift]:
        """Known values, most closed deals first, then the unknown."""
        labels = labels or {}
        known_values = sorted(
            (key for key in sums if key is not None),
            key=lambda key: (-sums[key].closed, labels.get(key, key), key),
        )
        values = [self._value(key, labels.get(key, key), sums[key]) for key in known_values]
        return values + self._unknown(sums)

    def _yes_no(self, attribute: Attribute, sums: dict[Any, Outcomes]) -> AttributeLift:
        values = [
            self._value(key, label, sums.get(key, Outcomes()))
            for key, label in ((YES, "yes"), (NO, "no"))
        ]
        return AttributeLift(attribute, values + self._unknown(sums))

    def _ranges(self, column: Sql) -> list[Bucket]:
        """Readable buckets (buckets.py) cut from the values of the accounts
        that closed a deal in the window."""
        cuts = fetchall(sql.quantile_cuts(self.outcomes, self.facts, column, QUANTILES))
        least = [Decimal(str(low)) for _tile, low in cuts]
        return buckets(bucket_edges(least[1:], least[0]) if least else [])

    def _numbers(
        self, attribute: Attribute, sums: dict[Any, Outcomes], ranges: list[Bucket]
    ) -> AttributeLift:
        values = [self._value(b.label, b.label, sums.get(b.index, Outcomes()), b) for b in ranges]
        return AttributeLift(attribute, values + self._unknown(sums), ranges)
