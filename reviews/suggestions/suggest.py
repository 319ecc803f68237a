"""Suggestions against a version: concrete edits of its criteria, from the
attribute lift of the window (lift.py) and the accepted overrides, each
backtested alone (patterns.py), ranked by how much better it orders the
window's closed deals, and a re-weighting fitted to the outcomes (fit.py).

Which edits are made (docs/suggestions.md says it for people); "high" and
"low" are values whose win rate clears the minimum evidence above or below
the base, a "cluster" at least REVIEWS_CLUSTER_MIN_OVERRIDES accepted
overrides on accounts with the value claiming a higher (or lower) tier:
- a category value, list item or yes/no: a high value (or a higher-claim
  cluster) a fit criterion on the attribute leaves out is added to it, or,
  without such a criterion, the high values become a new one; a low value
  (or a lower-claim cluster) a criterion includes is removed from it;
- a number: a criterion's range is widened over the high bucket just
  outside it, or narrowed off the low bucket just inside; without a
  criterion, the longest run of high buckets becomes one;
- a value that essentially never wins (its win rate's interval ends below
  half the base's) and churns at least as often as the base becomes a
  disqualifier;
- a fit criterion whose accounts do not win more often than the others
  (both sides with the minimum deals, intervals overlapping or lower) is
  removed;
- the points, re-fitted (fit.py) on the earlier three quarters of the
  window and tested on the last quarter.
A new criterion's points are its fitted share; the other fit criteria are
scaled so the version totals 100 (edits.rebalance).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.utils import timezone

from icpsite.cached import cache_get, cache_set
from icpsite.numbers import count, percent, ratio
from profiles.attributes import Attribute, AttrType, Operator, canonical, describe
from profiles.models import CriterionKind, ProfileVersion
from profiles.selectors import attribute_registry
from reviews.models import Override, OverrideStatus
from reviews.suggestions import edits
from reviews.suggestions.buckets import Bucket
from reviews.suggestions.edits import Edit, criteria_of, edited, rebalance, rules_of
from reviews.suggestions.fit import fitted_shares, points_from
from reviews.suggestions.lift import AttributeLift, Lift, Outcomes, ValueLift, lifted
from reviews.suggestions.model import (
    Change,
    Criterion,
    EditKind,
    Effect,
    OverrideRef,
    PointsRow,
    Reweighting,
    Suggestion,
    Suggestions,
)
from reviews.suggestions.patterns import (
    Patterns,
    Probe,
    Row,
    backtest,
    evaluator,
    moved,
    patterns_for,
)
from reviews.suggestions.stats import Standing
from reviews.suggestions.window import Window, window_for
from scoring.engine import Outcome, Rule, Thresholds, match
from scoring.expressions import matched_mask

FIT, DISQUALIFIER = CriterionKind.FIT.value, CriterionKind.DISQUALIFIER.value
# A value "essentially never wins" when its win rate's interval ends below
# this share of the base rate's lower end.
NEVER_WINS = 0.5
# The share of the window held out to test the re-fitted points.
HELD_OUT = 0.25
POSITIVE = {Operator.IN, Operator.EQ, Operator.CONTAINS_ANY}
# Overrides back a value on their own when its share of the accepted
# overrides is at least this many times its share of the account base.
CONCENTRATION = 2
# Why an edit whose evidence clears is not shown.
NO_BETTER = "not shown: alone, it orders the window's closed deals no better"
# A list attribute's items an edit can name at once (a bit each in a group).
MAX_LIST_ITEMS = 62


@dataclass
class _Candidate:
    kind: EditKind
    attribute: Attribute
    key: str
    edit: Edit
    values: list[ValueLift] = field(default_factory=list)
    lineage: UUID | None = None
    added: Criterion | None = None
    cluster: str = ""  # "higher" or "lower" when overrides drive it
    # A new criterion is judged as a group: its values against the rest.
    group: bool = False

    def standing(self, base: Outcomes, min_deals: int) -> Standing:
        if not self.values:
            return Standing.TOO_FEW_DEALS
        if not self.group:
            return next((v.standing for v in self.values if not v.clears), Standing.CLEARS)
        inside, outside = _group_outcomes(self.values, base)
        return separation(inside, outside, min_deals)


def _within_range(rate: float | None, others: Outcomes) -> bool:
    """`rate` is no higher than the top of the others' win-rate interval."""
    interval = others.win_interval
    return rate is not None and interval is not None and rate <= interval.high


def _group_outcomes(values: Sequence[ValueLift], base: Outcomes) -> tuple[Outcomes, Outcomes]:
    won = sum(v.outcomes.won for v in values)
    lost = sum(v.outcomes.lost for v in values)
    return Outcomes(won=won, lost=lost), Outcomes(won=base.won - won, lost=base.lost - lost)


