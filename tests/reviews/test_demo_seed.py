"""The demo's reviews: overrides in every state, a closed and an upcoming
check-in, and the win-rate drift check close to firing; idempotent."""

import pytest

from demo import seed
from demo.accounts import seed_accounts
from demo.reviews import seed_reviews
from reviews.drift import drift_signals
from reviews.models import CheckIn, Override
from scoring.models import ScoringRun
from scoring.services import run_in_process

pytestmark = pytest.mark.django_db


def test_the_demo_has_reviews_in_every_state_and_drift_close_to_firing(
    settings: object,
) -> None:
    settings.REVIEWS_DRIFT_MIN_DEALS = 5  # type: ignore[attr-defined]
    users = seed.seed_people(password="demo-password")
    seed_accounts(count=3000, seed=7)
    seeded = seed.seed_profile(users=users)
    assert seeded.live is not None
    run_in_process(profile=seeded.profile, version=seeded.live, actor=None)
    first = seed_reviews(users=users, profile=seeded.profile)
    statuses = set(Override.objects.values_list("status", flat=True))
    assert statuses == {"pending", "accepted", "rejected"}
    assert [c.is_open for c in CheckIn.objects.order_by("due_on")] == [False, True]
    again = seed_reviews(users=users, profile=seeded.profile)
    assert (again.overrides, again.checkins) == (first.overrides, first.checkins)
    run = ScoringRun.objects.get(is_current=True)
    win_rate = drift_signals(run=run)[0]
    assert not win_rate.fired
    a, b = win_rate.figures["a_win_rate"], win_rate.figures["b_win_rate"]
    assert a is not None
    assert b is not None
    assert 0 < a - b <= 0.06
