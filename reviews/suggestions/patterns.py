"""Backtests of edited criteria without scoring an account twice.

An edit of one attribute's criteria changes an account's score only
through the version's matched criteria (the matched mask the scoring
engine stores, bit i for criterion i) and the account's value of that
attribute. So the accounts are read once, in the database, into counts per
(mask, group of the attribute's value) for every attribute an edit touches
(a Probe says how its values group), over the whole base and over the
accounts with deals closed in the window; any edit is then scored per
group, in Python, by the engine itself (`scoring.engine.match` on a value
standing for the group). At a million accounts that is one scan of the
accounts and a few thousand rows, however many edits there are.

A group stands for its values exactly when the edits' bounds fall on its
edges: category values and list items are groups of their own, numbers are
cut at every bound an edit or criterion uses (whole numbers: a criterion's
"at most 499" is cut at 500; a fractional value between 499 and 500 is
taken as 500 by an edit, never by the scores the version stores).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from sklearn.metrics import roc_auc_score

from profiles.attributes import Attribute, AttrType, Operator
from reviews.figures import moment
from reviews.suggestions import sql
from reviews.suggestions.lift import Tables, facts_column, facts_of
from reviews.suggestions.model import Backtest, TierRate
from scoring.engine import Outcome, Rule, Ruleset, Thresholds, Tier, match, tier_for
from scoring.expressions import matched_mask
from scoring.sql import Sql, execute, fetchall, name, of

OTHER = "\x1fother"
YES, NO = "true", "false"
TIERS = (Tier.A.value, Tier.B.value, Tier.C.value, Tier.DQ.value)


def _rule(attribute: Attribute, operator: Operator, value: Any = None) -> Rule:
    return Rule(attribute.key, attribute.type, operator, value, is_trait=attribute.is_trait)


@dataclass(frozen=True)
class Probe:
    """How one attribute's values group: `values` (categories, list items)
    or `edges` (numbers, ascending)."""

    attribute: Attribute
    values: tuple[str, ...] = ()
    edges: tuple[Decimal, ...] = ()

    def grouping(self, column: Sql) -> Sql:
        """The group of an account, from its facts column (lift.facts_of:
        a category's canonical value, a number as criteria compare it,
        "true"/"false", or whether a list has items) and, for a list, the
        list index. NULL when the account has no value."""
        kind = self.attribute.type
        if kind == AttrType.CATEGORY:
            return sql.category_group(column, self.values)
        if kind == AttrType.NUMBER:
            return sql.number_group(column, self.edges)
        if kind == AttrType.LIST:
            return sql.list_group(column, self.attribute.key, self.values)
        return sql.yes_no_group(column, YES, NO)

    def group(self, code: int) -> Any:
        """The group a whole-number code of `grouping` stands for (None:
        no value): a category's canonical value or OTHER, YES or NO, a
        number's bucket or a list's bits as they are."""
        if code < 0:
            return None
        kind = self.attribute.type
        if kind == AttrType.CATEGORY:
            return self.values[code] if code < len(self.values) else OTHER
        if kind == AttrType.BOOLEAN:
            return YES if code else NO
        return code

    def standing_for(self, group: Any) -> Any:
        """A value of the attribute that every edit treats as it treats
        each value of `group` (None: unknown)."""
        if group is None:
            return None
        kind = self.attribute.type
        if kind == AttrType.CATEGORY:
            return "~other~" if group == OTHER else group
        if kind == AttrType.NUMBER:
            index = int(group)
            if index == 0:
                return self.edges[0] - 1 if self.edges else Decimal(0)
            return self.edges[index - 1]
        if kind == AttrType.LIST:
            items = [item for i, item in enumerate(self.values) if int(group) & (1 << i)]
            return items or ["~other~"]
        return group == YES

    def account(self, group: Any) -> dict[str, Any]:
        value = self.standing_for(group)
        if self.attribute.is_trait:
            return {"traits": {self.attribute.key: value}}
        return {self.attribute.key: value}


@dataclass
class Row:
    """Accounts sharing a matched mask and a group: how many, and the deals
    they won and lost in the fitting period and the held-out one."""

    mask: int
    group: Any
    accounts: int = 0
    won: int = 0
    lost: int = 0
    won_late: int = 0
    lost_late: int = 0


@dataclass
class Patterns:
    """Rows per probe (index into `probes`; None for the mask alone), over
    the whole base (`base`) and over the accounts that closed deals in the
    window (`deals`)."""

    ruleset: Ruleset
    probes: list[Probe]
    base: dict[int | None, list[Row]] = field(default_factory=dict)
    deals: dict[int | None, list[Row]] = field(default_factory=dict)

    def probe_index(self, key: str) -> int | None:
        return next((i for i, p in enumerate(self.probes) if p.attribute.key == key), None)


def patterns_for(
    ruleset: Ruleset,
    probes: Sequence[Probe],
    *,
    start: datetime,
    split: datetime,
    end: datetime,
    deal_facts: Tables | None = None,
    whole_base: bool = True,
) -> Patterns:
    """The pattern rows of `ruleset` and `probes`: over the whole base (one
    read of the accounts) and over the accounts with deals closed in
    [start, end) (deals before `split` count as won/lost, from it as
    won_late/lost_late). The latter come from `deal_facts`, a lift's
    tables whose facts carry the ruleset's mask as column "m", when given
    (no second read of the accounts); else from the accounts."""
    result = Patterns(ruleset, list(probes))
    deals = sql.deals_per_account(moment(start), moment(split), moment(end))
    if deal_facts is not None:
        groups = [p.grouping(_column(deal_facts.column(p.attribute.key))) for p in probes]
        rows = sql.with_groups(deal_facts.facts, groups)
    else:
        rows = _groups_of(ruleset, probes, among=sql.deal_accounts(deals))
    sums = ["COUNT(*)", "SUM(d.w1)", "SUM(d.l1)", "SUM(d.w2)", "SUM(d.l2)"]
    _read(sql.pattern_counts(sql.with_deals(rows, deals), sums, len(probes)), result.deals, probes)
    if whole_base:
        counted = sql.pattern_counts(
            sql.rows_of(_groups_of(ruleset, probes)), ["COUNT(*)"], len(probes)
        )
        with transaction.atomic():
            if connection.vendor == "postgresql":
                for statement in sql.hash_in_parallel():
                    execute(statement)
            _read(counted, result.base, probes)
    return result


def _groups_of(ruleset: Ruleset, probes: Sequence[Probe], among: Sql | None = None) -> Sql:
    """(id, m, g0, g1, ...) of every account (or of those `among` selects):
    its mask under `ruleset` and its group under each probe."""
    attributes = [p.attribute for p in probes]
    facts = of(facts_of(attributes, {"m": matched_mask(ruleset)}))
    if among is not None:
        facts = sql.among(facts, among)
    groups = [p.grouping(_column(facts_column(i))) for i, p in enumerate(probes)]
    return sql.with_groups(Sql("(") + facts + Sql(")"), groups)


def _column(column: str) -> Sql:
    """A facts row's column, as with_groups names it."""
    return Sql("r.") + name(column)


