"""The statistics of attribute lift: Wilson score intervals and the
minimum-evidence rule. Pure Python over counts, no database.

The interval comes from scipy (`binomtest(...).proportion_ci(method="wilson")`,
the Wilson score interval without continuity correction), at CONFIDENCE.

The minimum-evidence rule (`evidence_standing`) is the one place that says
whether a value's win rate is evidence enough to suggest an edit:
- at least `min_deals` closed deals (REVIEWS_LIFT_MIN_DEALS, 30 by default):
  with fewer, one or two deals more either way move the rate a lot;
- and its Wilson interval does not overlap the base rate's interval (all
  closed deals in the window). Not overlapping is stricter than "the
  interval leaves out the base rate": it errs towards "not enough evidence
  yet", which suits a rule that proposes changing what a whole company
  works on.
It says the rate differs from the base by more than chance would explain,
not why: the deals were not assigned at random, so lift is correlation.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from scipy.stats import binomtest

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """A confidence interval of a rate, both ends inclusive."""

    low: float
    high: float

    def overlaps(self, other: Interval) -> bool:
        return self.low <= other.high and other.low <= self.high

    def __str__(self) -> str:
        return f"{self.low:.1%}-{self.high:.1%}"


def wilson(successes: int, trials: int, confidence: float = CONFIDENCE) -> Interval | None:
    """The Wilson score interval of successes / trials (None without trials)."""
    if trials <= 0:
        return None
    if not 0 <= successes <= trials:
        raise ValueError(f"{successes} successes in {trials} trials")
    ci = binomtest(successes, trials).proportion_ci(confidence_level=confidence, method="wilson")
    return Interval(float(ci.low), float(ci.high))


class Standing(StrEnum):
    """Whether a value's win rate clears the minimum evidence, or why not."""

    CLEARS = "clears"
    TOO_FEW_DEALS = "too_few_deals"
    OVERLAPS_BASE = "overlaps_base"

    @property
    def label(self) -> str:
        return STANDING_LABELS[self]


STANDING_LABELS = {
    Standing.CLEARS: "clears the minimum",
    Standing.TOO_FEW_DEALS: "not enough evidence yet: too few closed deals",
    Standing.OVERLAPS_BASE: "not enough evidence yet: within the base rate's range",
}


def evidence_standing(
    *, closed: int, interval: Interval | None, base: Interval | None, min_deals: int
) -> Standing:
    """The minimum-evidence rule (see the module's docstring): `closed`
    deals with win-rate `interval`, against the `base` interval."""
    if closed < min_deals or interval is None:
        return Standing.TOO_FEW_DEALS
    if base is None or interval.overlaps(base):
        return Standing.OVERLAPS_BASE
    return Standing.CLEARS
