"""Demo reviews: overrides in every state, a past check-in with its outcome,
an upcoming one, and deals that put the win-rate drift check visibly close
to firing. Idempotent: a second run finds the overrides and
leaves everything as it is."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from demo.accounts import LOST_STAGE
from profiles.models import Profile, ProfileVersion, User
from reviews import services
from reviews.drift import drift_signals
from reviews.models import CheckIn, CheckInKind, Override
from scoring.models import Account, AccountScore, Deal, DealState, DealType, ScoringRun

# (rep, claimed tier, reason, note, decision by the sales manager)
OVERRIDES = [
    ("liam", "A", "too_strict", "180 people, signed a pilot: the headcount floor is too high.",
     "accept"),
    ("noah", "A", "too_strict", "170 people and a RevOps lead; they buy like mid-market.",
     "accept"),
    ("emma", "A", "strategic", "Reference customer in a new vertical.", "reject"),
    ("liam", "C", "too_loose", "No sales team yet; not ready for a mid-market motion.", None),
    ("noah", "not_a_fit", "data_wrong", "They sold the business unit; the data is stale.", None),
]  # fmt: skip
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


def _near_win_rate_drift(run: ScoringRun) -> None:
    """Turn just enough of tier A's recent new-business wins into losses that
    tier A's win rate (deal-level) sits about three points above tier B's:
    close to the check firing. Only wins the account has no later deal
    after, so the account simply becomes a lost prospect."""
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
    target = math.ceil((b_won / b_closed + 0.03) * a_closed)
    excess = a_won - target
    if excess <= 0:
        return
    later = Deal.objects.filter(
        account_id=OuterRef("account_id"), opened_at__gt=OuterRef("closed_at")
    )
    ids = list(
        in_tier("A")
        .filter(status=DealState.WON, type=DealType.NEW)
        .exclude(Exists(later))
        .order_by("pk")
        .values_list("pk", flat=True)[:excess]
    )
    Deal.objects.filter(pk__in=ids).update(status=DealState.LOST, stage=LOST_STAGE)
    Account.objects.filter(deals__pk__in=ids).update(lifecycle_stage="closed lost")


@transaction.atomic
def seed_reviews(*, users: dict[str, User], profile: Profile) -> SeededReviews:
    run = ScoringRun.objects.filter(profile=profile, is_current=True).first()
    live = ProfileVersion.objects.filter(profile=profile, status="approved").first()
    if run is None or live is None:
        return SeededReviews(0, 0, "nothing is live yet")
    if not Override.objects.filter(profile=profile).exists():
        candidates = list(
            Account.objects.filter(
                pk__in=AccountScore.objects.filter(run_id=run.pk, tier="B").values("account_id"),
                employees__gte=150,
                employees__lt=200,
            ).order_by("pk")[: len(OVERRIDES)]
        )
        employees = live.criteria.filter(attribute="employees").first()
        for account, (rep, tier, reason, note, decision) in zip(
            candidates, OVERRIDES, strict=False
        ):
            override = services.override_create(
                actor=users[rep],
                account=account,
                profile=profile,
                claimed_tier=tier,
                reason=reason,
                note=note,
                criterion=employees if reason == "too_strict" else None,
            )
            if decision == "accept":
                services.override_accept(actor=users[MANAGER], override=override, note="Agreed.")
            elif decision == "reject":
                services.override_reject(
                    actor=users[MANAGER],
                    override=override,
                    note="Strategic logos go on a named list, not into the ICP tiers.",
                )
        _near_win_rate_drift(run)
    if not CheckIn.objects.filter(profile=profile).exists():
        today = timezone.localdate()
        past = services.checkin_open(
            profile=profile, kind=CheckInKind.SCHEDULED, due_on=today - timedelta(days=30)
        )
        if past is not None:
            services.checkin_close(
                actor=users[CHECKIN_OWNER],
                checkin=past,
                outcome="no_change",
                note="Too few closed deals under v1 to judge; look again next quarter.",
            )
        services.checkin_open(
            profile=profile, kind=CheckInKind.SCHEDULED, due_on=today + timedelta(days=10)
        )
    win_rate = drift_signals(run=run)[0]
    return SeededReviews(
        overrides=Override.objects.filter(profile=profile).count(),
        checkins=CheckIn.objects.filter(profile=profile).count(),
        drift=win_rate.reason,
    )
