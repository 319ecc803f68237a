"""Suggestions against a version: the candidate edits of its criteria
(candidates.py, from the attribute lift of the window and the accepted
overrides), each judged by the minimum evidence and backtested alone
(patterns.py), ranked by how much better it orders the window's closed
deals, and a re-weighting fitted to the outcomes (fit.py).

Which edits are made, docs/suggestions.md says for people:
- a category value, list item or yes/no that wins clearly more often (or
  that accepted overrides cluster on) is added to the attribute's fit
  criterion, or becomes a new one; one that wins clearly less often is
  removed from it;
- a number's range is widened over a high bucket just outside it, or
  narrowed off a low bucket just inside; without a criterion, the longest
  run of high buckets becomes one;
- a value that essentially never wins, and churns, becomes a disqualifier;
- a fit criterion whose accounts win no more often than the others'
  range is removed;
- the points are re-fitted on the earlier three quarters of the window and
  tested on the last quarter.
A new criterion's points are its fitted share; the other fit criteria are
scaled so the version totals 100 (edits.rebalance).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from icpsite.cached import cache_get, cache_set
from icpsite.numbers import count, percent, ratio
from profiles.attributes import Attribute, AttrType, canonical
from profiles.models import ProfileVersion
from profiles.selectors import attribute_registry
from reviews.models import NOT_A_FIT_TIER, ClaimedTier, Override, OverrideStatus
from reviews.suggestions import edits
from reviews.suggestions.candidates import (
    FIT,
    Candidate,
    candidates_for,
    criterion_words,
    group_outcomes,
    probes_for,
    within_range,
)
from reviews.suggestions.edits import criteria_of, edited, rebalance, rules_of
from reviews.suggestions.fit import fitted_shares, points_from
from reviews.suggestions.lift import Lift, Outcomes, ValueLift, lifted
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
    Row,
    backtest,
    evaluator,
    hits_of,
    moved,
    patterns_for,
)
from reviews.suggestions.sql import TIER_RANK
from reviews.suggestions.stats import Standing
from reviews.suggestions.window import Window, window_for
from scoring.engine import Thresholds
from scoring.expressions import matched_mask

# The share of the window held out to test the re-fitted points.
HELD_OUT = 0.25
# Overrides back a value on their own when its share of the accepted
# overrides is at least this many times its share of the account base.
CONCENTRATION = 2
# Why an edit whose evidence clears is not shown.
NO_BETTER = "not shown: alone, it orders the window's closed deals no better"


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

    def new_points(self, candidate: Candidate, probe: int | None) -> int:
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
        """The fitted coefficient of each of `criteria` over `rows`, the
        accounts the version disqualifies left out."""
        features = hits_of(self.patterns, rules_of(criteria, self.registry), probe)
        disqualifiers = rules_of([c for c in self.criteria if c.disqualifier], self.registry)
        disqualified = hits_of(self.patterns, disqualifiers, probe)

        def matches(row: Row) -> list[bool] | None:
            return None if any(disqualified(row)) else features(row)

        return fitted_shares(rows, matches, late=late)

    def candidate(self, candidate: Candidate) -> Suggestion | None:
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
            change=self._changecriterion_words(candidate, changes),
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
        self, candidate: Candidate, changes: tuple[Change, ...], effect: Effect
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
        if higher and not (enough and within_range(rate_in, outside)):
            return None  # as far as the deals tell, it picks accounts that win
        shown = enough and effect.auc_gain > 0
        standing = Standing.CLEARS.label if shown else Standing.TOO_FEW_DEALS.label
        if enough and not shown:
            standing = NO_BETTER
        criterion = self.criteria[index]
        text = criterion_words(candidate.attribute, criterion)
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

    def _changecriterion_words(self, candidate: Candidate, changes: tuple[Change, ...]) -> str:
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
            after = criterion_words(attribute, main.after)
            if main.after.disqualifier:
                return f"Add disqualifier “{after}”"
            return f"Add “{after}” ({count(main.after.points)} points)"
        assert main.before is not None
        assert main.after is not None
        labels = ", ".join(v.label for v in candidate.values)
        before, after = (
            criterion_words(attribute, main.before),
            criterion_words(attribute, main.after),
        )
        if candidate.kind == EditKind.ADD_VALUE:
            return f"Add {labels} to “{before}”"
        if candidate.kind == EditKind.REMOVE_VALUE:
            return f"Remove {labels} from “{before}”"
        return f"“{before}” becomes “{after}”"

    def _sentence(self, candidate: Candidate, overrides: list[Any]) -> str:
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
            inside, outside = group_outcomes(candidate.values, self.lift.base)
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
            text += f"; the version has “{criterion_words(attribute, on[0])}”"
        if candidate.cluster and overrides:
            verb = "a higher" if candidate.cluster == "higher" else "a lower"
            text += f"; {count(len(overrides))} accepted overrides claim {verb} tier for them"
        return text + "."

    def _fit_on(self, key: str) -> list[Criterion]:
        return [c for c in self.criteria if c.attribute == key and not c.disqualifier]

    def _concentrated(self, candidate: Candidate, probe: int | None, found: int) -> bool:
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

    def _overrides(self, candidate: Candidate) -> list[tuple[Override, dict[str, Any]]]:
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

    def _agreeing(self, candidate: Candidate, overrides: list[tuple[Override, Any]]) -> int:
        """Overrides whose claim points the way the edit moves their accounts."""
        up = candidate.kind in (EditKind.ADD_VALUE, EditKind.ADD_CRITERION, EditKind.WIDEN)
        agree = 0
        for override, _account in overrides:
            higher = _rank(override.claimed_tier) > _rank(override.machine_tier)
            lower = _rank(override.claimed_tier) < _rank(override.machine_tier)
            agree += int(higher if up else lower)
        return agree


def _rank(tier: str) -> int:
    """A tier's rank, a claim of "not a fit" as DQ; 0 for no tier."""
    return TIER_RANK.get(NOT_A_FIT_TIER if tier == ClaimedTier.NOT_A_FIT else tier, 0)


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
            c.lineage,
            criterion_words(registry[c.attribute], c),
            c.points,
            by_lineage.get(c.lineage, 0),
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
        candidates = candidates_for(criteria, lift, settings.REVIEWS_CLUSTER_MIN_OVERRIDES)
        probes = probes_for(candidates, criteria, lift)
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
