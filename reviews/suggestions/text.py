"""A suggestion's evidence in plain text, as the comment adopting it and the
`suggestions` command write it: one place for the words and the numbers
(through icpsite.numbers), so the thread on a criterion says exactly what
the command printed."""

from __future__ import annotations

from dataclasses import dataclass

from icpsite.numbers import MISSING, count, counted, percent, ratio
from reviews.suggestions.lift import ValueLift
from reviews.suggestions.model import (
    Backtest,
    EditKind,
    Effect,
    Reweighting,
    Suggestion,
    TierRate,
)
from reviews.suggestions.stats import Interval

TIERS = ("A", "B", "C", "DQ")


def one_by_one(suggestions: list[Suggestion]) -> list[Suggestion]:
    """The suggestions listed one by one: all but the re-weighting, which
    is shown on its own with its points table."""
    return [s for s in suggestions if s.kind != EditKind.REWEIGHT]


def interval_text(interval: Interval | None) -> str:
    """A win-rate interval as "30%-60%" with an en dash (one alone when there is none)."""
    if interval is None:
        return MISSING
    return f"{percent(interval.low)}\u2013{percent(interval.high)}"


def value_line(value: ValueLift) -> str:
    """One value's evidence: "SaaS: 42 closed deals, 30 won, win rate 71%
    (95% interval 56%-83%), lift 1.80x" (an en dash and a multiplication sign)."""
    outcomes = value.outcomes
    return (
        f"{value.label}: {counted(outcomes.closed, 'closed deal')}, {count(outcomes.won)} won, "
        f"win rate {percent(outcomes.win_rate)} "
        f"(95% interval {interval_text(outcomes.win_interval)}), lift {ratio(value.lift)}"
    )


@dataclass(frozen=True)
class TierPair:
    """One tier's closed deals in two backtests (before and after an edit,
    or the current and the fitted points)."""

    tier: str
    before: TierRate
    after: TierRate


def tier_pairs(before: Backtest, after: Backtest) -> list[TierPair]:
    """Every tier with a closed deal in either backtest, in tier order,
    with both figures."""
    seen = {t.tier for b in (before, after) for t in b.tiers if t.closed}
    tiers = [t for t in TIERS if t in seen] + sorted(seen - set(TIERS))
    return [TierPair(t, before.get(t), after.get(t)) for t in tiers]


def backtest_line(before: Backtest, after: Backtest) -> str:
    """Win rate by tier, before -> after: "A 40% -> 52% (25 -> 31 deals); ..."."""
    parts = [
        f"{p.tier} {percent(p.before.win_rate)} -> {percent(p.after.win_rate)} "
        f"({count(p.before.closed)} -> {counted(p.after.closed, 'deal')})"
        for p in tier_pairs(before, after)
    ]
    return "; ".join(parts) or "no closed deals"


def overrides_line(suggestion: Suggestion) -> str:
    return (
        f"Accepted overrides agreeing: {count(suggestion.overrides_agreeing)} "
        f"of {count(len(suggestion.overrides))}"
    )


def effect_lines(effect: Effect) -> list[str]:
    return [
        f"Backtest, win rate by tier before -> after: {backtest_line(effect.before, effect.after)}",
        f"Accounts moving tier: {count(effect.moved)}",
    ]


def suggestion_lines(suggestion: Suggestion) -> list[str]:
    """The suggestion with its evidence and backtest, a line each (the
    re-weighting's backtest is its points table's, see points_lines)."""
    lines = [f"{suggestion.kind.label}: {suggestion.change}", suggestion.sentence]
    if suggestion.values:
        lines += ["Evidence:", *(f"- {value_line(v)}" for v in suggestion.values)]
    if suggestion.overrides:
        lines.append(overrides_line(suggestion))
    if suggestion.kind == EditKind.REWEIGHT:
        return [*lines, f"Accounts moving tier: {count(suggestion.effect.moved)}"]
    return lines + effect_lines(suggestion.effect)


def points_lines(reweighting: Reweighting) -> list[str]:
    """The re-weighting's points, current -> fitted, and both backtests on
    the held-out deals."""
    lines = [
        f"Points fitted on the deals closed {reweighting.fitted_on}, "
        f"backtested on those closed {reweighting.held_out}.",
        "Points, current -> fitted:",
    ]
    lines += [f"- {row.text}: {row.current} -> {row.fitted}" for row in reweighting.rows]
    lines.append(
        "Held-out win rate by tier, current -> fitted: "
        + backtest_line(reweighting.current, reweighting.fitted)
    )
    return lines


def adoption_comment(suggestion: Suggestion, reweighting: Reweighting | None = None) -> str:
    """The comment that records why a suggestion was adopted: its evidence,
    or for the re-weighting its points table."""
    lines = suggestion_lines(suggestion)
    if reweighting is not None and suggestion.kind == EditKind.REWEIGHT:
        lines += ["", *points_lines(reweighting)]
    return "Adopted from the suggestions.\n" + "\n".join(lines)
