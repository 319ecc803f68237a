"""What a draft would do to the account base, computed in the database.

For the whole base: tier counts live vs draft, the movement matrix, the
accounts that move most, and how many accounts have the data each criterion
needs. Accounts are never loaded into Python; the figures come from the
draft's compiled ruleset (scoring.expressions) joined to the live run's
stored scores, in aggregate queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Q

from profiles.models import ProfileVersion
from scoring import sql
from scoring.engine import Rule, Ruleset, Tier
from scoring.expressions import known, scores_select
from scoring.models import Account, ScoringRun
from scoring.rulesets import ruleset_for

TIERS = [Tier.A.value, Tier.B.value, Tier.C.value, Tier.DQ.value]
NEW = "new"  # an account the live run has not scored
TOP_MOVERS = 10


@dataclass(frozen=True)
class Mover:
    account_id: int
    name: str
    live_score: int | None
    live_tier: str | None
    draft_score: int
    draft_tier: str


@dataclass(frozen=True)
class Coverage:
    rule: Rule
    known: int
    total: int

    @property
    def share(self) -> int:
        return round(100 * self.known / self.total) if self.total else 0


@dataclass
class ImpactPreview:
    live_run: ScoringRun | None
    total: int = 0
    live_counts: dict[str, int] = field(default_factory=dict)
    draft_counts: dict[str, int] = field(default_factory=dict)
    movement: dict[str, dict[str, int]] = field(default_factory=dict)
    movers: list[Mover] = field(default_factory=list)
    coverage: list[Coverage] = field(default_factory=list)

    @property
    def moved(self) -> int:
        return sum(
            count
            for live, row in self.movement.items()
            for draft, count in row.items()
            if live != draft and live != NEW
        )

    @property
    def matrix(self) -> list[tuple[str, list[tuple[str, int]], int]]:
        """Rows of the movement table: live tier, (draft tier, count) per
        column, and the live tier's total."""
        rows = [*TIERS, NEW] if NEW in self.movement else TIERS
        return [
            (
                live,
                [(draft, self.movement.get(live, {}).get(draft, 0)) for draft in TIERS],
                sum(self.movement.get(live, {}).values()),
            )
            for live in rows
        ]

    @property
    def draft_totals(self) -> list[tuple[str, int]]:
        return [(tier, self.draft_counts.get(tier, 0)) for tier in TIERS]


def impact_preview(*, version: ProfileVersion) -> ImpactPreview:
    ruleset = ruleset_for(version)
    live_run = (
        ScoringRun.objects.filter(profile_id=version.profile_id, is_current=True)
        .select_related("version")
        .first()
    )
    preview = ImpactPreview(live_run=live_run)
    preview.movement, preview.movers = _movement_and_movers(ruleset, live_run)
    for live, row in preview.movement.items():
        for draft, count in row.items():
            preview.total += count
            preview.draft_counts[draft] = preview.draft_counts.get(draft, 0) + count
            if live != NEW:
                preview.live_counts[live] = preview.live_counts.get(live, 0) + count
    preview.coverage = _coverage(ruleset, preview.total)
    return preview


def _movement_and_movers(
    ruleset: Ruleset, live_run: ScoringRun | None
) -> tuple[dict[str, dict[str, int]], list[Mover]]:
    """The movement matrix and the top movers from one scoring of the base
    with the draft: scoring a million accounts is most of the cost, so its
    pairs of draft and live scores go into a scratch table both read."""
    draft = scores_select(Account.objects.all(), ruleset)
    with sql.scratch(sql.preview_pairs(draft, live_run.pk if live_run else 0)) as pairs:
        matrix = sql.fetchall(sql.preview_movement(pairs))
        movers = sql.fetchall(sql.preview_movers(pairs, TOP_MOVERS))
    movement: dict[str, dict[str, int]] = {}
    for live_tier, draft_tier, count in matrix:
        movement.setdefault(live_tier or NEW, {})[draft_tier] = int(count)
    return movement, [Mover(*row) for row in movers]


def _coverage(ruleset: Ruleset, total: int) -> list[Coverage]:
    if not ruleset.rules:
        return []
    counts = Account.objects.aggregate(
        **{f"rule_{i}": Count("id", filter=known(rule)) for i, rule in enumerate(ruleset.rules)}
    )
    return [Coverage(rule, counts[f"rule_{i}"], total) for i, rule in enumerate(ruleset.rules)]


def run_for_progress(*, profile_id: int) -> ScoringRun | None:
    """The run to show progress for: one in flight, else the latest."""
    runs = ScoringRun.objects.filter(profile_id=profile_id).select_related("version")
    return runs.filter(Q(status="queued") | Q(status="running")).first() or runs.first()
