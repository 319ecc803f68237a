"""The demo's reviews: overrides in every state, held check-ins and an
upcoming one, and the win-rate drift check firing; idempotent. And the
deal histories behind them: new business won more often the better the
tier, customers who expand, renew or churn, deals still open."""

from datetime import timedelta

import pytest
from django.db.models import Min
from django.utils import timezone

from demo import seed
from demo.accounts import HISTORY_DAYS, seed_accounts
from demo.reviews import seed_reviews
from reviews.drift import drift_signals
from reviews.models import CheckIn, Override
from scoring.models import Account, Deal, DealState, DealType, ScoringRun
from scoring.services import run_in_process

pytestmark = pytest.mark.django_db


def test_the_demo_has_reviews_in_every_state_and_drift_firing(settings: object) -> None:
    settings.REVIEWS_DRIFT_MIN_DEALS = 5  # type: ignore[attr-defined]
    users = seed.seed_people(password="demo-password")
    seed_accounts(count=3000, seed=7)
    seeded = seed.seed_profile(users=users)
    assert seeded.live is not None
    run_in_process(profile=seeded.profile, version=seeded.live, actor=None)
    first = seed_reviews(users=users, profile=seeded.profile)
    statuses = set(Override.objects.values_list("status", flat=True))
    assert statuses == {"pending", "accepted", "rejected"}
    assert [c.is_open for c in CheckIn.objects.filter(kind="scheduled").order_by("due_on")] == [
        False,
        False,
        False,
        False,
        True,
    ]
    again = seed_reviews(users=users, profile=seeded.profile)
    assert (again.overrides, again.checkins) == (first.overrides, first.checkins)
    run = ScoringRun.objects.get(is_current=True)
    win_rate = drift_signals(run=run)[0]
    assert win_rate.fired
    assert CheckIn.objects.get(kind="off_cycle").trigger == "win_rate"


def test_the_demo_deal_histories_depend_on_fit() -> None:
    users = seed.seed_people(password="demo-password")
    seed_accounts(count=3000, seed=7)
    seeded = seed.seed_profile(users=users)
    assert seeded.live is not None
    run = run_in_process(profile=seeded.profile, version=seeded.live, actor=None)
    assert run is not None
    now = timezone.now()

    deals = Deal.objects.all()

    def new_business(tier: str) -> tuple[int, int]:
        closed = deals.filter(
            type=DealType.NEW,
            status__in=[DealState.WON, DealState.LOST],
            account__scores__run_id=run.pk,
            account__scores__tier=tier,
        )
        return closed.filter(status=DealState.WON).count(), closed.count()

    (a_won, a_closed), (c_won, c_closed) = new_business("A"), new_business("C")
    assert a_closed >= 30
    assert c_closed >= 30
    assert a_won / a_closed > c_won / c_closed + 0.2
    # About eighteen months of pipeline, older customers' renewals aside.
    opened = deals.filter(type=DealType.NEW, status=DealState.LOST).aggregate(Min("opened_at"))
    assert opened["opened_at__min"] >= now - timedelta(days=HISTORY_DAYS + 1)
    assert deals.filter(status=DealState.OPEN).count() >= 10
    # Expansions and renewals only for accounts that won new business.
    customers = deals.filter(type=DealType.NEW, status=DealState.WON).values("account_id")
    later = deals.exclude(type=DealType.NEW)
    assert later.count() > 100
    assert not later.exclude(account_id__in=customers).exists()
    # Churn comes with a lost renewal, on its day.
    churned = Account.objects.filter(churned_at__isnull=False)
    assert churned.count() >= 10
    for account in churned[:20]:
        renewal = account.deals.get(type=DealType.RENEWAL, status=DealState.LOST)
        assert renewal.closed_at == account.churned_at
    amounts = sorted(
        amount
        for amount in deals.filter(type=DealType.NEW).values_list("amount", flat=True)
        if amount is not None
    )
    assert amounts[len(amounts) // 10] * 3 < amounts[9 * len(amounts) // 10]
