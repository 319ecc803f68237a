"""Engine results in words for readers: each criterion's outcome, and the
top reasons of a stored score. Pure Python over scoring.engine, like it."""

from __future__ import annotations

from typing import Any

from scoring.engine import Contribution, Outcome, Result, Ruleset, Tier

# How many reasons a stored score is explained by.
REASONS = 3


def criterion_outcomes(result: Result) -> list[dict[str, Any]]:
    """Each criterion of the ruleset with its outcome and the points it gave,
    in rule order."""
    return [
        {
            "criterion": c.rule.criterion_id,
            "text": c.rule.label,
            "kind": "disqualifier" if c.rule.disqualifier else "fit",
            "outcome": c.outcome.value,
            "points": c.points,
            "points_possible": c.rule.points,
        }
        for c in result.contributions
    ]


class StoredReasons:
    """Top reasons from a stored matched mask, without evaluating the
    account again: bit i of the mask is rule i of the version's ruleset.
    Masks seen before are answered from a cache, as a page repeats them."""

    def __init__(self, ruleset: Ruleset, count: int = REASONS) -> None:
        self.ruleset = ruleset
        self.count = count
        self.cache: dict[tuple[int, str], list[str]] = {}

    def __call__(self, matched: int, tier: str) -> list[str]:
        key = (matched, tier)
        if key not in self.cache:
            contributions = tuple(
                Contribution(rule, Outcome.MATCHED if matched >> i & 1 else Outcome.NOT_MATCHED)
                for i, rule in enumerate(self.ruleset.rules)
            )
            result = Result(0, Tier(tier), contributions)
            self.cache[key] = result.top_reasons(self.count)
        return self.cache[key]
