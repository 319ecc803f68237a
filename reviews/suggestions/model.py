"""What a suggestion is: a concrete edit of a version's criteria, with its
evidence and its backtest. suggest.py makes them, adopt.py applies the
chosen ones to a draft, the pages, API and command show them.

Every edit is a list of criterion changes (`Change`); the points of the
criteria it does not touch are scaled so the version still totals 100
(edits.rebalance), so what a suggestion shows is exactly what adopting it
alone would make.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from profiles.models import ProfileVersion
from reviews.suggestions.lift import Outcomes, ValueLift
from reviews.suggestions.window import Window


class EditKind(StrEnum):
    ADD_VALUE = "add_value"
    REMOVE_VALUE = "remove_value"
    WIDEN = "widen"
    NARROW = "narrow"
    ADD_CRITERION = "add_criterion"
    REMOVE_CRITERION = "remove_criterion"
    ADD_DISQUALIFIER = "add_disqualifier"
    REWEIGHT = "reweight"

    @property
    def label(self) -> str:
        return EDIT_LABELS[self]


EDIT_LABELS = {
    EditKind.ADD_VALUE: "Add a value",
    EditKind.REMOVE_VALUE: "Remove a value",
    EditKind.WIDEN: "Widen a range",
    EditKind.NARROW: "Narrow a range",
    EditKind.ADD_CRITERION: "Add a criterion",
    EditKind.REMOVE_CRITERION: "Remove a criterion",
    EditKind.ADD_DISQUALIFIER: "Add a disqualifier",
    EditKind.REWEIGHT: "Re-weight points",
}


@dataclass(frozen=True)
class Criterion:
    """A criterion as an edit sees it: the fields a version stores, and the
    lineage that follows it from version to version (None: a new one)."""

    attribute: str
    operator: str
    value: Any
    points: int = 0
    kind: str = "fit"
    lineage: UUID | None = None

    @property
    def disqualifier(self) -> bool:
        return self.kind == "disqualifier"


@dataclass(frozen=True)
class Change:
    """One criterion changed by an edit: `before` None adds `after`, `after`
    None removes `before`."""

    before: Criterion | None
    after: Criterion | None


@dataclass(frozen=True)
class OverrideRef:
    """An accepted override that backs (or is the reason for) a suggestion."""

    id: int
    account_id: int
    account_name: str
    machine_tier: str
    claimed_tier: str
    reason: str
    reviewed_at: datetime | None


@dataclass(frozen=True)
class TierRate:
    tier: str
    won: int
    lost: int

    @property
    def closed(self) -> int:
        return self.won + self.lost

    @property
    def win_rate(self) -> float | None:
        return self.won / self.closed if self.closed else None


@dataclass(frozen=True)
class Backtest:
    """A criteria list scored over the closed deals of a period (deal-level,
    each deal in its account's tier) and over the whole account base."""

    tiers: list[TierRate]
    auc: float | None
    accounts: dict[str, int] = field(default_factory=dict)

    def get(self, tier: str) -> TierRate:
        return next((t for t in self.tiers if t.tier == tier), TierRate(tier, 0, 0))


@dataclass(frozen=True)
class Effect:
    """An edit's backtest against the version's, and how many accounts of
    the whole base would change tier."""

    before: Backtest
    after: Backtest
    moved: int

    @property
    def auc_gain(self) -> float:
        if self.before.auc is None or self.after.auc is None:
            return 0.0
        return self.after.auc - self.before.auc


@dataclass(frozen=True)
class Suggestion:
    """One edit of the version's criteria.

    key: stable for the same edit of the same version, what adopt takes.
    shown: whether its evidence clears the minimum (docs/suggestions.md);
    `standing` says why not when it does not.
    """

    key: str
    kind: EditKind
    attribute: str
    attribute_label: str
    change: str
    sentence: str
    changes: tuple[Change, ...]
    values: tuple[ValueLift, ...]
    effect: Effect
    shown: bool
    standing: str
    overrides: tuple[OverrideRef, ...] = ()
    overrides_agreeing: int = 0
    # The lineage of the criterion the edit changes or removes (None when it
    # adds one, or re-weights them all).
    lineage: UUID | None = None

    @property
    def added(self) -> Criterion | None:
        """The criterion the edit adds, if it adds one."""
        return next((c.after for c in self.changes if c.before is None), None)


@dataclass(frozen=True)
class PointsRow:
    lineage: UUID | None
    text: str
    current: int
    fitted: int


@dataclass(frozen=True)
class Reweighting:
    """Points fitted to the outcomes of the deals closed before `held_out`
    starts, and both sets of points backtested on the deals after."""

    fitted_on: Window
    held_out: Window
    rows: list[PointsRow]
    current: Backtest
    fitted: Backtest
    suggestion: Suggestion | None


@dataclass(frozen=True)
class Suggestions:
    version: ProfileVersion
    window: Window
    min_deals: int
    base: Outcomes
    shown: list[Suggestion]
    not_enough: list[Suggestion]
    reweighting: Reweighting | None
    computed_at: datetime

    def get(self, key: str) -> Suggestion | None:
        return next((s for s in self.shown + self.not_enough if s.key == key), None)
