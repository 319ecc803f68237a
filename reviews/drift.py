"""What a check-in looks at: its agenda, and the drift checks that open one
off-cycle.

Drift checks (thresholds are settings, see README):
- win rate (deal-level): over the last REVIEWS_DRIFT_WINDOW_DAYS, the share
  of tier A accounts' closed deals that were won is at or below tier B's,
  once tiers A and B each have at least REVIEWS_DRIFT_MIN_DEALS closed deals
  (fewer deals prove nothing); every deal counts, renewals and expansions
  included;
- churn (account-level): over the same window, a tier the profile calls
  low-risk (REVIEWS_DRIFT_LOW_RISK_TIERS, A and B by default) churns at
  REVIEWS_DRIFT_CHURN_RATIO_PERCENT of the overall churn rate or more, with
  at least REVIEWS_DRIFT_MIN_CHURNED churned customers in that tier.

Each check reports how close it is to firing, so a page can show it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from icpsite.numbers import count, percent
from profiles.models import Profile, ProfileVersion, VersionStatus
from reviews.figures import (
    Figures,
    coverage,
    current_tier_counts,
    run_tiering,
    tier_figures,
)
from reviews.models import Override, OverrideReason
from scoring.models import ScoringRun

WIN_RATE = "win_rate"
CHURN = "churn"


def _pct(rate: float | None) -> str:
    return "no deals" if rate is None else percent(rate)


@dataclass(frozen=True)
class DriftSignal:
    code: str
    fired: bool
    enough_data: bool
    reason: str
    figures: dict[str, Any]


def win_rate_signal(figures: Figures, *, min_deals: int, window_days: int) -> DriftSignal:
    a, b = figures.get("A"), figures.get("B")
    enough = a.closed >= min_deals and b.closed >= min_deals
    fired = (
        enough and a.win_rate is not None and b.win_rate is not None and a.win_rate <= b.win_rate
    )
    reason = (
        f"Tier A accounts won {_pct(a.win_rate)} of {count(a.closed)} closed deals and tier B "
        f"accounts {_pct(b.win_rate)} of {count(b.closed)} over {window_days} days"
    )
    if not enough:
        reason += f"; the check needs {count(min_deals)} closed deals in each tier."
    elif fired:
        reason += "; tier A no longer wins more often than tier B."
    else:
        reason += "; it fires when tier A's rate falls to tier B's."
    return DriftSignal(
        WIN_RATE,
        fired,
        enough,
        reason,
        {
            "a_win_rate": a.win_rate,
            "b_win_rate": b.win_rate,
            "a_closed": a.closed,
            "b_closed": b.closed,
            "min_deals": min_deals,
        },
    )


def churn_signal(
    figures: Figures,
    *,
    low_risk: Iterable[str],
    ratio_percent: int,
    min_churned: int,
    window_days: int,
) -> DriftSignal:
    overall = figures.total.churn_rate
    worst: tuple[str, float, int] | None = None
    for tier in low_risk:
        row = figures.get(tier)
        if row.churn_rate is None or overall is None:
            continue
        if worst is None or row.churn_rate > worst[1]:
            worst = (tier, row.churn_rate, row.churned)
    if worst is None or not overall:
        return DriftSignal(
            CHURN,
            False,
            False,
            f"No churn among customers over {window_days} days.",
            {"overall": overall, "min_churned": min_churned},
        )
    tier, rate, churned = worst
    enough = churned >= min_churned
    fired = enough and rate * 100 >= overall * ratio_percent
    reason = (
        f"Tier {tier} customers churned at {_pct(rate)} against {_pct(overall)} overall over "
        f"{window_days} days ({count(churned)} churned)"
    )
    if not enough:
        reason += f"; the check needs {count(min_churned)} churned customers in the tier."
    elif fired:
        reason += f"; churn concentrates in tier {tier}, which should be low-risk."
    else:
        reason += f"; it fires at {ratio_percent}% of the overall rate."
    return DriftSignal(
        CHURN,
        fired,
        enough,
        reason,
        {
            "tier": tier,
            "tier_rate": rate,
            "overall": overall,
            "churned": churned,
            "ratio_percent": ratio_percent,
            "min_churned": min_churned,
        },
    )


def drift_signals(*, run: ScoringRun, now: datetime | None = None) -> list[DriftSignal]:
    """Both drift checks for a profile's current run, as of `now`."""
    now = now or timezone.now()
    window = settings.REVIEWS_DRIFT_WINDOW_DAYS
    figures = tier_figures(run_tiering(run), since=now - timedelta(days=window))
    return [
        win_rate_signal(figures, min_deals=settings.REVIEWS_DRIFT_MIN_DEALS, window_days=window),
        churn_signal(
            figures,
            low_risk=settings.REVIEWS_DRIFT_LOW_RISK_TIERS,
            ratio_percent=settings.REVIEWS_DRIFT_CHURN_RATIO_PERCENT,
            min_churned=settings.REVIEWS_DRIFT_MIN_CHURNED,
            window_days=window,
        ),
    ]


def live_version(profile: Profile) -> ProfileVersion | None:
    return ProfileVersion.objects.filter(profile=profile, status=VersionStatus.APPROVED).first()


def agenda_for(*, profile: Profile, since: datetime | None) -> dict[str, Any]:
    """The figures a check-in discusses, from `since` until now: overrides
    by reason, criterion and status; outcomes by tier (closed deals and win
    rate by deal, churn by customer, as reviews.figures defines them); data
    coverage; and tier movement since the live version was approved."""
    overrides = Override.objects.filter(profile=profile)
    if since is not None:
        overrides = overrides.filter(created_at__gte=since)
    by_reason = dict(overrides.values_list("reason").annotate(n=Count("id")).order_by())
    reasons = {
        label: by_reason.get(value, 0)
        for value, label in OverrideReason.choices
        if by_reason.get(value)
    }
    by_criterion = [
        {"criterion": label or "No criterion named", "count": n}
        for label, n in overrides.values_list("criterion_label")
        .annotate(n=Count("id"))
        .order_by("-n", "criterion_label")
    ]
    by_status = dict(overrides.values_list("status").annotate(n=Count("id")).order_by())
    run = ScoringRun.objects.filter(profile=profile, is_current=True).select_related("version")
    current = run.first()
    agenda: dict[str, Any] = {
        "since": since.isoformat() if since else None,
        "overrides": {
            "total": sum(by_status.values()),
            "by_status": by_status,
            "by_reason": reasons,
            "by_criterion": by_criterion,
            "toward_higher": overrides.filter(
                Q(claimed_tier="A", machine_tier__in=["B", "C", "DQ"])
                | Q(claimed_tier="B", machine_tier__in=["C", "DQ"])
            ).count(),
        },
    }
    if current is None:
        agenda["live_version"] = None
        return agenda
    agenda["live_version"] = current.version.number
    agenda["outcomes"] = tier_figures(run_tiering(current), since=since).as_json()
    agenda["coverage"] = coverage(current.version)
    agenda["tier_movement"] = {
        "at_approval": current.tier_counts,
        "now": current_tier_counts(current),
        "moved_at_approval": current.tier_movement,
    }
    agenda["drift"] = [
        {"code": s.code, "fired": s.fired, "reason": s.reason} for s in drift_signals(run=current)
    ]
    return agenda
