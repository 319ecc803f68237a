"""Edits of a criteria list, pure Python: what a suggestion changes, how the
points of the criteria it leaves alone are scaled so the version still
totals 100, and what adopting several suggestions together changes.

One place decides what a list of criteria becomes: a suggestion's backtest
and its adoption both go through `edited`, so what was backtested is what
is adopted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError

from profiles.attributes import Attribute, Operator
from profiles.models import ProfileVersion
from reviews.suggestions.model import Change, Criterion, EditKind, Suggestion, Suggestions
from scoring.engine import Rule, Ruleset, Thresholds

TOTAL_POINTS = 100


def criteria_of(version: ProfileVersion) -> list[Criterion]:
    """The version's criteria in the order its ruleset (and a score's
    matched mask) has them."""
    return [
        Criterion(c.attribute, c.operator, c.value, c.points, c.kind, c.lineage)
        for c in version.criteria.order_by("position", "id")
    ]


def rules_of(criteria: Sequence[Criterion], registry: dict[str, Attribute]) -> list[Rule]:
    """The engine's rules for a criteria list, as scoring.rulesets makes
    them for a stored version."""
    rules = []
    for criterion in criteria:
        attribute = registry[criterion.attribute]
        rules.append(
            Rule(
                attribute=attribute.key,
                type=attribute.type,
                operator=Operator(criterion.operator),
                value=criterion.value,
                points=0 if criterion.disqualifier else criterion.points,
                disqualifier=criterion.disqualifier,
                is_trait=attribute.is_trait,
            )
        )
    return rules


def ruleset_of(
    criteria: Sequence[Criterion], thresholds: Thresholds, registry: dict[str, Attribute]
) -> Ruleset:
    return Ruleset(tuple(rules_of(criteria, registry)), thresholds)


def whole_points(shares: Sequence[float], total: int = TOTAL_POINTS) -> list[int]:
    """Non-negative shares as whole points summing to `total` (largest
    remainder; ties to the earlier share). All zero shares stay zero."""
    weights = [max(0.0, share) for share in shares]
    whole = sum(weights)
    if whole <= 0:
        return [0] * len(weights)
    exact = [w * total / whole for w in weights]
    points = [int(e) for e in exact]
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - points[i]), i))
    for i in order[: total - sum(points)]:
        points[i] += 1
    return points


def rebalance(criteria: Sequence[Criterion], fixed: Iterable[int] = ()) -> list[Criterion]:
    """The fit criteria's points scaled to total 100, keeping the points of
    the criteria at the indexes in `fixed` as they are (a new criterion's
    fitted points). Disqualifiers carry none."""
    keep = set(fixed)
    fit = [i for i, c in enumerate(criteria) if not c.disqualifier]
    kept = sum(criteria[i].points for i in fit if i in keep)
    scaled = [i for i in fit if i not in keep]
    points = whole_points([criteria[i].points for i in scaled], max(0, TOTAL_POINTS - kept))
    result = list(criteria)
    for i, p in zip(scaled, points, strict=True):
        result[i] = replace(result[i], points=p)
    return result


def changes_between(before: Sequence[Criterion], after: Sequence[Criterion]) -> tuple[Change, ...]:
    """What turns `before` into `after`, criteria matched by lineage (a
    criterion without one is new)."""
    old = {c.lineage: c for c in before if c.lineage is not None}
    new = {c.lineage: c for c in after if c.lineage is not None}
    changes: list[Change] = [
        Change(c, new.get(lineage)) for lineage, c in old.items() if new.get(lineage) != c
    ]
    changes += [Change(None, c) for c in after if c.lineage is None]
    return tuple(changes)


Edit = Callable[[list[Criterion]], list[Criterion]]


def edited(criteria: Sequence[Criterion], edit: Edit) -> list[Criterion]:
    """`criteria` after `edit` (a function of the list that changes the
    criteria it is about), the other fit criteria scaled to total 100
    around the points the edit set."""
    after = edit(list(criteria))
    touched = [
        i
        for i, c in enumerate(after)
        if c.lineage is None or c not in criteria or c.points != _points_of(criteria, c.lineage)
    ]
    return rebalance(after, fixed=touched)


def _points_of(criteria: Sequence[Criterion], lineage: UUID | None) -> int | None:
    return next((c.points for c in criteria if c.lineage == lineage), None)


def with_values(lineage: UUID, values: Any, operator: str | None = None) -> Edit:
    """Set the value (and the operator, when given) of the criterion `lineage`."""

    def edit(criteria: list[Criterion]) -> list[Criterion]:
        return [
            replace(c, value=values, operator=operator or c.operator) if c.lineage == lineage else c
            for c in criteria
        ]

    return edit


def without(lineage: UUID) -> Edit:
    def edit(criteria: list[Criterion]) -> list[Criterion]:
        return [c for c in criteria if c.lineage != lineage]

    return edit


def adding(criterion: Criterion) -> Edit:
    def edit(criteria: list[Criterion]) -> list[Criterion]:
        return [*criteria, criterion]

    return edit


def with_points(points: dict[UUID | None, int]) -> Edit:
    def edit(criteria: list[Criterion]) -> list[Criterion]:
        return [replace(c, points=points.get(c.lineage, c.points)) for c in criteria]

    return edit


def _condition(criterion: Criterion | None) -> tuple[str, Any] | None:
    return None if criterion is None else (criterion.operator, criterion.value)


def _apply_one(criteria: list[Criterion], suggestion: Suggestion) -> list[Criterion]:
    """The suggestion's own changes on `criteria`, points left as they are."""
    result = list(criteria)
    for change in suggestion.changes:
        if change.before is None and change.after is not None:
            result.append(change.after)
            continue
        lineage = change.before.lineage if change.before is not None else None
        index = next((i for i, c in enumerate(result) if c.lineage == lineage), None)
        if index is None:
            continue
        if change.after is None:
            del result[index]
        elif suggestion.kind != EditKind.REWEIGHT and _condition(change.after) != _condition(
            change.before
        ):
            after = change.after
            # Another adopted edit may have changed the same criterion: a
            # value edit keeps its points, a points change (a criterion
            # scaled to make room) keeps its value.
            result[index] = replace(result[index], value=after.value, operator=after.operator)
    return result


