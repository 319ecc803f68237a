"""The drift checks that open a check-in off-cycle, and how their figures read.

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
from django.utils import timezone
from django.utils.formats import date_format

from icpsite.numbers import count, percent
from profiles.models import Profile, ProfileVersion, VersionStatus
from reviews.figures import (
    Figures,
    Tiering,
    run_tiering,
    tier_figures,
)
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
            "window_days": window_days,
            "a_win_rate": a.win_rate,
            "a_won": a.won,
            "a_closed": a.closed,
            "b_win_rate": b.win_rate,
            "b_won": b.won,
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
            {"window_days": window_days, "overall": overall, "min_churned": min_churned},
        )
    tier, rate, churned = worst
    customers = figures.get(tier).customers
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
            "window_days": window_days,
            "tier": tier,
            "tier_rate": rate,
            "churned": churned,
            "customers": customers,
            "overall": overall,
            "overall_churned": figures.total.churned,
            "overall_customers": figures.total.customers,
            "ratio_percent": ratio_percent,
            "min_churned": min_churned,
        },
    )


# --- What a fired check measured, as people read it -------------------------------
#
# An off-cycle check-in stores its signal's figures when it opens; the
# check-in page lists them as facts, and the lists (check-ins, the review
# queue, My work) say them in one line. Both read the figures only, so a
# stored trigger reads the same however the settings change later.


def _n(figures: dict[str, Any], name: str) -> str:
    """A stored count of a drift check's figures, grouped as every count is."""
    value = figures.get(name)
    return "?" if value is None else count(value)


def _window(figures: dict[str, Any]) -> str:
    days = figures.get("window_days")
    text = f"the {days} days" if days else "the drift window"
    measured = figures.get("measured_at")
    if measured:
        at = timezone.localtime(datetime.fromisoformat(measured))
        text += f" to {date_format(at, 'M j, Y')}"
    return text


def signal_facts(code: str, figures: dict[str, Any]) -> list[tuple[str, str]]:
    """The figures of a drift check as (label, value) rows."""
    if code == WIN_RATE:
        return [
            (
                "Tier A win rate (deals)",
                f"{percent(figures.get('a_win_rate'))}: {_n(figures, 'a_won')} won of "
                f"{_n(figures, 'a_closed')} closed",
            ),
            (
                "Tier B win rate (deals)",
                f"{percent(figures.get('b_win_rate'))}: {_n(figures, 'b_won')} won of "
                f"{_n(figures, 'b_closed')} closed",
            ),
            ("Period", _window(figures)),
            (
                "Threshold",
                "tier A's win rate at or below tier B's, with at least "
                f"{_n(figures, 'min_deals')} closed deals in each tier",
            ),
        ]
    if code == CHURN:
        tier = figures.get("tier", "?")
        return [
            (
                f"Tier {tier} churn rate (customers)",
                f"{percent(figures.get('tier_rate'))}: {_n(figures, 'churned')} churned of "
                f"{_n(figures, 'customers')} customers",
            ),
            (
                "Overall churn rate (customers)",
                f"{percent(figures.get('overall'))}: {_n(figures, 'overall_churned')} "
                f"churned of {_n(figures, 'overall_customers')} customers",
            ),
            ("Period", _window(figures)),
            (
                "Threshold",
                f"a low-risk tier churning at {figures.get('ratio_percent', '?')}% of the "
                f"overall rate or more, with at least {_n(figures, 'min_churned')} churned "
                "customers in the tier",
            ),
        ]
    return []


def signal_line(code: str, figures: dict[str, Any]) -> str:
    """The figures of a drift check in one line, for lists."""
    days = figures.get("window_days", "?")
    if code == WIN_RATE:
        return (
            f"Tier A win rate {percent(figures.get('a_win_rate'))} of "
            f"{_n(figures, 'a_closed')} closed deals against tier B's "
            f"{percent(figures.get('b_win_rate'))} of {_n(figures, 'b_closed')} over "
            f"{days} days; threshold: A at or below B"
        )
    if code == CHURN:
        return (
            f"Tier {figures.get('tier', '?')} churn rate {percent(figures.get('tier_rate'))} "
            f"({_n(figures, 'churned')} customers) against "
            f"{percent(figures.get('overall'))} overall over {days} days; threshold: "
            f"{figures.get('ratio_percent', '?')}% of the overall rate"
        )
    return ""


def drift_signals(
    *,
    run: ScoringRun,
    now: datetime | None = None,
    tiering: Tiering | None = None,
    bounded: bool = False,
) -> list[DriftSignal]:
    """Both drift checks for a profile's current run, as of `now`: over the
    run's stored tiers, or over `tiering` (the tiers of a run whose scores
    are no longer kept). `bounded` leaves out what happened after `now`
    (checks worked out for a moment in the past)."""
    now = now or timezone.now()
    window = settings.REVIEWS_DRIFT_WINDOW_DAYS
    figures = tier_figures(
        tiering or run_tiering(run),
        since=now - timedelta(days=window),
        until=now if bounded else None,
    )
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
