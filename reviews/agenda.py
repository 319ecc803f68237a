"""A check-in's agenda: what happened to a profile since its last held
check-in (or, before the first, since its live version was approved).

One function works it out (`agenda_compute`). An open check-in shows it
afresh every time it is read (`checkin_agenda`); holding the check-in
stores the agenda of that moment (reviews.services.checkin_close), and
from then on the stored one is shown, whatever happens later. Every
figure comes from reviews.figures, reviews.drift and the queue's
selectors, so the agenda counts exactly as the validation page, the drift
checks and the queue do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Max, Q
from django.utils import timezone

from icpsite.numbers import count, percent
from profiles.models import OPEN_STATUSES, Comment, Profile, VersionStatus
from reviews.drift import drift_signals, live_version
from reviews.figures import (
    BEGINNING,
    TIERS,
    coverage,
    current_tier_counts,
    run_tiering,
    tier_figures,
    version_tiering,
)
from reviews.models import CheckIn, CheckInOutcome, Override, OverrideReason, OverrideStatus
from reviews.selectors import queue_surprises
from scoring.models import RunStatus, ScoringRun


@dataclass(frozen=True)
class MovementRow:
    tier: str
    then: int | None
    now: int | None


@dataclass(frozen=True)
class Agenda:
    """An agenda as a page shows it: `data` (the stored JSON's shape),
    the period it covers, and whether it is live or was recorded."""

    data: dict[str, Any]
    since: datetime | None
    as_of: datetime | None
    live: bool
    held_at: datetime | None = None

    @property
    def recorded_when_held(self) -> bool:
        """Recorded at the moment the check-in was held (check-ins held
        before the agenda stayed live carry the one of their opening)."""
        return not self.live and self.as_of is not None and self.as_of == self.held_at

    @property
    def movement_rows(self) -> list[MovementRow]:
        """Tier counts then (the run current when the period began) and now.
        Agendas recorded at a check-in's opening held the counts at the live
        version's approval instead."""
        movement = self.data.get("tier_movement") or {}
        then = movement.get("then", movement.get("at_approval")) or {}
        now = movement.get("now") or {}
        return [
            MovementRow(tier, then.get(tier), now.get(tier))
            for tier in TIERS
            if tier in then or tier in now
        ]

    @property
    def rescorings(self) -> list[dict[str, Any]]:
        """The rescorings finished in the period, each with when and its moves."""
        runs = (self.data.get("tier_movement") or {}).get("runs") or []
        return [
            {
                **run,
                "finished_at": datetime.fromisoformat(run["finished_at"])
                if run.get("finished_at")
                else None,
            }
            for run in runs
        ]

    @property
    def threads_open(self) -> int:
        threads = (self.data.get("questions") or {}).get("threads") or []
        return sum(row["count"] for row in threads)


def agenda_since(*, checkin: CheckIn) -> datetime | None:
    """Where an open check-in's period starts: when the profile's last
    other check-in was held, or else when its live version was approved."""
    held = (
        CheckIn.objects.filter(profile_id=checkin.profile_id)
        .exclude(outcome=CheckInOutcome.NONE)
        .exclude(pk=checkin.pk)
        .aggregate(last=Max("closed_at"))["last"]
    )
    if held is not None:
        return held
    live = live_version(checkin.profile)
    return live.approved_at if live else None


def _overrides(profile: Profile, since: datetime | None, now: datetime) -> dict[str, Any]:
    """Claims logged in the period: by reason and status (one grouped
    count), by criterion, and how many asked for a higher tier."""
    overrides = Override.objects.filter(profile=profile, created_at__lte=now)
    if since is not None:
        overrides = overrides.filter(created_at__gte=since)
    higher = Q(claimed_tier="A", machine_tier__in=["B", "C", "DQ"]) | Q(
        claimed_tier="B", machine_tier__in=["C", "DQ"]
    )
    grouped = overrides.values_list("reason", "status").annotate(
        n=Count("id"), higher=Count("id", filter=higher)
    )
    by_reason: dict[str, int] = {}
    by_status: dict[str, int] = {}
    toward_higher = 0
    for reason, status, n, up in grouped.order_by():
        by_reason[reason] = by_reason.get(reason, 0) + n
        by_status[status] = by_status.get(status, 0) + n
        toward_higher += up
    return {
        "total": sum(by_status.values()),
        "by_status": by_status,
        "by_reason": {
            label: by_reason[value]
            for value, label in OverrideReason.choices
            if by_reason.get(value)
        },
        "by_criterion": [
            {"criterion": label or "No criterion named", "count": n}
            for label, n in overrides.values_list("criterion_label")
            .annotate(n=Count("id"))
            .order_by("-n", "criterion_label")
        ],
        "toward_higher": toward_higher,
    }


def _questions(
    profile: Profile, since: datetime | None, now: datetime, past: bool
) -> dict[str, Any]:
    """What waits in the queue about the profile: claims not yet decided,
    surprising outcomes of the period nobody has marked reviewed, and
    unresolved threads on its live and open versions, as they stood at
    `now`. For a moment whose live tiers are no longer stored (`past`) the
    surprises are not counted (None): which of them were reviewed then is
    not known."""
    threads = (
        Comment.objects.filter(
            Q(resolved=False) | Q(resolved_at__gt=now),
            version__profile=profile,
            version__status__in=[*OPEN_STATUSES, VersionStatus.APPROVED],
            parent__isnull=True,
            created_at__lte=now,
        )
        .values_list("version__number", "version__status")
        .annotate(n=Count("id"))
        .order_by("version__number")
    )
    surprises = None
    if not past:
        surprises = queue_surprises(
            viewer=None, profile=profile, since=since or BEGINNING, include_reviewed=False
        ).count()
    return {
        "pending_overrides": Override.objects.filter(
            Q(status=OverrideStatus.PENDING) | Q(reviewed_at__gt=now),
            profile=profile,
            created_at__lte=now,
        ).count(),
        "unreviewed_surprises": surprises,
        "threads": [
            {"version": number, "status": VersionStatus(status).label, "count": n}
            for number, status, n in threads
        ],
    }


def _movement(current: ScoringRun, since: datetime | None, now: datetime) -> dict[str, Any]:
    """Tier counts when the period began (the run current then) and at
    `now`, and each rescoring finished inside the period with its moves."""
    finished = ScoringRun.objects.filter(
        profile_id=current.profile_id, status=RunStatus.SUCCEEDED, finished_at__lte=now
    )
    then = None
    runs = finished
    if since is not None:
        then = (
            finished.filter(finished_at__lt=since)
            .order_by("-finished_at", "-id")
            .values_list("tier_counts", flat=True)
            .first()
        )
        runs = finished.filter(finished_at__gte=since)
    return {
        "then": then,
        "now": current_tier_counts(current) if current.is_current else current.tier_counts,
        "runs": [
            {"version": number, "finished_at": at.isoformat() if at else None, "moved": moved}
            for number, at, moved in runs.order_by("finished_at", "id").values_list(
                "version__number", "finished_at", "tier_movement"
            )
        ],
    }


def agenda_compute(
    *, profile: Profile, since: datetime | None, now: datetime | None = None
) -> dict[str, Any]:
    """The figures a check-in discusses, from `since` until `now`:
    overrides by reason, criterion and status; closed deals and win rate by
    tier (deal-level) and churn (customers), as reviews.figures defines
    them; data coverage; tier counts then and now, and the rescorings in
    between; the drift checks with their figures; and the open questions
    of the queue."""
    now = now or timezone.now()
    agenda: dict[str, Any] = {
        "since": since.isoformat() if since else None,
        "as_of": now.isoformat(),
        "overrides": _overrides(profile, since, now),
    }
    current = run_at(profile=profile, at=now)
    if current is None:
        agenda["questions"] = _questions(profile, since, now, past=False)
        agenda["live_version"] = None
        return agenda
    # A run no longer current keeps no scores to count on: its version's
    # tiers are worked out afresh.
    tiering = run_tiering(current) if current.is_current else version_tiering(current.version)
    outcomes = tier_figures(tiering, since=since, until=now)
    agenda["questions"] = _questions(profile, since, now, past=not current.is_current)
    agenda["live_version"] = current.version.number
    agenda["outcomes"] = outcomes.as_json()
    agenda["coverage"] = coverage(current.version)
    agenda["tier_movement"] = _movement(current, since, now)
    agenda["drift"] = [
        {
            "code": signal.code,
            "fired": signal.fired,
            "enough_data": signal.enough_data,
            "reason": signal.reason,
            "figures": signal.figures,
        }
        for signal in drift_signals(run=current, now=now, tiering=tiering, bounded=True)
    ]
    return agenda


def run_at(*, profile: Profile, at: datetime) -> ScoringRun | None:
    """The run that was current at `at`: the current run, unless it
    finished later, and then the last succeeded run finished by then."""
    runs = ScoringRun.objects.filter(profile=profile).select_related("version")
    current = runs.filter(is_current=True).first()
    if current is not None and (current.finished_at is None or current.finished_at <= at):
        return current
    return (
        runs.filter(status=RunStatus.SUCCEEDED, finished_at__lte=at)
        .order_by("-finished_at", "-id")
        .first()
    )


def checkin_agenda(*, checkin: CheckIn, now: datetime | None = None) -> Agenda:
    """The agenda to show: worked out now while the check-in is open, the
    stored one once it is held."""
    if not checkin.is_open:
        return Agenda(
            data=checkin.agenda,
            since=checkin.since,
            as_of=checkin.agenda_at,
            live=False,
            held_at=checkin.closed_at,
        )
    now = now or timezone.now()
    since = agenda_since(checkin=checkin)
    return Agenda(
        data=agenda_compute(profile=checkin.profile, since=since, now=now),
        since=since,
        as_of=now,
        live=True,
    )


def agenda_summary(data: dict[str, Any]) -> str:
    """An agenda in a sentence, for the rationale of the draft it leads to."""
    overrides = data.get("overrides", {})
    parts = [f"{count(overrides.get('total', 0))} overrides since the last check-in"]
    reasons = overrides.get("by_reason") or {}
    if reasons:
        parts.append(", ".join(f"{label.lower()}: {count(n)}" for label, n in reasons.items()))
    tiers = data.get("outcomes", {}).get("tiers", {})
    rates = [
        f"{tier} {percent(row['win_rate'])}"
        for tier, row in tiers.items()
        if row.get("win_rate") is not None
    ]
    if rates:
        parts.append("win rate of closed deals by tier " + ", ".join(rates))
    return "; ".join(parts) + "."