def _read(statement: Sql, into: dict[int | None, list[Row]], probes: Sequence[Probe]) -> None:
    """Sum the combinations `statement` counts (sql.pattern_counts) into
    rows per mask alone (None) and per mask and each probe's group."""
    tables: dict[int | None, dict[tuple[int, Any], Row]] = defaultdict(dict)
    for key, *sums in fetchall(statement):
        mask, *codes = (int(part) for part in key.split(","))
        numbers = [int(s or 0) for s in sums]
        for index, group in [
            (None, None),
            *((i, p.group(c)) for i, (p, c) in enumerate(zip(probes, codes, strict=True))),
        ]:
            row = tables[index].get((mask, group))
            if row is None:
                row = tables[index][(mask, group)] = Row(mask, group)
            row.accounts += numbers[0]
            if len(numbers) > 1:
                row.won += numbers[1]
                row.lost += numbers[2]
                row.won_late += numbers[3]
                row.lost_late += numbers[4]
    for index, rows in tables.items():
        into[index] = list(rows.values())


# --- Scoring pattern rows under a criteria list ------------------------------------


Evaluator = Callable[[Row], tuple[int, str]]


Hits = Callable[[Row], list[bool]]


def hits_of(patterns: Patterns, rules: Sequence[Rule], probe: int | None) -> Hits:
    """Whether each of `rules` matches the accounts of a row of `probe`'s
    table: a rule the version has reads its bit of the mask, any other is
    matched by the engine against the value standing for the row's group
    (the rules of one attribute only: the probe's)."""
    version = {_condition(rule): i for i, rule in enumerate(patterns.ruleset.rules)}
    plan: list[tuple[Rule, int | None]] = []
    for rule in rules:
        bit = version.get(_condition(rule))
        if bit is None and (
            probe is None or patterns.probes[probe].attribute.key != rule.attribute
        ):
            raise ValueError(f"No pattern tells whether {rule.attribute} {rule.operator} matches.")
        plan.append((rule, bit))
    standing: dict[Any, list[bool]] = {}

    def engine(group: Any) -> list[bool]:
        if group not in standing:
            assert probe is not None
            account = patterns.probes[probe].account(group)
            standing[group] = [
                bit is None and match(rule, account) == Outcome.MATCHED for rule, bit in plan
            ]
        return standing[group]

    def hits(row: Row) -> list[bool]:
        matched = engine(row.group) if probe is not None else [False] * len(plan)
        return [
            bool(row.mask >> bit & 1) if bit is not None else matched[j]
            for j, (_rule, bit) in enumerate(plan)
        ]

    return hits