def separation(inside: Outcomes, outside: Outcomes, min_deals: int) -> Standing:
    """The minimum evidence for a whole criterion: the accounts it matches
    (`inside`) win more often than the others, both with at least
    `min_deals` closed deals and win-rate intervals that do not overlap."""
    if inside.closed < min_deals or outside.closed < min_deals:
        return Standing.TOO_FEW_DEALS
    a, b = inside.win_interval, outside.win_interval
    if a is None or b is None or a.overlaps(b):
        return Standing.OVERLAPS_BASE
    return Standing.CLEARS


def _text(attribute: Attribute, criterion: Criterion) -> str:
    try:
        return describe(attribute, Operator(criterion.operator), criterion.value)
    except ValueError:
        return f"{attribute.label} {criterion.operator} {criterion.value}"


def _high(value: ValueLift) -> bool:
    return value.clears and (value.lift or 0) > 1


def _low(value: ValueLift) -> bool:
    return value.clears and (value.lift or 0) < 1


def _never_wins(value: ValueLift, base: Outcomes) -> bool:
    interval, base_interval = value.outcomes.win_interval, base.win_interval
    if not value.clears or interval is None or base_interval is None:
        return False
    churns = value.outcomes.churn_rate
    base_churn = base.churn_rate
    churn_ok = churns is None or base_churn is None or churns >= base_churn
    return interval.high < NEVER_WINS * base_interval.low and churn_ok


def _cluster(value: ValueLift, min_overrides: int) -> str:
    higher, lower = value.outcomes.claimed_higher, value.outcomes.claimed_lower
    if higher >= min_overrides and higher > 2 * lower:
        return "higher"
    if lower >= min_overrides and lower > 2 * higher:
        return "lower"
    return ""


def _number(value: Decimal) -> int | str:
    return int(value) if value == value.to_integral_value() else str(value)


