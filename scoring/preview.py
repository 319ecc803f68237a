"""What a draft would do to the account base, computed in the database.

For the whole base: tier counts live vs draft, the movement matrix, the
accounts that move most, and how many accounts have the data each criterion
needs. Accounts are never loaded into Python; the figures come from the
draft's compiled ruleset (scoring.expressions) joined to the live run's
stored scores, in aggregate queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, Q

from profiles.models import ProfileVersion
from scoring.engine import Rule, Ruleset, Tier
from scoring.expressions import known, scores_select
from scoring.models import Account, AccountScore, ScoringRun
from scoring.rulesets import ruleset_for

TIERS = [Tier.A.value, Tier.B.value, Tier.C.value, Tier.DQ.value]
NEW = "new"  # an account the live run has not scored
TOP_MOVERS = 10

_SCORES = AccountScore._meta.db_table
_ACCOUNTS = Account._meta.db_table


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
    with the draft (a common table both halves read; scoring a million
    accounts is most of the cost, so it is done once)."""
    draft_sql, params = scores_select(Account.objects.all(), ruleset)
    run_id = live_run.pk if live_run else 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH pairs AS (SELECT d.account_id, d.score AS draft_score, "  # noqa: S608
            "d.tier AS draft_tier, l.score AS live_score, l.tier AS live_tier "
            f"FROM ({draft_sql}) d "
            f"LEFT JOIN {_SCORES} l ON l.account_id = d.account_id AND l.run_id = %s) "
            f"SELECT 'matrix', NULL, NULL, COALESCE(live_tier, '{NEW}'), NULL, draft_tier, "
            f"COUNT(*), 0 FROM pairs GROUP BY COALESCE(live_tier, '{NEW}'), draft_tier "
            "UNION ALL "
            "SELECT 'mover', * FROM (SELECT p.account_id, a.name, p.live_tier, "
            "p.live_score, p.draft_tier, p.draft_score, ROW_NUMBER() OVER ("
            "ORDER BY ABS(p.draft_score - p.live_score) DESC, a.name, p.account_id) AS place "
            f"FROM pairs p JOIN {_ACCOUNTS} a ON a.id = p.account_id "
            "WHERE p.live_tier <> p.draft_tier ORDER BY place LIMIT %s) m "
            "ORDER BY 8",
            (*params, run_id, TOP_MOVERS),
        )
        rows = cursor.fetchall()
    movement: dict[str, dict[str, int]] = {}
    movers = []
    for kind, account_id, name, live_tier, live_score, draft_tier, last, _place in rows:
        if kind == "matrix":
            movement.setdefault(live_tier, {})[draft_tier] = last
        else:
            movers.append(Mover(account_id, name, live_score, live_tier, last, draft_tier))
    return movement, movers


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