def evaluator(
    patterns: Patterns, rules: Sequence[Rule], thresholds: Thresholds, probe: int | None
) -> Evaluator:
    """(score, tier) of a row of `probe`'s table under `rules`, as the
    engine's `evaluate` scores an account (hits_of says which match); -1
    for a disqualified one, below every score."""
    hits = hits_of(patterns, rules, probe)

    def evaluate(row: Row) -> tuple[int, str]:
        matched = hits(row)
        if any(hit and rule.disqualifier for hit, rule in zip(matched, rules, strict=True)):
            return -1, Tier.DQ.value
        score = min(100, sum(rule.points for hit, rule in zip(matched, rules, strict=True) if hit))
        return score, tier_for(score, thresholds).value

    return evaluate


def _condition(rule: Rule) -> tuple[Any, ...]:
    value = rule.value
    frozen = tuple(value) if isinstance(value, list) else value
    return (rule.attribute, rule.operator, frozen, rule.disqualifier)


def deals_of(row: Row, period: str) -> tuple[int, int]:
    """(won, lost) of a row in `period`: "early" (before the split),
    "late" (from it) or "all"."""
    if period == "early":
        return row.won, row.lost
    if period == "late":
        return row.won_late, row.lost_late
    return row.won + row.won_late, row.lost + row.lost_late


def backtest(
    rows: Iterable[Row], evaluate: Evaluator, *, period: str = "all", base: Iterable[Row] = ()
) -> Backtest:
    """Deal-level win rate by tier and the ordering (AUC: the chance a won
    deal's account scores above a lost one's, ties half) of the rows'
    deals in `period` (deals_of); the tier counts of the `base` rows."""
    won: dict[str, int] = defaultdict(int)
    lost: dict[str, int] = defaultdict(int)
    scores, labels, weights = [], [], []
    for row in rows:
        row_won, row_lost = deals_of(row, period)
        if not row_won and not row_lost:
            continue
        score, tier = evaluate(row)
        won[tier] += row_won
        lost[tier] += row_lost
        for label, weight in ((1, row_won), (0, row_lost)):
            if weight:
                scores.append(score)
                labels.append(label)
                weights.append(weight)
    auc = None
    if 0 < sum(labels) < len(labels):
        auc = float(roc_auc_score(labels, scores, sample_weight=weights))
    accounts: dict[str, int] = defaultdict(int)
    for row in base:
        accounts[evaluate(row)[1]] += row.accounts
    return Backtest([TierRate(tier, won[tier], lost[tier]) for tier in TIERS], auc, dict(accounts))


def moved(rows: Iterable[Row], before: Evaluator, after: Evaluator) -> int:
    """How many accounts of the rows change tier from `before` to `after`."""
    return sum(row.accounts for row in rows if before(row)[1] != after(row)[1])
