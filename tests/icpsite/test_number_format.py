"""One number format on every page: counts grouped ("1,250"), amounts with
their currency ("14,800 USD"), rates as percent. Representative pages are
drawn with counts over a thousand, and their visible text must hold the
grouped form and no bare number of four digits or more (years aside)."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from icpsite import numbers
from profiles.models import Membership, Profile, ProfileVersion, Team, User
from reviews.models import CheckIn
from scoring import services as scoring_services
from scoring.models import Account, Deal, ScoringRun
from tests.drafting import approved_version
from tests.factories import AccountFactory, DealFactory
from tests.runs import run_all

pytestmark = pytest.mark.django_db

MANY = 1250

_TAG = re.compile(r"<[^>]+>")
_BARE = re.compile(r"(?<![\w,.\-/:])\d{4,}(?![\w,.])")


def visible(html: str) -> str:
    """The page's text as a person reads it: no tags, attributes or URLs."""
    body = html[html.index("<main") :] if "<main" in html else html
    return " ".join(_TAG.sub(" ", body).split())


def bare_numbers(html: str) -> list[str]:
    """Numbers of four digits or more written without grouping, years aside."""
    return [n for n in _BARE.findall(visible(html)) if not 1900 <= int(n) <= 2100]


def test_the_number_rules() -> None:
    assert numbers.count(20000) == "20,000"
    assert numbers.count(Decimal("1250.4")) == "1,250"
    assert numbers.count(None) == "\u2013"
    assert numbers.money(Decimal("14800"), "USD") == "14,800 USD"
    assert numbers.money(Decimal("14800.5"), "EUR") == "14,800.50 EUR"
    assert numbers.money("1234.5678", "") == "1,234.57"
    assert numbers.money(None, "USD") == "\u2013"
    assert numbers.average(Decimal(3) / 8) == "0.4"
    assert numbers.average(Decimal(16) / 8) == "2"
    assert numbers.average(Decimal(19375) / 1000) == "19"
    assert numbers.percent(0.354) == "35%"
    assert numbers.percent(None) == "\u2013"
    assert numbers.ratio(1.8) == "1.80\u00d7"
    assert numbers.counted(1, "account") == "1 account"
    assert numbers.counted(1250, "loss", "losses") == "1,250 losses"


def letters(i: int) -> str:
    """A name without digits for the i-th account: a, b, ..., ba, bb."""
    word = ""
    while True:
        i, r = divmod(i, 26)
        word = "abcdefghijklmnopqrstuvwxyz"[r] + word
        if not i:
            return word


@pytest.fixture
def crowd(sales: Team, manager: User) -> int:
    """MANY more people in Sales."""
    users = User.objects.bulk_create(User(username=f"person-{i}") for i in range(MANY))
    Membership.objects.bulk_create(Membership(user=u, team=sales) for u in users)
    return Membership.objects.filter(team=sales).count()


@pytest.fixture
def base(icp: Profile, v1: ProfileVersion, ops_manager: User) -> ScoringRun:
    """MANY tier A accounts and one big one, scored by the live v1."""
    Account.objects.bulk_create(
        Account(external_id=f"bulk-{i}", name=f"Bulk {letters(i)}", employees=450, has_revops=True)
        for i in range(MANY)
    )
    AccountFactory.create(
        name="Big", external_id="big", employees=20000, annual_revenue=5_000_000, has_revops=True
    )
    run = run_all(
        scoring_services.run_create(profile=icp, version=v1, actor=ops_manager), chunk_size=10**6
    )
    assert run is not None
    return run


def test_the_dashboard_groups_its_counts(client: Client, manager: User, crowd: int) -> None:
    client.force_login(manager)

    page = client.get(reverse("dashboard")).content.decode()

    assert f"{crowd:,}" in visible(page)
    assert bare_numbers(page) == []


def test_the_accounts_list_and_an_account_page_group_counts_and_write_amounts(
    client: Client, rep: User, base: ScoringRun
) -> None:
    big = Account.objects.get(external_id="big")
    DealFactory.create(account=big, external_id="big-1", status="won", amount=Decimal("14800"),
                       currency="USD")  # fmt: skip
    client.force_login(rep)

    listed = client.get(reverse("account-list"), {"q": "Big"}).content.decode()
    every = client.get(reverse("account-list")).content.decode()
    shown = client.get(reverse("account-detail", args=[big.pk])).content.decode()

    assert "20,000" in visible(listed)
    assert f"{Account.objects.count():,} accounts" in visible(every)
    assert "20,000" in visible(shown)
    assert "5,000,000" in visible(shown)
    assert "14,800 USD" in visible(shown)
    for page in (listed, every, shown):
        assert bare_numbers(page) == []


def test_the_queue_groups_its_counts_and_writes_amounts_with_their_currency(
    client: Client, manager: User, base: ScoringRun
) -> None:
    tier_a = Account.objects.get(external_id="bulk-0")
    now = timezone.now()
    Deal.objects.bulk_create(
        Deal(account=tier_a, external_id=f"lost-{i}", name="", status="lost", type="new",
             closed_at=now - timedelta(minutes=i), amount=Decimal("14800"), currency="USD")
        for i in range(MANY)
    )  # fmt: skip
    client.force_login(manager)

    page = client.get(reverse("review-queue")).content.decode()

    text = visible(page)
    assert f"{MANY:,} tier-A losses this week, {MANY:,} more than usual" in text
    assert f"Mark all {MANY:,} reviewed" in text
    assert "14,800 USD" in text
    assert bare_numbers(page) == []


def test_a_check_in_groups_its_counts(client: Client, manager: User, icp: Profile) -> None:
    # Held, so the page shows the agenda as recorded (an open one is worked out live).
    held_at = timezone.now()
    checkin = CheckIn.objects.create(
        profile=icp,
        kind="scheduled",
        due_on=date(2026, 1, 5),
        outcome="no_change",
        closed_by=manager,
        closed_at=held_at,
        agenda_at=held_at,
        agenda={
            "overrides": {
                "total": 1500,
                "by_reason": {"Strategic account": 1500},
                "by_criterion": [{"criterion": "Employees", "count": 1200}],
            },
            "outcomes": {
                "tiers": {
                    "A": {
                        "accounts": 12000,
                        "won": 1000,
                        "lost": 500,
                        "win_rate": 0.6667,
                        "avg_deal": "14800.25",
                        "churned": 1100,
                        "churn_rate": 0.1,
                    },
                },
            },
            "tier_movement": {
                "at_approval": {"A": 11000},
                "now": {"A": 12000},
                "moved_at_approval": {"B → A": 1000},
            },
            "coverage": [{"criterion": "Employees", "share": 87, "known": 10440}],
        },
    )
    client.force_login(manager)

    page = client.get(reverse("checkin-detail", args=[checkin.pk])).content.decode()

    text = visible(page)
    for figure in ("1,500", "1,200", "12,000", "1,100", "11,000", "10,440", "14,800.25", "67%"):
        assert figure in text
    assert bare_numbers(page) == []


def test_the_impact_panel_groups_its_counts(
    client: Client, rep: User, icp: Profile, base: ScoringRun
) -> None:
    draft = approved_version(icp, 2, [100, 500], status="draft")
    client.force_login(rep)

    page = client.get(
        reverse("version-impact", kwargs={"slug": icp.slug, "number": draft.number})
    ).content.decode()

    total = Account.objects.count()
    assert f"{total:,} accounts" in visible(page)
    assert bare_numbers(page) == []
