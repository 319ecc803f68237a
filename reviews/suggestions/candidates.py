"""The candidate edits of a version: from its criteria and the attribute
lift of the window, every edit the rules in suggest.py's docstring (and
docs/suggestions.md) allow, not yet judged; and the probes (how each
touched attribute's values group) their backtests need.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

from profiles.attributes import Attribute, AttrType, Operator, canonical, describe
from profiles.models import CriterionKind
from profiles.selectors import attribute_registry
from reviews.suggestions import edits
from reviews.suggestions.buckets import Bucket
from reviews.suggestions.edits import Edit
from reviews.suggestions.lift import AttributeLift, Lift, Outcomes, ValueLift
from reviews.suggestions.model import Criterion, EditKind
from reviews.suggestions.patterns import Probe
from reviews.suggestions.stats import Standing

FIT, DISQUALIFIER = CriterionKind.FIT.value, CriterionKind.DISQUALIFIER.value
# A value "essentially never wins" when its win rate's interval ends below
# this share of the base rate's lower end.
NEVER_WINS = 0.5
POSITIVE = {Operator.IN, Operator.EQ, Operator.CONTAINS_ANY}
# A list attribute's items an edit can name at once (a bit each in a group).
MAX_LIST_ITEMS = 62


@dataclass
class Candidate:
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
        inside, outside = group_outcomes(self.values, base)
        return separation(inside, outside, min_deals)


def within_range(rate: float | None, others: Outcomes) -> bool:
    """`rate` is no higher than the top of the others' win-rate interval."""
    interval = others.win_interval
    return rate is not None and interval is not None and rate <= interval.high


def group_outcomes(values: Sequence[ValueLift], base: Outcomes) -> tuple[Outcomes, Outcomes]:
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


def criterion_words(attribute: Attribute, criterion: Criterion) -> str:
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


class Maker:
    """The candidate edits of one version from one lift."""

    def __init__(self, criteria: list[Criterion], lift: Lift, min_overrides: int) -> None:
        self.criteria, self.lift, self.min_overrides = criteria, lift, min_overrides
        self.out: list[Candidate] = []

    def make(self) -> list[Candidate]:
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
                    Candidate(
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
                    Candidate(
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
        current = items_of(criterion.value)
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
                Candidate(
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
                Candidate(
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
                Candidate(
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
            Candidate(
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
                disqualified |= {canonical(str(i)) for i in items_of(c.value)}
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
            Candidate(
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


def items_of(value: Any) -> list[Any]:
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


def probes_for(
    candidates: Sequence[Candidate], criteria: Sequence[Criterion], lift: Lift
) -> list[Probe]:
    """A probe for every attribute an edit other than a removal touches."""
    touched: dict[str, Attribute] = {}
    for candidate in candidates:
        if candidate.kind != EditKind.REMOVE_CRITERION:
            touched[candidate.attribute.key] = candidate.attribute
    return [_probe(attribute, candidates, criteria, lift) for attribute in touched.values()]


def _criteriaitems_of(criteria: Sequence[Criterion], key: str) -> set[str]:
    return {canonical(str(i)) for c in criteria if c.attribute == key for i in items_of(c.value)}


def _probe(
    attribute: Attribute,
    candidates: Sequence[Candidate],
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
        values = sorted(named | _criteriaitems_of(criteria, key))
        if attribute.type == AttrType.LIST:
            values = values[:MAX_LIST_ITEMS]
        return Probe(attribute, values=tuple(values))
    return Probe(attribute)


def candidates_for(criteria: list[Criterion], lift: Lift, min_overrides: int) -> list[Candidate]:
    return Maker(criteria, lift, min_overrides).make()
