"""Demo reviews: overrides logged and decided over the live version's
weeks (the latest still waiting), the next quarterly check-in, and deals
that make the win-rate drift check fire, with the off-cycle check-in it
opens. Idempotent: a second run finds the overrides and the open check-in
and leaves everything as it is."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from demo import history
from demo.accounts import LOST_STAGE
from profiles.models import Profile, ProfileVersion, User
from reviews import services
from reviews.drift import drift_signals
from reviews.models import CheckIn, CheckInKind, CheckInOutcome, Override
from scoring.models import Account, AccountScore, Deal, DealState, DealType, ScoringRun

# What reps claim, by the tier the account has (rep, claimed tier, reason, note);
# the nth claim on a tier uses the nth of its list, round and round.
CLAIMS: dict[str, list[tuple[str, str, str, str]]] = {
    "B": [
        ("liam", "A", "too_strict", "180 people, signed a pilot: the headcount floor is too high."),
        ("noah", "A", "too_strict", "170 people and a RevOps lead; they buy like mid-market."),
        ("emma", "A", "strategic", "Reference customer in a new vertical."),
        ("liam", "A", "timing", "New CRO, budget approved this quarter."),
    ],
    "C": [
        ("noah", "B", "data_wrong", "They moved to HubSpot in the spring; the CRM field is old."),
        ("emma", "B", "timing", "Hiring a sales team of twenty this year."),
        ("liam", "B", "too_strict", "Series A, but growing like a Series B."),
    ],
    "A": [
        ("liam", "C", "too_loose", "No sales team yet; not ready for a mid-market motion."),
        ("noah", "not_a_fit", "data_wrong", "They sold the business unit; the data is stale."),
    ],
}  # fmt: skip
REJECTIONS = {
    "strategic": "Strategic logos go on a named list, not into the ICP tiers.",
    "timing": "Timing is for the pipeline, not the tier.",
}
OVERRIDES = 36
# The latest claims wait for the manager; two of them for more than a week.
PENDING = 8
MANAGER = "sofia"
CHECKIN_OWNER = "riley"


@dataclass(frozen=True)
class SeededReviews:
    overrides: int
    checkins: int
    drift: str

    def lines(self) -> list[str]:
        return [
            f"Reviews: {self.overrides} overrides, {self.checkins} check-ins.",
            f"Drift: {self.drift}",
        ]


def _win_rate_drift(run: ScoringRun) -> None:
    """Turn just enough of tier A's recent new-business wins, the latest
    first, into losses that tier A's win rate (deal-level) falls a point
    below tier B's: the check fires. Only wins the account has no later
    deal after, so the account simply becomes a lost prospect."""
    since = timezone.now() - timedelta(days=settings.REVIEWS_DRIFT_WINDOW_DAYS)
    closed = Deal.objects.filter(
        status__in=[DealState.WON, DealState.LOST], closed_at__gte=since
    ).order_by()

    def in_tier(tier: str) -> QuerySet[Deal]:
        return closed.filter(account__scores__run_id=run.pk, account__scores__tier=tier)

    def counts(tier: str) -> tuple[int, int]:
        deals = in_tier(tier)
        return deals.filter(status=DealState.WON).count(), deals.count()

    a_won, a_closed = counts("A")
    b_won, b_closed = counts("B")
    if not a_closed or not b_closed:
        return
    target = math.floor((b_won / b_closed - 0.01) * a_closed)
    excess = a_won - max(0, target)
    if excess <= 0:
        return
    later = Deal.objects.filter(
        account_id=OuterRef("account_id"), opened_at__gt=OuterRef("closed_at")
    )
    ids = list(
        in_tier("A")
        .filter(status=DealState.WON, type=DealType.NEW)
        .exclude(Exists(later))
        .order_by("-closed_at", "pk")
        .values_list("pk", flat=True)[:excess]
    )
    Deal.objects.filter(pk__in=ids).update(status=DealState.LOST, stage=LOST_STAGE)
    Account.objects.filter(deals__pk__in=ids).update(lifecycle_stage="closed lost")


def _overrides(users: dict[str, User], profile: Profile, run: ScoringRun) -> None:
    """Claims logged over the weeks the live version has been live, one
    every day or two, each decided by the sales manager a few days later
    but the latest PENDING."""
    live = run.version
    assert live.approved_at is not None
    now = timezone.now()
    first = max(live.approved_at + timedelta(days=3), now - timedelta(days=56))
    step = (now - timedelta(days=2) - first) / OVERRIDES
    scores = AccountScore.objects.filter(run_id=run.pk, tier__in=list(CLAIMS))
    picked: dict[str, list[int]] = {
        tier: list(
            scores.filter(tier=tier)
            .order_by("account_id")
            .values_list("account_id", flat=True)[:OVERRIDES]
        )
        for tier in CLAIMS
    }
    accounts = Account.objects.in_bulk([pk for ids in picked.values() for pk in ids])
    criteria = {c.attribute: c for c in live.criteria.filter(kind="fit")}
    order = ["B", "C", "B", "A", "B", "C"]
    used: dict[str, int] = dict.fromkeys(CLAIMS, 0)
    for n in range(OVERRIDES):
        tier = order[n % len(order)]
        if used[tier] >= len(picked[tier]):
            continue
        account = accounts[picked[tier][used[tier]]]
        rep, claimed, reason, note = CLAIMS[tier][used[tier] % len(CLAIMS[tier])]
        used[tier] += 1
        logged = (first + step * n).replace(minute=(n * 7) % 60)
        criterion = None
        if reason in ("too_strict", "too_loose"):
            criterion = criteria.get("employees" if tier != "C" else "funding_stage")
        with history.dated(logged):
            override = services.override_create(
                actor=users[rep],
                account=account,
                profile=profile,
                claimed_tier=claimed,
                reason=reason,
                note=note,
                criterion=criterion,
            )
        Override.objects.filter(pk=override.pk).update(created_at=logged)
        if n >= OVERRIDES - PENDING:
            continue
        decided = logged + timedelta(days=1 + n % 4, hours=3)
        with history.dated(decided):
            if reason in REJECTIONS:
                services.override_reject(
                    actor=users[MANAGER], override=override, note=REJECTIONS[reason]
                )
            else:
                services.override_accept(actor=users[MANAGER], override=override, note="Agreed.")
        Override.objects.filter(pk=override.pk).update(reviewed_at=decided)


@transaction.atomic
def seed_reviews(*, users: dict[str, User], profile: Profile) -> SeededReviews:
    """The live version's weeks: reps' claims and their decisions, deals
    that make the win-rate drift check fire and the off-cycle check-in it
    opens, and the next quarterly check-in, due soon. The held check-ins
    of the earlier quarters are part of the profile's story (demo.seed)."""
    run = ScoringRun.objects.filter(profile=profile, is_current=True).first()
    live = ProfileVersion.objects.filter(profile=profile, status="approved").first()
    if run is None or live is None:
        return SeededReviews(0, 0, "nothing is live yet")
    if not Override.objects.filter(profile=profile).exists():
        _overrides(users, profile, run)
        _win_rate_drift(run)
        services.checkins_open_for_drift()
    if not CheckIn.objects.filter(
        profile=profile, kind=CheckInKind.SCHEDULED, outcome=CheckInOutcome.NONE
    ).exists():
        timeline = history.Timeline(today=timezone.localdate())
        with history.dated(timezone.now() - timedelta(days=4)):
            services.checkin_open(
                profile=profile, kind=CheckInKind.SCHEDULED, due_on=timeline.next_checkin
            )
    win_rate = drift_signals(run=run)[0]
    return SeededReviews(
        overrides=Override.objects.filter(profile=profile).count(),
        checkins=CheckIn.objects.filter(profile=profile).count(),
        drift=win_rate.reason,
    )
