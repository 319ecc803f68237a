"""The scoring engine: one account in, a score with the math shown out.

Pure Python over plain dataclasses, importing nothing from Django, so the
rules can be read and tested on their own. `scoring.expressions` compiles the
same Ruleset into database expressions for set-based runs; a property test
holds the two faces to identical results.

The rules:
- A fit rule that matches gives its points; one that does not match, or whose
  attribute is unknown for the account, gives none.
- Missing data never matches: None, an empty string and an empty list are
  unknown, and a rule over them reports UNKNOWN rather than NOT_MATCHED.
- A matched disqualifier makes the account DQ with score 0, whatever else
  matched. An unknown disqualifier does not disqualify.
- Numbers compare as exact decimals, so 0.1 + 0.2 problems cannot move a tier.
- Category values and list items compare in canonical form
  (profiles.attributes.canonical): "SaaS", "saas" and " SAAS " are one
  value, on both sides of the comparison.
- Tier A from threshold A up, B from threshold B up, C below.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from profiles.attributes import (
    MAX_CRITERIA,
    OPERATORS_BY_TYPE,
    AttrType,
    Operator,
    canonical,
    compared_items,
)


class Tier(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    DQ = "DQ"


class Outcome(StrEnum):
    MATCHED = "matched"
    NOT_MATCHED = "not_matched"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Thresholds:
    a: int = 70
    b: int = 40

    def __post_init__(self) -> None:
        if not 0 <= self.b < self.a <= 100:
            raise ValueError(
                f"Thresholds must satisfy 0 <= B < A <= 100 (got A={self.a}, B={self.b})."
            )


@dataclass(frozen=True, slots=True)
class Rule:
    """One criterion, ready to evaluate. `value` is in the stored form that
    profiles.attributes.validate_value returns."""

    attribute: str
    type: AttrType
    operator: Operator
    value: Any
    points: int = 0
    disqualifier: bool = False
    is_trait: bool = False
    label: str = ""
    criterion_id: int | None = None
    # The rule's category values or list items in canonical form, which is
    # what accounts' values are compared with.
    compared: frozenset[str] = field(init=False, repr=False, compare=False, default=frozenset())

    def __post_init__(self) -> None:
        if self.operator not in OPERATORS_BY_TYPE[self.type]:
            raise ValueError(f"{self.attribute}: {self.operator} does not apply to a {self.type}.")
        if self.disqualifier and self.points:
            raise ValueError(f"{self.attribute}: a disqualifier carries no points.")
        if self.type in (AttrType.CATEGORY, AttrType.LIST):
            value = self.value
            values = [value] if isinstance(value, str) else value
            values = values if isinstance(values, list | tuple) else []
            object.__setattr__(self, "compared", frozenset(compared_items(values)))

    @property
    def title(self) -> str:
        return self.label or f"{self.attribute} {self.operator} {self.value}"


@dataclass(frozen=True, slots=True)
class Ruleset:
    rules: tuple[Rule, ...]
    thresholds: Thresholds = field(default_factory=Thresholds)

    def __post_init__(self) -> None:
        if len(self.rules) > MAX_CRITERIA:
            raise ValueError(f"A ruleset holds at most {MAX_CRITERIA} rules.")

    @property
    def max_points(self) -> int:
        return sum(rule.points for rule in self.rules if not rule.disqualifier)


@dataclass(frozen=True, slots=True)
class Contribution:
    rule: Rule
    outcome: Outcome

    @property
    def points(self) -> int:
        if self.rule.disqualifier or self.outcome != Outcome.MATCHED:
            return 0
        return self.rule.points


@dataclass(frozen=True, slots=True)
class Result:
    score: int
    tier: Tier
    contributions: tuple[Contribution, ...]

    @property
    def disqualified_by(self) -> tuple[Rule, ...]:
        return tuple(
            c.rule
            for c in self.contributions
            if c.rule.disqualifier and c.outcome == Outcome.MATCHED
        )

    @property
    def matched_mask(self) -> int:
        """Bit i set when rule i matched: the compact form a score row stores."""
        return _mask(self.contributions, Outcome.MATCHED)

    @property
    def unknown_mask(self) -> int:
        return _mask(self.contributions, Outcome.UNKNOWN)

    def top_reasons(self, limit: int = 3) -> list[str]:
        """What drove the result, biggest first: the disqualifier, or the
        matched fit rules by points."""
        if self.tier == Tier.DQ:
            return [f"Disqualified: {rule.title}" for rule in self.disqualified_by][:limit]
        matched = [c for c in self.contributions if c.points > 0]
        matched.sort(key=lambda c: -c.points)
        return [f"{c.rule.title} (+{c.points})" for c in matched[:limit]]


def _mask(contributions: Iterable[Contribution], outcome: Outcome) -> int:
    mask = 0
    for index, contribution in enumerate(contributions):
        if contribution.outcome == outcome:
            mask |= 1 << index
    return mask


def tier_for(score: int, thresholds: Thresholds) -> Tier:
    if score >= thresholds.a:
        return Tier.A
    if score >= thresholds.b:
        return Tier.B
    return Tier.C


def tier_scores(tier: Tier, thresholds: Thresholds) -> tuple[int, int]:
    """The lowest and highest score an account of `tier` can have (tier_for;
    a disqualified account scores 0). Empty (low above high) for tier C
    when threshold B is 0."""
    if tier == Tier.A:
        return thresholds.a, 100
    if tier == Tier.B:
        return thresholds.b, thresholds.a - 1
    if tier == Tier.C:
        return 0, thresholds.b - 1
    return 0, 0


def evaluate(ruleset: Ruleset, account: Mapping[str, Any]) -> Result:
    """Score one account. `account` maps built-in attribute keys to values and
    "traits" to the dict of declared traits."""
    contributions = tuple(Contribution(rule, match(rule, account)) for rule in ruleset.rules)
    if any(c.rule.disqualifier and c.outcome == Outcome.MATCHED for c in contributions):
        return Result(0, Tier.DQ, contributions)
    score = min(100, sum(c.points for c in contributions))
    return Result(score, tier_for(score, ruleset.thresholds), contributions)


def account_value(rule: Rule, account: Mapping[str, Any]) -> Any:
    if rule.is_trait:
        traits = account.get("traits") or {}
        return traits.get(rule.attribute) if isinstance(traits, Mapping) else None
    return account.get(rule.attribute)


def match(rule: Rule, account: Mapping[str, Any]) -> Outcome:
    value = account_value(rule, account)
    try:
        matched = _MATCHERS[rule.type](rule, value)
    except _UnknownValueError:
        return Outcome.UNKNOWN
    return Outcome.MATCHED if matched else Outcome.NOT_MATCHED


class _UnknownValueError(Exception):
    """The account's value is missing or unusable for this rule."""