def adoption_changes(
    suggestions: Suggestions,
    keys: Sequence[str],
    refit: Callable[[list[Criterion]], list[Criterion]] | None = None,
) -> tuple[list[Change], list[Suggestion]]:
    """The criterion changes adopting the suggestions `keys` together makes,
    and those suggestions in their ranked order.

    Each suggestion's change of conditions applies in turn (new criteria
    keep their fitted points); the points are then re-weighted by `refit`
    when the re-weighting is among them (fitted again over the criteria as
    they now stand), else the untouched fit criteria are scaled to total
    100."""
    wanted = list(dict.fromkeys(keys))
    chosen = [suggestions.get(key) for key in wanted]
    unknown = [key for key, s in zip(wanted, chosen, strict=True) if s is None]
    if unknown:
        raise ValidationError(
            {"keys": f"No suggestion {', '.join(map(repr, unknown))} for this version now."}
        )
    if not wanted:
        raise ValidationError({"keys": "Choose at least one suggestion."})
    adopted = [s for s in suggestions.shown + suggestions.not_enough if s.key in wanted]
    before = criteria_of(suggestions.version)
    after = list(before)
    for suggestion in adopted:
        if suggestion.kind != EditKind.REWEIGHT:
            after = _apply_one(after, suggestion)
    new = [i for i, c in enumerate(after) if c.lineage is None]
    reweight = any(s.kind == EditKind.REWEIGHT for s in adopted)
    after = refit(after) if reweight and refit is not None else rebalance(after, fixed=new)
    return list(changes_between(before, after)), adopted
