"""Outcome figures count deals one by one, each in its account's tier, and
churn by customer: checked against a count by hand over a few accounts with
several deals each, some open and some closed before the window.

Live v1 (tests/reviews/conftest.py): employees 200-2,000 (60 points), has
RevOps (40), North Korea disqualifies; A from 70, B from 40.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from profiles.models import Profile, ProfileVersion, User
from reviews.drift import drift_signals
from reviews.figures import run_tiering, tier_figures
from scoring import services as scoring_services
from scoring.models import Account, ScoringRun
from tests.factories import AccountFactory, DealFactory
from tests.runs import run_all

pytestmark = pytest.mark.django_db

NOW = timezone.now()
WINDOW = timedelta(days=90)
INSIDE = NOW - timedelta(days=20)
OUTSIDE = NOW - timedelta(days=200)


def deal(account: Account, status: str, kind: str, closed: object = None, **kw: object) -> None:
    DealFactory.create(account=account, status=status, type=kind, closed_at=closed, **kw)


@pytest.fixture
def run(icp: Profile, v1: ProfileVersion, ops_manager: User) -> ScoringRun:
    # Tier A (450 employees, RevOps): Acme renewed twice and expanded once
    # inside the window, lost an expansion there too, has one open and won
    # its first deal before the window. Arch lost a deal inside the window
    # and won one before it. Quiet has no deal.
    acme = AccountFactory.create(name="Acme", employees=450)
    deal(acme, "won", "new", OUTSIDE, amount=Decimal("50000"))
    deal(acme, "won", "renewal", INSIDE, amount=Decimal("10000"))
    deal(acme, "won", "renewal", INSIDE, amount=Decimal("12000"))
    deal(acme, "won", "expansion", INSIDE, amount=Decimal("14000"))
    deal(acme, "lost", "expansion", INSIDE, amount=Decimal("5000"))
    deal(acme, "open", "expansion", amount=Decimal("7000"))
    arch = AccountFactory.create(name="Arch", employees=300)
    deal(arch, "won", "new", OUTSIDE, amount=Decimal("20000"))
    deal(arch, "lost", "expansion", INSIDE)
    AccountFactory.create(name="Quiet", employees=450)
    # Tier B (150 employees, RevOps): Bolt won a deal and an expansion in
    # euros, then lost its renewal and churned; Cask lost twice, and has a
    # deal open.
    bolt = AccountFactory.create(name="Bolt", employees=150, churned_at=INSIDE)
    deal(bolt, "won", "new", INSIDE, amount=Decimal("8000"))
    deal(bolt, "won", "expansion", INSIDE, amount=Decimal("2000"), currency="EUR")
    deal(bolt, "lost", "renewal", INSIDE, amount=Decimal("8000"))
    cask = AccountFactory.create(name="Cask", employees=150)
    deal(cask, "lost", "new", INSIDE)
    deal(cask, "lost", "new", INSIDE - timedelta(days=30))
    deal(cask, "open", "new")
    # Tier C (150 employees, no RevOps): Dune won once. DQ: Kim lost before
    # the window.
    dune = AccountFactory.create(name="Dune", employees=150, has_revops=False)
    deal(dune, "won", "new", INSIDE, amount=Decimal("3000"))
    kim = AccountFactory.create(name="Kim", employees=450, country="KP")
    deal(kim, "lost", "new", OUTSIDE)
    run = run_all(scoring_services.run_create(profile=icp, version=v1, actor=ops_manager))
    assert run is not None
    return run


def test_a_deal_level_win_rate_equals_the_count_by_hand(run: ScoringRun) -> None:
    figures = tier_figures(run_tiering(run), since=NOW - WINDOW)

    # (accounts, won, lost, win rate, average won deal, customers, churned)
    # A: Acme's 3 wins and 1 loss, Arch's loss: 3 of 5; the average of
    # 10,000, 12,000 and 14,000. Acme and Arch are customers (each once).
    # B: Bolt's 2 wins, its lost renewal and Cask's 2 losses: 2 of 5; the
    # euro expansion is a win but not part of the average. Bolt churned.
    # C: Dune's win. DQ: Kim's loss was before the window.
    rows = {
        row.tier: (
            row.accounts,
            row.won,
            row.lost,
            row.win_rate,
            row.avg_deal,
            row.customers,
            row.churned,
        )
        for row in [*figures.rows, figures.total]
    }
    assert rows == {
        "A": (3, 3, 2, 0.6, Decimal("12000.00"), 2, 0),
        "B": (2, 2, 3, 0.4, Decimal("8000.00"), 1, 1),
        "C": (1, 1, 0, 1.0, Decimal("3000.00"), 1, 0),
        "DQ": (1, 0, 0, None, None, 0, 0),
        "all": (7, 6, 5, 0.5455, Decimal("9400.00"), 4, 1),
    }
    assert figures.get("A").won_amount == Decimal("36000.00")
    # Tier A's 0.6 over the 6 of 11 won overall.
    assert figures.lift_a == 1.1


def test_the_win_rate_drift_check_counts_the_same_deals(run: ScoringRun, settings: object) -> None:
    settings.REVIEWS_DRIFT_MIN_DEALS = 5  # type: ignore[attr-defined]
    settings.REVIEWS_DRIFT_WINDOW_DAYS = 90  # type: ignore[attr-defined]

    win_rate = drift_signals(run=run, now=NOW)[0]

    assert (win_rate.figures["a_closed"], win_rate.figures["b_closed"]) == (5, 5)
    assert (win_rate.figures["a_win_rate"], win_rate.figures["b_win_rate"]) == (0.6, 0.4)
    assert win_rate.reason.startswith(
        "Tier A accounts won 60% of 5 closed deals and tier B accounts 40% of 5 over 90 days"
    )
    assert (win_rate.enough_data, win_rate.fired) == (True, False)


def test_all_time_figures_take_in_the_deals_closed_before_the_window(run: ScoringRun) -> None:
    figures = tier_figures(run_tiering(run))

    # A adds Acme's and Arch's first deals (50,000 and 20,000): 5 of 7, the
    # average of 50,000, 20,000, 10,000, 12,000 and 14,000. DQ adds Kim's
    # loss. Open deals never count.
    assert (figures.get("A").won, figures.get("A").lost) == (5, 2)
    assert figures.get("A").avg_deal == Decimal("21200.00")
    assert (figures.get("DQ").won, figures.get("DQ").lost) == (0, 1)
    assert figures.total.closed == 14