class _Maker:
    """The candidate edits of one version from one lift."""

    def __init__(self, criteria: list[Criterion], lift: Lift, min_overrides: int) -> None:
        self.criteria, self.lift, self.min_overrides = criteria, lift, min_overrides
        self.out: list[_Candidate] = []

    def make(self) -> list[_Candidate]:
        for attribute_lift in self.lift.attributes:
            kind = attribute_lift.attribute.type
            if kind == AttrType.NUMBER:
                self._numbers(attribute_lift)
            else:
                self._values(attribute_lift)
            self._disqualifier(attribute_lift)
        registry = attribute_registry()
        for criterion in self.criteria:
            if not criterion.disqualifier and criterion.lineage is not None:
                self.out.append(
                    _Candidate(
                        EditKind.REMOVE_CRITERION,
                        registry[criterion.attribute],
                        f"remove:{criterion.lineage}",
                        edits.without(criterion.lineage),
                        lineage=criterion.lineage,
                    )
                )
        return self.out

    def _fit_on(self, key: str) -> list[Criterion]:
        return [c for c in self.criteria if c.attribute == key and not c.disqualifier]

    def _wanted(self, value: ValueLift) -> str:
        """'add', 'remove' or ''."""
        if _high(value):
            return "add"
        if _low(value):
            return "remove"
        # Overrides speak where the deals do not, never against them.
        return {"higher": "add", "lower": "remove"}.get(_cluster(value, self.min_overrides), "")

    def _values(self, lift: AttributeLift) -> None:
        attribute = lift.attribute
        known = [v for v in lift.values if v.value is not None]
        if attribute.type == AttrType.BOOLEAN:
            self._yes_no(lift, known)
            return
        positive = [c for c in self._fit_on(attribute.key) if Operator(c.operator) in POSITIVE]
        operator = Operator.CONTAINS_ANY if attribute.type == AttrType.LIST else Operator.IN
        adds = [v for v in known if self._wanted(v) == "add"]
        if not positive:
            # A list's values overlap (an account has several), so only a
            # category's are judged together.
            group = attribute.type == AttrType.CATEGORY
            adds = (self._above_base(known) if group else []) or adds
            if adds:
                values = sorted(v.label for v in adds)
                added = Criterion(attribute.key, operator.value, values, 0, FIT)
                self.out.append(
                    _Candidate(
                        EditKind.ADD_CRITERION,
                        attribute,
                        f"add:{attribute.key}:{'|'.join(sorted(str(v.value) for v in adds))}",
                        edits.adding(added),
                        adds,
                        added=added,
                        cluster=_common_cluster(adds, self.min_overrides),
                        group=group,
                    )
                )
            return
        criterion = positive[0]
        assert criterion.lineage is not None
        current = _items(criterion.value)
        held = {canonical(str(item)) for item in current}
        for value in known:
            wanted = self._wanted(value)
            inside = str(value.value) in held
            if wanted == "add" and not inside:
                after = [*current, value.label]
                kind = EditKind.ADD_VALUE
            elif wanted == "remove" and inside and len(current) > 1:
                after = [i for i in current if canonical(str(i)) != value.value]
                kind = EditKind.REMOVE_VALUE
            else:
                continue
            operator_after = criterion.operator
            if Operator(criterion.operator) == Operator.EQ:
                operator_after = Operator.IN.value
            self.out.append(
                _Candidate(
                    kind,
                    attribute,
                    f"{kind.value}:{criterion.lineage}:{value.value}",
                    edits.with_values(criterion.lineage, after, operator_after),
                    [value],
                    lineage=criterion.lineage,
                    cluster=_cluster(value, self.min_overrides),
                )
            )

    def _above_base(self, values: Sequence[ValueLift]) -> list[ValueLift]:
        """The values with the minimum deals that win more often than the base."""
        base = self.lift.base.win_rate or 0
        return [
            v
            for v in values
            if v.outcomes.closed >= self.lift.min_deals and (v.outcomes.win_rate or 0) > base
        ]

    def _yes_no(self, lift: AttributeLift, known: list[ValueLift]) -> None:
        attribute = lift.attribute
        if self._fit_on(attribute.key):
            return
        for value in known:
            if self._wanted(value) != "add":
                continue
            operator = Operator.IS_TRUE if value.value == "true" else Operator.IS_FALSE
            added = Criterion(attribute.key, operator.value, None, 0, FIT)
            self.out.append(
                _Candidate(
                    EditKind.ADD_CRITERION,
                    attribute,
                    f"add:{attribute.key}:{value.value}",
                    edits.adding(added),
                    [value],
                    added=added,
                    cluster=_cluster(value, self.min_overrides),
                )
            )

    def _numbers(self, lift: AttributeLift) -> None:
        attribute = lift.attribute
        values = [v for v in lift.values if v.bucket is not None]
        if not values:
            return
        ranged = [
            c
            for c in self._fit_on(attribute.key)
            if Operator(c.operator) in (Operator.GTE, Operator.LTE, Operator.BETWEEN)
        ]
        if not ranged:
            self._number_criterion(lift, values)
            return
        criterion = ranged[0]
        assert criterion.lineage is not None
        low, high = _bounds(criterion)
        inside = [v for v in values if _within(v.bucket, low, high)]
        below = [v for v in values if _entirely_below(v.bucket, low)]
        above = [v for v in values if _entirely_above(v.bucket, high)]
        moves: list[tuple[EditKind, ValueLift, Decimal | None, Decimal | None]] = []
        if below and self._wanted(below[-1]) == "add" and below[-1].bucket is not None:
            moves.append((EditKind.WIDEN, below[-1], below[-1].bucket.low, high))
        if above and self._wanted(above[0]) == "add" and above[0].bucket is not None:
            moves.append((EditKind.WIDEN, above[0], low, _top(above[0].bucket)))
        if len(inside) > 1:
            first, last = inside[0], inside[-1]
            if self._wanted(first) == "remove" and first.bucket and first.bucket.high is not None:
                moves.append((EditKind.NARROW, first, first.bucket.high, high))
            if self._wanted(last) == "remove" and last.bucket and last.bucket.low is not None:
                moves.append((EditKind.NARROW, last, low, last.bucket.low - 1))
        for kind, value, new_low, new_high in moves:
            operator, stored = _range(new_low, new_high)
            if operator is None:
                continue
            self.out.append(
                _Candidate(
                    kind,
                    attribute,
                    f"{kind.value}:{criterion.lineage}:{value.label}",
                    edits.with_values(criterion.lineage, stored, operator.value),
                    [value],
                    lineage=criterion.lineage,
                    cluster=_cluster(value, self.min_overrides),
                )
            )

    def _number_criterion(self, lift: AttributeLift, values: list[ValueLift]) -> None:
        """The longest run of high buckets, as a new criterion."""
        best: list[ValueLift] = []
        run: list[ValueLift] = []
        above = self._above_base(values)
        for value in values:
            run = [*run, value] if value in above else []
            if len(run) > len(best):
                best = run
        if not best or best[0].bucket is None or best[-1].bucket is None:
            return
        operator, stored = _range(best[0].bucket.low, _top(best[-1].bucket))
        if operator is None:
            return
        added = Criterion(lift.attribute.key, operator.value, stored, 0, FIT)
        self.out.append(
            _Candidate(
                EditKind.ADD_CRITERION,
                lift.attribute,
                f"add:{lift.attribute.key}:{best[0].label}..{best[-1].label}",
                edits.adding(added),
                best,
                added=added,
                cluster=_common_cluster(best, self.min_overrides),
                group=True,
            )
        )

    def _disqualifier(self, lift: AttributeLift) -> None:
        attribute = lift.attribute
        if attribute.type not in (AttrType.CATEGORY, AttrType.LIST):
            return
        disqualified = set()
        for c in self.criteria:
            if c.attribute == attribute.key and c.disqualifier:
                disqualified |= {canonical(str(i)) for i in _items(c.value)}
        never = [
            v
            for v in lift.values
            if v.value is not None
            and str(v.value) not in disqualified
            and _never_wins(v, self.lift.base)
        ]
        if not never:
            return
        operator = Operator.CONTAINS_ANY if attribute.type == AttrType.LIST else Operator.IN
        added = Criterion(
            attribute.key, operator.value, sorted(v.label for v in never), 0, DISQUALIFIER
        )
        self.out.append(
            _Candidate(
                EditKind.ADD_DISQUALIFIER,
                attribute,
                f"disqualify:{attribute.key}:{'|'.join(sorted(str(v.value) for v in never))}",
                edits.adding(added),
                never,
                added=added,
            )
        )