def _decimal(value: Any) -> Decimal:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise _UnknownValueError
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise _UnknownValueError from None
    if not number.is_finite():
        raise _UnknownValueError
    return number


def _match_number(rule: Rule, value: Any) -> bool:
    number = _decimal(value)
    if rule.operator == Operator.BETWEEN:
        low, high = (Decimal(str(v)) for v in rule.value)
        return low <= number <= high
    target = Decimal(str(rule.value))
    if rule.operator == Operator.GTE:
        return number >= target
    if rule.operator == Operator.LTE:
        return number <= target
    return number == target


def _match_category(rule: Rule, value: Any) -> bool:
    if not isinstance(value, str):
        raise _UnknownValueError
    compared = canonical(value)
    if not compared:
        raise _UnknownValueError
    if rule.operator == Operator.NOT_IN:
        return compared not in rule.compared
    return compared in rule.compared


def _match_list(rule: Rule, value: Any) -> bool:
    if not isinstance(value, list | tuple):
        raise _UnknownValueError
    items = set(compared_items(value))
    if not items:
        raise _UnknownValueError
    if rule.operator == Operator.CONTAINS_ANY:
        return bool(items & rule.compared)
    return rule.compared <= items


def _match_boolean(rule: Rule, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _UnknownValueError
    return value is (rule.operator == Operator.IS_TRUE)


_MATCHERS = {
    AttrType.NUMBER: _match_number,
    AttrType.CATEGORY: _match_category,
    AttrType.LIST: _match_list,
    AttrType.BOOLEAN: _match_boolean,
}