def _common_cluster(values: Sequence[ValueLift], min_overrides: int) -> str:
    kinds = {_cluster(v, min_overrides) for v in values}
    return kinds.pop() if len(kinds) == 1 else ""


def _items(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    return [] if value is None else [value]


def _bounds(criterion: Criterion) -> tuple[Decimal | None, Decimal | None]:
    """low <= value <= high of a numeric criterion (None: unbounded)."""
    operator = Operator(criterion.operator)
    if operator == Operator.BETWEEN:
        return Decimal(str(criterion.value[0])), Decimal(str(criterion.value[1]))
    if operator == Operator.GTE:
        return Decimal(str(criterion.value)), None
    return None, Decimal(str(criterion.value))


def _top(bucket: Bucket) -> Decimal | None:
    """The highest whole value a bucket holds (None: no upper bound)."""
    return None if bucket.high is None else bucket.high - 1


def _within(bucket: Bucket | None, low: Decimal | None, high: Decimal | None) -> bool:
    if bucket is None:
        return False
    above = low is None or (bucket.low is not None and bucket.low >= low)
    below = high is None or (bucket.high is not None and bucket.high - 1 <= high)
    return above and below


def _entirely_below(bucket: Bucket | None, low: Decimal | None) -> bool:
    return bucket is not None and low is not None and bucket.high is not None and bucket.high <= low


def _entirely_above(bucket: Bucket | None, high: Decimal | None) -> bool:
    return bucket is not None and high is not None and bucket.low is not None and bucket.low > high


def _range(low: Decimal | None, high: Decimal | None) -> tuple[Operator | None, Any]:
    if low is not None and high is not None:
        if low > high:
            return None, None
        return Operator.BETWEEN, [_number(low), _number(high)]
    if low is not None:
        return Operator.GTE, _number(low)
    if high is not None:
        return Operator.LTE, _number(high)
    return None, None


# --- Probes: how each touched attribute's values group -----------------------------


def _probes(
    candidates: Sequence[_Candidate], criteria: Sequence[Criterion], lift: Lift
) -> list[Probe]:
    """A probe for every attribute an edit other than a removal touches."""
    touched: dict[str, Attribute] = {}
    for candidate in candidates:
        if candidate.kind != EditKind.REMOVE_CRITERION:
            touched[candidate.attribute.key] = candidate.attribute
    return [_probe(attribute, candidates, criteria, lift) for attribute in touched.values()]


def _criteria_items(criteria: Sequence[Criterion], key: str) -> set[str]:
    return {canonical(str(i)) for c in criteria if c.attribute == key for i in _items(c.value)}


def _probe(
    attribute: Attribute,
    candidates: Sequence[_Candidate],
    criteria: Sequence[Criterion],
    lift: Lift,
) -> Probe:
    key = attribute.key
    if attribute.type == AttrType.NUMBER:
        edges = {b.low for b in lift.get(key).buckets if b.low is not None}
        for c in criteria:
            if c.attribute == key:
                low, high = _bounds(c)
                edges |= {e for e in (low, None if high is None else high + 1) if e is not None}
        return Probe(attribute, edges=tuple(sorted(edges)))
    if attribute.type in (AttrType.CATEGORY, AttrType.LIST):
        # A group of its own for every value an edit or criterion names;
        # every other value behaves alike under each of them.
        named = {str(v.value) for c in candidates if c.attribute.key == key for v in c.values}
        values = sorted(named | _criteria_items(criteria, key))
        if attribute.type == AttrType.LIST:
            values = values[:MAX_LIST_ITEMS]
        return Probe(attribute, values=tuple(values))
    return Probe(attribute)


# --- Putting it together --------------------------------------------------------------


def _split(window: Window) -> datetime:
    return window.end - (window.end - window.start) * HELD_OUT


def _sums(values: Sequence[ValueLift]) -> Outcomes:
    won = sum(v.outcomes.won for v in values)
    lost = sum(v.outcomes.lost for v in values)
    return Outcomes(won=won, lost=lost)


class _Judge:
    """Backtests and words for the candidates of one version."""

    def __init__(
        self,
        version: ProfileVersion,
        criteria: list[Criterion],
        lift: Lift,
        patterns: Patterns,
        registry: dict[str, Attribute],
        overrides: list[tuple[Override, dict[str, Any]]],
    ) -> None:
        self.version, self.criteria, self.lift = version, criteria, lift
        self.patterns, self.registry, self.overrides = patterns, registry, overrides
        self.thresholds = Thresholds(a=version.threshold_a, b=version.threshold_b)
        self.min_deals = lift.min_deals
        self.min_overrides = settings.REVIEWS_CLUSTER_MIN_OVERRIDES

    def evaluate(self, criteria: Sequence[Criterion], probe: int | None) -> Any:
        rules = rules_of(criteria, self.registry)
        return evaluator(self.patterns, rules, self.thresholds, probe)

    def effect(self, criteria: Sequence[Criterion], probe: int | None) -> Effect:
        deals = self.patterns.deals.get(probe, [])
        base = self.patterns.base.get(probe, [])
        before = self.evaluate(self.criteria, probe)
        after = self.evaluate(criteria, probe)
        return Effect(
            backtest(deals, before, period="all", base=base),
            backtest(deals, after, period="all", base=base),
            moved(base, before, after),
        )

    def new_points(self, candidate: _Candidate, probe: int | None) -> int:
        """A new fit criterion's fitted share of 100 points."""
        assert candidate.added is not None
        rows = self.patterns.deals.get(probe, [])
        fit = [c for c in self.criteria if not c.disqualifier]
        trial = [*fit, candidate.added]
        shares = self.shares(trial, probe, rows)
        if shares is None:
            return 0
        return points_from(shares)[-1]

    def shares(
        self,
        criteria: Sequence[Criterion],
        probe: int | None,
        rows: Iterable[Row],
        late: bool = False,
    ) -> list[float] | None:
        rules = rules_of(criteria, self.registry)
        disqualifiers = [c for c in self.criteria if c.disqualifier]
        dq = self.evaluate(disqualifiers, probe) if disqualifiers else None
        version_bits = {_key(rule): i for i, rule in enumerate(self.patterns.ruleset.rules)}
        probe_obj = None if probe is None else self.patterns.probes[probe]

        def matches(row: Row) -> list[bool] | None:
            if dq is not None and dq(row)[1] == "DQ":
                return None
            hits = []
            for rule in rules:
                bit = version_bits.get(_key(rule))
                if bit is not None:
                    hits.append(bool(row.mask >> bit & 1))
                    continue
                assert probe_obj is not None
                hits.append(match(rule, probe_obj.account(row.group)) == Outcome.MATCHED)
            return hits

        return fitted_shares(rows, matches, late=late)

    def candidate(self, candidate: _Candidate) -> Suggestion | None:
        probe = self.patterns.probe_index(candidate.attribute.key)
        if candidate.kind == EditKind.REMOVE_CRITERION:
            probe = None
        edit = candidate.edit
        if candidate.added is not None and not candidate.added.disqualifier:
            points = self.new_points(candidate, probe)
            if points <= 0 and candidate.cluster == "higher":
                # Overrides on accounts with few deals: the deals cannot
                # weigh it, so it starts as light as the lightest criterion.
                points = min((c.points for c in self.criteria if c.points), default=10)
            if points <= 0:
                return None
            added = Criterion(
                candidate.added.attribute,
                candidate.added.operator,
                candidate.added.value,
                points,
                FIT,
            )
            candidate.added = added
            edit = edits.adding(added)
        after = edited(self.criteria, edit)
        changes = edits.changes_between(self.criteria, after)
        if not changes:
            return None
        effect = self.effect(after, probe)
        if candidate.kind == EditKind.REMOVE_CRITERION:
            return self._removal(candidate, changes, effect)
        standing = candidate.standing(self.lift.base, self.min_deals)
        overrides = self._overrides(candidate)
        by_overrides = (
            bool(candidate.cluster)
            and len(overrides) >= self.min_overrides
            and self._concentrated(candidate, probe, len(overrides))
        )
        evidence = standing == Standing.CLEARS or by_overrides
        # Overrides alone may back an edit the deals cannot test; it still
        # must not order them worse.
        overrides_only = standing != Standing.CLEARS and by_overrides
        gain = effect.auc_gain
        shown = evidence and (gain > 0 or (overrides_only and gain == 0))
        standing_text = Standing.CLEARS.label if shown else standing.label
        if evidence and not shown:
            standing_text = NO_BETTER
        agreeing = self._agreeing(candidate, overrides)
        return Suggestion(
            key=candidate.key,
            kind=candidate.kind,
            attribute=candidate.attribute.key,
            attribute_label=candidate.attribute.label,
            change=self._change_text(candidate, changes),
            sentence=self._sentence(candidate, overrides),
            changes=changes,
            values=tuple(candidate.values),
            effect=effect,
            shown=shown,
            standing=standing_text,
            overrides=tuple(_ref(o) for o, _ in overrides),
            overrides_agreeing=agreeing,
            lineage=candidate.lineage,
        )

    def _removal(
        self, candidate: _Candidate, changes: tuple[Change, ...], effect: Effect
    ) -> Suggestion | None:
        index = next(i for i, c in enumerate(self.criteria) if c.lineage == candidate.lineage)
        inside, outside = Outcomes(), Outcomes()
        won_in = lost_in = won_out = lost_out = 0
        for row in self.patterns.deals.get(None, []):
            if row.mask >> index & 1:
                won_in, lost_in = (
                    won_in + row.won + row.won_late,
                    lost_in + row.lost + row.lost_late,
                )
            else:
                won_out, lost_out = (
                    won_out + row.won + row.won_late,
                    lost_out + row.lost + row.lost_late,
                )
        inside, outside = Outcomes(won=won_in, lost=lost_in), Outcomes(won=won_out, lost=lost_out)
        enough = inside.closed >= self.min_deals and outside.closed >= self.min_deals
        rate_in, rate_out = inside.win_rate, outside.win_rate
        higher = rate_in is None or rate_out is None or rate_in > rate_out
        if higher and not (enough and _within_range(rate_in, outside)):
            return None  # as far as the deals tell, it picks accounts that win
        shown = enough and effect.auc_gain > 0
        standing = Standing.CLEARS.label if shown else Standing.TOO_FEW_DEALS.label
        if enough and not shown:
            standing = NO_BETTER
        criterion = self.criteria[index]
        text = _text(candidate.attribute, criterion)
        sentence = (
            f"Accounts where “{text}” win {percent(rate_in)} of {count(inside.closed)} closed "
            f"deals, those where it does not {percent(rate_out)} of {count(outside.closed)}: "
            f"its {count(criterion.points)} points do not pick the accounts that win."
        )
        return Suggestion(
            key=candidate.key,
            kind=candidate.kind,
            attribute=candidate.attribute.key,
            attribute_label=candidate.attribute.label,
            change=f"Remove “{text}” ({count(criterion.points)} points)",
            sentence=sentence,
            changes=changes,
            values=(),
            effect=effect,
            shown=shown,
            standing=standing,
            lineage=candidate.lineage,
        )

    def _change_text(self, candidate: _Candidate, changes: tuple[Change, ...]) -> str:
        attribute = candidate.attribute
        main = next(
            (
                c
                for c in changes
                if (c.before is None and c.after is not None)
                or (c.before is not None and c.before.lineage == candidate.lineage)
            ),
            changes[0],
        )
        if main.before is None and main.after is not None:
            after = _text(attribute, main.after)
            if main.after.disqualifier:
                return f"Add disqualifier “{after}”"
            return f"Add “{after}” ({count(main.after.points)} points)"
        assert main.before is not None
        assert main.after is not None
        labels = ", ".join(v.label for v in candidate.values)
        before, after = _text(attribute, main.before), _text(attribute, main.after)
        if candidate.kind == EditKind.ADD_VALUE:
            return f"Add {labels} to “{before}”"
        if candidate.kind == EditKind.REMOVE_VALUE:
            return f"Remove {labels} from “{before}”"
        return f"“{before}” becomes “{after}”"

    def _sentence(self, candidate: _Candidate, overrides: list[Any]) -> str:
        attribute = candidate.attribute
        sums = _sums(candidate.values)
        labels = " or ".join(v.label for v in candidate.values)
        base = self.lift.base.win_rate
        rate = sums.win_rate
        lift = rate / base if rate is not None and base else None
        who = f"Accounts with {attribute.label} {labels}"
        if candidate.kind == EditKind.ADD_DISQUALIFIER:
            text = (
                f"{who} won {percent(rate)} of {count(sums.closed)} closed deals against "
                f"{percent(base)} overall; they essentially never win"
            )
        elif not sums.closed:
            text = f"{who} have no closed deals in the window"
        elif candidate.group:
            inside, outside = _group_outcomes(candidate.values, self.lift.base)
            text = (
                f"{who} won {percent(inside.win_rate)} of {count(inside.closed)} closed deals, "
                f"the others {percent(outside.win_rate)} of {count(outside.closed)}"
            )
        else:
            text = f"{who} win {ratio(lift)} as often as the base (n={count(sums.closed)})"
        on = self._fit_on(attribute.key)
        if candidate.kind == EditKind.ADD_CRITERION:
            text += f"; the version gives {attribute.label} no points"
        elif on and candidate.kind != EditKind.ADD_DISQUALIFIER:
            text += f"; the version has “{_text(attribute, on[0])}”"
        if candidate.cluster and overrides:
            verb = "a higher" if candidate.cluster == "higher" else "a lower"
            text += f"; {count(len(overrides))} accepted overrides claim {verb} tier for them"
        return text + "."

    def _fit_on(self, key: str) -> list[Criterion]:
        return [c for c in self.criteria if c.attribute == key and not c.disqualifier]

    def _concentrated(self, candidate: _Candidate, probe: int | None, found: int) -> bool:
        """The candidate's values hold a share of the accepted overrides at
        least CONCENTRATION times their share of the account base: a value
        most accounts have says nothing by being on overridden ones."""
        if probe is None or not self.overrides:
            return False
        standing = self.patterns.probes[probe]
        attribute = candidate.attribute
        holding = total = 0
        for row in self.patterns.base.get(probe, []):
            total += row.accounts
            raw = _value_of(attribute, standing.account(row.group))
            if any(_holds(attribute, v, raw) for v in candidate.values):
                holding += row.accounts
        if not total:
            return False
        return found / len(self.overrides) >= CONCENTRATION * holding / total

    def _overrides(self, candidate: _Candidate) -> list[tuple[Override, dict[str, Any]]]:
        """The accepted overrides in the window on accounts holding one of
        the candidate's values."""
        if not candidate.values:
            return []
        attribute = candidate.attribute
        found = []
        for override, account in self.overrides:
            value = _value_of(attribute, account)
            if any(_holds(attribute, v, value) for v in candidate.values):
                found.append((override, account))
        return found

    def _agreeing(self, candidate: _Candidate, overrides: list[tuple[Override, Any]]) -> int:
        """Overrides whose claim points the way the edit moves their accounts."""
        up = candidate.kind in (EditKind.ADD_VALUE, EditKind.ADD_CRITERION, EditKind.WIDEN)
        agree = 0
        for override, _account in overrides:
            higher = _rank(override.claimed_tier) > _rank(override.machine_tier)
            lower = _rank(override.claimed_tier) < _rank(override.machine_tier)
            agree += int(higher if up else lower)
        return agree


def _key(rule: Rule) -> tuple[Any, ...]:
    value = rule.value
    return (
        rule.attribute,
        rule.operator,
        tuple(value) if isinstance(value, list) else value,
        rule.disqualifier,
    )


_RANKS = {"A": 4, "B": 3, "C": 2, "DQ": 1, "not_a_fit": 1}


def _rank(tier: str) -> int:
    return _RANKS.get(tier, 0)


def _value_of(attribute: Attribute, account: dict[str, Any]) -> Any:
    if attribute.is_trait:
        return (account.get("traits") or {}).get(attribute.key)
    return account.get(attribute.key)


def _holds(attribute: Attribute, value: ValueLift, raw: Any) -> bool:
    if raw is None:
        return False
    if attribute.type == AttrType.NUMBER:
        if value.bucket is None or isinstance(raw, bool):
            return False
        try:
            return value.bucket.holds(Decimal(str(raw)))
        except ArithmeticError:
            return False
    if attribute.type == AttrType.CATEGORY:
        return isinstance(raw, str) and canonical(raw) == value.value
    if attribute.type == AttrType.LIST:
        return isinstance(raw, list) and value.value in {canonical(str(i)) for i in raw}
    return isinstance(raw, bool) and (("true" if raw else "false") == value.value)


def _ref(override: Override) -> OverrideRef:
    return OverrideRef(
        id=override.pk,
        account_id=override.account_id,
        account_name=override.account.name,
        machine_tier=override.machine_tier,
        claimed_tier=override.claimed_tier,
        reason=override.reason,
        reviewed_at=override.reviewed_at,
    )


def _accepted(version: ProfileVersion, window: Window) -> list[tuple[Override, dict[str, Any]]]:
    rows = (
        Override.objects.filter(
            profile_id=version.profile_id,
            status=OverrideStatus.ACCEPTED,
            reviewed_at__gte=window.start,
            reviewed_at__lt=window.end,
        )
        .select_related("account")
        .order_by("-reviewed_at", "-pk")
    )
    found = []
    for override in rows:
        account = override.account
        values = {
            key: getattr(account, key, None)
            for key in attribute_registry()
            if hasattr(account, key)
        }
        values["traits"] = account.traits or {}
        found.append((override, values))
    return found


def _reweighting(judge: _Judge, window: Window, split: datetime) -> Reweighting | None:
    criteria = judge.criteria
    fit = [i for i, c in enumerate(criteria) if not c.disqualifier]
    if len(fit) < 2:
        return None
    rows = judge.patterns.deals.get(None, [])
    shares = judge.shares([criteria[i] for i in fit], None, rows)
    if shares is None:
        return None
    points = points_from(shares)
    by_lineage = {criteria[i].lineage: p for i, p in zip(fit, points, strict=True)}
    after = edited(criteria, edits.with_points(by_lineage))
    before_eval = judge.evaluate(criteria, None)
    after_eval = judge.evaluate(after, None)
    current = backtest(rows, before_eval, period="late")
    fitted = backtest(rows, after_eval, period="late")
    changes = edits.changes_between(criteria, after)
    registry = judge.registry
    table = [
        PointsRow(
            c.lineage, _text(registry[c.attribute], c), c.points, by_lineage.get(c.lineage, 0)
        )
        for c in criteria
        if not c.disqualifier
    ]
    fitted_deals = sum(r.won + r.lost for r in rows)
    held_deals = sum(t.closed for t in current.tiers)
    gain = (fitted.auc or 0) - (current.auc or 0)
    enough = fitted_deals >= judge.min_deals * len(fit) and held_deals >= judge.min_deals
    shown = bool(changes) and enough and gain > 0
    if not enough:
        standing = Standing.TOO_FEW_DEALS.label
    elif gain <= 0:
        standing = "not better than the current points on the held-out deals"
    else:
        standing = "clears the minimum"
    suggestion = None
    if changes:
        effect = Effect(
            current, fitted, moved(judge.patterns.base.get(None, []), before_eval, after_eval)
        )
        suggestion = Suggestion(
            key="reweight",
            kind=EditKind.REWEIGHT,
            attribute="",
            attribute_label="Points",
            change="Re-weight the points to fit the won and lost deals",
            sentence=(
                f"Fitted on {count(fitted_deals)} deals closed before {split:%b %-d, %Y} and "
                f"tested on the {count(held_deals)} closed since, the fitted points order won "
                f"above lost deals {percent(fitted.auc)} of the time, the current points "
                f"{percent(current.auc)}."
            ),
            changes=changes,
            values=(),
            effect=effect,
            shown=shown,
            standing=standing,
        )
    return Reweighting(
        Window(window.start, split), Window(split, window.end), table, current, fitted, suggestion
    )


def suggestions_for(
    *, version: ProfileVersion, window: Window | None = None, now: datetime | None = None
) -> Suggestions:
    """The suggestions against `version` over `window` (the profile's
    default window when None), ranked."""
    profile = version.profile
    window = window or window_for(profile=profile, now=now)
    registry = attribute_registry()
    criteria = criteria_of(version)
    criteria = [c for c in criteria if c.attribute in registry]
    thresholds = Thresholds(a=version.threshold_a, b=version.threshold_b)
    ruleset = edits.ruleset_of(criteria, thresholds, registry)
    split = _split(window)
    # The lift's facts carry the version's matched mask, so the deals'
    # pattern rows are read from them, not from the accounts again.
    extra = {"m": matched_mask(ruleset)}
    with lifted(profile=profile, window=window, extra=extra) as (lift, tables):
        maker = _Maker(criteria, lift, settings.REVIEWS_CLUSTER_MIN_OVERRIDES)
        candidates = maker.make()
        probes = _probes(candidates, criteria, lift)
        patterns = patterns_for(
            ruleset, probes, start=window.start, split=split, end=window.end, deal_facts=tables
        )
    judge = _Judge(version, criteria, lift, patterns, registry, _accepted(version, window))
    made = [judge.candidate(c) for c in candidates]
    suggestions = [s for s in made if s is not None]
    reweighting = _reweighting(judge, window, split)
    if reweighting is not None and reweighting.suggestion is not None:
        suggestions.append(reweighting.suggestion)
    suggestions.sort(key=lambda s: (-s.effect.auc_gain, s.key))
    return Suggestions(
        version=version,
        window=window,
        min_deals=lift.min_deals,
        base=lift.base,
        shown=[s for s in suggestions if s.shown],
        not_enough=[s for s in suggestions if not s.shown],
        reweighting=reweighting,
        computed_at=timezone.now(),
    )


def current_suggestions(*, version: ProfileVersion) -> Suggestions:
    """The suggestions against `version` over its default window, as worked
    out at most REVIEWS_SUGGESTIONS_CACHE_SECONDS ago for the revision it is
    at: what the pages, the API and adoption read, so a person adopts what
    they were shown and nobody's reload reads a million accounts again."""
    key = f"suggestions:{version.pk}:{version.revision}"
    found = cache_get(key)
    if isinstance(found, Suggestions) and found.version.revision == version.revision:
        return found
    suggestions = suggestions_for(version=version)
    cache_set(key, suggestions, settings.REVIEWS_SUGGESTIONS_CACHE_SECONDS)
    return suggestions


def refit(suggestions: Suggestions) -> Callable[[list[Criterion]], list[Criterion]]:
    """Points re-fitted over a criteria list, on the same deals the
    re-weighting was fitted on (for adopting it with other edits)."""
    version = suggestions.version

    def refitted(criteria: list[Criterion]) -> list[Criterion]:
        registry = attribute_registry()
        thresholds = Thresholds(a=version.threshold_a, b=version.threshold_b)
        ruleset = edits.ruleset_of(criteria, thresholds, registry)
        window = suggestions.window
        split = _split(window)
        patterns = patterns_for(
            ruleset, [], start=window.start, split=split, end=window.end, whole_base=False
        )
        fit = [i for i, c in enumerate(criteria) if not c.disqualifier]
        rows = patterns.deals.get(None, [])
        dq = [i for i, c in enumerate(criteria) if c.disqualifier]

        def matches(row: Row) -> list[bool] | None:
            if any(row.mask >> i & 1 for i in dq):
                return None
            return [bool(row.mask >> i & 1) for i in fit]

        shares = fitted_shares(rows, matches)
        if shares is None:
            return rebalance(criteria)
        points = points_from(shares)
        result = list(criteria)
        for i, p in zip(fit, points, strict=True):
            result[i] = replace(result[i], points=p)
        return result

    return refitted
